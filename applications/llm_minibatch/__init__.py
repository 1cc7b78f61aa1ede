"""llm_minibatch: PartitionSel, online minibatch selection for multi-domain LLM fine-tuning.

Each step draws a pool of candidates tagged with domains, computes per-example gradient
features, and selects the minibatch whose weighted gradient best matches a validation
gradient under per-domain quotas (a partition matroid), with matroidopt's residual random
greedy. Model-free entry point::

    from llm_minibatch import select_from_features
    sel = select_from_features(features, domains, target, b=32, method="partitionsel", lr=1e-4)

Features from a model: :func:`gradient_features` (per-example gradients of the LoRA adapters of
the last blocks from one batched pass with hooks, optional seeded sketch, L2-normalised).

In a training loop: :class:`PartitionSel` (``select(pool, domains)``, :func:`selected_batches`
around a DataLoader of pools, torch.distributed aware, checkpointable) and, for the Hugging Face
``Trainer``, :class:`PartitionSelTrainer`. Data, tokenizer, tiny models, evaluation and the
demo live in :mod:`llm_minibatch.corpus`, :mod:`~llm_minibatch.tokenization`,
:mod:`~llm_minibatch.models`, :mod:`~llm_minibatch.evaluation`,
:mod:`~llm_minibatch.finetune` (one fine-tuning run of one method, shared by the demo and the
experiment) and :mod:`~llm_minibatch.demo` (``python -m llm_minibatch demo``). The modules that need
``transformers`` are imported on first use.
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from .features import (
    ENGINES,
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
from .loop import AnchorSampler, PartitionSel, selected_batches, split_anchors
from .selection import (
    METHODS,
    RULES,
    GreatsUtility,
    Selection,
    SyntheticPool,
    WeightedGradientMatching,
    compute_quotas,
    conflicting_pairs,
    domain_counts,
    explicit,
    mixture,
    proportional,
    select_from_features,
    solve_nonnegative_qp,
    submodularity_ratio,
    synthetic_pool,
    uniform,
)

__version__ = "0.1.0"

# names whose modules import transformers / peft / matplotlib: loaded on first access
_LAZY = {
    "PartitionSelTrainer": "trainer", "PoolCollator": "trainer",
    "ByteTokenizer": "tokenization", "encode_examples": "tokenization",
    "tiny_llama": "models", "tiny_qwen2": "models", "add_lora": "models",
    "load_model": "models", "load_tokenizer": "models",
    "domain_losses": "evaluation", "exact_match": "evaluation",
    "load_corpus": "corpus", "make_corpus": "corpus", "load_jsonl": "corpus",
    "load_hf_dataset": "corpus", "train_val_split": "corpus",
    "DemoConfig": "demo", "run_demo": "demo", "RunSettings": "finetune",
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        value = getattr(_import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "RULES", "compute_quotas", "proportional", "uniform", "mixture", "explicit",
    "conflicting_pairs", "domain_counts",
    "ENGINES", "FILTERS", "SKETCHES", "Sketch", "gradient_features", "lm_head_gradients",
    "lora_last_blocks", "normalize_rows", "per_example_gradients", "select_parameters",
    "METHODS", "Selection", "select_from_features",
    "SyntheticPool", "synthetic_pool",
    "GreatsUtility", "WeightedGradientMatching", "solve_nonnegative_qp", "submodularity_ratio",
    "AnchorSampler", "PartitionSel", "selected_batches", "split_anchors",
    *_LAZY,
]
