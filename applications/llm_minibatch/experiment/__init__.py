"""An experiment that can tell the selection methods apart: arms × seeds, paired statistics.

``python -m llm_minibatch experiment`` fine-tunes the demo's tiny model (or ``--model``) once
per arm and seed, every arm on the same pools in the same order, with the same step count and
batch size, and compares the arms by paired differences with seeded bootstrap 95 % intervals.

Modules
-------
:mod:`~llm_minibatch.experiment.stats`
    Paired differences, bootstrap and t intervals, steps-to-target.
:mod:`~llm_minibatch.experiment.scenarios`
    The data scenarios (``embedded``, ``file``, ``noisy``, ``imbalanced``): pure, seeded.
:mod:`~llm_minibatch.experiment.runner`
    :class:`ExperimentConfig` and the runs (demo machinery, peak memory).
:mod:`~llm_minibatch.experiment.report`
    Summary, pass criterion, ``experiment.json``, ``experiment.md``, ``curves.png``,
    ``differences.png``.

Examples
--------
A quick look (two arms, two seeds; the defaults run all eight arms on five seeds)::

    python -m llm_minibatch experiment --arms random partitionsel --seeds 2 --steps 20
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch

from .report import BASELINES, CRITERION, summarize, write_outputs
from .runner import ANCHOR_MODES, ARMS, ExperimentConfig, config_dict, run_arms
from .scenarios import SCENARIOS, apply_scenario, corrupt_answers, imbalance
from .stats import bootstrap_ci, paired_differences, steps_to_target, t_interval

__all__ = ["ANCHOR_MODES", "ARMS", "BASELINES", "CRITERION", "SCENARIOS", "ExperimentConfig",
           "apply_scenario", "bootstrap_ci", "corrupt_answers", "imbalance",
           "paired_differences", "run_experiment", "steps_to_target", "t_interval"]


def run_experiment(config: ExperimentConfig | None = None, **overrides: Any) -> dict:
    """Run every (arm, seed) and write ``experiment.json``, ``experiment.md``,
    ``curves.png`` and ``differences.png`` into ``config.out``.

    Parameters
    ----------
    config : ExperimentConfig, optional
        Settings (default: :class:`ExperimentConfig` defaults).
    **overrides
        Fields of :class:`ExperimentConfig` to change.

    Returns
    -------
    dict
        ``{"config", "seeds" (per seed and arm, every number), "summary" (intervals,
        differences, criterion), "table", "files", "seconds"}``; the same data is in
        ``experiment.json``.

    Raises
    ------
    InvalidInputError
        A bad setting, naming it, before any training.
    """
    cfg = ExperimentConfig(**overrides) if config is None else dataclasses.replace(
        config, **overrides)
    cfg.validate()
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        runs = run_arms(cfg)
    finally:
        torch.set_num_threads(threads_before)
    results: dict[str, Any] = {
        "config": config_dict(cfg),
        "seeds": runs["seeds"],
        "summary": summarize(runs["seeds"], cfg.arms, seed=0,
                             resamples=cfg.bootstrap_resamples),
    }
    results["criterion"] = results["summary"]["criterion"]
    results["seconds"] = time.perf_counter() - started
    write_outputs(results, cfg.out)
    return results
