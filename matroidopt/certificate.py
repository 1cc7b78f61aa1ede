"""A-posteriori certificates (upper bounds on OPT) and the table of guarantees.

**Certificate.** For a monotone submodular ``f``, any set ``S`` and any feasible ``O``,

    f(O) <= f(S ∪ O) <= f(S) + sum_{j in O} Δ(j | S),

so ``OPT <= f(S) + max_{I feasible} sum_{j in I} Δ(j | S)`` (Minoux 1978; Leskovec et al.
2007). By submodularity any stale gain ``Δ(j | S')`` with ``S' ⊆ S`` is an upper bound on
``Δ(j | S)``, so the bound stays valid with the stale gains that greedy-type solvers keep for
free. For a matroid the inner maximum is one maximum-weight-basis call; for a knapsack its LP
relaxation; for an intersection of matroids the least of the matroids' maxima. Solvers take the
minimum over the prefixes of their solution. For a monotone γ-weakly submodular ``f`` with
exact gains, the sum is divided by γ (Das & Kempe 2011), using fresh gains only.
"""

from __future__ import annotations

import math

import torch

from .constraint import Constraint
from .utility.base import Utility

__all__ = ["guarantee", "certificate_bound", "GUARANTEES"]

_E = 1.0 - 1.0 / math.e

#: Human-readable guarantee table: (solver, constraint kind, utility class) -> ratio.
GUARANTEES: tuple[tuple[str, str, str, str], ...] = (
    ("greedy, lazy_greedy", "cardinality", "monotone submodular", "1 - 1/e"),
    ("greedy, lazy_greedy", "any matroid", "monotone submodular", "1/2"),
    ("greedy, lazy_greedy", "intersection of p matroids", "monotone submodular", "1/(p+1)"),
    ("greedy", "cardinality", "monotone γ-weakly submodular", "1 - e^(-γ)"),
    ("stochastic_greedy(ε)", "cardinality", "monotone submodular", "1 - 1/e - ε (expected)"),
    ("residual_random_greedy", "any matroid", "monotone γ-weakly submodular",
     "(1 + 1/γ)^(-2) (expected)"),
    ("cost_benefit_greedy", "knapsack", "monotone submodular", "(1 - 1/e)/2"),
    ("random_greedy", "cardinality", "non-negative submodular", "1/e (expected)"),
    ("random_greedy", "cardinality", "monotone submodular", "1 - 1/e (expected)"),
    ("continuous_greedy", "any matroid", "monotone submodular",
     "1 - (1 - 1/T)^T - r(r - 1)/(2T), T steps, exact weights -> 1 - 1/e (expected)"),
    ("continuous_greedy(variant='threshold', ε)", "any matroid", "monotone submodular",
     "1 - 1/e - ε, exact weights (expected)"),
)


def _matroid_like(constraint: Constraint) -> bool:
    return constraint.kind in ("cardinality", "matroid")


def guarantee(solver: str, utility: Utility, constraint: Constraint, **options
              ) -> tuple[float | None, bool]:
    """The approximation ratio that applies to this solve, and whether it holds in expectation.

    Returns ``(None, False)`` when the declared properties of ``utility`` or the kind of
    ``constraint`` fall outside every row of :data:`GUARANTEES`.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.Modular([1.0, 2.0, 3.0])
    >>> mo.guarantee("greedy", f, mo.UniformMatroid(3, 2))
    (0.6321205588285577, False)
    >>> mo.guarantee("residual_random_greedy", f, mo.PartitionMatroid([0, 0, 1], [1, 1]))
    (0.25, True)
    """
    mono, sub = utility.monotone, utility.submodular
    # the γ-weakly-submodular rows are proved for exact marginal gains; a proxy (e.g. a
    # gradient-matching refit's gradient) voids them
    gamma = utility.weak_submodularity if (mono and utility.gains_are_exact) else None
    kind = constraint.kind
    if solver in ("greedy", "lazy_greedy"):
        if mono and sub:
            if kind == "cardinality":
                return _E, False
            if kind == "matroid":
                return 0.5, False
            if kind == "intersection":
                return 1.0 / (getattr(constraint, "p", 1) + 1), False
        if solver == "greedy" and mono and gamma is not None and kind == "cardinality":
            return 1.0 - math.exp(-gamma), False
        return None, False
    if solver == "stochastic_greedy":
        if mono and sub and kind == "cardinality":
            eps = float(options.get("epsilon", 0.1))
            return max(0.0, _E - eps), True
        return None, False
    if solver == "residual_random_greedy":
        if mono and gamma is not None and _matroid_like(constraint):
            return (1.0 + 1.0 / gamma) ** -2, True
        return None, False
    if solver == "cost_benefit_greedy":
        if mono and sub and kind == "knapsack":
            return _E / 2.0, False
        return None, False
    if solver == "continuous_greedy":
        if mono and sub and _matroid_like(constraint):
            if options.get("sampled"):
                # estimated weights: the bound needs a sample size far beyond practical ones
                return None, False
            if options.get("variant") == "threshold":
                return max(0.0, _E - float(options["epsilon"])), True
            steps = options.get("steps")
            if steps is None:  # asked without a step count: the limit T -> infinity
                return _E, True
            # T steps of size 1/T with exact weights: F(x) >= (1 - (1 - 1/T)^T) OPT minus the
            # second-order loss r(r - 1)/(2T) OPT (r the rank); rounding keeps it in expectation
            r = constraint._max_feasible_size()
            return max(0.0, 1.0 - (1.0 - 1.0 / steps) ** steps - r * (r - 1) / (2.0 * steps)), \
                True
        return None, False
    if solver == "random_greedy":
        if sub and kind == "cardinality":
            if mono:
                return _E, True
            if utility.nonnegative:
                return 1.0 / math.e, True
        return None, False
    return None, False


def certificate_bound(value: float, gain_bounds: torch.Tensor, constraint: Constraint,
                      gamma: float = 1.0) -> float:
    """``value + (1/γ) · max_{I feasible} sum_{j in I} max(gain_bounds[j], 0)``.

    ``gain_bounds[j]`` must be an upper bound on ``Δ(j | S)`` for ``value = f(S)`` (0 for
    ``j ∈ S``). Valid for monotone γ-weakly submodular ``f`` (γ = 1: submodular).
    """
    return float(value) + constraint._max_weight_sum(gain_bounds) / gamma
