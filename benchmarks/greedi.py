"""GreeDi / RandGreeDi on a Dask LocalCluster against centralised lazy greedy.

Facility location on a sparse kNN kernel (``knn_kernel``, cosine, k neighbours) of n points
drawn from a mixture of Gaussian clusters; ``k_select`` items. For each number of parts m and
workers w: the objective against centralised lazy greedy's, wall time (cluster start-up
excluded: one cluster per worker count, reused) and the winner (merged or a part).

    .venv/bin/python benchmarks/greedi.py                      # results/greedi.{json,md}
    .venv/bin/python benchmarks/greedi.py --n 20000 --workers 1 2
    .venv/bin/python benchmarks/greedi.py --utility features --n 20000 --d 128
        # the exact facility location from features: results/greedi_features.{json,md}
"""

from __future__ import annotations

import argparse
import time

from _worker import BUSY, add_common, cpu_model, write_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--neighbours", type=int, default=10)
    ap.add_argument("--k-select", type=int, default=100)
    ap.add_argument("--parts", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backend", default="faiss")
    ap.add_argument("--utility", choices=["knn", "features"], default="knn")
    ap.add_argument("--loads", nargs="+", default=["quiet"], choices=["quiet", "busy"],
                    help="quiet, and/or beside one busy process (the kernel is built quiet)")
    args = ap.parse_args()

    import numpy as np
    from distributed import Client, LocalCluster

    import matroidopt as mo
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(200, args.d)) * 3
    X = centers[rng.integers(0, 200, args.n)] + rng.normal(size=(args.n, args.d))
    t0 = time.perf_counter()
    if args.utility == "features":   # the exact objective, kernel blocks from the features
        import torch
        f = mo.FacilityLocation.from_features(X, metric="cosine", dtype=torch.float32)
        what = "cosine facility location from features (float32)"
    else:
        K = mo.knn_kernel(X, args.neighbours, metric="cosine", backend=args.backend)
        f = mo.FacilityLocation(K)
        what = f"{args.neighbours}-NN cosine kernel"
    build = time.perf_counter() - t0
    import subprocess
    import sys
    res = {"n": args.n, "d": args.d, "neighbours": args.neighbours, "k": args.k_select,
           "kernel_seconds": build, "cpu": cpu_model(), "central": {}, "runs": []}
    for load in args.loads:
        spinner = subprocess.Popen([sys.executable, "-c", BUSY]) if load == "busy" else None
        try:
            t0 = time.perf_counter()
            central = mo.lazy_greedy(f, args.k_select, certificate=False)
            res["central"][load] = {"value": central.value,
                                    "seconds": time.perf_counter() - t0}
            print(load, "central", res["central"][load], flush=True)
            for w in args.workers:
                with LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
                        Client(cluster) as client:
                    for m in args.parts:
                        t0 = time.perf_counter()
                        r = mo.greedi(f, args.k_select, shards=m, seed=0, client=client,
                                      certificate=False)
                        row = {"load": load, "workers": w, "parts": m, "value": r.value,
                               "ratio": r.value / central.value,
                               "seconds": time.perf_counter() - t0,
                               "winner": r.info["winner"], "union": r.info["union_size"]}
                        res["runs"].append(row)
                        print(row, flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    central = next(iter(res["central"].values()))
    L = [f"# GreeDi: facility location, {what}, "
         f"n = {args.n:,}, d = {args.d}, k = {args.k_select}\n",
         f"{cpu_model()}. Centralised lazy greedy: value {central['value']:.2f}, "
         + ", ".join(f"{c['seconds']:.2f} s {load}" for load, c in res["central"].items())
         + f" (kernel build {build:.1f} s, excluded).\n",
         "| load | workers | parts | value ÷ centralised | seconds | winner | union size |",
         "|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        L.append(f"| {r['load']} | {r['workers']} | {r['parts']} | {r['ratio']:.4f} | "
                 f"{r['seconds']:.2f} | {r['winner']} | {r['union']} |")
    write_results(args.out, "greedi" if args.utility == "knn" else "greedi_features", res, L)


if __name__ == "__main__":
    main()
