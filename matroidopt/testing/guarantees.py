"""Check a solve (or a batch of seeded solves) against its stated guarantee and certificate."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..constraint import Constraint
from ..errors import InvalidInputError
from ..solver._run import as_constraint
from ..solver.result import Result
from ..utility.base import Utility
from .brute_force import brute_force_maximum

__all__ = ["assert_guarantee"]


def assert_guarantee(
    results: Result | Sequence[Result],
    utility: Utility,
    constraint: Constraint | int,
    *,
    opt: float | None = None,
    margin: float = 0.0,
    rtol: float = 1e-9,
) -> float:
    """Assert that solver output meets its guarantee and its certificate, against brute force.

    Checks, for every result: the indices are distinct and feasible, ``value`` equals
    ``utility.evaluate(indices)``, and ``upper_bound >= OPT`` when a certificate is given.
    Then the ratio: for a deterministic guarantee, every ``value >= guarantee · OPT``; for a
    guarantee in expectation (``result.expected``), pass the results of several seeds and
    the *mean* value must reach ``guarantee · OPT - margin · |OPT|``.

    Parameters
    ----------
    results : Result or sequence of Result
        One solve, or several seeded solves of the same instance.
    opt : float, optional
        The optimum, if known; otherwise computed by :func:`brute_force_maximum`.
    margin : float
        Relative slack for the mean of randomised solvers (e.g. a confidence margin).
    rtol : float
        Float tolerance, relative to ``max(1, |OPT|)``.

    Returns
    -------
    float
        The measured ratio (value, or mean value, divided by OPT; 1.0 when OPT = 0).

    Examples
    --------
    >>> import matroidopt as mo
    >>> from matroidopt.testing import assert_guarantee
    >>> f = mo.Modular([1.0, 5.0, 2.0, 4.0])
    >>> m = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
    >>> assert_guarantee(mo.greedy(f, m), f, m)
    1.0
    """
    batch = [results] if isinstance(results, Result) else list(results)
    if not batch:
        raise InvalidInputError("results: expected at least one Result")
    constraint = as_constraint(constraint, utility.n)
    if opt is None:
        opt = brute_force_maximum(utility, constraint).value
    tol = rtol * max(1.0, abs(opt))
    for r in batch:
        idx = np.asarray(r.indices.cpu() if hasattr(r.indices, "cpu") else r.indices).tolist()
        if len(set(idx)) != len(idx):
            raise AssertionError(f"{r.solver}: repeated indices {idx}")
        if not constraint.is_feasible(idx):
            raise AssertionError(f"{r.solver}: infeasible selection {idx} under {constraint!r}")
        v = utility.evaluate(idx)
        if not math.isclose(v, r.value, rel_tol=1e-9, abs_tol=tol):
            raise AssertionError(f"{r.solver}: value {r.value} != evaluate(indices) = {v}")
        if r.upper_bound is not None and r.upper_bound < opt - tol:
            raise AssertionError(
                f"{r.solver}: certificate {r.upper_bound} is below the optimum {opt}")
    g = batch[0].guarantee
    values = np.array([r.value for r in batch], dtype=np.float64)
    ratio = 1.0 if opt == 0 else float(values.mean() / opt)
    if g is None:
        return ratio
    if batch[0].expected:
        mean = float(values.mean())
        if mean < g * opt - margin * abs(opt) - tol:
            raise AssertionError(
                f"{batch[0].solver}: mean value {mean:.6g} over {len(batch)} seeds is below "
                f"{g:.4g} x OPT ({opt:.6g}) - margin {margin}"
            )
    else:
        worst = float(values.min())
        if worst < g * opt - tol:
            raise AssertionError(
                f"{batch[0].solver}: value {worst:.6g} is below {g:.4g} x OPT ({opt:.6g})")
    return ratio
