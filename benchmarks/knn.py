"""Building a sparse kNN kernel (``matroidopt.knn_kernel``): scikit-learn, pynndescent, faiss.

Random Gaussian features, d = 128, k = 10, cosine; for each backend and n: seconds, peak RSS
of a fresh subprocess, and recall of the neighbour lists against the exact ones (faiss's flat
search, which is exact; scikit-learn is timed only where it finishes in ``--timeout``).

    .venv/bin/python benchmarks/knn.py                    # results/knn.{json,md}
    .venv/bin/python benchmarks/knn.py --sizes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _worker import add_common, ran_as_worker, write_results


def worker(cfg: dict) -> dict:
    import numpy as np

    import matroidopt as mo
    X = np.random.default_rng(0).normal(size=(cfg["n"], cfg["d"])).astype(np.float32)
    t0 = time.perf_counter()
    K = mo.knn_kernel(X, cfg["k"], metric="cosine", backend=cfg["backend"])
    seconds = time.perf_counter() - t0
    np.save(cfg["out"], K.indices.reshape(cfg["n"], -1))
    return {**{k: v for k, v in cfg.items() if k != "out"}, "seconds": seconds,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    import tempfile

    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            found = {}
            for backend in ("faiss", "pynndescent", "sklearn"):
                cfg = {"n": n, "d": args.d, "k": args.k, "backend": backend,
                       "out": os.path.join(tmp, f"{backend}_{n}.npy")}
                try:
                    p = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)],
                                       capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    rows.append({"n": n, "backend": backend, "seconds": None,
                                 "note": f"over {args.timeout:.0f} s"})
                    print(n, backend, "timeout", flush=True)
                    continue
                if p.returncode != 0:
                    rows.append({"n": n, "backend": backend, "seconds": None,
                                 "note": p.stderr[-300:]})
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                found[backend] = np.load(cfg["out"])
                rows.append(r)
                print(n, backend, round(r["seconds"], 2), flush=True)
            exact = found.get("faiss")
            for r in rows:
                if r["n"] == n and r["backend"] in found and exact is not None:
                    got = found[r["backend"]]
                    hits = sum(len(set(a) & set(b)) for a, b in zip(got, exact))
                    r["recall"] = hits / exact.size
    L = [f"# kNN kernel build: d = {args.d}, k = {args.k}, cosine, {os.cpu_count()} CPUs\n",
         "| n | backend | seconds | peak RSS (MiB) | recall vs exact |", "|---|---|---|---|---|"]
    for r in rows:
        sec = f"{r['seconds']:.1f}" if r.get("seconds") is not None else r.get("note", "-")
        L.append(f"| {r['n']:,} | {r['backend']} | {sec} | "
                 f"{r.get('peak_mib', float('nan')):.0f} | {r.get('recall', float('nan')):.3f} |")
    write_results(args.out, "knn", {"d": args.d, "k": args.k, "cpus": os.cpu_count(),
                                    "rows": rows}, L)


if __name__ == "__main__":
    main()
