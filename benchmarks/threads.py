"""The thread policy (``matroidopt.threads``), quiet and beside one busy process.

Facility location on a dense float32 kernel, n = 10 000 by default, two kernel families:

* ``flat``: cosine similarity of random 512-dimensional Gaussian features — the gains are
  nearly equal, so lazy greedy re-evaluates many candidates per step;
* ``peaked``: an RBF kernel on 40 Gaussian clusters in 16 dimensions with a bandwidth of a
  quarter of the median distance — few candidates matter per step, laziness prunes well.

Modes: ``policy`` (the library's default: one intra-op thread per step, large gains blocks
split across ``torch.get_num_threads()`` workers), ``torch-pool`` (the policy switched off:
torch's own pool runs every operator, the behaviour before the policy) and ``one-thread``
(``torch.set_num_threads(1)``). Loads: ``quiet`` and ``busy`` (one other process spinning on
a core of the machine). Each (kernel, mode, load) runs in a fresh subprocess; every solve is
checked to return the same set as the policy's quiet run.

``--threshold`` instead times split against unsplit gains blocks of 2^14 .. 2^24 kernel
entries (quiet), the measurement behind ``matroidopt.threads.MIN_BLOCK_WORK``.

    .venv/bin/python benchmarks/threads.py                 # results/threads.{json,md}
    .venv/bin/python benchmarks/threads.py --threshold
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from _worker import BUSY, add_common, ran_as_worker, warm_compiled


def make_kernel(kind: str, n: int, seed: int):
    import torch
    g = torch.Generator().manual_seed(seed)
    if kind == "flat":
        X = torch.randn(n, 512, generator=g)
        X = X / X.norm(dim=1, keepdim=True)
        return X @ X.T
    centers = torch.randn(40, 16, generator=g) * 4.0
    X = centers[torch.randint(0, 40, (n,), generator=g)] + torch.randn(n, 16, generator=g)
    D = torch.cdist(X, X)
    h = float(D[:2000, :2000].median()) / 4.0
    return torch.exp(-(D / h) ** 2)


def worker(cfg: dict) -> dict:
    import torch

    import matroidopt as mo
    if cfg["mode"] == "one-thread":
        torch.set_num_threads(1)
    mo.threads.ENABLED = cfg["mode"] != "torch-pool"
    K = make_kernel(cfg["kernel"], cfg["n"], cfg["seed"])
    f = mo.FacilityLocation(K)
    out = {**cfg, "torch_threads": torch.get_num_threads(), "solves": {}}
    runs = [("lazy_greedy", lambda: mo.lazy_greedy(f, cfg["k"], certificate=False)),
            ("stochastic_greedy", lambda: mo.stochastic_greedy(f, cfg["k"], seed=0,
                                                               certificate=False)),
            ("greedy", lambda: mo.greedy(f, cfg["k_greedy"], certificate=False))]
    mo.lazy_greedy(mo.FacilityLocation(K[:500, :500]), 10)   # warm-up
    warm_compiled()
    for name, fn in runs:
        t0 = time.perf_counter()
        r = fn()
        out["solves"][name] = {"seconds": time.perf_counter() - t0, "value": r.value,
                               "oracle_calls": r.oracle_calls,
                               "indices": [int(i) for i in r.indices]}
    return out


def threshold_worker() -> list[dict]:
    import torch

    import matroidopt as mo
    rows = []
    m = 10_000
    for dtype in (torch.float32, torch.float64):
        Kt = torch.rand(4096, m, dtype=dtype)
        f = mo.FacilityLocation(Kt.T)
        state = f._init_state()
        for log2 in range(14, 26, 2):
            count = max(2, (1 << log2) // m)
            cand = torch.arange(count)

            def gains(c, state=state, f=f):
                return f._gains(state, c)

            def timed(fn, reps=20):
                best = float("inf")
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn()
                    best = min(best, time.perf_counter() - t0)
                return best
            with mo.threads.solve_threads():
                one = timed(lambda cand=cand: gains(cand))
                old = mo.threads.MIN_BLOCK_WORK
                mo.threads.MIN_BLOCK_WORK = 0
                split = timed(lambda cand=cand: mo.threads.split_gains(gains, cand, m))
                mo.threads.MIN_BLOCK_WORK = old
            rows.append({"dtype": str(dtype).replace("torch.", ""), "entries": count * m,
                         "one_worker_s": one, "split_s": split, "speedup": one / split})
    return rows


def spawn(args: list[str], busy: bool, timeout: float) -> dict | list:
    spinner = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        time.sleep(0.3 if busy else 0)
        p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                           timeout=timeout)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def write_md(res: dict, path: str) -> None:
    L = ["# Thread policy: facility location, dense float32 kernel\n",
         f"n = {res['n']}, k = {res['k']} (greedy: k = {res['k_greedy']}); "
         f"{res['machine']['cpus']} CPUs, torch {res['machine']['torch']}. "
         "`busy`: one other process spinning on a core. Seconds of one solve (no certificate); "
         "`same set`: the same selection, in order, as the policy's quiet run.\n"]
    for kernel in res["kernels"]:
        L.append(f"\n## {kernel} kernel\n")
        L.append("| solver | load | policy (s) | torch-pool (s) | one-thread (s) | "
                 "torch-pool ÷ policy | oracle calls | same set |")
        L.append("|---|---|---|---|---|---|---|---|")
        runs = {(r["mode"], r["busy"]): r for r in res["runs"] if r["kernel"] == kernel}
        ref = runs[("policy", False)]["solves"]
        for solver in ref:
            for busy in (False, True):
                t = {m: runs[(m, busy)]["solves"][solver]["seconds"]
                     for m in ("policy", "torch-pool", "one-thread")}
                same = all(runs[(m, busy)]["solves"][solver]["indices"]
                           == ref[solver]["indices"] for m in t)
                L.append(f"| {solver} | {'busy' if busy else 'quiet'} | {t['policy']:.2f} | "
                         f"{t['torch-pool']:.2f} | {t['one-thread']:.2f} | "
                         f"{t['torch-pool'] / t['policy']:.1f} | "
                         f"{ref[solver]['oracle_calls']} | {'yes' if same else 'NO'} |")
    if res.get("threshold"):
        L.append("\n## Splitting threshold (quiet, one gains block)\n")
        L.append("| dtype | kernel entries | one worker (ms) | split (ms) | speedup |")
        L.append("|---|---|---|---|---|")
        for r in res["threshold"]:
            L.append(f"| {r['dtype']} | {r['entries']:,} | {1e3 * r['one_worker_s']:.3f} | "
                     f"{1e3 * r['split_s']:.3f} | {r['speedup']:.2f} |")
    with open(path, "w") as fh:
        fh.write("\n".join(L) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap)
    ap.add_argument("--threshold-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threshold", action="store_true", help="only the splitting threshold")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--k-greedy", type=int, default=50)
    ap.add_argument("--kernels", nargs="+", default=["flat", "peaked"])
    args = ap.parse_args()
    if ran_as_worker(args, worker):
        return
    if args.threshold_worker:
        print(json.dumps(threshold_worker()))
        return
    import torch
    res = {"n": args.n, "k": args.k, "k_greedy": args.k_greedy, "kernels": args.kernels,
           "machine": {"cpus": os.cpu_count(), "torch": torch.__version__,
                       "cpu": platform.processor()}, "runs": []}
    res["threshold"] = spawn(["--threshold-worker"], False, args.timeout)
    if not args.threshold:
        for kernel in args.kernels:
            for busy in (False, True):
                for mode in ("policy", "torch-pool", "one-thread"):
                    cfg = {"kernel": kernel, "mode": mode, "busy": busy, "n": args.n,
                           "k": args.k, "k_greedy": args.k_greedy, "seed": 0}
                    r = spawn(["--worker", json.dumps(cfg)], busy, args.timeout)
                    res["runs"].append(r)
                    print(kernel, mode, "busy" if busy else "quiet",
                          {s: round(v["seconds"], 2) for s, v in r["solves"].items()},
                          flush=True)
    os.makedirs(args.out, exist_ok=True)
    name = "threads_threshold" if args.threshold else "threads"
    with open(os.path.join(args.out, f"{name}.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    if not args.threshold:
        write_md(res, os.path.join(args.out, "threads.md"))
    for r in res["threshold"]:
        print(r["dtype"], r["entries"], f"{r['speedup']:.2f}")


if __name__ == "__main__":
    main()
