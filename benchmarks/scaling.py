"""Facility location from features as n grows: time, peak memory and objective of each path,
matroidopt and the peers, n ∈ {2 000, 10 000, 20 000, 100 000, 1 000 000}, one command.

Features: a mixture of Gaussian clusters (``million.features``), d = 128, float32; cosine
similarity; k = 200 selected. Each (path, n) runs in a fresh subprocess (peak RSS is that
process's); every path builds what it needs from the features inside the timed region:

* ``ours-greedy``: the dense kernel (one torch product), then plain ``greedy`` (n <= 20 000);
* ``ours-dense``: the dense kernel, then ``lazy_greedy`` (n <= 20 000);
* ``ours-features``: ``FacilityLocation.from_features`` (float32, like the dense kernel) +
  ``lazy_greedy`` (n <= 20 000);
* ``ours-stochastic``: the dense kernel + ``stochastic_greedy(epsilon=0.1)`` (n <= 20 000);
* ``ours-sparse``: ``knn_kernel(X, 10)`` (faiss; its inverted file above 200 000 points) +
  ``lazy_greedy``, every n;
* ``apricot-dense`` / ``submodlib-dense``: the peer's own cosine kernel from the features and
  its lazy greedy (n <= 20 000: the n × n kernel). apricot's own sparse kNN path
  (``n_neighbors=10``) is left out: with the pinned numba and scipy its lazy optimizer fails
  to compile (a numba ``TypeError`` on int64 sparse indices).

Every selection is scored by one float64 dense cosine facility location over all n points
(computed in blocks), so the objectives compare across paths. ``--loads quiet busy`` adds a
run beside one busy process. Writes ``results/scaling.{json,md}`` and ``scaling.png``.

    .venv/bin/python benchmarks/scaling.py
    .venv/bin/python benchmarks/scaling.py --sizes 2000 10000 --loads quiet busy
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

from _worker import add_common, cpu_model, ran_as_worker, spawn_worker, warm_compiled, write_results
from million import features

LIMITS = {"ours-greedy": 20_000, "ours-dense": 20_000, "ours-features": 20_000,
          "ours-stochastic": 20_000,
          "ours-sparse": 10**9, "apricot-dense": 20_000, "submodlib-dense": 20_000}


def select(path: str, X, k: int) -> list[int]:
    import numpy as np

    if path.startswith("ours"):
        import torch

        import matroidopt as mo
        if path == "ours-features":
            f = mo.FacilityLocation.from_features(X, dtype=torch.float32)
            return mo.lazy_greedy(f, k).indices.tolist()
        if path == "ours-sparse":
            K = mo.knn_kernel(X, 10, metric="cosine")
            return mo.lazy_greedy(mo.FacilityLocation(K), k).indices.tolist()
        T = torch.from_numpy(X)
        T = T / T.norm(dim=1, keepdim=True)
        f = mo.FacilityLocation(T @ T.T)
        if path == "ours-stochastic":
            return mo.stochastic_greedy(f, k, epsilon=0.1, seed=0).indices.tolist()
        if path == "ours-greedy":
            return mo.greedy(f, k).indices.tolist()
        return mo.lazy_greedy(f, k).indices.tolist()
    if path.startswith("apricot"):
        from apricot import FacilityLocationSelection
        sel = FacilityLocationSelection(k, metric="cosine", optimizer="lazy", random_state=0)
        return [int(i) for i in sel.fit(X.astype(np.float64)).ranking]
    from submodlib import FacilityLocationFunction
    f = FacilityLocationFunction(n=X.shape[0], mode="dense", data=X, metric="cosine",
                                 separate_rep=False)
    return [int(i) for i, _ in f.maximize(budget=k, optimizer="LazyGreedy",
                                          stopIfZeroGain=False, stopIfNegativeGain=False,
                                          verbose=False, show_progress=False)]


def cosine_value(X, S: list[int]) -> float:
    """sum_i max(0, max_{j in S} cos(x_i, x_j)) in float64, in blocks of clients."""
    import numpy as np

    A = X.astype(np.float64)
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    B = A[np.asarray(S, dtype=np.int64)]
    total = 0.0
    for a in range(0, A.shape[0], 65_536):
        total += float(np.maximum((A[a:a + 65_536] @ B.T).max(1), 0.0).sum())
    return total


def worker(cfg: dict) -> dict:
    X = features(cfg["n"], cfg["d"], cfg["clusters"], 0)
    small = features(500, cfg["d"], 20, 1)
    select(cfg["path"], small, 10)                                  # warm-up
    if cfg["path"].startswith("ours"):
        warm_compiled()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    S = select(cfg["path"], X, cfg["k"])
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {**cfg, "seconds": seconds, "peak_mib": peak, "base_mib": base,
            "objective": cosine_value(X, S), "size": len(set(S))}


def plot(rows: list[dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = dict(zip(LIMITS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for load, style in (("quiet", "-"), ("busy", "--")):
        for name in LIMITS:
            pts = sorted((r["n"], r["seconds"]) for r in rows
                         if r["path"] == name and r["load"] == load and "seconds" in r)
            if pts:
                ax.plot(*zip(*pts), style, marker="o" if load == "quiet" else "x",
                        color=colours[name], label=f"{name} ({load})")
    ax.set(xscale="log", yscale="log", xlabel="n (items)", ylabel="seconds (kernel + solve)",
           title="Facility location from features, k = 200, d = 128, 2 cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap, timeout=1800.0)
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[2_000, 10_000, 20_000, 100_000, 1_000_000])
    ap.add_argument("--paths", nargs="+", default=list(LIMITS))
    ap.add_argument("--loads", nargs="+", default=["quiet"])
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--update", action="store_true",
                    help="replace only the rows run now in the existing results")
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    rows = []
    for load in args.loads:
        for n in args.sizes:
            for path in args.paths:
                if n > LIMITS[path]:
                    continue
                cfg = {"path": path, "n": n, "k": args.k, "d": args.d, "load": load,
                       "clusters": max(20, n // 500)}
                row = spawn_worker(__file__, cfg, busy=load == "busy", timeout=args.timeout)
                rows.append(row)
                print(json.dumps({key: row.get(key) for key in ("path", "n", "load", "seconds",
                                                                 "peak_mib", "objective",
                                                                 "error")}), flush=True)
    if args.update and os.path.exists(os.path.join(args.out, "scaling.json")):
        with open(os.path.join(args.out, "scaling.json")) as fh:
            old = json.load(fh)["rows"]
        done = {(r["path"], r["n"], r["load"]) for r in rows}
        rows = [r for r in old if (r["path"], r["n"], r["load"]) not in done] + rows
        rows.sort(key=lambda r: (r["load"] != "quiet", r["n"], list(LIMITS).index(r["path"])))
    L = [f"# Facility location from features as n grows (k = {args.k}, d = {args.d}, cosine)\n",
         f"{cpu_model()}. Seconds include building the kernel from the features; peak RSS of "
         "the worker process; objective: the dense cosine facility location of the selection "
         "÷ the best of any path at that n (apricot's own cosine kernel is not exactly ours, "
         "so its lazy greedy can land a little higher on this score; submodlib's selects our "
         "set).\n",
         "| load | n | path | seconds | peak RSS (MiB) | objective ÷ best |",
         "|---|---|---|---|---|---|"]
    for r in rows:
        best = max((x["objective"] for x in rows if x["n"] == r["n"] and "objective" in x),
                   default=None)
        if "error" in r:
            L.append(f"| {r['load']} | {r['n']:,} | {r['path']} | {r['error']} | | |")
        else:
            L.append(f"| {r['load']} | {r['n']:,} | {r['path']} | {r['seconds']:.2f} | "
                     f"{r['peak_mib']:.0f} | {r['objective'] / best:.4f} |")
    write_results(args.out, "scaling", {"rows": rows, "cpu": cpu_model()}, L)
    plot(rows, os.path.join(args.out, "scaling.png"))


if __name__ == "__main__":
    main()
