"""Facility location against apricot-select and submodlib-py, quiet and beside one busy
process, on a flat and on a peaked dense kernel (the kernels of ``threads.py``).

n = 10 000, k = 200, dense kernel prebuilt (float64 for apricot, float32 for submodlib, whose
binding is float32-only, and for matroidopt). Optimizers: matroidopt ``lazy_greedy`` and
``stochastic_greedy(epsilon=0.1)`` under the thread policy (the default), apricot "lazy" and
"stochastic", submodlib "LazyGreedy" and "StochasticGreedy". Each (kernel, optimizer, load)
runs in a fresh subprocess: a warm-up solve on a small kernel (imports, numba compilation),
then setup + solve timed (median of ``--reps``). Every selection is scored by one float64
facility location over the same kernel, so "equal objective" is checked.

    .venv/bin/python benchmarks/peers_busy.py          # results/peers_busy.{json,md}
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _worker import add_common, cpu_model, ran_as_worker, spawn_worker, warm_compiled, write_results
from threads import make_kernel

CONFIGS = [("matroidopt", "lazy_greedy"), ("matroidopt", "stochastic_greedy"),
           ("apricot", "lazy"), ("apricot", "stochastic"),
           ("submodlib", "LazyGreedy"), ("submodlib", "StochasticGreedy")]
EXACT = {"lazy_greedy", "lazy", "LazyGreedy"}
EPS = 0.1


def native(lib: str, K64):
    """The kernel in the library's own dtype (converted outside the timed region)."""
    import numpy as np

    return K64 if lib == "apricot" else K64.astype(np.float32)


def solver(lib: str, opt: str, k: int):
    """``setup(K) -> state`` and ``solve(state) -> indices`` for one configuration, ``K`` in
    the library's dtype (:func:`native`)."""
    if lib == "matroidopt":
        import torch

        import matroidopt as mo
        fn = mo.lazy_greedy if opt == "lazy_greedy" else (
            lambda f, k: mo.stochastic_greedy(f, k, epsilon=EPS, seed=0))
        return (lambda K: mo.FacilityLocation(K, dtype=torch.float32),
                lambda f: [int(i) for i in fn(f, k).indices])
    if lib == "apricot":
        from apricot import FacilityLocationSelection
        kw = {"epsilon": EPS} if opt == "stochastic" else {}
        return (lambda K: (K, FacilityLocationSelection(k, metric="precomputed", optimizer=opt,
                                                        optimizer_kwds=kw, random_state=0)),
                lambda st: [int(i) for i in st[1].fit(st[0]).ranking])
    from submodlib import FacilityLocationFunction
    return (lambda K: FacilityLocationFunction(n=K.shape[0], mode="dense",
                                               sijs=K, separate_rep=False),
            lambda f: [int(i) for i, _ in f.maximize(
                budget=k, optimizer=opt, stopIfZeroGain=False, stopIfNegativeGain=False,
                epsilon=EPS, verbose=False, show_progress=False)])


def worker(cfg: dict) -> dict:
    import numpy as np

    setup, solve = solver(cfg["lib"], cfg["opt"], cfg["k"])
    small = make_kernel(cfg["kernel"], 500, 1).clamp_min(0).double().numpy()
    solve(setup(native(cfg["lib"], small)))              # warm-up: imports, compilation
    if cfg["lib"] == "matroidopt":
        warm_compiled()
    # negative similarities clamped at 0 (apricot rejects them; facility location with its
    # zero baseline never counts them)
    K = make_kernel(cfg["kernel"], cfg["n"], cfg["seed"]).clamp_min(0).double().numpy()
    data = native(cfg["lib"], K)
    times, S = [], []
    for _ in range(cfg["reps"]):
        t0 = time.perf_counter()
        S = solve(setup(data))
        times.append(time.perf_counter() - t0)
    cur = np.zeros(K.shape[0])
    for j in S:
        np.maximum(cur, K[j], out=cur)                    # K is symmetric
    return {**cfg, "seconds": statistics.median(times), "all_seconds": times,
            "objective": float(cur.sum()), "size": len(set(S))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap, timeout=900.0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--kernels", nargs="+", default=["flat", "peaked"])
    ap.add_argument("--loads", nargs="+", default=["quiet", "busy"])
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    rows = []
    for kernel in args.kernels:
        for load in args.loads:
            for lib, opt in CONFIGS:
                cfg = {"lib": lib, "opt": opt, "kernel": kernel, "load": load, "n": args.n,
                       "k": args.k, "seed": 0, "reps": args.reps}
                row = spawn_worker(__file__, cfg, busy=load == "busy", timeout=args.timeout)
                rows.append(row)
                print(json.dumps({key: row.get(key) for key in
                                  ("lib", "opt", "kernel", "load", "seconds", "objective",
                                   "error")}), flush=True)
    L = [f"# Facility location against the peers, n = {args.n:,}, k = {args.k}, dense "
         "kernel prebuilt, quiet and beside one busy process\n",
         f"{cpu_model()}. Seconds "
         "(setup + solve); objective ÷ apricot lazy's on the same kernel; the last column: "
         "the fastest peer of the same kind (exact lazy or stochastic) ÷ matroidopt.\n",
         "| kernel | load | optimizer | matroidopt s | apricot s | submodlib s | "
         "objective (ours, apricot, submodlib) | fastest peer ÷ ours |",
         "|---|---|---|---|---|---|---|---|"]
    get = {(r["lib"], r["opt"], r["kernel"], r["load"]): r for r in rows}
    for kernel in args.kernels:
        for load in args.loads:
            ref = get[("apricot", "lazy", kernel, load)].get("objective")
            for ours, apr, sub in (("lazy_greedy", "lazy", "LazyGreedy"),
                                   ("stochastic_greedy", "stochastic", "StochasticGreedy")):
                r = [get[(lib, o, kernel, load)] for lib, o in (("matroidopt", ours),
                                                                ("apricot", apr),
                                                                ("submodlib", sub))]
                if any("error" in x for x in r) or not ref:
                    L.append(f"| {kernel} | {load} | {ours} | failed: "
                             f"{[x.get('error', '')[-200:] for x in r]} |||||")
                    continue
                peer = min(r[1]["seconds"], r[2]["seconds"])
                objs = ", ".join(f"{x['objective'] / ref:.5f}" for x in r)
                L.append(f"| {kernel} | {load} | {ours} | {r[0]['seconds']:.2f} | "
                         f"{r[1]['seconds']:.2f} | {r[2]['seconds']:.2f} | {objs} | "
                         f"**{peer / r[0]['seconds']:.2f}×** |")
    write_results(args.out, "peers_busy", {"rows": rows, "cpu": cpu_model()}, L)


if __name__ == "__main__":
    main()
