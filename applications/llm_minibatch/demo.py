"""The PartitionSel demo: LoRA fine-tuning with each selection method on the embedded corpus.

One run, same seeds, same pools, same step count for every method:

1. **Data.** The shipped four-domain corpus (:func:`~llm_minibatch.corpus.load_corpus`,
   imbalanced on purpose) or a user file (``--data``: JSONL, JSON, CSV, Parquet, or a
   ``datasets`` folder with ``prompt``/``answer``/``domain`` columns) is split into training
   and validation sets stratified by domain; 0.5 % of the training set (at least
   ``n_anchors`` rows) is held out as PartitionSel's anchors and removed from training for
   every method.
2. **Base model.** A tiny Llama-shaped model built from a config with a byte tokenizer,
   pre-trained briefly (full parameters, uniform random minibatches) on a *separately
   generated* corpus (seed + 1, validation prompts removed) of two of the four domains
   (``arithmetic`` and ``sorting``): fine-tuning then starts from a model that knows the
   format, with two domains to learn (``units``, ``smiles``) and two to keep; or
   ``--model PATH_OR_NAME`` (``from_pretrained``; no pre-training).
3. **Fine-tuning.** For each method a copy of the base gets LoRA adapters and AdamW; every
   step draws the next pool of ``pool_size`` training rows (one shuffled order shared by all
   methods), the method selects ``batch_size`` of them (``full`` trains on the whole pool),
   and one optimiser step runs on the selection. Selection uses the optimiser's current
   learning rate as η and the LoRA gradients as features (sketched).
4. **Measurements.** Every ``eval_every`` steps: validation loss per domain (answer tokens);
   every ``conflicts_every`` steps, on the batch just selected, the conflicting gradient pairs
   (negative inner products of the exact per-example LoRA gradients, measured the same way for
   every method). At the end:
   exact-match accuracy of greedy answers per domain. Selection overhead is the selection
   time (features included) as a fraction of selection + training time per step.

Outputs (``--out DIR``): ``results.json`` (config and, keyed by method name, every number),
``results.md`` (the table that is printed) and ``validation_loss.png`` (mean and per-domain
validation loss against the step, one line per method).

Examples
--------
The demo in a reduced size (the test suite runs :func:`run_demo` smaller still)::

    python -m llm_minibatch demo --steps 10 --out demo_out
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from .corpus import (
    GENERATORS,
    load_corpus,
    load_hf_dataset,
    load_jsonl,
    make_corpus,
    train_val_split,
)
from .evaluation import domain_losses, exact_match
from .features import FILTERS, gradient_features
from .loop import AnchorSampler, PartitionSel, StepRecord, split_anchors, trim_padding
from .models import add_lora, load_model, load_tokenizer, tiny_llama
from .selection import METHODS, conflicting_pairs
from .tokenization import ByteTokenizer, encode_examples

__all__ = ["DEFAULT_METHODS", "DemoConfig", "format_table", "plot_curves", "run_demo"]

#: Methods the demo compares by default (``full`` is the reference that trains on every row).
DEFAULT_METHODS: tuple[str, ...] = ("partitionsel", "random", "greats", "per_domain", "full")


@dataclass
class DemoConfig:
    """Settings of :func:`run_demo` (the CLI flags of ``python -m llm_minibatch demo``).

    Attributes
    ----------
    steps : int
        Fine-tuning steps per method.
    out : str
        Output directory.
    methods : tuple of str
        Methods to compare (names of :data:`~llm_minibatch.selection.METHODS`).
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
    exact_match_per_domain : int
        Validation prompts per domain decoded greedily for exact-match accuracy at the end.
    pretrain_steps : int
        Full-parameter pre-training steps of the tiny base model (ignored with ``model``).
    pretrain_domains : tuple of str
        Generated domains of the pre-training corpus.
    hidden_size, layers : int
        Shape of the tiny base model.
    seed : int
        Seed of everything (data split, pool order, model, sketches, solvers).
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    model : str or None
        A local model directory or hub name loaded with ``from_pretrained`` instead of the
        tiny model (its tokenizer too).
    data : str or None
        A data file or ``datasets`` folder instead of the shipped corpus.
    val_fraction : float
        Fraction of the examples used for validation.
    max_length : int
        Longest encoded example (tokens).
    threads : int or None
        ``torch.set_num_threads`` for the run (None: leave it).
    progress : bool
        Show a tqdm progress bar.
    """

    steps: int = 200
    out: str = "demo_out"
    methods: tuple[str, ...] = DEFAULT_METHODS
    pool_size: int = 128
    batch_size: int = 16
    lr: float = 1e-3
    lora_r: int = 8
    sketch_dim: int | None = 512
    param_filter: str = "lora"
    n_anchors: int = 8
    eval_every: int = 25
    conflicts_every: int = 5
    exact_match_per_domain: int = 40
    pretrain_steps: int = 600
    pretrain_domains: tuple[str, ...] = ("arithmetic", "sorting")
    hidden_size: int = 64
    layers: int = 4
    seed: int = 0
    device: str = "cpu"
    model: str | None = None
    data: str | None = None
    val_fraction: float = 0.1
    max_length: int = 64
    threads: int | None = None
    progress: bool = True

    def validate(self) -> DemoConfig:
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
        check_int(self.exact_match_per_domain, "exact_match_per_domain", minimum=0)
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
        check_int(self.seed, "seed", minimum=0)
        check_real(self.val_fraction, "val_fraction", low=0.0, high=1.0, low_open=True,
                   high_open=True)
        check_int(self.max_length, "max_length", minimum=8)
        if self.threads is not None:
            check_int(self.threads, "threads", minimum=1)
        methods = tuple(self.methods)
        if not methods:
            raise InvalidInputError("methods: expected at least one method")
        if len(set(methods)) != len(methods):
            raise InvalidInputError(f"methods: each method once, got {list(methods)}")
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise InvalidInputError(
                f"methods: unknown {unknown}; expected names among {', '.join(METHODS)}")
        self.methods = methods
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise InvalidInputError(f"device: not a torch device: {self.device!r}") from exc
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            raise InvalidInputError(f"device: {self.device!r} asked but CUDA is not available")
        return self


# --------------------------------------------------------------------------- data and model
def _load_examples(cfg: DemoConfig) -> list[dict]:
    if cfg.data is None:
        return load_corpus()
    path = Path(cfg.data)
    if path.suffix.lower() == ".jsonl" and path.is_file():
        return load_jsonl(path)
    return load_hf_dataset(cfg.data)


def _encode(rows: Sequence[dict], tokenizer: Any, max_length: int) -> dict[str, torch.Tensor]:
    return encode_examples(rows, tokenizer, max_length=max_length, padding_side="right",
                           pad_to_max_length=False)


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}


def _pretrain(model: torch.nn.Module, tokenizer: Any, cfg: DemoConfig, n_domains_rows: dict,
              exclude: set, device: torch.device, bar: Any) -> list[float]:
    """Full-parameter pre-training on a separately generated corpus (without the prompts in
    ``exclude``: the validation set's); returns the losses."""
    rows = [r for r in make_corpus(n_domains_rows, seed=cfg.seed + 1)
            if r["prompt"] not in exclude]
    enc = _encode(rows, tokenizer, cfg.max_length)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=cfg.pretrain_steps,
                                                pct_start=0.1)
    model.train()
    losses = []
    n = enc["input_ids"].shape[0]
    bs = 32
    for _ in range(cfg.pretrain_steps):
        idx = torch.randint(0, n, (bs,), generator=g)
        batch = _to(trim_padding({k: v[idx] for k, v in enc.items()}), device)
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.update(1)
    return losses


