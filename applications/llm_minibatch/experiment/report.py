"""The experiment's summary, pass criterion and outputs: JSON, a markdown table and plots.

Outputs (in ``--out``): ``experiment.json`` (config, every number per arm and seed, the
summary, the pass criterion and its verdict), ``experiment.md`` (the tables, then the two
plots), ``curves.png`` (mean validation loss per arm against the step, with 95 % bootstrap
bands over seeds) and ``differences.png`` (paired differences against ``random`` and
``stratified`` with their 95 % intervals).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .stats import bootstrap_ci, paired_differences, t_interval

__all__ = ["BASELINES", "CRITERION", "format_markdown", "plot_curves", "plot_differences",
           "summarize", "write_outputs"]

#: The arms every other arm is compared with, seed by seed.
BASELINES = ("random", "stratified")
#: The pass criterion, in words (also in the JSON and the markdown).
CRITERION = ("PartitionSel beats random and stratified on worst-domain validation loss: the "
             "95 % bootstrap interval of the mean paired difference (partitionsel - baseline, "
             "per seed, same pools) lies entirely below 0 for both baselines.")
_METRICS = ("mean", "worst")


def _ci(values: Sequence[float], seed: int, resamples: int) -> dict:
    return bootstrap_ci(values, n_resamples=resamples, seed=seed).as_dict()


def summarize(per_seed: Sequence[Mapping], arms: Sequence[str], *, seed: int = 0,
              resamples: int = 10_000) -> dict:
    """Across-seed summary of the runs, paired differences and the pass criterion.

    Parameters
    ----------
    per_seed : sequence of dict
        :func:`~llm_minibatch.experiment.runner.run_arms`'s ``"seeds"``.
    arms : sequence of str
    seed : int
        Seed of the bootstrap.
    resamples : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``arms`` (per arm: ``mean``/``worst`` final loss intervals, per-domain means,
        steps-to-target per seed, time split, memory, conflicts), ``differences``
        (``{baseline: {arm: {metric: {"per_seed", "bootstrap", "t"}}}}``) and ``criterion``
        (``text``, ``verdict`` in ``{"pass", "fail", "not evaluated"}``, the intervals).
    """
    out: dict[str, Any] = {"arms": {}, "differences": {}, "bootstrap_seed": seed,
                           "bootstrap_resamples": resamples}
    for arm in arms:
        runs = [s["arms"][arm] for s in per_seed]
        domains = sorted(runs[0]["final"]["domains"])
        mem = [r["peak_memory_bytes"] for r in runs if r["peak_memory_bytes"] is not None]
        conf = [r["conflicting_pairs_per_batch"] for r in runs]
        out["arms"][arm] = {
            "label": runs[0]["label"],
            **{m: _ci([r["final"][m] for r in runs], seed, resamples) for m in _METRICS},
            "domains": {d: float(np.mean([r["final"]["domains"][d] for r in runs]))
                        for d in domains},
            "worst_domains": [r["final"]["worst_domain"] for r in runs],
            "steps_to_target": [r["steps_to_target"] for r in runs],
            "seconds_per_step": {k: float(np.mean([r["seconds"][k] for r in runs]))
                                 for k in ("features_per_step", "selection_per_step",
                                           "select_call_per_step", "update_per_step")},
            "run_seconds": float(np.mean([r["seconds"]["run"] for r in runs])),
            "peak_memory_bytes": max(mem) if mem else None,
            "peak_memory_how": runs[0]["peak_memory_how"],
            "conflicting_pairs_per_batch": float(np.mean(conf)),
            "conflicting_pair_fraction": float(np.mean(
                [r["conflicting_pair_fraction"] for r in runs])),
        }
    for base in BASELINES:
        if base not in arms:
            continue
        table = out["differences"][base] = {}
        for arm in arms:
            if arm == base:
                continue
            table[arm] = {}
            for m in _METRICS:
                d = paired_differences([s["arms"][arm]["final"][m] for s in per_seed],
                                       [s["arms"][base]["final"][m] for s in per_seed])
                table[arm][m] = {"per_seed": d.tolist(),
                                 "bootstrap": _ci(d, seed, resamples),
                                 "t": t_interval(d).as_dict()}
    out["criterion"] = criterion(out["differences"])
    return out


def criterion(differences: Mapping) -> dict:
    """The pass criterion's verdict from :func:`summarize`'s ``differences``."""
    parts = {}
    for base in BASELINES:
        entry = differences.get(base, {}).get("partitionsel")
        parts[base] = None if entry is None else entry["worst"]["bootstrap"]
    if any(p is None or p["high"] is None for p in parts.values()):
        verdict = "not evaluated"  # an arm is missing, or one seed only
    else:
        verdict = "pass" if all(p["high"] < 0 for p in parts.values()) else "fail"
    return {"text": CRITERION, "verdict": verdict, "intervals": parts}


# --------------------------------------------------------------------------- markdown
def _fmt_ci(ci: Mapping, digits: int = 4) -> str:
    if ci["low"] is None:
        return f"{ci['mean']:.{digits}f}"
    return f"{ci['mean']:.{digits}f} [{ci['low']:.{digits}f}, {ci['high']:.{digits}f}]"


def _mib(x: int | None) -> str:
    return "-" if x is None else f"{x / 2**20:.1f}"


def format_markdown(results: Mapping) -> str:
    """The experiment's markdown: configuration line, per-arm table, paired differences and
    the pass criterion."""
    cfg, summ = results["config"], results["summary"]
    arms = list(summ["arms"])
    n = cfg["seeds"]
    lines = [
        "# PartitionSel experiment", "",
        f"Scenario **{cfg['scenario']}**, {n} seeds (first {cfg['first_seed']}), "
        f"{cfg['steps']} steps, pool {cfg['pool_size']} → batch {cfg['batch_size']}, "
        f"lr {cfg['lr']}, sketch {cfg['sketch_dim']}, anchors {cfg['anchors']}. "
        "Losses: final validation loss (answer tokens), mean over domains and worst domain; "
        "mean over seeds with the 95 % bootstrap interval. Differences: arm − baseline per "
        "seed on the same pools (negative: the arm is better). Steps-to-target: first "
        "evaluated step at which the arm's mean loss reaches random's final mean loss of the "
        "same seed (per seed; '-' never). `full` trains on the whole pool: the reference, not "
        "a selection method.", "",
        "| arm | mean loss | worst-domain loss | steps-to-target | features s/step | "
        "selection s/step | update s/step | peak memory MiB | conflicting pairs / batch | "
        "conflict fraction |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        a = summ["arms"][arm]
        name = f"{arm} (reference)" if arm == "full" else arm
        stt = ", ".join("-" if s is None else str(s) for s in a["steps_to_target"])
        sp = a["seconds_per_step"]
        lines.append(
            f"| {name} | {_fmt_ci(a['mean'])} | {_fmt_ci(a['worst'])} | {stt} | "
            f"{sp['features_per_step']:.3f} | {sp['selection_per_step']:.3f} | "
            f"{sp['update_per_step']:.3f} | {_mib(a['peak_memory_bytes'])} | "
            f"{a['conflicting_pairs_per_batch']:.1f} | {a['conflicting_pair_fraction']:.3f} |")
    for base, table in summ["differences"].items():
        lines += ["", f"## Paired differences against `{base}`", "",
                  "| arm | Δ mean loss [95 % bootstrap] | Δ worst-domain loss [95 % bootstrap] "
                  "| Δ worst, t interval | worst-domain CI excludes 0 |",
                  "|---|---|---|---|---|"]
        for arm, d in table.items():
            w = d["worst"]["bootstrap"]
            excl = "-" if w["low"] is None else ("yes" if (w["low"] > 0 or w["high"] < 0)
                                                 else "no")
            lines.append(f"| {arm} | {_fmt_ci(d['mean']['bootstrap'])} | {_fmt_ci(w)} | "
                         f"{_fmt_ci(d['worst']['t'])} | {excl} |")
    crit = summ["criterion"]
    lines += ["", "## Pass criterion", "", crit["text"], "",
              f"Verdict: **{crit['verdict']}**.", "",
              f"Peak memory: {summ['arms'][arms[0]]['peak_memory_how']} (max over seeds; see "
              "`llm_minibatch.experiment.runner`)."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(results: Mapping, path: str | Path, *, seed: int = 0,
                resamples: int = 2000) -> Path:
    """Mean validation loss per arm against the step, with 95 % bootstrap bands over seeds
    (and the worst-domain loss in a second panel). Written as a PNG to ``path``."""
    plt = _plt()
    per_seed = results["seeds"]
    arms = list(results["summary"]["arms"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), squeeze=False)
    for ax, metric in zip(axes.flat, _METRICS):
        for arm in arms:
            steps = per_seed[0]["arms"][arm]["curve"]["steps"]
            ys = np.array([s["arms"][arm]["curve"][metric] for s in per_seed])  # seeds × steps
            cis = [bootstrap_ci(ys[:, j], seed=seed, n_resamples=resamples)
                   for j in range(ys.shape[1])]
            mean = [c.mean for c in cis]
            line, = ax.plot(steps, mean, marker="o", markersize=3, label=arm,
                            linestyle="--" if arm == "full" else "-")
            if len(per_seed) > 1:
                ax.fill_between(steps, [c.low for c in cis], [c.high for c in cis],
                                color=line.get_color(), alpha=0.15)
        ax.set_title(("mean" if metric == "mean" else "worst-domain") + " validation loss")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_differences(results: Mapping, path: str | Path) -> Path:
    """Paired differences (arm − baseline) of the final mean and worst-domain loss, with
    their 95 % bootstrap intervals, one panel per baseline. Written as a PNG to ``path``."""
    plt = _plt()
    diffs = results["summary"]["differences"]
    panels = [(b, m) for b in diffs for m in _METRICS] or [(None, None)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    for ax, (base, metric) in zip(axes.flat, panels):
        if base is None:
            ax.text(0.5, 0.5, "no random/stratified arm", ha="center", va="center")
            ax.axis("off")
            continue
        names = list(diffs[base])
        for i, arm in enumerate(names):
            ci = diffs[base][arm][metric]["bootstrap"]
            ax.plot([i], [ci["mean"]], "o", color="C0" if arm != "partitionsel" else "C3")
            if ci["low"] is not None:
                ax.vlines(i, ci["low"], ci["high"],
                          color="C0" if arm != "partitionsel" else "C3")
            pts = diffs[base][arm][metric]["per_seed"]
            ax.plot([i + 0.15] * len(pts), pts, ".", color="grey", markersize=4)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{metric} loss: arm − {base}", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# experiment.md shows the two plots written beside it
_PICTURES = ("\n## Curves and paired differences\n\n"
             "![mean validation loss per arm against the step](curves.png)\n\n"
             "![paired differences against random and stratified](differences.png)\n")


def write_outputs(results: dict, out: str | Path) -> dict[str, str]:
    """Write the four files into ``out``; returns their paths by kind."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "experiment.json", "markdown": out / "experiment.md",
             "curves": out / "curves.png", "differences": out / "differences.png"}
    results["files"] = {k: str(v) for k, v in files.items()}
    seed = results["summary"]["bootstrap_seed"]
    plot_curves(results, files["curves"], seed=seed)
    plot_differences(results, files["differences"])
    results["table"] = format_markdown(results)
    files["markdown"].write_text(results["table"] + _PICTURES, encoding="utf-8")
    files["json"].write_text(json.dumps(_jsonable(results), indent=1), encoding="utf-8")
    return results["files"]
