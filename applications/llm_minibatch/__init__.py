"""llm_minibatch: PartitionSel, online minibatch selection for multi-domain LLM fine-tuning.

Each step draws a pool of candidates tagged with domains, computes per-example gradient
features, and selects the minibatch whose weighted gradient best matches a validation
gradient under per-domain quotas (a partition matroid), with matroidopt's residual random
greedy. Model-free entry point::

    from llm_minibatch import select_from_features
    sel = select_from_features(features, domains, target, b=32, method="partitionsel", lr=1e-4)

Features from a model: :func:`gradient_features` (``torch.func`` per-example gradients of the
LoRA adapters of the last blocks, optional seeded sketch, L2-normalised).
"""

from .budgets import RULES, compute_quotas, explicit, mixture, proportional, uniform
from .diagnostics import conflicting_pairs, domain_counts
from .features import (
    FILTERS,
    SKETCHES,
    Sketch,
    gradient_features,
    lm_head_gradients,
    lora_last_blocks,
    normalize_rows,
    per_example_gradients,
    select_parameters,
)
from .selector import METHODS, Selection, select_from_features
from .synthetic import SyntheticPool, synthetic_pool
from .utility import (
    GreatsUtility,
    WeightedGradientMatching,
    solve_nonnegative_qp,
    submodularity_ratio,
)

__version__ = "0.1.0"

__all__ = [
    "RULES", "compute_quotas", "proportional", "uniform", "mixture", "explicit",
    "conflicting_pairs", "domain_counts",
    "FILTERS", "SKETCHES", "Sketch", "gradient_features", "lm_head_gradients",
    "lora_last_blocks", "normalize_rows", "per_example_gradients", "select_parameters",
    "METHODS", "Selection", "select_from_features",
    "SyntheticPool", "synthetic_pool",
    "GreatsUtility", "WeightedGradientMatching", "solve_nonnegative_qp", "submodularity_ratio",
]
