"""A-posteriori certificates: upper bounds on OPT.

**Certificate.** For a monotone submodular ``f``, any set ``S`` and any feasible ``O``,

    f(O) <= f(S ∪ O) <= f(S) + sum_{j in O} Δ(j | S),

so ``OPT <= f(S) + max_{I feasible} sum_{j in I} Δ(j | S)`` (Minoux 1978; Leskovec et al.
2007). By submodularity any stale gain ``Δ(j | S')`` with ``S' ⊆ S`` is an upper bound on
``Δ(j | S)``, so the bound stays valid with the stale gains that greedy-type solvers keep for
free. For a matroid the inner maximum is one maximum-weight-basis call; for a knapsack its LP
relaxation; for an intersection of matroids the least of the matroids' maxima. Solvers take the
minimum over the prefixes of their solution. For a monotone γ-weakly submodular ``f`` with
exact gains, the sum is divided by γ (Das & Kempe 2011), using fresh gains only.

The guarantee table (which ratio applies to a solve) lives beside the solvers: each declares
it in its :class:`~matroidopt.solver.spec.SolverSpec`; :func:`matroidopt.guarantee` and
:data:`matroidopt.GUARANTEES` read the registry.
"""

from __future__ import annotations

import torch

from .constraint import Constraint

__all__ = ["certificate_bound"]

def certificate_bound(value: float, gain_bounds: torch.Tensor, constraint: Constraint,
                      gamma: float = 1.0) -> float:
    """``value + (1/γ) · max_{I feasible} sum_{j in I} max(gain_bounds[j], 0)``.

    ``gain_bounds[j]`` must be an upper bound on ``Δ(j | S)`` for ``value = f(S)`` (0 for
    ``j ∈ S``). Valid for monotone γ-weakly submodular ``f`` (γ = 1: submodular).
    """
    return float(value) + constraint._max_weight_sum(gain_bounds) / gamma