def _base_model(cfg: DemoConfig, exclude: set, device: torch.device, bar: Any
                ) -> tuple[Any, Any, list]:
    if cfg.model is not None:
        tokenizer = load_tokenizer(cfg.model)
        model = load_model(cfg.model, device=device)
        return model, tokenizer, []
    tokenizer = ByteTokenizer()
    model = tiny_llama(vocab_size=tokenizer.vocab_size, hidden_size=cfg.hidden_size,
                       layers=cfg.layers, heads=4, kv_heads=2,
                       max_position_embeddings=max(128, cfg.max_length), seed=cfg.seed)
    model.to(device)
    losses = []
    if cfg.pretrain_steps:
        losses = _pretrain(model, tokenizer, cfg, dict.fromkeys(cfg.pretrain_domains, 1000),
                           exclude, device, bar)
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


def _finetune(method: str, base: torch.nn.Module, tokenizer: Any, cfg: DemoConfig,
              train: dict[str, torch.Tensor], train_domains: list, order: np.ndarray,
              anchors: AnchorSampler, val: dict[str, torch.Tensor], val_domains: list,
              em_rows: list[dict], device: torch.device, bar: Any,
              hook: Callable[[int, np.ndarray, StepRecord], None] | None = None,
              base_val_losses: dict | None = None) -> dict:
    """LoRA fine-tuning of a copy of ``base`` with one selection method; its numbers.

    ``hook(step, pool_rows, record)``, when given, is called after every optimiser step
    with the step (0-based), the training rows of that step's pool and the selector's
    :class:`~llm_minibatch.loop.StepRecord`; the experiment uses it to record pools and the
    feature/selection time split. ``base_val_losses`` (the base model's
    :func:`~llm_minibatch.evaluation.domain_losses` on ``val``) is the curve's step 0: LoRA
    starts with ``B = 0``, so the copy computes exactly the base model there."""
    model = add_lora(copy.deepcopy(base), r=cfg.lora_r, alpha=2 * cfg.lora_r,
                     target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=cfg.seed)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    selector = PartitionSel(
        model, optimizer=opt, method=method, ratio=cfg.batch_size / cfg.pool_size,
        anchors=anchors, sketch_dim=cfg.sketch_dim, seed=cfg.seed,
        param_filter=cfg.param_filter,
        minibatch_size=None if method == "full" else cfg.batch_size)

    def evaluate(step: int) -> dict:
        losses = domain_losses(model, val, val_domains, batch_size=128)
        return {"step": step, "mean": float(np.mean(list(losses.values()))),
                "domains": {str(d): float(v) for d, v in losses.items()}}

    curve = [evaluate(0) if base_val_losses is None else
             {"step": 0, "mean": float(np.mean(list(base_val_losses.values()))),
              "domains": {str(d): float(v) for d, v in base_val_losses.items()}}]
    conflicts: list[tuple[int, int]] = []
    sel_seconds = train_seconds = 0.0
    train_losses = []
    counts: dict[str, int] = {}
    model.train()
    for step in range(cfg.steps):
        rows = order[(step * cfg.pool_size) % len(order):][:cfg.pool_size]
        if len(rows) < cfg.pool_size:  # wrap around the shared order
            rows = np.concatenate([rows, order[:cfg.pool_size - len(rows)]])
        idx = torch.as_tensor(rows, dtype=torch.long)
        pool = _to(trim_padding({k: v[idx] for k, v in train.items()}), device)
        domains = [train_domains[i] for i in rows]
        t0 = time.perf_counter()
        batch, record = selector.select_batch(pool, domains, return_record=True)
        batch = trim_padding(batch)
        t1 = time.perf_counter()
        if step % cfg.conflicts_every == 0:
            conflicts.append(_batch_conflicts(model, batch, cfg.param_filter))
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
        if (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps:
            curve.append(evaluate(step + 1))
        if hook is not None:
            hook(step, rows, record)
        bar.update(1)
    curve.append(evaluate(cfg.steps))
    accuracy = (exact_match(model, em_rows, tokenizer, max_new_tokens=16, batch_size=64)
                if em_rows else {})
    n_conf = sum(c for c, _ in conflicts)
    n_pairs = sum(p for _, p in conflicts)
    means = selector.stats["means"]
    return {
        "final_val_loss": curve[-1]["domains"],
        "final_val_loss_mean": curve[-1]["mean"],
        "exact_match": {str(d): float(v) for d, v in accuracy.items()},
        "exact_match_mean": float(np.mean(list(accuracy.values()))) if accuracy else None,
        "curve": curve,
        "train_loss_last": float(np.mean(train_losses[-max(1, cfg.steps // 10):])),
        "conflicting_pairs_per_batch": n_conf / len(conflicts),
        "conflicting_pair_fraction": n_conf / n_pairs if n_pairs else 0.0,
        "conflicts_measured_on": len(conflicts),
        "selection_seconds_per_step": sel_seconds / cfg.steps,
        "train_seconds_per_step": train_seconds / cfg.steps,
        "overhead_fraction": sel_seconds / (sel_seconds + train_seconds),
        "selector_utility_mean": means.get("utility"),
        "domain_totals": dict(sorted(counts.items())),
    }


# --------------------------------------------------------------------------- reporting
def summarize(results: dict) -> str:
    """What a demo run shows, in words: the methods ranked by mean validation loss, and
    where PartitionSel stands (one seed: the experiment gives intervals)."""
    methods = results["methods"]
    ranked = sorted((r["final_val_loss_mean"], m) for m, r in methods.items() if m != "full")
    text = "Mean validation loss, best first: " + ", ".join(
        f"{m} {v:.3f}" for v, m in ranked)
    if "full" in methods:
        text += f" (full pool, the reference: {methods['full']['final_val_loss_mean']:.3f})"
    text += "."
    if "partitionsel" in methods and len(ranked) > 1:
        place = [m for _, m in ranked].index("partitionsel") + 1
        r = methods["partitionsel"]
        text += (f" PartitionSel ranks {place} of {len(ranked)} selection methods; its "
                 f"selection costs {r['overhead_fraction']:.0%} of a step.")
    return text + (" One seed decides nothing: `python -m llm_minibatch experiment` runs "
                   "seeds with paired confidence intervals.")


def format_table(results: dict) -> str:
    """The markdown table of a demo run: per-domain validation loss and exact match per method,
    conflicting pairs per batch, selection overhead."""
    methods = results["methods"]
    domains = sorted({d for r in methods.values() for d in r["final_val_loss"]})
    head = (["method", "val loss (mean)"] + [f"loss {d}" for d in domains]
            + ["EM (mean)"] + [f"EM {d}" for d in domains]
            + ["conflicting pairs / batch", "conflict fraction", "selection s/step",
               "overhead"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def em(r: dict, d: str | None = None) -> str:
        if d is None:
            return "-" if r["exact_match_mean"] is None else f"{r['exact_match_mean']:.3f}"
        return f"{r['exact_match'][d]:.3f}" if d in r["exact_match"] else "-"

    for name, r in methods.items():
        cells = ([name, f"{r['final_val_loss_mean']:.4f}"]
                 + [f"{r['final_val_loss'].get(d, math.nan):.4f}" for d in domains]
                 + [em(r)] + [em(r, d) for d in domains]
                 + [f"{r['conflicting_pairs_per_batch']:.1f}",
                    f"{r['conflicting_pair_fraction']:.3f}",
                    f"{r['selection_seconds_per_step']:.3f}",
                    f"{100 * r['overhead_fraction']:.0f} %"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(results: dict, path: str | Path) -> Path:
    """Validation loss against the step, one line per method: the mean over domains and one
    panel per domain. Written as a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = results["methods"]
    domains = sorted({d for r in methods.values() for d in r["final_val_loss"]})
    panels = ["mean"] + domains
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for name, r in methods.items():
            steps = [p["step"] for p in r["curve"]]
            ys = [p["mean"] if panel == "mean" else p["domains"].get(panel, math.nan)
                  for p in r["curve"]]
            ax.plot(steps, ys, marker="o", markersize=3, label=name,
                    linestyle="--" if name == "full" else "-")
        ax.set_title("validation loss" + ("" if panel == "mean" else f": {panel}"))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- entry point
def run_demo(config: DemoConfig | None = None, **overrides: Any) -> dict:
    """Run the demo and write ``results.json``, ``results.md`` and ``validation_loss.png``.

    Parameters
    ----------
    config : DemoConfig, optional
        Settings (default: :class:`DemoConfig` defaults).
    **overrides
        Fields of :class:`DemoConfig` to change.

    Returns
    -------
    dict
        ``{"config": ..., "data": ..., "pretrain": ..., "methods": {name: numbers},
        "table": str, "files": {...}, "seconds": float}``; the same data is in
        ``results.json``.

    Raises
    ------
    InvalidInputError
        A bad setting (naming it), a data file without a domain column, too little data for
        one pool, before any training.
    """
    if config is None:
        cfg = DemoConfig(**overrides)
    else:
        cfg = dataclasses.replace(config, **overrides)
    cfg.validate()
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, started)
    finally:
        torch.set_num_threads(threads_before)


def _run(cfg: DemoConfig, started: float) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(cfg.device)
    examples = _load_examples(cfg)
    train_rows, val_rows = train_val_split(examples, val_fraction=cfg.val_fraction,
                                           seed=cfg.seed)
    train_domains_all = [r["domain"] for r in train_rows]
    keep, held = split_anchors(len(train_rows), fraction=0.005, seed=cfg.seed,
                               minimum=cfg.n_anchors, domains=train_domains_all)
    fit_rows = [train_rows[i] for i in keep]
    anchor_rows = [train_rows[i] for i in held]
    if len(fit_rows) < cfg.pool_size:
        raise InvalidInputError(
            f"pool_size: {len(fit_rows)} training rows cannot fill one pool of "
            f"{cfg.pool_size}; lower pool_size or give more data")

    total = cfg.steps * len(cfg.methods) + (cfg.pretrain_steps if cfg.model is None else 0)
    bar = tqdm(total=total, desc="demo", disable=not cfg.progress, unit="step")
    base, tokenizer, pre_losses = _base_model(cfg, {r["prompt"] for r in val_rows}, device, bar)
    base.eval()
    train = _encode(fit_rows, tokenizer, cfg.max_length)
    val = _to(_encode(val_rows, tokenizer, cfg.max_length), device)  # moved once
    anchors = AnchorSampler(_encode(anchor_rows, tokenizer, cfg.max_length),
                            n_anchors=cfg.n_anchors, seed=cfg.seed)
    train_domains = [r["domain"] for r in fit_rows]
    val_domains = [r["domain"] for r in val_rows]
    order = np.random.default_rng(cfg.seed).permutation(len(fit_rows))
    em_rows: list[dict] = []
    if cfg.exact_match_per_domain:
        per: dict[str, int] = {}
        for r in val_rows:
            if per.get(r["domain"], 0) < cfg.exact_match_per_domain:
                per[r["domain"]] = per.get(r["domain"], 0) + 1
                em_rows.append(r)
    base_losses = domain_losses(base, val, val_domains, batch_size=128)

    results: dict[str, Any] = {
        "config": asdict(cfg),
        "data": {"train": len(fit_rows), "anchors": len(anchor_rows), "val": len(val_rows),
                 "train_per_domain": _count(train_domains),
                 "val_per_domain": _count(val_domains)},
        "pretrain": {"steps": len(pre_losses),
                     "first_loss": pre_losses[0] if pre_losses else None,
                     "last_loss": float(np.mean(pre_losses[-10:])) if pre_losses else None,
                     "base_val_loss": {str(d): float(v) for d, v in base_losses.items()}},
        "methods": {},
    }
    for method in cfg.methods:
        bar.set_postfix_str(method)
        results["methods"][method] = _finetune(
            method, base, tokenizer, cfg, train, train_domains, order, anchors, val,
            val_domains, em_rows, device, bar)
    bar.close()
    results["table"] = format_table(results)
    results["summary"] = summarize(results)
    results["seconds"] = time.perf_counter() - started
    files = {"json": str(out / "results.json"), "markdown": str(out / "results.md"),
             "plot": str(out / "validation_loss.png")}
    results["files"] = files
    plot_curves(results, files["plot"])
    Path(files["markdown"]).write_text(
        "# PartitionSel demo\n\n" + results["table"] + "\n\n" + results["summary"] + "\n",
        encoding="utf-8")
    Path(files["json"]).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


def _count(labels: Sequence[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in labels:
        out[str(d)] = out.get(str(d), 0) + 1
    return dict(sorted(out.items()))
