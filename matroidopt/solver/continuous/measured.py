"""``measured_continuous_greedy``: continuous greedy over any down-closed polytope.

The measured update of Feldman, Naor, Schwartz (2011) or the plain one of Calinescu et al.
(2011), with the linear step of a :class:`~matroidopt.Polytope`; returns the fractional point
as a :class:`FractionalResult` (no rounding).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..._backend import check_int
from ...errors import AssumptionWarning, InvalidInputError
from ...multilinear import (
    MAX_SAMPLES,
    _closed_form,
    _expected_gains,
    _sampled_value,
    has_closed_form,
)
from ...polytope import Polytope, polytope_of
from ...seeds import make_rng
from ...utility.base import Utility
from .._run import as_constraint, as_utility
from ..spec import E
from ._climb import DEFAULT_CG_SAMPLES, DEFAULT_STEPS, MAX_STEPS

__all__ = ["FractionalResult", "measured_continuous_greedy"]

_LP_TOL = 1e-7


@dataclass(frozen=True)
class FractionalResult:
    """What :func:`measured_continuous_greedy` returns: a fractional point, not a set.

    Attributes
    ----------
    x : numpy.ndarray
        The point of the polytope reached.
    value : float
        ``F(x)``, exact with a closed form, else estimated (``stderr`` > 0).
    stderr : float
        Standard error of ``value`` (0.0 with a closed form).
    upper_bound : float or None
        A certificate on ``max_{y ∈ P} F(y)`` (hence on the best feasible set whose
        indicator lies in ``P``): ``min_t F(x_t) + max_{v ∈ P} <w(x_t), v>``, for monotone
        submodular utilities with a closed form (each LP value raised by ``1e-7`` relative,
        the solver's tolerance); ``None`` otherwise.
    guarantee : float or None
        ``1 - 1/e`` (monotone submodular) or ``1/e`` (non-negative submodular, measured
        variant), minus ``O(1/T)``; ``None`` otherwise.
    oracle_calls, lp_calls : int
        Marginal gains evaluated; linear steps solved.
    seconds : float
    info : dict
        ``steps``, ``samples``, ``gradient``, ``measured``, ``polytope`` (its description)
        and ``rounding``: always ``None`` (no rounding is done; see the function).
    """

    x: np.ndarray
    value: float
    stderr: float
    upper_bound: float | None
    guarantee: float | None
    oracle_calls: int
    lp_calls: int
    seconds: float
    info: dict = field(default_factory=dict)


def _lp_slack(value: float) -> float:
    """An LP optimum (reported "optimal" by the solver) raised by its tolerance (HiGHS: 1e-7),
    so that the certificate stays an upper bound; inaccurate solves certify nothing."""
    return value + _LP_TOL * max(1.0, abs(value))


def measured_continuous_greedy(utility: Utility, polytope, *, steps: int = DEFAULT_STEPS,
                               samples: int | None = None, measured: bool | None = None,
                               seed: Any = None, certificate: bool = True
                               ) -> FractionalResult:
    """Continuous greedy over any down-closed polytope with a linear-step oracle; returns the
    fractional point.

    Start at ``x = 0``; for ``t = 1, ..., T``: weights ``w_j = E_{R~x}[f(R + j) - f(R)]``
    (closed form or ``samples`` sets), the linear step ``v = argmax_{v ∈ P} <w, v>``
    (:meth:`Polytope.linear_maximize`: an LP, or the matroid greedy for a matroid polytope),
    then ``x += v ∘ (1 - x) / T`` (measured, Feldman, Naor, Schwartz 2011) or ``x += v / T``
    (plain, Calinescu et al. 2011). Both stay in ``P``: ``x_T <= mean of the v's ∈ P`` and
    ``P`` is down-closed.

    No rounding: for a matroid polytope use :func:`continuous_greedy` (swap / pipage
    rounding); for knapsack ∩ matroid and other polytopes, only the fractional point and its
    value ``F(x)`` are returned. Turning it into a set without losing a constant factor needs
    a contention resolution scheme for that polytope (Chekuri, Vondrák, Zenklusen 2011),
    which this library does not implement; sampling ``R ~ x`` gives ``E[f(R)] = F(x)`` but
    ``R`` may be infeasible.

    Parameters
    ----------
    utility : Utility
    polytope : Polytope, Constraint or sequence of constraints
        Passed through :func:`~matroidopt.polytope_of` unless already a
        :class:`~matroidopt.Polytope`.
    steps : int
        ``1 <= T <= MAX_STEPS``.
    samples : int or None
        As in :func:`continuous_greedy`.
    measured : bool or None
        The measured update or the plain one. ``None`` (default): measured for a utility not
        declared monotone (it needs it for ``1/e``), plain for a monotone one (same ``1 - 1/e``
        guarantee, and in practice higher: the measured update reaches at most ``1 - 1/e``
        on each coordinate).
    seed : None, int or numpy Generator
    certificate : bool
        Compute ``upper_bound``.

    Returns
    -------
    FractionalResult

    Guarantee
    ---------
    With exact weights, for monotone submodular ``f``:
    ``F(x) >= (1 - 1/e - O(1/T)) · max{f(S) : 1_S ∈ P}`` (either update); for non-negative
    submodular ``f`` and ``measured=True``: ``F(x) >= (1/e - O(1/T)) · max{f(S) : 1_S ∈ P}``
    (Feldman, Naor, Schwartz 2011). Sampled weights add their estimation error.

    Complexity
    ----------
    ``T`` linear steps (each an LP, or ``n log n`` for a matroid polytope) and ``T``
    gradients (closed form) or ``T · n · samples`` marginal gains.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> f = mo.FacilityLocation(np.array([[1.0, 0.9, 0.0], [0.0, 0.9, 1.0]]))
    >>> P = mo.polytope_of(mo.Knapsack([1.0, 1.0, 1.0], 1.5),
    ...                    mo.PartitionMatroid([0, 0, 1], [1, 1]))
    >>> res = mo.measured_continuous_greedy(f, P, steps=50)
    >>> res.x.round(2).tolist(), round(res.value, 3), res.info["rounding"]
    ([0.18, 0.82, 0.5], 1.654, None)
    >>> opt = 1.8                                  # f({1}); no two items fit the budget
    >>> res.value >= res.guarantee * opt, res.upper_bound >= opt
    (True, True)
    """
    t0 = time.perf_counter()
    rng = make_rng(seed)
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_STEPS)
    if samples is not None:
        samples = check_int(samples, "samples", minimum=1, maximum=MAX_SAMPLES)
    u = as_utility(utility)
    if measured is None:
        measured = not u.monotone
    elif not isinstance(measured, (bool, np.bool_)):
        raise InvalidInputError(f"measured: expected True, False or None, got {measured!r}")
    if isinstance(polytope, Polytope):
        P = polytope
    elif isinstance(polytope, (list, tuple)):
        P = polytope_of(*polytope)
    else:
        if isinstance(polytope, (int, np.integer)) and not isinstance(polytope, bool):
            polytope = as_constraint(polytope, u.n)
        P = polytope_of(polytope)
    if P.n != u.n:
        raise InvalidInputError(f"polytope: its ground set has {P.n} elements but the "
                                f"utility's has {u.n}")
    n = u.n
    closed = samples is None and has_closed_form(u)
    m = None if closed else (samples or DEFAULT_CG_SAMPLES)
    mono_sub = u.monotone and u.submodular
    if mono_sub:
        ratio = E
    elif u.submodular and measured and u.nonnegative:
        ratio = 1.0 / math.e
    else:
        ratio = None
        warnings.warn(
            f"measured_continuous_greedy: its guarantee needs a monotone submodular utility "
            f"(or non-negative submodular with measured=True); got {u!r}. The solve runs, "
            f"but the guarantee is None.", AssumptionWarning, stacklevel=2)
    cert = certificate and closed and mono_sub and u.gains_are_exact
    best = math.inf
    x = torch.zeros(n, dtype=torch.float64)
    calls = lp_calls = 0
    for _t in range(steps):
        w, F, c = _expected_gains(u, x, m, rng)
        calls += c
        v = torch.from_numpy(P.linear_maximize(w.numpy()))
        lp_calls += 1
        if cert and F is not None and P.last_value is not None:
            best = min(best, F + _lp_slack(P.last_value))
        x = x + (v * (1.0 - x) if measured else v) / steps
        x.clamp_(0.0, 1.0)
    if closed:
        value, stderr = _closed_form(u, x)[0], 0.0
        if cert:
            w, F, c = _expected_gains(u, x, None, rng)
            calls += c
            P.linear_maximize(w.numpy())
            lp_calls += 1
            if P.last_value is not None:
                best = min(best, F + _lp_slack(P.last_value))
    else:
        value, stderr = _sampled_value(u, x, m, rng)
        calls += m
    ub = None if math.isinf(best) else max(best, float(value))
    return FractionalResult(
        x=x.numpy().copy(), value=float(value), stderr=float(stderr), upper_bound=ub,
        guarantee=ratio, oracle_calls=calls, lp_calls=lp_calls,
        seconds=time.perf_counter() - t0,
        info={"steps": steps, "samples": m, "gradient": "closed form" if closed else "sampled",
              "measured": bool(measured), "polytope": P.description, "rounding": None})
