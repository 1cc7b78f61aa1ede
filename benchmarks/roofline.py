"""How close the dense facility-location solves come to the memory system's limit.

A gains evaluation of one candidate on a dense float32 kernel reads its row of ``m`` entries
(``4 m`` bytes) and does O(1) work per entry, so a solve is bound by memory bandwidth: the
floor is ``oracle calls × 4 m`` bytes at the machine's read bandwidth. This measures, quiet
and beside one busy process, in fresh subprocesses:

* the machine's bandwidths on 1 GiB float32 tensors with torch's default threads: copy
  (``b.copy_(a)``, bytes read + written) and read (``a.sum()``);
* ``greedy`` (k = 50), ``lazy_greedy`` and ``stochastic_greedy`` (k = 200) on the flat and
  peaked n = 10 000 kernels of ``threads.py``: seconds, oracle calls, and the kernel bytes
  their evaluations read per second.

    .venv/bin/python benchmarks/roofline.py        # results/roofline.{json,md,png}
"""

from __future__ import annotations

import argparse
import os
import time

from _worker import (
    add_common,
    cpu_model,
    ran_as_worker,
    spawn_worker,
    warm_compiled,
    write_results,
)
from threads import make_kernel

SOLVES = (("greedy", 50), ("lazy_greedy", 200), ("stochastic_greedy", 200))


def bandwidths(reps: int = 5) -> dict:
    import torch

    a = torch.ones(1 << 28)                     # 1 GiB
    b = torch.empty_like(a)
    b.copy_(a)
    t0 = time.perf_counter()
    for _ in range(reps):
        b.copy_(a)
    copy = 2 * a.numel() * 4 * reps / (time.perf_counter() - t0)
    float(a.sum())
    t0 = time.perf_counter()
    for _ in range(reps):
        float(a.sum())
    read = a.numel() * 4 * reps / (time.perf_counter() - t0)
    return {"copy_gbs": copy / 1e9, "read_gbs": read / 1e9}


def worker(cfg: dict) -> dict:
    import torch

    import matroidopt as mo
    warm_compiled()
    out = {**cfg, **bandwidths(), "solves": []}
    for kernel in ("flat", "peaked"):
        K = make_kernel(kernel, cfg["n"], 0)
        f = mo.FacilityLocation(K)
        mo.lazy_greedy(mo.FacilityLocation(K[:500, :500].contiguous()), 10)   # warm-up
        for name, k in SOLVES:
            opts = {"seed": 0} if name == "stochastic_greedy" else {}
            t0 = time.perf_counter()
            r = getattr(mo, name)(f, k, certificate=False, **opts)
            seconds = time.perf_counter() - t0
            read = r.oracle_calls * K.shape[0] * K.element_size()
            out["solves"].append({"kernel": kernel, "solver": name, "k": k,
                                  "seconds": seconds, "oracle_calls": int(r.oracle_calls),
                                  "gbs": read / seconds / 1e9})
        del f, K
    out["torch_threads"] = torch.get_num_threads()
    return out


def plot(runs: list[dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [f"{s['kernel']}\n{s['solver'].replace('_greedy', '')}" for s in runs[0]["solves"]]
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        xs = [j + i * width for j in range(len(labels))]
        ax.bar(xs, [s["gbs"] for s in run["solves"]], width, label=f"solve, {run['load']}")
        ax.axhline(run["read_gbs"], ls="--", lw=1, color=f"C{i}",
                   label=f"read bandwidth, {run['load']} ({run['read_gbs']:.1f} GB/s)")
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(labels))], labels,
                  fontsize=8)
    ax.set(ylabel="kernel bytes read per second (GB/s)",
           title="Dense facility location, n = 10 000, float32, 2 cores")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap, timeout=900.0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--loads", nargs="+", default=["quiet", "busy"])
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    runs = []
    for load in args.loads:
        run = spawn_worker(__file__, {"n": args.n, "load": load}, busy=load == "busy",
                           timeout=args.timeout)
        if "error" in run:
            raise RuntimeError(run["error"])
        runs.append(run)
        print(run, flush=True)
    L = [f"# Dense facility location against the memory system, n = {args.n:,}, float32\n",
         f"{cpu_model()}.\n",
         "Achieved: kernel bytes the gains evaluations read (oracle calls × 4 m) per second "
         "of solve; ÷ read: that against the machine's read bandwidth (``a.sum()`` of 1 GiB) "
         "in the same process.\n"]
    for run in runs:
        L += [f"## {run['load']}: copy {run['copy_gbs']:.1f} GB/s (read + write), read "
              f"{run['read_gbs']:.1f} GB/s\n",
              "| kernel | solver | k | seconds | oracle calls | achieved GB/s | ÷ read |",
              "|---|---|---|---|---|---|---|"]
        for s in run["solves"]:
            L.append(f"| {s['kernel']} | {s['solver']} | {s['k']} | {s['seconds']:.2f} | "
                     f"{s['oracle_calls']:,} | {s['gbs']:.1f} | "
                     f"{s['gbs'] / run['read_gbs']:.2f} |")
        L.append("")
    write_results(args.out, "roofline", {"runs": runs, "cpu": cpu_model()}, L)
    plot(runs, os.path.join(args.out, "roofline.png"))


if __name__ == "__main__":
    main()
