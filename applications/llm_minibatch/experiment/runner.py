"""Arms × seeds: the experiment's runs, on the fine-tuning machinery the demo uses.

For every seed: the data are split as in the demo (training / anchors / validation,
stratified by domain), the scenario changes the training rows
(:mod:`~llm_minibatch.experiment.scenarios`), the tiny base model is pre-trained once
(:func:`llm_minibatch.finetune.base_model`, seeded) and every arm fine-tunes a copy of it
with LoRA (:func:`llm_minibatch.finetune.finetune`) on the same pools in the same order (one
shuffled order per seed), with the same step count and batch size ``b`` (``full`` trains on
the whole pool: it is the reference, not a selection method).

Peak memory
-----------
On CUDA: ``torch.cuda.max_memory_allocated`` during the run minus the memory allocated at its
start (tensors of the run: LoRA copy, optimiser state, activations, features; the caching
allocator's reserve is not counted). On CPU: the process's resident set size (RSS, read from
``/proc/self/statm``) sampled every 10 ms in a background thread, peak minus the value at the
start of the run. It covers everything the process touches (torch tensors, Python objects)
but it is a lower bound of what the run needs when memory freed by an earlier run is reused
without the RSS growing; ``None`` where ``/proc`` is unavailable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from ..corpus import train_val_split
from ..evaluation import domain_losses
from ..finetune import (
    RunData,
    RunSettings,
    base_model,
    count_domains,
    encode_rows,
    finetune,
    load_examples,
    to_device,
)
from ..loop import AnchorSampler, StepRecord, split_anchors
from ..selection import METHODS
from .scenarios import NOISE_MODES, SCENARIOS, apply_scenario
from .stats import steps_to_target

__all__ = ["ARMS", "ANCHOR_MODES", "ExperimentConfig", "run_arms"]

#: The arms compared by default (``full`` is the reference that trains on every pool row).
ARMS: tuple[str, ...] = ("random", "stratified", "full", "greats", "per_domain", "iwd",
                         "facility_location", "partitionsel")
#: ``--anchors``: the demo's uniform draw, or the same number of anchors per domain.
ANCHOR_MODES = ("proportional", "balanced")


@dataclass
class ExperimentConfig(RunSettings):
    """Settings of the experiment (the flags of ``python -m llm_minibatch experiment``).

    The run settings are those of :class:`~llm_minibatch.finetune.RunSettings`, shared with
    the demo (their defaults here: 150 steps, conflicts every 10 steps, ``experiment_out``);
    the experiment adds:

    Attributes
    ----------
    arms : tuple of str
        Methods to run (names of :data:`~llm_minibatch.selection.METHODS`).
    seeds : int
        Seeds per arm: ``first_seed, ..., first_seed + seeds - 1``.
    first_seed : int
    scenario : str
        One of :data:`~llm_minibatch.experiment.scenarios.SCENARIOS`.
    noise_share, noise_domain, noise_mode
        ``noisy``: share of the domain's training answers corrupted, the domain (None: the
        largest), ``"swap"`` or ``"shuffle"``.
    imbalance : tuple of float or None
        ``imbalanced``: relative domain sizes, largest domain first (None: 8 : 4 : 2 : 1).
    anchors : {"proportional", "balanced"}
        Uniform anchors from the held-out split, or domain-balanced ones (target = mean of
        the per-domain anchor means).
    anchor_fraction : float
        Share of the training split held out as anchors (at least ``n_anchors`` rows).
    bootstrap_resamples : int
        Resamples of the bootstrap intervals.
    record_pools : bool
        Also store every step's pool rows per run in the JSON (large); a digest of them is
        always stored.
    """

    arms: tuple[str, ...] = ARMS
    seeds: int = 5
    first_seed: int = 0
    scenario: str = "embedded"
    noise_share: float = 0.5
    noise_domain: str | None = None
    noise_mode: str = "swap"
    imbalance: tuple[float, ...] | None = None
    anchors: str = "proportional"
    anchor_fraction: float = 0.005
    steps: int = 150
    conflicts_every: int = 10
    out: str = "experiment_out"
    bootstrap_resamples: int = 10_000
    record_pools: bool = False

    def validate(self) -> ExperimentConfig:
        """Check every field, naming the bad one; returns ``self``."""
        super().validate()
        arms = tuple(self.arms)
        if not arms:
            raise InvalidInputError("arms: expected at least one arm")
        if len(set(arms)) != len(arms):
            raise InvalidInputError(f"arms: each arm once, got {list(arms)}")
        unknown = [a for a in arms if a not in METHODS]
        if unknown:
            raise InvalidInputError(
                f"arms: unknown {unknown}; expected names among {', '.join(METHODS)}")
        self.arms = arms
        check_int(self.seeds, "seeds", minimum=1)
        check_int(self.first_seed, "first_seed", minimum=0)
        if self.scenario not in SCENARIOS:
            raise InvalidInputError(
                f"scenario: expected one of {list(SCENARIOS)}, got {self.scenario!r}")
        if self.scenario == "file" and self.data is None:
            raise InvalidInputError('scenario: "file" needs --data FILE')
        if self.scenario == "embedded" and self.data is not None:
            raise InvalidInputError(
                'scenario: "embedded" is the shipped corpus; with --data use "file", '
                '"noisy" or "imbalanced"')
        check_real(self.noise_share, "noise_share", low=0.0, high=1.0)
        if self.noise_mode not in NOISE_MODES:
            raise InvalidInputError(
                f"noise_mode: expected one of {list(NOISE_MODES)}, got {self.noise_mode!r}")
        if self.imbalance is not None:
            self.imbalance = tuple(check_real(x, "imbalance", low=0.0, low_open=True)
                                   for x in self.imbalance)
        if self.anchors not in ANCHOR_MODES:
            raise InvalidInputError(
                f"anchors: expected one of {list(ANCHOR_MODES)}, got {self.anchors!r}")
        check_real(self.anchor_fraction, "anchor_fraction", low=0.0, high=1.0, high_open=True)
        check_int(self.bootstrap_resamples, "bootstrap_resamples", minimum=100)
        return self


# --------------------------------------------------------------------------- peak memory
class PeakMemory:
    """Context manager: peak memory growth of the block, in bytes (see the module notes).

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.experiment.runner import PeakMemory
    >>> with PeakMemory(torch.device("cpu")) as mem:
    ...     x = torch.ones(2_000_000)
    >>> mem.how
    'cpu peak RSS growth (sampled every 10 ms)'
    """

    def __init__(self, device: torch.device, interval: float = 0.01):
        self.device = device
        self.interval = interval
        self.peak_bytes: int | None = None
        self.how = ("cuda max_memory_allocated growth" if device.type == "cuda"
                    else "cpu peak RSS growth (sampled every 10 ms)")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _rss() -> int | None:
        try:
            with open("/proc/self/statm", encoding="ascii") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self._rss()
            if rss is not None:
                self._max = max(self._max, rss)

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = self._rss()
            self._max = self._start or 0
            if self._start is not None:
                self._thread = threading.Thread(target=self._sample, daemon=True)
                self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device) - self._start)
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            rss = self._rss()
            self._max = max(self._max, rss or 0)
            self.peak_bytes = int(self._max - self._start)


# --------------------------------------------------------------------------- one seed
def _prepare(cfg: ExperimentConfig, examples: list[dict], seed: int) -> dict:
    """The seed's split, scenario and anchors (rows, before encoding)."""
    train_rows, val_rows = train_val_split(examples, val_fraction=cfg.val_fraction, seed=seed)
    keep, held = split_anchors(len(train_rows), fraction=cfg.anchor_fraction, seed=seed,
                               minimum=cfg.n_anchors,
                               domains=[r["domain"] for r in train_rows])
    fit_rows, info = apply_scenario(
        cfg.scenario, [train_rows[i] for i in keep], seed, noise_share=cfg.noise_share,
        noise_domain=cfg.noise_domain, noise_mode=cfg.noise_mode,
        imbalance_ratios=cfg.imbalance)
    if len(fit_rows) < cfg.pool_size:
        raise InvalidInputError(
            f"pool_size: {len(fit_rows)} training rows cannot fill one pool of "
            f"{cfg.pool_size}; lower pool_size or give more data")
    return {"fit": fit_rows, "anchors": [train_rows[i] for i in held], "val": val_rows,
            "scenario": info}


