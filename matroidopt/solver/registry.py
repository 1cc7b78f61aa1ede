"""The solver registry and :func:`maximize`, the one-call entry point."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..constraint import Constraint, Knapsack
from ..errors import InvalidInputError
from ..utility.base import Utility
from .continuous import continuous_greedy
from .greedy import greedy
from .knapsack import cost_benefit_greedy
from .lazy import lazy_greedy
from .random_greedy import random_greedy
from .residual_random import residual_random_greedy
from .result import Result
from .stochastic import stochastic_greedy

__all__ = ["SOLVERS", "register_solver", "get_solver", "auto_solver", "maximize"]

#: Registered solvers by name.
SOLVERS: dict[str, Callable[..., Result]] = {}


def register_solver(name: str, fn: Callable[..., Result] | None = None):
    """Register ``fn(utility, constraint, *, seed=None, **options) -> Result`` under ``name``.

    Usable as a decorator (``@register_solver("my_solver")``). Re-registering a name replaces
    it.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"name: expected a non-empty string, got {name!r}")

    def deco(f: Callable[..., Result]) -> Callable[..., Result]:
        if not callable(f):
            raise InvalidInputError(f"fn: expected a callable, got {f!r}")
        SOLVERS[name] = f
        return f

    return deco if fn is None else deco(fn)


def get_solver(name: str) -> Callable[..., Result]:
    """The solver registered under ``name``."""
    try:
        return SOLVERS[name]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"solver: unknown solver {name!r}; registered: {', '.join(sorted(SOLVERS))}"
        ) from None


for _name, _fn in [("greedy", greedy), ("lazy_greedy", lazy_greedy),
                   ("stochastic_greedy", stochastic_greedy),
                   ("residual_random_greedy", residual_random_greedy),
                   ("cost_benefit_greedy", cost_benefit_greedy),
                   ("random_greedy", random_greedy),
                   ("continuous_greedy", continuous_greedy)]:
    register_solver(_name, _fn)


def auto_solver(utility: Utility, constraint: Constraint | int) -> str:
    """The solver ``maximize(..., solver="auto")`` picks: ``cost_benefit_greedy`` for a
    :class:`~matroidopt.Knapsack`, ``lazy_greedy`` for a submodular utility with exact gains,
    ``greedy`` otherwise."""
    if isinstance(constraint, Knapsack):
        return "cost_benefit_greedy"
    if getattr(utility, "submodular", False) and getattr(utility, "gains_are_exact", True):
        return "lazy_greedy"
    return "greedy"


def maximize(utility: Utility, constraint: Constraint | int, solver: str = "auto",
             seed: Any = None, **options: Any) -> Result:
    """Maximise ``utility`` subject to ``constraint`` with a registered solver.

    Parameters
    ----------
    utility : Utility
        The set function.
    constraint : Constraint or int
        A matroid, :class:`~matroidopt.Knapsack` or :class:`~matroidopt.Intersection`; an int
        ``k`` means a cardinality constraint (:class:`~matroidopt.UniformMatroid`).
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
    if isinstance(constraint, Constraint) and isinstance(utility, Utility) \
            and constraint.n != utility.n:
        raise InvalidInputError(
            f"constraint: its ground set has {constraint.n} elements but the utility's has "
            f"{utility.n}"
        )
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
    return fn(utility, constraint, seed=seed, **options)
