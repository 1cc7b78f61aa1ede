"""The solver registry and :func:`maximize`, the one-call entry point."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..constraint import Constraint
from ..errors import InvalidInputError
from ..utility.base import Utility
from ._run import as_constraint, as_utility
from .approximate_lazy import SPEC as APPROXIMATE_LAZY_GREEDY
from .continuous import SPEC as CONTINUOUS_GREEDY
from .dispersion import SPEC as DISPERSION_GREEDY
from .double_greedy import SPEC as DOUBLE_GREEDY
from .greedi import SPEC as GREEDI
from .greedy import SPEC as GREEDY
from .knapsack import SPEC as COST_BENEFIT_GREEDY
from .lazy import SPEC as LAZY_GREEDY
from .modular import SPEC as MODULAR_GREEDY
from .random_greedy import SPEC as RANDOM_GREEDY
from .residual_random import SPEC as RESIDUAL_RANDOM_GREEDY
from .result import Result
from .sample import SPEC as SAMPLE_GREEDY
from .sieve import SPEC as SIEVE_STREAMING
from .spec import SOLVER_SPECS, SolverSpec, no_guarantee
from .stochastic import SPEC as STOCHASTIC_GREEDY

__all__ = ["GUARANTEES", "SOLVERS", "SOLVER_SPECS", "register_solver", "unregister_solver",
           "get_solver", "auto_solver", "guarantee", "maximize"]

# SOLVER_SPECS (registered solvers by name: their SolverSpec) is defined beside SolverSpec,
# so that a solver which runs others by name (greedi) reads it without importing this module
#: Registered solver functions by name (``SOLVER_SPECS[name].fn``).
SOLVERS: dict[str, Callable[..., Result]] = {}


def register_solver(name: str, fn: Callable[..., Result] | None = None, *,
                    guarantee: Callable[..., tuple[float | None, bool]] | None = None,
                    rows: tuple = (), accepts: tuple[str, ...] | None = None,
                    accepts_note: str = ""):
    """Register ``fn(utility, constraint, *, seed=None, **options) -> Result`` under ``name``.

    Usable as a decorator (``@register_solver("my_solver")``). Re-registering a name replaces
    it. ``guarantee(utility, constraint, **options) -> (ratio or None, in_expectation)`` is
    what :func:`guarantee` answers for the solver (default: none); ``rows`` are its
    human-readable table lines, kept in ``SOLVER_SPECS[name].rows`` (:data:`GUARANTEES` is
    the built-in solvers' table); ``accepts`` the constraint kinds it runs on (None: any;
    :func:`maximize` refuses others, naming ``constraint``). :func:`maximize` hands ``fn`` a
    validated :class:`~matroidopt.Utility` and a :class:`~matroidopt.Constraint` over the
    same ground set (an int ``k`` already turned into a cardinality constraint). Unregister
    with :func:`unregister_solver`.

    Examples
    --------
    >>> import matroidopt as mo
    >>> @mo.register_solver("my_greedy", accepts=("cardinality",))
    ... def my_greedy(utility, constraint, *, seed=None):
    ...     return mo.lazy_greedy(utility, constraint)   # constraint: a UniformMatroid here
    >>> mo.maximize(mo.Modular([1.0, 2.0, 3.0]), 2, solver="my_greedy").indices.tolist()
    [2, 1]
    >>> mo.maximize(mo.Modular([1.0, 2.0]), mo.Knapsack([1.0, 1.0], 1.0), solver="my_greedy")
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: constraint: my_greedy needs a cardinality constraint ...
    >>> mo.unregister_solver("my_greedy")
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"name: expected a non-empty string, got {name!r}")
    if guarantee is not None and not callable(guarantee):
        raise InvalidInputError(f"guarantee: expected a callable, got {guarantee!r}")

    def deco(f: Callable[..., Result]) -> Callable[..., Result]:
        if not callable(f):
            raise InvalidInputError(f"fn: expected a callable, got {f!r}")
        _add(SolverSpec(name, f, guarantee or no_guarantee, tuple(rows), accepts, accepts_note))
        return f

    return deco if fn is None else deco(fn)


def _add(spec: SolverSpec) -> None:
    SOLVER_SPECS[spec.name] = spec
    SOLVERS[spec.name] = spec.fn


def unregister_solver(name: str) -> None:
    """Remove the solver registered under ``name`` (its function and its spec)."""
    get_solver(name)  # an unknown name is an error naming the registered ones
    SOLVERS.pop(name)
    SOLVER_SPECS.pop(name, None)


def get_solver(name: str) -> Callable[..., Result]:
    """The solver registered under ``name``."""
    try:
        return SOLVERS[name]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"solver: unknown solver {name!r}; registered: {', '.join(sorted(SOLVERS))}"
        ) from None


for _spec in (GREEDY, LAZY_GREEDY, STOCHASTIC_GREEDY, RESIDUAL_RANDOM_GREEDY, COST_BENEFIT_GREEDY,
              RANDOM_GREEDY, CONTINUOUS_GREEDY, MODULAR_GREEDY, GREEDI, DOUBLE_GREEDY,
              SIEVE_STREAMING, DISPERSION_GREEDY, APPROXIMATE_LAZY_GREEDY, SAMPLE_GREEDY):
    _add(_spec)

