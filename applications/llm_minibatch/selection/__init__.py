"""Selection: features in, indices out (model-free).

:mod:`.methods`
    :func:`select_from_features` — PartitionSel and every baseline (:data:`METHODS`), each
    scored by one shared refit of the weighted gradient-matching utility.
:mod:`.domains`
    :class:`PoolDomains` — the pool's labels checked, ordered and counted once per step.
:mod:`.budgets`
    Per-domain quotas (the partition matroid's capacities): :func:`compute_quotas` and its
    rules.
:mod:`.utility`
    The gradient-matching utilities as matroidopt utilities (:class:`WeightedGradientMatching`,
    :class:`GreatsUtility`) and :func:`submodularity_ratio`.
:mod:`.qp`
    :func:`solve_nonnegative_qp`, the exact refit of the weights.
:mod:`.diagnostics`
    Conflicting gradient pairs and per-domain counts.
:mod:`.synthetic`
    Synthetic multi-domain pools with conflicting domains, for tests and benchmarks.
"""

from .budgets import RULES, compute_quotas, explicit, mixture, proportional, uniform
from .diagnostics import conflicting_pairs, domain_counts
from .domains import PoolDomains
from .methods import METHODS, Selection, select_from_features, stratified_indices
from .qp import solve_nonnegative_qp
from .synthetic import SyntheticPool, synthetic_pool
from .utility import LR_RANGE, GreatsUtility, WeightedGradientMatching, submodularity_ratio

__all__ = [
    "LR_RANGE", "METHODS", "RULES", "GreatsUtility", "PoolDomains", "Selection", "SyntheticPool",
    "WeightedGradientMatching", "compute_quotas", "conflicting_pairs", "domain_counts",
    "explicit", "mixture", "proportional", "select_from_features", "solve_nonnegative_qp",
    "stratified_indices", "submodularity_ratio", "synthetic_pool", "uniform",
]
