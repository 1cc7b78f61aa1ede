"""What a solver is: its function and what it guarantees, declared beside its code.

Each solver module defines a :class:`SolverSpec` — the solver function, a ``guarantee``
function answering which approximation ratio applies to a solve (and whether in
expectation), and the rows it contributes to the guarantee table :data:`matroidopt.GUARANTEES`.
The registry (:mod:`matroidopt.solver.registry`) collects the specs; :func:`matroidopt.guarantee`,
:data:`matroidopt.GUARANTEES` and every :class:`~matroidopt.Result` read them, so a solver's
guarantee lives in one place.

Examples
--------
>>> import matroidopt as mo
>>> spec = mo.SOLVER_SPECS["greedy"]
>>> spec.guarantee(mo.Modular([1.0, 2.0]), mo.UniformMatroid(2, 1))
(0.6321205588285577, False)
>>> spec.rows[1]
('greedy, lazy_greedy', 'any matroid', 'monotone submodular', '1/2')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..constraint import Constraint
from ..utility.base import Utility

__all__ = ["E", "SolverSpec", "exact_gamma", "matroid_like", "no_guarantee"]

#: ``1 - 1/e``.
E = 1.0 - 1.0 / math.e

Guarantee = Callable[..., "tuple[float | None, bool]"]


def no_guarantee(utility: Utility, constraint: Constraint, **options: Any
                 ) -> tuple[float | None, bool]:
    """The guarantee of a solver that declares none: ``(None, False)``."""
    return None, False


def matroid_like(constraint: Constraint) -> bool:
    """A cardinality constraint or any matroid."""
    return constraint.kind in ("cardinality", "matroid")


def exact_gamma(utility: Utility) -> float | None:
    """The declared submodularity ratio γ when the γ-weakly-submodular rows apply: a monotone
    utility with exact gains (a proxy gain, e.g. a gradient-matching refit, voids them)."""
    return utility.weak_submodularity if (utility.monotone and utility.gains_are_exact) \
        else None


@dataclass(frozen=True)
class SolverSpec:
    """A registered solver.

    Attributes
    ----------
    name : str
        The registered name (``maximize(..., solver=name)``).
    fn : callable
        ``fn(utility, constraint, *, seed=None, **options) -> Result``.
    guarantee : callable
        ``guarantee(utility, constraint, **options) -> (ratio or None, in_expectation)`` for
        validated inputs; the solver's :class:`~matroidopt.Result` reports it.
    rows : tuple of (solver, constraint, utility, ratio) str
        The solver's rows of :data:`matroidopt.GUARANTEES` (human-readable).
    """

    name: str
    fn: Callable[..., Any]
    guarantee: Guarantee = no_guarantee
    rows: tuple[tuple[str, str, str, str], ...] = ()
