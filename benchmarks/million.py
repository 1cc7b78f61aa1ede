"""A million items on one machine: facility location on an approximate kNN kernel.

n points (default 1 000 000, d = 128) drawn from a mixture of Gaussian clusters, float32.
Phases, each timed, in one fresh subprocess whose peak resident memory is recorded: the
10-NN cosine kernel with faiss's inverted file (``knn_kernel(backend="faiss-ivf")``), the
``FacilityLocation`` over it, ``lazy_greedy`` and ``stochastic_greedy`` for k = 1 000 (with
their progress bars and ETAs on stderr).

The full run is repeated beside one busy process (``--loads quiet busy``, the default).

Cross-check on a random subsample of 100 000 (a second subprocess): the same pipeline
(inverted-file kernel, then lazy / stochastic greedy) scored on the facility location of the
*exact* 10-NN kernel (faiss flat search), against lazy greedy on that exact kernel.

    .venv/bin/python benchmarks/million.py                 # results/million.{json,md}
    .venv/bin/python benchmarks/million.py --n 200000 --check-n 20000 --k 200   # quicker
"""

from __future__ import annotations

import argparse
import json
import time

from _worker import add_common, cpu_model, ran_as_worker, spawn_worker, warm_compiled, write_results


def features(n: int, d: int, clusters: int, seed: int):
    """Clustered float32 features, generated in blocks (no float64 ``n × d`` temporary)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = (rng.normal(size=(clusters, d)) * 2.0).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    for a in range(0, n, 65_536):
        b = min(n, a + 65_536)
        X[a:b] = centres[rng.integers(clusters, size=b - a)]
        X[a:b] += rng.standard_normal((b - a, d), dtype=np.float32)
    return X


def peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_full(cfg: dict) -> dict:
    import matroidopt as mo

    warm_compiled()
    out: dict = {"phases": {}}
    t0 = time.perf_counter()
    X = features(cfg["n"], cfg["d"], cfg["clusters"], 0)
    out["phases"]["features"] = {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib()}
    t0 = time.perf_counter()
    K = mo.knn_kernel(X, cfg["neighbours"], metric="cosine", backend="faiss-ivf",
                      progress=True)
    out["phases"]["knn_ivf"] = {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib(),
                                "nnz": int(K.nnz)}
    del X
    t0 = time.perf_counter()
    f = mo.FacilityLocation(K)
    del K
    out["phases"]["utility"] = {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib()}
    for name, solve in (("lazy_greedy", mo.lazy_greedy), ("stochastic_greedy",
                                                           mo.stochastic_greedy)):
        opts = {"seed": 0} if name == "stochastic_greedy" else {}
        t0 = time.perf_counter()
        r = solve(f, cfg["k"], progress=True, **opts)
        out["phases"][name] = {"seconds": time.perf_counter() - t0, "peak_mib": peak_mib(),
                               "value": r.value, "upper_bound": r.upper_bound,
                               "certified_ratio": r.certified_ratio}
    out["peak_mib"] = peak_mib()
    return out


def run_check(cfg: dict) -> dict:
    import numpy as np

    import matroidopt as mo

    warm_compiled()
    X = features(cfg["n"], cfg["d"], cfg["clusters"], 0)
    sub = np.sort(np.random.default_rng(1).choice(cfg["n"], cfg["check_n"], replace=False))
    Xs = np.ascontiguousarray(X[sub])
    del X
    out: dict = {}
    t0 = time.perf_counter()
    exact = mo.FacilityLocation(mo.knn_kernel(Xs, cfg["neighbours"], metric="cosine",
                                              backend="faiss"))
    out["exact_knn_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    approx = mo.FacilityLocation(mo.knn_kernel(Xs, cfg["neighbours"], metric="cosine",
                                               backend="faiss-ivf"))
    out["ivf_knn_seconds"] = time.perf_counter() - t0
    reference = mo.lazy_greedy(exact, cfg["k"], certificate=False)
    out["reference_value"] = reference.value
    for name, solve in (("lazy_greedy", mo.lazy_greedy), ("stochastic_greedy",
                                                           mo.stochastic_greedy)):
        opts = {"seed": 0} if name == "stochastic_greedy" else {}
        r = solve(approx, cfg["k"], certificate=False, **opts)
        value = exact.evaluate(r.indices)
        out[name] = {"value_on_exact": value, "ratio": value / reference.value}
    return out


def spawn(cfg: dict, timeout: float, busy: bool = False) -> dict:
    t0 = time.perf_counter()
    res = spawn_worker(__file__, cfg, busy=busy, timeout=timeout)
    if "error" in res:
        raise RuntimeError(res["error"])
    res["wall_seconds"] = time.perf_counter() - t0
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap, timeout=3600.0)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--neighbours", type=int, default=10)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--check-n", type=int, default=100_000)
    ap.add_argument("--loads", nargs="+", default=["quiet", "busy"],
                    choices=["quiet", "busy"], help="the full run under each (the "
                    "cross-check runs quiet)")
    args = ap.parse_args()
    if ran_as_worker(args, lambda cfg: run_check(cfg) if cfg["check"] else run_full(cfg)):
        return
    cfg = {"n": args.n, "d": args.d, "k": args.k, "neighbours": args.neighbours,
           "clusters": args.clusters, "check_n": args.check_n}
    fulls = {}
    for load in args.loads:
        fulls[load] = spawn({**cfg, "check": False}, args.timeout, busy=load == "busy")
        print(load, json.dumps(fulls[load], indent=1), flush=True)
    check = spawn({**cfg, "check": True}, args.timeout)
    print(json.dumps(check, indent=1), flush=True)
    L = [f"# Facility location, n = {args.n:,}, d = {args.d}, k = {args.k}, "
         f"{args.neighbours}-NN cosine kernel (faiss inverted file)\n",
         f"{cpu_model()}. One subprocess per load (quiet, or beside one busy process), "
         "wall time with interpreter start and imports: "
         + ", ".join(f"{load} {r['wall_seconds']:.0f} s (peak resident memory "
                     f"{r['peak_mib']:.0f} MiB)" for load, r in fulls.items()) + ".\n",
         "| phase | " + " | ".join(f"{load}: seconds" for load in fulls)
         + " | peak RSS so far (MiB) | value | certified ratio |",
         "|---|" + "---|" * (len(fulls) + 3)]
    first = next(iter(fulls.values()))
    for name, p in first["phases"].items():
        value = f"{p['value']:.1f}" if "value" in p else ""
        ratio = f"{p['certified_ratio']:.4f}" if "certified_ratio" in p else ""
        secs = " | ".join(f"{r['phases'][name]['seconds']:.1f}" for r in fulls.values())
        L.append(f"| {name} | {secs} | {p['peak_mib']:.0f} | {value} | {ratio} |")
    L += ["", f"Cross-check on a random subsample of {args.check_n:,}: each selection scored on "
          "the facility location of the exact 10-NN kernel, against lazy greedy on that "
          f"kernel (value {check['reference_value']:.1f}); exact kNN "
          f"{check['exact_knn_seconds']:.1f} s, inverted file {check['ivf_knn_seconds']:.1f} s.",
          "", "| pipeline | value on the exact kernel | ÷ lazy greedy on the exact kernel |",
          "|---|---|---|"]
    for name in ("lazy_greedy", "stochastic_greedy"):
        L.append(f"| inverted-file kernel + {name} | {check[name]['value_on_exact']:.1f} | "
                 f"{check[name]['ratio']:.4f} |")
    write_results(args.out, "million", {"config": cfg, "full": fulls, "check": check,
                                        "cpu": cpu_model()}, L)


if __name__ == "__main__":
    main()
