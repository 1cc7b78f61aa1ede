"""One fine-tuning run of one selection method: the machinery the demo and the experiment share.

:class:`RunSettings`
    The settings of a run (pool and batch size, learning rate, LoRA rank, features, base
    model, data, evaluation cadence), checked once by :meth:`RunSettings.validate`.
    :class:`~llm_minibatch.demo.DemoConfig` and
    :class:`~llm_minibatch.experiment.ExperimentConfig` extend it.
:func:`load_examples`, :func:`encode_rows`, :func:`to_device`, :func:`count_domains`
    Data in, tensors out.
:func:`base_model`
    The tiny Llama-shaped model built from a config with a byte tokenizer and pre-trained
    briefly (full parameters, uniform random minibatches of 32) on a *separately generated*
    corpus (``seed + 1``, validation prompts removed) of ``pretrain_domains``; or the named or
    local model of ``settings.model`` (``from_pretrained``, no pre-training).
:func:`finetune`
    A LoRA copy of the base (adapters on q, k, v, o of every block; ``B = 0``, so it starts
    as the base) with AdamW at a constant learning rate; every step draws the next pool of
    ``pool_size`` rows from a shared order, the method selects ``batch_size`` of them through
    :class:`~llm_minibatch.loop.PartitionSel` (``full``: the whole pool) and one optimiser
    step runs on the selection. Every ``eval_every`` steps the validation loss per domain;
    every ``conflicts_every`` steps the conflicting pairs of the batch just selected (exact
    per-example gradients, the same measurement for every method).

Examples
--------
>>> import numpy as np, torch
>>> from llm_minibatch.finetune import (RunData, RunSettings, base_model, encode_rows,
...                                     finetune, load_examples)
>>> from llm_minibatch.loop import AnchorSampler
>>> settings = RunSettings(steps=2, pool_size=8, batch_size=2, pretrain_steps=0,
...                        hidden_size=16, layers=1, sketch_dim=16, progress=False).validate()
>>> rows = load_examples(None)[:40]
>>> base, tok, _ = base_model(settings, seed=0)
>>> data = RunData(train=encode_rows(rows[:32], tok, 64),
...                train_domains=[r["domain"] for r in rows[:32]],
...                order=np.random.default_rng(0).permutation(32),
...                anchors=AnchorSampler(encode_rows(rows[32:], tok, 64), n_anchors=4, seed=0),
...                val=encode_rows(rows[32:], tok, 64),
...                val_domains=[r["domain"] for r in rows[32:]])
>>> r = finetune("partitionsel", base, tok, settings, data, seed=0)
>>> [p["step"] for p in r["curve"]], sum(r["domain_totals"].values())
([0, 2], 4)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from .corpus import GENERATORS, load_corpus, load_hf_dataset, load_jsonl, make_corpus
from .evaluation import domain_losses, exact_match
from .features import FILTERS, gradient_features
from .loop import AnchorSampler, PartitionSel, StepRecord, trim_padding
from .models import add_lora, load_model, load_tokenizer, tiny_llama
from .selection import conflicting_pairs
from .tokenization import ByteTokenizer, encode_examples

__all__ = ["RunData", "RunSettings", "base_model", "count_domains", "encode_rows", "finetune",
           "load_examples", "to_device"]


@dataclass
class RunSettings:
    """Settings of a fine-tuning run (shared by the demo and the experiment).

    Attributes
    ----------
    steps : int
        Fine-tuning steps per method.
    pool_size, batch_size : int
        Pool ``N`` drawn per step and minibatch ``b`` selected from it (ratio ``b / N``).
    lr : float
        AdamW learning rate of the LoRA fine-tuning (constant; it is η for the selection).
    lora_r : int
        LoRA rank (adapters on q, k, v, o projections of every block).
    sketch_dim : int or None
        SRHT sketch size of the selection features (None: raw LoRA gradients).
    param_filter : str
        Parameters whose gradients are the features (``"lora"``: LoRA matrices of the last 3
        blocks, ``"lora_all"``, ``"lm_head"``); also used for the conflicting-pair count.
    n_anchors : int
        Anchors per selection.
    eval_every : int
        Steps between validation measurements (also at step 0 and at the end).
    conflicts_every : int
        Steps between measurements of the conflicting pairs of the selected batch.
    pretrain_steps : int
        Full-parameter pre-training steps of the tiny base model (ignored with ``model``).
    pretrain_domains : tuple of str
        Generated domains of the pre-training corpus.
    hidden_size, layers : int
        Shape of the tiny base model.
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    model : str or None
        ``"smollm2-135m"``, a local model directory or a hub name loaded with
        ``from_pretrained`` instead of the tiny model (its tokenizer too).
    data : str or None
        A data file or ``datasets`` folder instead of the shipped corpus.
    val_fraction : float
        Fraction of the examples used for validation.
    max_length : int
        Longest encoded example (tokens).
    threads : int or None
        ``torch.set_num_threads`` for the run (None: leave it).
    out : str
        Output directory.
    progress : bool
        Show a tqdm progress bar.
    """

    steps: int = 200
    pool_size: int = 128
    batch_size: int = 16
    lr: float = 1e-3
    lora_r: int = 8
    sketch_dim: int | None = 512
    param_filter: str = "lora"
    n_anchors: int = 8
    eval_every: int = 25
    conflicts_every: int = 5
    pretrain_steps: int = 600
    pretrain_domains: tuple[str, ...] = ("arithmetic", "sorting")
    hidden_size: int = 64
    layers: int = 4
    device: str = "cpu"
    model: str | None = None
    data: str | None = None
    val_fraction: float = 0.1
    max_length: int = 64
    threads: int | None = None
    out: str = "out"
    progress: bool = True

    def validate(self) -> RunSettings:
        """Check every field, naming the bad one; returns ``self``."""
        check_int(self.steps, "steps", minimum=1)
        check_int(self.pool_size, "pool_size", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        if self.batch_size > self.pool_size:
            raise InvalidInputError(
                f"batch_size: {self.batch_size} exceeds pool_size={self.pool_size}; the batch "
                "is selected from the pool")
        check_real(self.lr, "lr", low=0.0, low_open=True)
        check_int(self.lora_r, "lora_r", minimum=1)
        if self.sketch_dim is not None:
            check_int(self.sketch_dim, "sketch_dim", minimum=1)
        check_int(self.n_anchors, "n_anchors", minimum=1)
        if self.param_filter not in FILTERS:
            raise InvalidInputError(
                f"param_filter: expected one of {list(FILTERS)}, got {self.param_filter!r}")
        check_int(self.eval_every, "eval_every", minimum=1)
        check_int(self.conflicts_every, "conflicts_every", minimum=1)
        check_int(self.pretrain_steps, "pretrain_steps", minimum=0)
        self.pretrain_domains = tuple(self.pretrain_domains)
        bad = [d for d in self.pretrain_domains if d not in GENERATORS]
        if bad or not self.pretrain_domains:
            raise InvalidInputError(
                f"pretrain_domains: expected a non-empty subset of {list(GENERATORS)}, got "
                f"{list(self.pretrain_domains)}")
        check_int(self.hidden_size, "hidden_size", minimum=8)
        if self.hidden_size % 8:  # 4 heads of an even width (rotary embeddings)
            raise InvalidInputError(
                f"hidden_size: expected a multiple of 8 (4 heads of even width), got "
                f"{self.hidden_size}")
        check_int(self.layers, "layers", minimum=1)
        check_real(self.val_fraction, "val_fraction", low=0.0, high=1.0, low_open=True,
                   high_open=True)
        check_int(self.max_length, "max_length", minimum=8)
        if self.threads is not None:
            check_int(self.threads, "threads", minimum=1)
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise InvalidInputError(f"device: not a torch device: {self.device!r}") from exc
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            raise InvalidInputError(f"device: {self.device!r} asked but CUDA is not available")
        return self


@dataclass
class RunData:
    """The encoded data of one run.

    Attributes
    ----------
    train : dict of tensors
        Encoded training rows (:func:`encode_rows`), on the CPU; pools are cut from it.
    train_domains : list
        Domain of each training row.
    order : numpy.ndarray
        The shuffled row order every method walks through, ``pool_size`` rows per step
        (wrapping around).
    anchors : AnchorSampler
        PartitionSel's held-out anchors.
    val : dict of tensors
        Encoded validation rows (moved to the run's device once).
    val_domains : list
        Domain of each validation row.
    """

    train: dict[str, torch.Tensor]
    train_domains: list
    order: np.ndarray
    anchors: AnchorSampler
    val: dict[str, torch.Tensor]
    val_domains: list


# --------------------------------------------------------------------------- data and model
def load_examples(data: str | None) -> list[dict]:
    """The shipped corpus (``data=None``), a JSONL file, or any file or folder
    :func:`~llm_minibatch.corpus.load_hf_dataset` reads."""
    if data is None:
        return load_corpus()
    path = Path(data)
    if path.suffix.lower() == ".jsonl" and path.is_file():
        return load_jsonl(path)
    return load_hf_dataset(data)


def encode_rows(rows: Sequence[dict], tokenizer: Any, max_length: int
                ) -> dict[str, torch.Tensor]:
    """Rows encoded with right padding to their longest row (answer tokens as targets)."""
    return encode_examples(rows, tokenizer, max_length=max_length, padding_side="right",
                           pad_to_max_length=False)


def to_device(batch: dict[str, torch.Tensor], device: torch.device | str
              ) -> dict[str, torch.Tensor]:
    """Every tensor of ``batch`` on ``device``."""
    return {k: v.to(device) for k, v in batch.items()}


def count_domains(labels: Sequence[Any]) -> dict[str, int]:
    """Rows per domain, keyed by the label's string, sorted."""
    out: dict[str, int] = {}
    for d in labels:
        out[str(d)] = out.get(str(d), 0) + 1
    return dict(sorted(out.items()))


def _pretrain(model: torch.nn.Module, tokenizer: Any, settings: RunSettings, seed: int,
              exclude: set, device: torch.device, bar: Any) -> list[float]:
    """Full-parameter pre-training on a separately generated corpus (without the prompts in
    ``exclude``: the validation set's); returns the losses."""
    rows = [r for r in make_corpus(dict.fromkeys(settings.pretrain_domains, 1000), seed=seed + 1)
            if r["prompt"] not in exclude]
    enc = encode_rows(rows, tokenizer, settings.max_length)
    g = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3,
                                                total_steps=settings.pretrain_steps,
                                                pct_start=0.1)
    model.train()
    losses = []
    n = enc["input_ids"].shape[0]
    bs = 32
    for _ in range(settings.pretrain_steps):
        idx = torch.randint(0, n, (bs,), generator=g)
        batch = to_device(trim_padding({k: v[idx] for k, v in enc.items()}), device)
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.update(1)
    return losses


