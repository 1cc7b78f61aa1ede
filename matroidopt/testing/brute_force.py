"""Exact optimum by enumeration, for verifying solvers on small instances."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..constraint import Constraint
from ..errors import InvalidInputError
from ..solver._run import as_constraint
from ..utility.base import Utility

__all__ = ["BruteForceResult", "brute_force_maximum", "feasible_sets"]


@dataclass(frozen=True)
class BruteForceResult:
    """The optimum ``value`` and one optimal set ``indices`` (sorted), and how many feasible
    sets were enumerated."""

    value: float
    indices: tuple[int, ...]
    n_feasible: int


def feasible_sets(constraint: Constraint, *, max_n: int = 16):
    """Yield every feasible set of ``constraint`` as a sorted tuple (depth-first; a down-closed
    family is enumerated without visiting infeasible supersets)."""
    n = constraint.n
    if n > max_n:
        raise InvalidInputError(f"constraint: n = {n} exceeds max_n = {max_n} for enumeration")

    def rec(state, last):
        yield state.selected
        cand = torch.arange(last + 1, n)
        if cand.numel() == 0:
            return
        ok = constraint._can_add(state, cand)
        for j in cand[ok].tolist():
            yield from rec(constraint._add(state, j), j)

    yield from rec(constraint._init_state(), -1)


def brute_force_maximum(utility: Utility, constraint: Constraint | int, *, max_n: int = 16
                        ) -> BruteForceResult:
    """``max f(S)`` over all feasible ``S``, by enumeration (``n <= max_n``).

    Each feasible set is evaluated with :meth:`Utility.evaluate` (the from-scratch truth, not
    the incremental oracle the solvers use). Ties go to the set enumerated first.

    Examples
    --------
    >>> import matroidopt as mo
    >>> from matroidopt.testing import brute_force_maximum
    >>> f = mo.Modular([1.0, 5.0, 2.0, 4.0])
    >>> brute_force_maximum(f, mo.PartitionMatroid([0, 0, 1, 1], [1, 1]))
    BruteForceResult(value=9.0, indices=(1, 3), n_feasible=9)
    """
    if not isinstance(utility, Utility):
        raise InvalidInputError(f"utility: expected a Utility, got {type(utility).__name__}")
    constraint = as_constraint(constraint, utility.n)
    best, best_set, count = -float("inf"), (), 0
    for S in feasible_sets(constraint, max_n=max_n):
        count += 1
        v = utility.evaluate(list(S))
        if v > best:
            best, best_set = v, tuple(S)
    return BruteForceResult(float(best), best_set, count)
