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

Steps 2 to 4 are :mod:`llm_minibatch.finetune`, which the experiment shares.

Outputs (``--out DIR``): ``results.json`` (config and, keyed by method name, every number),
``results.md`` (the table that is printed) and ``validation_loss.png`` (mean and per-domain
validation loss against the step, one line per method).

Examples
--------
The demo in a reduced size (the test suite runs :func:`run_demo` smaller still)::

    python -m llm_minibatch demo --steps 10 --out demo_out
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .corpus import train_val_split
from .evaluation import domain_losses
from .finetune import (
    RunData,
    RunSettings,
    base_model,
    count_domains,
    encode_rows,
    finetune,
    load_examples,
    to_device,
)
from .loop import AnchorSampler, split_anchors
from .selection import METHODS

__all__ = ["DEFAULT_METHODS", "DemoConfig", "format_table", "plot_curves", "run_demo"]

#: Methods the demo compares by default (``full`` is the reference that trains on every row).
DEFAULT_METHODS: tuple[str, ...] = ("partitionsel", "random", "greats", "per_domain", "full")


@dataclass
class DemoConfig(RunSettings):
    """Settings of :func:`run_demo` (the CLI flags of ``python -m llm_minibatch demo``).

    Every field of :class:`~llm_minibatch.finetune.RunSettings` (pool and batch size,
    learning rate, LoRA rank, features, base model, data, evaluation cadence, device,
    threads, output folder, progress bar), and:

    Attributes
    ----------
    methods : tuple of str
        Methods to compare (names of :data:`~llm_minibatch.selection.METHODS`).
    exact_match_per_domain : int
        Validation prompts per domain decoded greedily for exact-match accuracy at the end.
    seed : int
        Seed of everything (data split, pool order, model, sketches, solvers).
    """

    out: str = "demo_out"
    methods: tuple[str, ...] = DEFAULT_METHODS
    exact_match_per_domain: int = 40
    seed: int = 0

    def validate(self) -> DemoConfig:
        """Check every field, naming the bad one; returns ``self``."""
        super().validate()
        check_int(self.exact_match_per_domain, "exact_match_per_domain", minimum=0)
        check_int(self.seed, "seed", minimum=0)
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
        return self


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
    examples = load_examples(cfg.data)
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
    base, tokenizer, pre_losses = base_model(cfg, cfg.seed, {r["prompt"] for r in val_rows},
                                            device, bar)
    base.eval()
    train = encode_rows(fit_rows, tokenizer, cfg.max_length)
    val = to_device(encode_rows(val_rows, tokenizer, cfg.max_length), device)  # moved once
    anchors = AnchorSampler(encode_rows(anchor_rows, tokenizer, cfg.max_length),
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
    run_data = RunData(train=train, train_domains=train_domains, order=order, anchors=anchors,
                       val=val, val_domains=val_domains)

    results: dict[str, Any] = {
        "config": asdict(cfg),
        "data": {"train": len(fit_rows), "anchors": len(anchor_rows), "val": len(val_rows),
                 "train_per_domain": count_domains(train_domains),
                 "val_per_domain": count_domains(val_domains)},
        "pretrain": {"steps": len(pre_losses),
                     "first_loss": pre_losses[0] if pre_losses else None,
                     "last_loss": float(np.mean(pre_losses[-10:])) if pre_losses else None,
                     "base_val_loss": {str(d): float(v) for d, v in base_losses.items()}},
        "methods": {},
    }
    for method in cfg.methods:
        bar.set_postfix_str(method)
        results["methods"][method] = finetune(
            method, base, tokenizer, cfg, run_data, seed=cfg.seed, device=device,
            exact_match_rows=em_rows, bar=bar, base_val_losses=base_losses)
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