def base_model(settings: RunSettings, seed: int, exclude: set = frozenset(),
               device: torch.device | str = "cpu", bar: Any = None
               ) -> tuple[torch.nn.Module, Any, list[float]]:
    """``(model, tokenizer, pre-training losses)`` of a run's base model.

    ``settings.model`` set: that model and its tokenizer, no pre-training. Otherwise the tiny
    Llama-shaped model of ``hidden_size`` × ``layers`` (seeded by ``seed``) with a byte
    tokenizer, pre-trained for ``pretrain_steps`` on generated rows of ``pretrain_domains``
    whose prompts are not in ``exclude``.
    """
    device = torch.device(device)
    bar = bar if bar is not None else tqdm(disable=True)
    if settings.model is not None:
        tokenizer = load_tokenizer(settings.model)
        model = load_model(settings.model, device=device)
        return model, tokenizer, []
    tokenizer = ByteTokenizer()
    model = tiny_llama(vocab_size=tokenizer.vocab_size, hidden_size=settings.hidden_size,
                       layers=settings.layers, heads=4, kv_heads=2,
                       max_position_embeddings=max(128, settings.max_length), seed=seed)
    model.to(device)
    losses = []
    if settings.pretrain_steps:
        losses = _pretrain(model, tokenizer, settings, seed, set(exclude), device, bar)
    return model, tokenizer, losses


