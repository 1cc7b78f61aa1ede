"""PartitionSel in a plain torch training loop: selector object, anchors, DDP, checkpoints.

Every optimiser step draws a *pool* of candidate examples tagged with domains; a
:class:`PartitionSel` picks the minibatch to train on (``PARTITIONSEL.md``): per-example
gradient features of the pool (:func:`~llm_minibatch.features.gradient_features`), the
validation target from a few held-out *anchor* examples (:class:`AnchorSampler`), and
:func:`~llm_minibatch.selection.select_from_features` with the optimiser's current learning rate
as η. The selector leaves the model exactly as it found it — train/eval flags, ``.grad``
buffers, ``requires_grad`` flags, the optimiser's state and the global RNG — so gradient
accumulation, schedulers and dropout keep working unchanged.

Pieces
------
:class:`AnchorSampler`
    A held-out set (encoded batch) and a per-step seeded draw of ``n_anchors`` rows.
:func:`split_anchors`
    Hold out a small fraction (default 0.5 %) of a training set as the anchor split.
:class:`PartitionSel`
    ``select(pool_batch, domains) -> indices`` and ``select_batch(...) -> minibatch``;
    ``state_dict`` / ``load_state_dict`` for checkpoints; under ``torch.distributed`` every
    rank contributes its part of the pool and all ranks make the same selection.
:func:`selected_batches`
    Wraps a DataLoader of pools and yields the selected minibatches.

Reproducibility
---------------
A selection depends only on ``(seed, step, pool, domains, anchors, model parameters, η)``:
the sketch seed, the solver seed (residual random greedy, ``random``) and the anchor draw are
all derived from ``(seed, step)`` by integer mixing; no generator state is carried from step
to step. The checkpointed "RNG state" is therefore just ``(seed, step)``, and a run resumed
from :meth:`PartitionSel.state_dict` (with model and optimiser restored) repeats the
selections of an uninterrupted run.

Examples
--------
>>> import torch
>>> from peft import LoraConfig, get_peft_model
>>> from transformers import LlamaConfig, LlamaForCausalLM
>>> from llm_minibatch.loop import AnchorSampler, PartitionSel
>>> _ = torch.manual_seed(0)
>>> cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
...                   num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
>>> model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(
...     r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
>>> opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
>>> held_out = torch.randint(0, 64, (8, 8))
>>> anchors = AnchorSampler({"input_ids": held_out, "labels": held_out}, n_anchors=4)
>>> sel = PartitionSel(model, optimizer=opt, ratio=0.25, anchors=anchors, sketch_dim=32)
>>> ids = torch.randint(0, 64, (16, 8))
>>> pool = {"input_ids": ids, "labels": ids.clone()}
>>> domains = ["math"] * 8 + ["code"] * 4 + ["chem"] * 4
>>> batch, record = sel.select_batch(pool, domains, return_record=True)  # 4 of the 16 rows
>>> batch["input_ids"].shape, record.domain_counts
(torch.Size([4, 8]), {'chem': 1, 'code': 1, 'math': 2})
>>> loss = model(**batch).loss
>>> loss.backward(); opt.step(); opt.zero_grad()
>>> sel.step, sorted(sel.history[-1])[:4]
(1, ['b', 'conflicting_pairs', 'domain_counts', 'feature_seconds'])
"""

from .anchors import AnchorSampler, split_anchors
from .batching import collate_examples, trim_padding
from .config import SelectorConfig
from .record import StepRecord
from .selector import FEATURELESS, PartitionSel, selected_batches
from .state import read_state_file, write_state_file

__all__ = ["FEATURELESS", "AnchorSampler", "PartitionSel", "SelectorConfig", "StepRecord",
           "collate_examples", "read_state_file", "selected_batches", "split_anchors",
           "trim_padding", "write_state_file"]
