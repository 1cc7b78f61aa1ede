"""What a solver is: its function, what it accepts and what it guarantees, declared beside
its code.

Each solver module defines a :class:`SolverSpec` — the solver function, the constraint kinds
it ``accepts``, a ``guarantee`` function answering which approximation ratio applies to a
solve (and whether in expectation), and the rows it contributes to the guarantee table
:data:`matroidopt.GUARANTEES`. The registry (:mod:`matroidopt.solver.registry`) collects the
specs; :func:`matroidopt.maximize`, :func:`matroidopt.guarantee`, :data:`matroidopt.GUARANTEES`
and every :class:`~matroidopt.Result` read them, so a solver's contract lives in one place.

**Validation once at the door.** :meth:`SolverSpec.declare` wraps a solver's *body* (which
trusts its ``utility`` and ``constraint``) in the public function: :meth:`SolverSpec.admit`
checks the utility, turns an int ``k`` into a cardinality constraint, checks the ground sets
agree and that the constraint's kind is accepted, then runs the body. ``maximize`` admits
once and calls the body directly, so a solve validates its problem once whichever door it
comes in by.

Examples
--------
>>> import matroidopt as mo
>>> spec = mo.SOLVER_SPECS["greedy"]
>>> spec.guarantee(mo.Modular([1.0, 2.0]), mo.UniformMatroid(2, 1))
(0.6321205588285577, False)
>>> spec.rows[1]
('greedy, lazy_greedy', 'any matroid', 'monotone submodular', '1/2')
>>> mo.SOLVER_SPECS["cost_benefit_greedy"].accepts, mo.SOLVER_SPECS["greedy"].accepts
(('knapsack',), None)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..constraint import Constraint
from ..errors import InvalidInputError
from ..threads import solve_threads
from ..utility.base import Utility
from ._run import as_constraint, as_utility

__all__ = ["E", "SOLVER_SPECS", "SolverSpec", "exact_gamma", "guarantee_kind", "matroid_like",
           "no_guarantee",
           "CONSTRAINT_KINDS"]

#: The constraint kinds a spec may accept (``Constraint.kind``), in words for messages.
CONSTRAINT_KINDS = {
    "cardinality": "a cardinality constraint (an int k or a UniformMatroid)",
    "matroid": "a matroid",
    "intersection": "an Intersection of matroids",
    "knapsack": "a Knapsack",
    "unconstrained": "no constraint (None or a FreeMatroid)",
}

#: ``1 - 1/e``.
E = 1.0 - 1.0 / math.e

#: Registered solvers by name: their :class:`SolverSpec` (filled by
#: :mod:`matroidopt.solver.registry`, which every ``import matroidopt`` runs).
SOLVER_SPECS: dict[str, SolverSpec] = {}

Guarantee = Callable[..., "tuple[float | None, bool]"]


def no_guarantee(utility: Utility, constraint: Constraint, **options: Any
                 ) -> tuple[float | None, bool]:
    """The guarantee of a solver that declares none: ``(None, False)``."""
    return None, False


def guarantee_kind(constraint: Constraint) -> str:
    """The kind whose guarantee rows apply to ``constraint``: no constraint (a
    :class:`~matroidopt.FreeMatroid`, ``U(n, n)``) is a cardinality constraint with
    ``k = n``; every other kind is itself."""
    return "cardinality" if constraint.kind == "unconstrained" else constraint.kind


def matroid_like(constraint: Constraint) -> bool:
    """A cardinality constraint (no constraint included) or any matroid."""
    return guarantee_kind(constraint) in ("cardinality", "matroid")


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
        The public function ``fn(utility, constraint, *, seed=None, **options) -> Result``.
    guarantee : callable
        ``guarantee(utility, constraint, **options) -> (ratio or None, in_expectation)`` for
        validated inputs; the solver's :class:`~matroidopt.Result` reports it.
    rows : tuple of (solver, constraint, utility, ratio) str
        The solver's rows of :data:`matroidopt.GUARANTEES` (human-readable).
    accepts : tuple of str or None
        The constraint kinds (``Constraint.kind``: keys of :data:`CONSTRAINT_KINDS`; a
        matroid accepts its cardinality kind too) the solver runs on; None: any constraint.
    accepts_note : str
        Said after the refusal of another kind (what to use instead).
    body : callable or None
        The solver's trusted body, called with an admitted utility and constraint; None
        (a solver registered from outside) means ``fn`` itself.
    requires : callable or None
        ``requires(utility) -> bool``: the utilities the solver runs on, asked through a
        utility hook (e.g. ``_dispersion``); None: any utility.
    requires_note : str
        What ``requires`` asks for, in words (said when a utility is refused).
    """

    name: str
    fn: Callable[..., Any]
    guarantee: Guarantee = no_guarantee
    rows: tuple[tuple[str, str, str, str], ...] = ()
    accepts: tuple[str, ...] | None = None
    accepts_note: str = ""
    body: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    requires: Callable[[Utility], bool] | None = field(default=None, repr=False,
                                                       compare=False)
    requires_note: str = ""

    def __post_init__(self) -> None:
        if self.accepts is not None:
            unknown = [k for k in self.accepts if k not in CONSTRAINT_KINDS]
            if unknown:
                raise InvalidInputError(
                    f"accepts: expected kinds among {sorted(CONSTRAINT_KINDS)}, got {unknown}")

    @classmethod
    def declare(cls, name: str, body: Callable[..., Any], guarantee: Guarantee = no_guarantee,
                rows: tuple = (), *, accepts: tuple[str, ...] | None = None,
                accepts_note: str = "", requires: Callable[[Utility], bool] | None = None,
                requires_note: str = "") -> SolverSpec:
        """The spec of a built-in solver whose ``body`` trusts its inputs: ``fn`` is the
        public function (the body's name, signature and docstring) that admits the problem
        once and runs the body."""
        spec: SolverSpec | None = None

        @functools.wraps(body)
        def fn(utility, constraint=None, *args, **options):
            u, c = spec.admit(utility, constraint)
            with solve_threads():
                return body(u, c, *args, **options)

        spec = cls(name, fn, guarantee, tuple(rows), accepts, accepts_note, body,
                   requires, requires_note)
        return spec

    def accepts_utility(self, utility: Utility) -> bool:
        """Whether the solver runs on ``utility`` (its ``requires``; any utility when None)."""
        return self.requires is None or bool(self.requires(utility))

    def accepts_kind(self, constraint: Constraint) -> bool:
        """Whether the solver runs on ``constraint`` (by its kind). No constraint (a
        :class:`~matroidopt.FreeMatroid`) is a cardinality constraint with ``k = n`` to
        solvers that take one."""
        kind = constraint.kind
        if self.accepts is None or kind in self.accepts:
            return True
        if kind == "unconstrained":
            kind = "cardinality"
        return kind in self.accepts or (kind == "cardinality" and "matroid" in self.accepts)

    def admit(self, utility: Any, constraint: Any) -> tuple[Utility, Constraint]:
        """The validated problem: ``utility`` a :class:`~matroidopt.Utility`, ``constraint`` a
        :class:`~matroidopt.Constraint` over the same ground set (an int ``k``: a
        cardinality constraint) of a kind the solver accepts; else an
        :class:`~matroidopt.errors.InvalidInputError` naming the argument."""
        u = as_utility(utility)
        c = as_constraint(constraint, u.n)
        if not self.accepts_kind(c):
            kinds = [k for k in self.accepts
                     if not (k == "cardinality" and "matroid" in self.accepts)]
            if constraint is None:
                constraint = c
            raise InvalidInputError(
                f"constraint: {self.name} needs "
                f"{' or '.join(CONSTRAINT_KINDS[k] for k in kinds)}, "
                f"got {type(constraint).__name__}"
                + (f" ({self.accepts_note})" if self.accepts_note else ""))
        if not self.accepts_utility(u):
            raise InvalidInputError(
                f"utility: {self.name} needs {self.requires_note or 'another utility'}, "
                f"got {u!r}")
        return u, c

    def run(self, utility: Utility, constraint: Constraint, **options: Any) -> Any:
        """Run the trusted body on an admitted problem (what :func:`matroidopt.maximize`
        calls after :meth:`admit`). A built-in body runs under the thread policy
        (:func:`matroidopt.threads.solve_threads`); a solver registered from outside runs as
        it is."""
        if self.body is None:
            return self.fn(utility, constraint, **options)
        with solve_threads():
            return self.body(utility, constraint, **options)