# --------------------------------------------------------------------------- one method
def _batch_conflicts(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                     param_filter: str) -> tuple[int, int]:
    """Conflicting pairs of a batch from exact per-example gradients: (count, pairs)."""
    g = gradient_features(model, batch["input_ids"], batch["labels"], param_filter=param_filter,
                          attention_mask=batch["attention_mask"], normalize=True,
                          eval_mode=True)
    n = g.shape[0]
    return conflicting_pairs(g @ g.T, range(n)), n * (n - 1) // 2


def finetune(method: str, base: torch.nn.Module, tokenizer: Any, settings: RunSettings,
             data: RunData, *, seed: int, device: torch.device | str = "cpu",
             exact_match_rows: Sequence[dict] = (), bar: Any = None,
             hook: Callable[[int, np.ndarray, StepRecord], None] | None = None,
             base_val_losses: dict | None = None) -> dict:
    """LoRA fine-tuning of a copy of ``base`` with one selection method; its numbers.

    Parameters
    ----------
    method : str
        A name of :data:`~llm_minibatch.selection.METHODS`.
    base : torch.nn.Module
        The base model (left unchanged: a deep copy is fine-tuned).
    tokenizer
        The base model's tokenizer (for exact match).
    settings : RunSettings
        Validated settings.
    data : RunData
    seed : int
        Seed of the LoRA initialisation, the sketches and the solvers.
    device : torch.device or str
    exact_match_rows : sequence of dict
        Validation rows decoded greedily at the end for exact-match accuracy (none: skipped).
    bar : tqdm-like, optional
        Advanced once per step.
    hook : callable, optional
        ``hook(step, pool_rows, record)`` after every optimiser step, with the step
        (0-based), the training rows of that step's pool and the selector's
        :class:`~llm_minibatch.loop.StepRecord`.
    base_val_losses : dict, optional
        The base model's :func:`~llm_minibatch.evaluation.domain_losses` on ``data.val``: the
        curve's step 0 (LoRA starts at ``B = 0``, so the copy computes exactly the base
        model there); measured when not given.

    Returns
    -------
    dict
        Final per-domain and mean validation loss, the curve, exact match, the last training
        losses, conflicting pairs per batch, seconds per step of selection and update, the
        selection overhead and the selected rows per domain.

    Complexity: ``steps`` selection calls and optimiser steps, ``steps / eval_every + 1``
    validation passes.
    """
    device = torch.device(device)
    bar = bar if bar is not None else tqdm(disable=True)
    s = settings
    model = add_lora(copy.deepcopy(base), r=s.lora_r, alpha=2 * s.lora_r,
                     target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=seed)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.0)
    selector = PartitionSel(
        model, optimizer=opt, method=method, ratio=s.batch_size / s.pool_size,
        anchors=data.anchors, sketch_dim=s.sketch_dim, seed=seed, param_filter=s.param_filter,
        minibatch_size=None if method == "full" else s.batch_size)

    def point(step: int, losses: dict) -> dict:
        return {"step": step, "mean": float(np.mean(list(losses.values()))),
                "domains": {str(d): float(v) for d, v in losses.items()}}

    def evaluate(step: int) -> dict:
        return point(step, domain_losses(model, data.val, data.val_domains, batch_size=128))

    curve = [evaluate(0) if base_val_losses is None else point(0, base_val_losses)]
    conflicts: list[tuple[int, int]] = []
    sel_seconds = train_seconds = 0.0
    train_losses = []
    counts: dict[str, int] = {}
    order = data.order
    model.train()
    for step in range(s.steps):
        rows = order[(step * s.pool_size) % len(order):][:s.pool_size]
        if len(rows) < s.pool_size:  # wrap around the shared order
            rows = np.concatenate([rows, order[:s.pool_size - len(rows)]])
        idx = torch.as_tensor(rows, dtype=torch.long)
        pool = to_device(trim_padding({k: v[idx] for k, v in data.train.items()}), device)
        domains = [data.train_domains[i] for i in rows]
        t0 = time.perf_counter()
        batch, record = selector.select_batch(pool, domains, return_record=True)
        batch = trim_padding(batch)
        t1 = time.perf_counter()
        if step % s.conflicts_every == 0:
            conflicts.append(_batch_conflicts(model, batch, s.param_filter))
        t2 = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t3 = time.perf_counter()
        sel_seconds += t1 - t0
        train_seconds += t3 - t2
        train_losses.append(loss.item())
        for d, c in record.domain_counts.items():
            counts[str(d)] = counts.get(str(d), 0) + int(c)
        if (step + 1) % s.eval_every == 0 and step + 1 < s.steps:
            curve.append(evaluate(step + 1))
        if hook is not None:
            hook(step, rows, record)
        bar.update(1)
    curve.append(evaluate(s.steps))
    accuracy = (exact_match(model, list(exact_match_rows), tokenizer, max_new_tokens=16,
                            batch_size=64) if exact_match_rows else {})
    n_conf = sum(c for c, _ in conflicts)
    n_pairs = sum(p for _, p in conflicts)
    means = selector.stats["means"]
    return {
        "final_val_loss": curve[-1]["domains"],
        "final_val_loss_mean": curve[-1]["mean"],
        "exact_match": {str(d): float(v) for d, v in accuracy.items()},
        "exact_match_mean": float(np.mean(list(accuracy.values()))) if accuracy else None,
        "curve": curve,
        "train_loss_last": float(np.mean(train_losses[-max(1, s.steps // 10):])),
        "conflicting_pairs_per_batch": n_conf / len(conflicts),
        "conflicting_pair_fraction": n_conf / n_pairs if n_pairs else 0.0,
        "conflicts_measured_on": len(conflicts),
        "selection_seconds_per_step": sel_seconds / s.steps,
        "train_seconds_per_step": train_seconds / s.steps,
        "overhead_fraction": sel_seconds / (sel_seconds + train_seconds),
        "selector_utility_mean": means.get("utility"),
        "domain_totals": dict(sorted(counts.items())),
    }