def _curve_summary(curve: list[dict]) -> dict:
    return {"steps": [p["step"] for p in curve], "mean": [p["mean"] for p in curve],
            "worst": [max(p["domains"].values()) for p in curve],
            "domains": {d: [p["domains"][d] for p in curve] for d in curve[0]["domains"]}}


def _recorder(pools: list, timing: dict) -> Any:
    """The per-step hook of a run: its pool rows and the selector's time split."""

    def hook(step: int, rows: np.ndarray, record: StepRecord) -> None:
        pools.append([int(i) for i in rows])
        for k in timing:
            timing[k].append(float(getattr(record, k)))

    return hook


def _one_seed(cfg: ExperimentConfig, examples: list[dict], seed: int, device: torch.device,
              bar: Any, runs_done: list) -> dict:
    prep = _prepare(cfg, examples, seed)
    fit, val_rows, anchor_rows = prep["fit"], prep["val"], prep["anchors"]
    bar.set_postfix_str(f"seed {seed}: pre-training")
    t0 = time.perf_counter()
    base, tokenizer, pre_losses = base_model(cfg, seed, {r["prompt"] for r in val_rows},
                                             device, bar)
    pretrain_seconds = time.perf_counter() - t0
    base.eval()
    train = encode_rows(fit, tokenizer, cfg.max_length)
    val = to_device(encode_rows(val_rows, tokenizer, cfg.max_length), device)
    anchor_domains = [r["domain"] for r in anchor_rows]
    anchors = AnchorSampler(
        encode_rows(anchor_rows, tokenizer, cfg.max_length), n_anchors=cfg.n_anchors,
        seed=seed, domains=anchor_domains,
        balance="domain" if cfg.anchors == "balanced" else None)
    train_domains = [r["domain"] for r in fit]
    val_domains = [r["domain"] for r in val_rows]
    order = np.random.default_rng(seed).permutation(len(fit))
    base_losses = domain_losses(base, val, val_domains, batch_size=128)
    run_data = RunData(train=train, train_domains=train_domains, order=order, anchors=anchors,
                       val=val, val_domains=val_domains)
    scenario = dict(prep["scenario"])
    for key in ("corrupted", "kept"):  # indices: their count is kept, the list is in the info
        if key in scenario:
            scenario[f"n_{key}"] = len(scenario[key])
    out: dict[str, Any] = {
        "seed": seed,
        "data": {"train": len(fit), "anchors": len(anchor_rows), "val": len(val_rows),
                 "train_per_domain": count_domains(train_domains),
                 "anchors_per_domain": count_domains(anchor_domains),
                 "val_per_domain": count_domains(val_domains),
                 "anchors_per_step": anchors.n_anchors},
        "scenario": scenario,
        "pretrain": {"steps": len(pre_losses), "seconds": pretrain_seconds,
                     "last_loss": float(np.mean(pre_losses[-10:])) if pre_losses else None,
                     "base_val_loss": {str(d): float(v) for d, v in base_losses.items()}},
        "arms": {},
    }
    for arm in cfg.arms:
        bar.set_postfix_str(f"seed {seed}: {arm} (run {len(runs_done) + 1})")
        pools: list[list[int]] = []
        timing = {"feature_seconds": [], "selection_seconds": []}

        hook = _recorder(pools, timing)
        t0 = time.perf_counter()
        with PeakMemory(device) as mem:
            r = finetune(arm, base, tokenizer, cfg, run_data, seed=seed, device=device,
                         bar=bar, hook=hook, base_val_losses=base_losses)
        wall = time.perf_counter() - t0
        digest = hashlib.sha256(np.asarray(pools, dtype=np.int64).tobytes()).hexdigest()
        res = {
            "label": "reference (trains on the whole pool)" if arm == "full" else "selection",
            "final": {"domains": r["final_val_loss"], "mean": r["final_val_loss_mean"],
                      "worst": max(r["final_val_loss"].values()),
                      "worst_domain": max(r["final_val_loss"], key=r["final_val_loss"].get)},
            "curve": _curve_summary(r["curve"]),
            "train_loss_last": r["train_loss_last"],
            "trained_rows_per_step": cfg.pool_size if arm == "full" else cfg.batch_size,
            "seconds": {"features_per_step": float(np.mean(timing["feature_seconds"])),
                        "selection_per_step": float(np.mean(timing["selection_seconds"])),
                        "select_call_per_step": r["selection_seconds_per_step"],
                        "update_per_step": r["train_seconds_per_step"],
                        "run": wall},
            "peak_memory_bytes": mem.peak_bytes,
            "peak_memory_how": mem.how,
            "conflicting_pairs_per_batch": r["conflicting_pairs_per_batch"],
            "conflicting_pair_fraction": r["conflicting_pair_fraction"],
            "conflicts_measured_on": r["conflicts_measured_on"],
            "domain_totals": r["domain_totals"],
            "pool_digest": digest,
        }
        if cfg.record_pools:
            res["pools"] = pools
        out["arms"][arm] = res
        runs_done.append((arm, seed))
    if "random" in out["arms"]:
        target = out["arms"]["random"]["final"]["mean"]
        for res in out["arms"].values():
            c = res["curve"]
            res["steps_to_target"] = steps_to_target(c["steps"], c["mean"], target)
        out["target_mean_loss"] = target
    else:
        out["target_mean_loss"] = None
        for res in out["arms"].values():
            res["steps_to_target"] = None
    return out