#: Human-readable guarantee table, (solver, constraint kind, utility class, ratio): the rows
#: the built-in solvers declare in their specs.
GUARANTEES: tuple[tuple[str, str, str, str], ...] = tuple(
    row for spec in SOLVER_SPECS.values() for row in spec.rows)


def guarantee(solver: str, utility: Utility, constraint: Constraint | int | None,
              **options: Any) -> tuple[float | None, bool]:
    """The approximation ratio that applies to a solve, and whether it holds in expectation.

    Answered by the solver's own guarantee function (its spec). Returns ``(None, False)``
    when the declared properties of ``utility`` or the kind of ``constraint`` fall outside
    the solver's rows of :data:`GUARANTEES`, or for a solver that declares none.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.Modular([1.0, 2.0, 3.0])
    >>> mo.guarantee("greedy", f, mo.UniformMatroid(3, 2))
    (0.6321205588285577, False)
    >>> mo.guarantee("residual_random_greedy", f, mo.PartitionMatroid([0, 0, 1], [1, 1]))
    (0.25, True)
    >>> mo.guarantee("stochastic_greedy", f, 2, epsilon=0.1)   # an int k, as in maximize
    (0.5321205588285577, True)
    """
    constraint = as_constraint(constraint, as_utility(utility).n)   # int k / None as maximize
    # a name deleted from SOLVERS by hand is no longer a solver, whatever spec was left
    spec = SOLVER_SPECS.get(solver) if isinstance(solver, str) and solver in SOLVERS else None
    return (None, False) if spec is None else spec.guarantee(utility, constraint, **options)


def auto_solver(utility: Utility, constraint: Constraint | int) -> str:
    """The solver ``maximize(..., solver="auto")`` picks: ``cost_benefit_greedy`` for a
    :class:`~matroidopt.Knapsack`, ``dispersion_greedy`` for a dispersion utility
    (:class:`~matroidopt.DisparitySum`, :class:`~matroidopt.DisparityMin`) under a
    cardinality constraint, ``double_greedy`` for a non-monotone submodular utility
    without a constraint (``None`` or a :class:`~matroidopt.FreeMatroid`), ``lazy_greedy``
    for a submodular utility with exact gains, ``greedy`` otherwise."""
    kind = "unconstrained" if constraint is None else getattr(constraint, "kind", None)
    if isinstance(constraint, (int, np.integer)) and not isinstance(constraint, bool):
        kind = "cardinality"
    if kind == "knapsack":
        return "cost_benefit_greedy"
    dispersion = getattr(utility, "_dispersion", None)
    if kind in ("cardinality", "unconstrained") and callable(dispersion) \
            and dispersion() is not None:
        return "dispersion_greedy"
    if kind == "unconstrained" and getattr(utility, "submodular", False) \
            and not getattr(utility, "monotone", True):
        return "double_greedy"
    if getattr(utility, "submodular", False) and getattr(utility, "gains_are_exact", True):
        return "lazy_greedy"
    return "greedy"


def maximize(utility: Utility, constraint: Constraint | int | None, solver: str = "auto",
             seed: Any = None, **options: Any) -> Result:
    """Maximise ``utility`` subject to ``constraint`` with a registered solver.

    Parameters
    ----------
    utility : Utility
        The set function.
    constraint : Constraint, int or None
        A matroid, :class:`~matroidopt.Knapsack` or :class:`~matroidopt.Intersection`; an int
        ``k`` means a cardinality constraint (:class:`~matroidopt.UniformMatroid`); None
        means no constraint (:class:`~matroidopt.FreeMatroid`).
    solver : str
        A name in :data:`SOLVERS`, or ``"auto"`` (default): :func:`auto_solver` picks
        ``lazy_greedy`` (``cost_benefit_greedy`` for a knapsack, ``greedy`` for a utility that
        is not submodular or has proxy gains).
    seed : int, numpy Generator or None
        For randomised solvers; same seed, same result.
    **options
        Passed to the solver (e.g. ``epsilon`` for stochastic greedy, ``progress=True``).

    Returns
    -------
    Result
        Indices in selection order, value, certificate (``upper_bound``), guarantee, oracle
        calls and time.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> m = mo.PartitionMatroid(np.arange(100) % 4, [2, 2, 2, 2])
    >>> res = mo.maximize(f, m)
    >>> len(res.indices), res.guarantee, res.value <= res.upper_bound
    (8, 0.5, True)
    """
    if solver == "auto":
        solver = auto_solver(utility, constraint)
    fn = get_solver(solver)
    # a solver put into SOLVERS by hand has no spec of its own: it gets the generic door
    spec = SOLVER_SPECS.get(solver)
    if spec is None or spec.fn is not fn:
        spec = SolverSpec(solver, fn)
    params = inspect.signature(fn).parameters
    accepts_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not accepts_kwargs:
        unknown = sorted(set(options) - set(params))
        if unknown:
            valid = sorted(p for p in params if p not in ("utility", "constraint", "seed"))
            raise InvalidInputError(
                f"options: {solver} does not accept {', '.join(unknown)}; valid options: "
                f"{', '.join(valid) or '(none)'}"
            )
    utility, constraint = spec.admit(utility, constraint)   # validated once, here
    return spec.run(utility, constraint, seed=seed, **options)
