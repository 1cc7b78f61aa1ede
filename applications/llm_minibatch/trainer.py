"""PartitionSel inside the Hugging Face ``Trainer``: pools in, selected minibatches trained on.

:class:`PartitionSelTrainer` is a ``transformers.Trainer`` whose training dataloader yields
*pools* of ``N = round(per_device_train_batch_size / ratio)`` examples, each tagged with its
domain; before every micro-batch the :class:`~llm_minibatch.loop.PartitionSel` selector
picks the ``b = per_device_train_batch_size`` rows to train on (``PARTITIONSEL.md``), and the
ordinary ``Trainer.training_step`` runs on that sub-batch. Everything else — optimiser,
scheduler, gradient accumulation, mixed precision, peft/LoRA models, evaluation, callbacks,
checkpoints — is the Trainer's own.

How it plugs in
---------------
Data
    The train dataloader has batch size ``N`` (:attr:`PartitionSelTrainer.pool_size`) and
    always drops an incomplete final pool (a pool must be full to honour the ratio). The
    default collator is :class:`PoolCollator` (right padding; labels padded with -100; the
    domains kept as a list). The domain column survives ``remove_unused_columns=True``: it is
    added to the Trainer's signature columns, and removed again before any model call.
Selection
    Happens in :meth:`PartitionSelTrainer.get_batch_samples`, i.e. when the Trainer fetches the
    ``gradient_accumulation_steps`` micro-batches of one optimiser step — *before* the Trainer
    counts the target tokens (``num_items_in_batch``) that normalise the loss, so the loss is
    normalised over the selected rows, not over the pools, and an accumulated step equals the
    unaccumulated step on the same selection. (Selection never touches gradients, so selecting
    the micro-batches of a step before their backward passes changes nothing.)
η and step
    η is the optimiser's current learning rate (``optimizer.param_groups[0]["lr"]``, the rate
    of the update the selected batch feeds; clipped into ``[1e-8, 10]`` by the selector, so a
    warm-up's lr of 0 is harmless). The selector's step — which seeds the anchor draw, the
    sketch and the randomised solver — is the **micro-step**
    ``global_step · gradient_accumulation_steps + i`` for the ``i``-th micro-batch of the
    step; it is a function of the Trainer's restored ``global_step``, hence identical after a
    resume (with the same ``gradient_accumulation_steps``).
Anchors
    ``anchor_dataset`` when given; otherwise 0.5 % of ``train_dataset`` (at least
    ``n_anchors`` rows, stratified by domain) is held out with
    :func:`~llm_minibatch.loop.split_anchors` and removed from training — for every
    method, so that all methods train on the same rows.
Diagnostics
    At every logging step, ``self.log`` receives ``sel/count/<domain>`` (examples selected
    per optimiser step), ``sel/conflicting_pairs`` and ``sel/F`` (mean per pool),
    ``sel/selection_seconds`` and ``sel/feature_seconds`` (per optimiser step), averaged
    over the steps since the previous log; they land in ``trainer.state.log_history`` and in
    every reporting integration. ``random`` and ``full`` have no features, so no ``sel/F`` or
    ``sel/conflicting_pairs``. :attr:`PartitionSelTrainer.selection_log` keeps the recent
    selections (indices included).
Checkpoints
    Every checkpoint folder gets ``partitionsel_state.json`` (:data:`STATE_FILE`): the
    selector's :meth:`~llm_minibatch.loop.PartitionSel.state_dict` (step, seed, running
    statistics, history). ``train(resume_from_checkpoint=...)`` restores it. Since every random
    choice of a selection derives from ``(seed, step)``, a resumed run makes the selections
    of the uninterrupted one (the Trainer restores model, optimiser, scheduler and data order).
    The file is written atomically (:func:`~llm_minibatch.loop.write_state_file`) by the
    process that saves (``args.should_save``), into the checkpoint folder *before* the
    Trainer saves the rest and rotates old checkpoints (``save_total_limit``): every
    checkpoint folder that survives rotation has its state file, and a crash while saving
    leaves the older checkpoints and their state files intact. A corrupt, truncated or
    incomplete state file makes ``train(resume_from_checkpoint=...)`` fail at once with an
    :class:`~matroidopt.errors.InvalidInputError` naming the file and what is wrong.

Bad input (before any training step, as :class:`~matroidopt.errors.InvalidInputError`):
a training set without the domain column, ``ratio`` outside ``(0, 1]``, a pool smaller than the
batch, a training set that cannot fill one pool, a parameter filter matching nothing.

Examples
--------
>>> from llm_minibatch.trainer import PoolCollator
>>> pool = PoolCollator(pad_token_id=0)([
...     {"input_ids": [5, 6, 7], "domain": "math"},
...     {"input_ids": [8, 9], "labels": [-100, 9], "domain": "code"}])
>>> pool["input_ids"].tolist(), pool["labels"].tolist(), pool["domain"]
([[5, 6, 7], [8, 9, 0]], [[5, 6, 7], [-100, 9, -100]], ['math', 'code'])
>>> pool["attention_mask"].tolist()
[[1, 1, 1], [1, 1, 0]]
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, Subset
from transformers import Trainer
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint, seed_worker
from transformers.utils import is_datasets_available

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .loop import (
    AnchorSampler,
    PartitionSel,
    SelectorConfig,
    collate_examples,
    read_state_file,
    split_anchors,
    trim_padding,
    write_state_file,
)

__all__ = ["STATE_FILE", "PartitionSelTrainer", "PoolCollator"]

#: Name of the selector-state file written into every checkpoint folder.
STATE_FILE = "partitionsel_state.json"
_STATE_FORMAT = "llm_minibatch.PartitionSelTrainer/1"
#: Keys of ``selector_kwargs`` the trainer sets itself.
_RESERVED = ("model", "optimizer", "anchors", "minibatch_size")


# --------------------------------------------------------------------------- collator
class PoolCollator:
    """Collate encoded examples into a padded pool, keeping their domains.

    Each example is a mapping with ``input_ids`` (list or 1-D tensor) and optionally
    ``labels`` (default: the input ids with masked positions ignored, i.e. causal-LM training
    on every real token) and ``attention_mask`` (default: all ones). Sequences are
    right-padded to the longest one: ``input_ids`` with ``pad_token_id``, ``labels`` with -100
    (ignored by the loss), ``attention_mask`` with 0. Other keys are dropped.

    A call on a list of ``N`` examples returns a dict: ``input_ids``, ``labels``,
    ``attention_mask`` (``(N, T)`` long tensors) and, under the key ``domain_column``, the
    list of the ``N`` labels.

    Parameters
    ----------
    pad_token_id : int, default 0
        Padding id for ``input_ids``.
    domain_column : str, default "domain"
        Key of each example's domain label; the pool gets the list of labels under the same
        key (absent when no example has one; some with and some without is an error).

    Raises
    ------
    InvalidInputError
        An empty list, an example without ``input_ids``, lengths that disagree inside an
        example, an empty sequence, or domains present on only some examples.
    """

    def __init__(self, pad_token_id: int = 0, domain_column: str = "domain"):
        self.pad_token_id = check_int(pad_token_id, "pad_token_id", minimum=0)
        if not isinstance(domain_column, str) or not domain_column:
            raise InvalidInputError(
                f"domain_column: expected a non-empty column name, got {domain_column!r}")
        self.domain_column = domain_column

    def __repr__(self) -> str:
        return f"PoolCollator(pad_token_id={self.pad_token_id}, " \
               f"domain_column={self.domain_column!r})"

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict:
        if len(features) == 0:
            raise InvalidInputError("features: cannot collate an empty list of examples")
        batch = collate_examples(features, self.pad_token_id, arg="features", keep_mask=True)
        doms = [ex.get(self.domain_column, _MISSING) for ex in features]
        missing = [i for i, d in enumerate(doms) if d is _MISSING]
        if missing and len(missing) < len(doms):
            raise InvalidInputError(
                f"features: examples {missing[:5]} have no {self.domain_column!r} while others "
                "do; every example of a pool needs its domain")
        if not missing:
            batch[self.domain_column] = [_plain(d) for d in doms]
        return batch


_MISSING = object()


def _plain(d: Any) -> Any:
    """A domain label as a plain hashable Python value (0-d tensors / numpy scalars unwrapped)."""
    if isinstance(d, torch.Tensor) and d.dim() == 0:
        return d.item()
    item = getattr(d, "item", None)
    if callable(item) and getattr(d, "ndim", None) == 0:
        return item()
    return d


# --------------------------------------------------------------------------- dataset helpers
def _is_hf_dataset(ds: Any) -> bool:
    if not is_datasets_available():
        return False
    import datasets

    return isinstance(ds, datasets.Dataset)


def _columns(ds: Any) -> list | None:
    """Column names of a dataset (None when they cannot be seen without consuming it)."""
    if _is_hf_dataset(ds):
        return list(ds.column_names)
    if isinstance(ds, IterableDataset) or not hasattr(ds, "__getitem__"):
        return None
    try:
        n = len(ds)
    except TypeError:
        return None
    if n == 0:
        raise InvalidInputError("train_dataset: the training set is empty")
    row = ds[0]
    if not isinstance(row, Mapping):
        raise InvalidInputError(
            "train_dataset: expected examples that are mappings (column -> value), got "
            f"{type(row).__name__}")
    return list(row)


def _domains_of(ds: Any, column: str) -> list:
    if _is_hf_dataset(ds):
        return [_plain(d) for d in ds[column]]
    return [_plain(ds[i][column]) for i in range(len(ds))]


def _subset(ds: Any, idx: Sequence[int]) -> Any:
    idx = [int(i) for i in idx]
    return ds.select(idx) if _is_hf_dataset(ds) else Subset(ds, idx)


def _rows(ds: Any, idx: Sequence[int] | None = None) -> list:
    idx = range(len(ds)) if idx is None else idx
    return [dict(ds[int(i)]) for i in idx]


# --------------------------------------------------------------------------- the trainer
class PartitionSelTrainer(Trainer):
    """``transformers.Trainer`` that trains on PartitionSel's selection from each pool.

    Takes every ``Trainer`` argument, plus the keyword-only ones below. See the module
    docstring for the data flow, η, the selector's step, logging and checkpoints.

    Parameters
    ----------
    selector_kwargs : dict, optional
        Passed to :class:`~llm_minibatch.loop.PartitionSel`: ``method``, ``ratio``
        (default 0.125), ``budget_rule``, ``param_filter``, ``sketch_dim``, ``sketch``,
        ``seed`` (default: ``args.seed``), ``chunk_size``, ``deterministic``,
        ``target_proportions``, ``quotas``, ``keep_all``, ``process_group``, ``lr`` (default:
        ``args.learning_rate``; only used before the optimiser exists). ``model``,
        ``optimizer``, ``anchors`` and ``minibatch_size`` (``per_device_train_batch_size`` ×
        world size) are set by the trainer.
    anchor_dataset : dataset, sequence of examples, batch mapping or AnchorSampler, optional
        The held-out anchor set (encoded like the training examples; a domain column is
        ignored). Default: hold out 0.5 % of ``train_dataset`` (see module docstring).
    n_anchors : int, default 4
        Anchors drawn per selection.
    domain_column : str, default "domain"
        The column holding each training example's domain.
    pool_size : int, optional
        Pool size ``N`` per device; sets ``ratio = per_device_train_batch_size / N`` (then
        ``selector_kwargs`` must not give a ratio). Default ``round(b / ratio)``.

    Attributes
    ----------
    selector : PartitionSel
    anchors : AnchorSampler
    anchor_indices : numpy.ndarray or None
        Rows of the original ``train_dataset`` held out as anchors (None with
        ``anchor_dataset``).
    selection_log : collections.deque of dict
        The last 1000 selections: ``global_step``, ``micro_step``, ``selector_step``,
        ``indices`` (selected pool rows, global pool under ``torch.distributed``),
        ``domain_counts``, ``utility``, ``conflicting_pairs``, ``selection_seconds``,
        ``feature_seconds``, ``lr``.

    Raises
    ------
    InvalidInputError
        Before any training: no ``domain_column`` in the training set (the message lists its
        columns); ``ratio`` outside ``(0, 1]``; ``pool_size`` below the batch size; a training
        set smaller than one pool; a ``param_filter`` matching no parameter; an unknown
        ``method``; reserved or unknown ``selector_kwargs``;
        ``train_sampling_strategy="batch_rebalance"`` (it builds batches, not pools).

    Notes
    -----
    Under ``torch.distributed`` every rank draws its own pool of ``N`` rows; the selector
    gathers them, all ranks make the same selection of ``world_size · b`` rows, and each
    trains on its ``b``-row share (:meth:`PartitionSel.select_batch`).

    With ``method="full"`` the whole pool is trained on (``N`` rows per micro-batch).
    """

    #: How many selections :attr:`selection_log` keeps.
    SELECTION_LOG_LIMIT = 1000

    def __init__(self, *args: Any, selector_kwargs: Mapping[str, Any] | None = None,
                 anchor_dataset: Any = None, n_anchors: int = 4, domain_column: str = "domain",
                 pool_size: int | None = None, **kwargs: Any):
        if not isinstance(domain_column, str) or not domain_column:
            raise InvalidInputError(
                f"domain_column: expected a non-empty column name, got {domain_column!r}")
        self.domain_column = domain_column
        self.n_anchors = check_int(n_anchors, "n_anchors", minimum=1)
        skw = dict(selector_kwargs or {})
        reserved = [k for k in _RESERVED if k in skw]
        if reserved:
            raise InvalidInputError(
                f"selector_kwargs: {reserved} are set by PartitionSelTrainer (the Trainer's "
                "model and optimizer; anchors come from anchor_dataset; minibatch_size is "
                "per_device_train_batch_size times the world size)")
        if pool_size is not None:
            pool_size = check_int(pool_size, "pool_size", minimum=1)
            if "ratio" in skw:
                raise InvalidInputError(
                    "pool_size: give either pool_size or selector_kwargs['ratio'], not both")
        # the default collator pads pools and keeps the domains
        if kwargs.get("data_collator") is None and (len(args) < 3 or args[2] is None):
            kwargs["data_collator"] = PoolCollator(
                _pad_token_id(kwargs.get("processing_class"),
                              kwargs.get("model", args[0] if args else None)),
                domain_column)
        super().__init__(*args, **kwargs)

        b = check_int(self.args.per_device_train_batch_size, "per_device_train_batch_size",
                      minimum=1)
        if pool_size is not None:
            if pool_size < b:
                raise InvalidInputError(
                    f"pool_size: a pool of {pool_size} examples is smaller than the batch "
                    f"(per_device_train_batch_size={b}); PartitionSel selects the batch from "
                    "the pool, so pool_size must be >= the batch size")
            skw["ratio"] = b / pool_size
        if self.args.train_sampling_strategy == "batch_rebalance":
            raise InvalidInputError(
                "train_sampling_strategy: 'batch_rebalance' builds minibatches itself, which "
                "PartitionSelTrainer's pools cannot honour; use 'random', 'sequential' or "
                "'group_by_length'")
        skw.setdefault("seed", int(self.args.seed))
        if skw.get("method", "partitionsel") != "full":
            # exactly b rows per device: the selection is world_size · b rows of the gathered
            # pools (round(ratio · world · N) can miss that by one under torch.distributed)
            skw["minibatch_size"] = b * max(1, self.args.world_size)
        if "lr" not in skw and self.args.learning_rate > 0:
            skw["lr"] = float(self.args.learning_rate)
        self._selector_kwargs = skw
        self._anchor_source = anchor_dataset
        self.anchor_indices = None
        self._check_train_dataset(self.train_dataset)
        self.anchors = self._build_anchors(skw["seed"])
        self.selector = self._build_selector()
        self._check_pool_fits(self.train_dataset)
        self.selection_log: deque = deque(maxlen=self.SELECTION_LOG_LIMIT)
        self._pending: list = []
        self._pending_state: dict | None = None

    # ------------------------------------------------------------------ construction
    def _check_train_dataset(self, ds: Any) -> None:
        if ds is None:
            return
        cols = _columns(ds)
        if cols is None:  # an IterableDataset: checked on its first pool
            if self._anchor_source is None:
                raise InvalidInputError(
                    "anchor_dataset: an iterable train_dataset cannot be split; pass the "
                    "held-out anchor examples as anchor_dataset")
            return
        if self.domain_column not in cols:
            raise InvalidInputError(
                f"domain_column: the training set has no column {self.domain_column!r} "
                f"(its columns: {cols}); tag every example with its domain, or pass "
                "domain_column=<the column that holds it>")
        if "input_ids" not in cols:
            raise InvalidInputError(
                f"train_dataset: expected encoded examples with 'input_ids' (its columns: "
                f"{cols})")

    def _build_anchors(self, seed: int) -> AnchorSampler:
        src = self._anchor_source
        pad = _pad_token_id(self.processing_class, self.model)
        if isinstance(src, AnchorSampler):
            return src
        if src is None:
            ds = self.train_dataset
            if ds is None:
                raise InvalidInputError(
                    "train_dataset: PartitionSelTrainer needs a train_dataset (or an "
                    "anchor_dataset) to hold out anchors")
            domains = _domains_of(ds, self.domain_column)
            train_idx, anchor_idx = split_anchors(len(ds), fraction=0.005, seed=seed,
                                                  minimum=self.n_anchors, domains=domains)
            self.anchor_indices = anchor_idx
            rows = _rows(ds, anchor_idx)
            self.train_dataset = _subset(ds, train_idx)
        elif isinstance(src, Mapping):
            return AnchorSampler(src, n_anchors=self.n_anchors, seed=seed, pad_token_id=pad)
        elif isinstance(src, Sequence) and not isinstance(src, (str, bytes)):
            rows = [dict(r) for r in src]
        elif hasattr(src, "__getitem__") and hasattr(src, "__len__"):
            rows = _rows(src)
        else:
            raise InvalidInputError(
                "anchor_dataset: expected a dataset, a sequence of encoded examples, a batch "
                f"mapping or an AnchorSampler, got {type(src).__name__}")
        return AnchorSampler(rows, n_anchors=self.n_anchors, seed=seed, pad_token_id=pad)

    def _build_selector(self) -> PartitionSel:
        known = {f.name for f in dataclasses.fields(SelectorConfig)} | {"process_group"}
        unknown = sorted(set(self._selector_kwargs) - known)
        if unknown:
            raise InvalidInputError(
                f"selector_kwargs: unknown setting(s) {unknown}; expected names among "
                f"{sorted(known)}")
        return PartitionSel(self.model, anchors=self.anchors, **self._selector_kwargs)

    @property
    def pool_size(self) -> int:
        """Pool size ``N`` per device: ``round(train batch size / ratio)``."""
        return max(1, int(round(self._train_batch_size / self.selector.ratio)))

    def _check_pool_fits(self, ds: Any) -> None:
        n_pool = self.pool_size
        b = self._train_batch_size
        if n_pool < b:  # only reachable through rounding; kept as the documented contract
            raise InvalidInputError(
                f"ratio: the pool ({n_pool}) is smaller than the batch ({b})")
        if ds is None or isinstance(ds, IterableDataset):
            return
        need = n_pool * max(1, self.args.world_size)
        if len(ds) < need:
            raise InvalidInputError(
                f"train_dataset: {len(ds)} training examples (after holding out anchors) "
                f"cannot fill one pool of {n_pool} per device (per_device_train_batch_size="
                f"{b} / ratio={self.selector.ratio:g}) on {max(1, self.args.world_size)} "
                "device(s); add data, raise ratio or lower the batch size")

    # ------------------------------------------------------------------ data
    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if self.domain_column not in self._signature_columns:
            # keep the domain through remove_unused_columns (it is dropped before the model)
            self._signature_columns.append(self.domain_column)

    def get_train_dataloader(self) -> DataLoader:
        """The dataloader of pools: batch size :attr:`pool_size`, incomplete pools dropped,
        the Trainer's sampler (random by default), collator and worker settings."""
        if self.train_dataset is None:
            raise ValueError("Trainer: training requires a train_dataset.")
        if self.selector.model is not self.model:  # model_init built a fresh model
            self.selector = self._build_selector()
        if self._pending_state is not None:
            self.selector.load_state_dict(self._pending_state)
            self._pending_state = None
        self._check_train_dataset(self.train_dataset)
        self._check_pool_fits(self.train_dataset)
        dataset = self.train_dataset
        collator = self.data_collator
        if _is_hf_dataset(dataset):
            dataset = self._remove_unused_columns(dataset, description="Training")
        else:
            collator = self._get_collator_with_removed_columns(collator, description="Training")
        params: dict[str, Any] = {
            "batch_size": self.pool_size,
            "collate_fn": collator,
            "num_workers": self.args.dataloader_num_workers,
            "pin_memory": self.args.dataloader_pin_memory,
            "persistent_workers": self.args.dataloader_persistent_workers,
            "multiprocessing_context": self.args.dataloader_multiprocessing_context,
            "prefetch_factor": self.args.dataloader_prefetch_factor,
            "in_order": self.args.dataloader_in_order,
            "drop_last": True,
        }
        if not isinstance(dataset, IterableDataset):
            sampler = self._get_train_sampler(dataset)
            if sampler is not None:
                params["sampler"] = sampler
            params["worker_init_fn"] = partial(
                seed_worker, num_workers=self.args.dataloader_num_workers,
                rank=self.args.process_index)
        return self.accelerator.prepare(DataLoader(dataset, **params))

    # ------------------------------------------------------------------ selection
    def _selector_step(self, micro: int) -> int:
        return self.state.global_step * self.args.gradient_accumulation_steps + micro

    def select_pool(self, pool: Mapping[str, Any], *, step: int | None = None,
                    micro: int = 0) -> dict:
        """Select this device's minibatch from a collated pool.

        Parameters
        ----------
        pool : mapping
            A collated pool (tensors with one row per example) with the domain column.
        step : int, optional
            The selector's step; default the micro-step
            ``global_step · gradient_accumulation_steps + micro``.
        micro : int, default 0
            Index of the micro-batch inside the optimiser step (for the default step).

        Returns
        -------
        dict
            The selected rows (domain column removed, trailing all-padding columns trimmed).
        """
        if not isinstance(pool, Mapping) or self.domain_column not in pool:
            keys = list(pool)[:8] if isinstance(pool, Mapping) else type(pool).__name__
            raise InvalidInputError(
                f"domain_column: the pool has no {self.domain_column!r} entry (got {keys}); "
                "the training set must carry it and the data collator must keep it as a list "
                "(PoolCollator does)")
        if self.optimizer is not None:
            self.selector.optimizer = self.optimizer
        if step is None:
            step = self._selector_step(micro)
        domains = pool[self.domain_column]
        rest = {k: v for k, v in pool.items() if k != self.domain_column}
        batch, record = self.selector.select_batch(rest, domains, step=step, return_record=True)
        batch = trim_padding(batch)
        entry = {
            "global_step": int(self.state.global_step), "micro_step": int(micro),
            "selector_step": int(step), "indices": record.tolist(),
            "domain_counts": dict(record.domain_counts), "utility": record.utility,
            "conflicting_pairs": record.conflicting_pairs,
            "selection_seconds": record.selection_seconds,
            "feature_seconds": record.feature_seconds, "lr": record.lr,
        }
        self.selection_log.append(entry)
        self._pending.append(entry)
        return batch

    def get_batch_samples(self, epoch_iterator: Iterator, num_batches: int,
                          device: torch.device) -> tuple[list, torch.Tensor | int | None]:
        """Fetch the pools of one optimiser step, select from each, and count the selected
        target tokens (``num_items_in_batch``) the Trainer normalises the loss with."""
        batches = []
        for micro in range(num_batches):
            try:
                pool = next(epoch_iterator)
            except StopIteration:
                break
            batches.append(self.select_pool(pool, micro=micro))
        return batches, self._get_num_items_in_batch(batches, device)

    def _prepare_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(inputs, Mapping) and self.domain_column in inputs:
            inputs = {k: v for k, v in inputs.items() if k != self.domain_column}
        return super()._prepare_inputs(inputs)

    # ------------------------------------------------------------------ logging
    def _diagnostics(self) -> dict[str, float]:
        entries, self._pending = self._pending, []
        if not entries:
            return {}
        n_steps = len({e["global_step"] for e in entries})
        out: dict[str, float] = {}
        totals: dict = {}
        for e in entries:
            for d, c in e["domain_counts"].items():
                totals[d] = totals.get(d, 0) + int(c)
        for d in sorted(totals, key=str):
            out[f"sel/count/{d}"] = totals[d] / n_steps
        for key, name in (("conflicting_pairs", "sel/conflicting_pairs"), ("utility", "sel/F")):
            vals = [float(e[key]) for e in entries
                    if e[key] is not None and math.isfinite(float(e[key]))]
            if vals:
                out[name] = sum(vals) / len(vals)
        for key in ("selection_seconds", "feature_seconds"):
            out[f"sel/{key}"] = sum(e[key] for e in entries) / n_steps
        return out

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """The Trainer's ``log``, with the selection diagnostics gathered since the previous
        log added (``sel/...`` keys; see the module docstring)."""
        diag = self._diagnostics() if getattr(self, "_pending", None) else {}
        if diag:
            logs = {**logs, **diag}
        super().log(logs, start_time)

    # ------------------------------------------------------------------ checkpoints
    def _selector_checkpoint_state(self) -> dict:
        return {"format": _STATE_FORMAT, "selector": self.selector.state_dict(),
                "pool_size": self.pool_size, "domain_column": self.domain_column,
                "gradient_accumulation_steps": self.args.gradient_accumulation_steps}

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        # The state file is written into the checkpoint folder FIRST, then the Trainer saves
        # the rest and rotates old checkpoints as its last act. Writing first needs nothing of
        # the Trainer's internals but the folder name (PREFIX_CHECKPOINT_DIR-global_step,
        # public) — unlike overriding the save steps in between (_save_rng_state is skipped
        # with save_only_model=True; rotation is a module-level function in transformers 5,
        # not an overridable method). The selector does not change during the Trainer's save,
        # so the file matches the checkpoint. Rotation only runs after every write succeeded;
        # an error or crash before it leaves the older checkpoints in place, and the atomic
        # writer never truncates a previous state file.
        if self.args.should_save:  # the process that writes checkpoints (rank 0 by default)
            folder = os.path.join(self._get_output_dir(trial=trial),
                                  f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            os.makedirs(folder, exist_ok=True)
            write_state_file(os.path.join(folder, STATE_FILE), self._selector_checkpoint_state())
        super()._save_checkpoint(model, trial)

    def _load_selector_state(self, checkpoint: str) -> None:
        path = os.path.join(checkpoint, STATE_FILE)
        if not os.path.isfile(path):
            warnings.warn(
                f"resume_from_checkpoint: {checkpoint} has no {STATE_FILE}; the selector's "
                "statistics start afresh (its selections, derived from (seed, step), are "
                "unaffected)", UserWarning, stacklevel=3)
            return
        try:
            state = read_state_file(path)
            if state.get("format") != _STATE_FORMAT:
                raise InvalidInputError(
                    f"format: expected {_STATE_FORMAT!r} (a PartitionSelTrainer state file), "
                    f"got {state.get('format')!r}")
            if "selector" not in state:
                raise InvalidInputError("selector: missing key (the selector's state_dict)")
            gas = state.get("gradient_accumulation_steps")
            if gas is not None:
                gas = check_int(gas, "gradient_accumulation_steps", minimum=1)
            PartitionSel._parse_state(state["selector"])  # validated now, loaded later
        except InvalidInputError as exc:
            msg = str(exc)
            if path in msg:  # read_state_file's own message names the file
                msg = msg.removeprefix("path: ")
            else:
                msg = f"the state file {path} is invalid: {msg}"
            raise InvalidInputError(f"resume_from_checkpoint: {msg}") from exc
        if gas is not None and gas != self.args.gradient_accumulation_steps:
            warnings.warn(
                f"resume_from_checkpoint: saved with gradient_accumulation_steps={gas}, resumed "
                f"with {self.args.gradient_accumulation_steps}; the selector's steps (and "
                "selections) differ from an uninterrupted run's", UserWarning, stacklevel=3)
        self._pending_state = state["selector"]  # loaded when the train dataloader is built

    def train(self, resume_from_checkpoint: str | bool | None = None, trial: Any = None,
              ignore_keys_for_eval: list[str] | None = None, **kwargs: Any) -> Any:
        """``Trainer.train``; with ``resume_from_checkpoint`` the selector's state saved in the
        checkpoint (:data:`STATE_FILE`) is restored too."""
        if resume_from_checkpoint is True:
            resume_from_checkpoint = get_last_checkpoint(self.args.output_dir)
            if resume_from_checkpoint is None:
                raise ValueError(
                    f"No valid checkpoint found in output directory ({self.args.output_dir})")
        elif resume_from_checkpoint is False:
            resume_from_checkpoint = None
        self._pending = []
        if resume_from_checkpoint is not None:
            self._load_selector_state(str(resume_from_checkpoint))
        return super().train(resume_from_checkpoint=resume_from_checkpoint, trial=trial,
                             ignore_keys_for_eval=ignore_keys_for_eval, **kwargs)


def _pad_token_id(processing_class: Any, model: Any) -> int:
    for src in (processing_class, getattr(model, "config", None)):
        pad = getattr(src, "pad_token_id", None)
        if isinstance(pad, int) and pad >= 0:
            return pad
    return 0
