"""Building a sparse kNN kernel (``matroidopt.knn_kernel``): scikit-learn, pynndescent,
faiss (exact) and faiss's inverted file.

Features d = 128 (``--data gaussian``: structureless random Gaussian, the hard case for the
approximate backends; ``clustered``: the mixture of ``million.py``), k = 10, cosine; for each
backend and n: seconds, peak RSS of a fresh subprocess, and recall of the neighbour lists
against the exact ones (faiss's flat search; scikit-learn is timed only where it finishes in
``--timeout``).

    .venv/bin/python benchmarks/knn.py                    # results/knn.{json,md}
    .venv/bin/python benchmarks/knn.py --sizes 20000 --backends faiss faiss-ivf --data clustered
    .venv/bin/python benchmarks/knn.py --backends faiss faiss-ivf --loads quiet busy
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _worker import BUSY, add_common, cpu_model, ran_as_worker, write_results


def worker(cfg: dict) -> dict:
    import numpy as np

    import matroidopt as mo
    if cfg.get("data") == "clustered":
        from million import features
        X = features(cfg["n"], cfg["d"], max(20, cfg["n"] // 500), 0)
    else:
        X = np.random.default_rng(0).normal(size=(cfg["n"], cfg["d"])).astype(np.float32)
    t0 = time.perf_counter()
    K = mo.knn_kernel(X, cfg["k"], metric="cosine", backend=cfg["backend"])
    seconds = time.perf_counter() - t0
    np.savez(cfg["out"], indptr=K.indptr, indices=K.indices)
    return {**{k: v for k, v in cfg.items() if k != "out"}, "seconds": seconds,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--backends", nargs="+",
                    default=["faiss", "faiss-ivf", "pynndescent", "sklearn"])
    ap.add_argument("--data", choices=["gaussian", "clustered"], default="gaussian")
    ap.add_argument("--loads", nargs="+", default=["quiet"], choices=["quiet", "busy"],
                    help="quiet, and/or beside one busy process")
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    import tempfile

    import numpy as np
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, load in [(n, load) for n in args.sizes for load in args.loads]:
            found = {}
            for backend in args.backends:
                cfg = {"n": n, "d": args.d, "k": args.k, "backend": backend, "load": load,
                       "data": args.data, "out": os.path.join(tmp, f"{backend}_{n}.npz")}
                spinner = subprocess.Popen([sys.executable, "-c", BUSY]) \
                    if load == "busy" else None
                try:
                    p = subprocess.run([sys.executable, __file__, "--worker", json.dumps(cfg)],
                                       capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    rows.append({"n": n, "backend": backend, "load": load, "seconds": None,
                                 "note": f"over {args.timeout:.0f} s"})
                    print(n, backend, load, "timeout", flush=True)
                    continue
                finally:
                    if spinner is not None:
                        spinner.kill()
                        spinner.wait()
                if p.returncode != 0:
                    rows.append({"n": n, "backend": backend, "load": load, "seconds": None,
                                 "note": p.stderr[-300:]})
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                with np.load(cfg["out"]) as z:
                    found[backend] = np.split(z["indices"], z["indptr"][1:-1])
                rows.append(r)
                print(n, backend, load, round(r["seconds"], 2), flush=True)
            exact = found.get("faiss")
            for r in rows:
                if (r["n"], r.get("load")) == (n, load) and r["backend"] in found \
                        and exact is not None:
                    got = found[r["backend"]]
                    hits = sum(len(set(a.tolist()) & set(b.tolist()))
                               for a, b in zip(got, exact))
                    r["recall"] = hits / sum(len(b) for b in exact)
    L = [f"# kNN kernel build: {args.data} features, d = {args.d}, k = {args.k}, cosine\n",
         f"{cpu_model()}.\n",
         "| n | load | backend | seconds | peak RSS (MiB) | recall vs exact |",
         "|---|---|---|---|---|---|"]
    for r in rows:
        sec = f"{r['seconds']:.1f}" if r.get("seconds") is not None else r.get("note", "-")
        L.append(f"| {r['n']:,} | {r.get('load', 'quiet')} | {r['backend']} | {sec} | "
                 f"{r.get('peak_mib', float('nan')):.0f} | {r.get('recall', float('nan')):.3f} |")
    name = "knn" if args.data == "gaussian" else f"knn_{args.data}"
    write_results(args.out, name, {"data": args.data, "d": args.d, "k": args.k,
                                   "cpu": cpu_model(), "rows": rows}, L)


if __name__ == "__main__":
    main()