def run_arms(cfg: ExperimentConfig) -> dict:
    """Run every (arm, seed) of a validated configuration.

    Returns
    -------
    dict
        ``{"seeds": [per-seed dicts with "arms"], "seconds": float}``; the per-seed dict
        holds the data sizes, the scenario's info, the pre-training and, per arm: final
        per-domain, mean and worst-domain validation loss, curves, steps-to-target, time
        split, peak memory, conflicting pairs and the digest of the pools.
    """
    started = time.perf_counter()
    device = torch.device(cfg.device)
    examples = load_examples(cfg.data)
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.seeds))
    pre = cfg.pretrain_steps if cfg.model is None else 0
    total = cfg.seeds * (pre + cfg.steps * len(cfg.arms))
    bar = tqdm(total=total, desc=f"experiment ({len(cfg.arms)} arms × {cfg.seeds} seeds)",
               disable=not cfg.progress, unit="step")
    done: list = []
    try:
        per_seed = [_one_seed(cfg, examples, s, device, bar, done) for s in seeds]
    finally:
        bar.close()
    return {"seeds": per_seed, "seconds": time.perf_counter() - started}


def config_dict(cfg: ExperimentConfig) -> dict:
    """The configuration as JSON-friendly data."""
    return asdict(dataclasses.replace(cfg))


def arm_values(per_seed: Sequence[dict], arm: str, key: str) -> list[float]:
    """``final[key]`` of ``arm`` for every seed, in seed order."""
    return [float(s["arms"][arm]["final"][key]) for s in per_seed]
