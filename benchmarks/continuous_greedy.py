"""Continuous greedy (standard and threshold variants) against lazy greedy and residual random
greedy, and how value and time scale with the number of steps T and samples m.

Run:  python benchmarks/continuous_greedy.py [--quick]
Writes benchmarks/results/continuous_greedy.{json,md}. Timings are noisy (shared CPUs): read
the ratios to lazy greedy measured in the same run, not the absolute seconds.

Instances: n in {200, 2000}; a partition matroid (10 blocks of capacity 2, rank 20) and a
graphic matroid (a random multigraph on 21 nodes, rank <= 20); facility location from
features (rbf kernel, 200 client points, so the closed-form gradient costs O(200·n log n))
and weighted coverage (600 concepts, sparse incidence). Scaling: a feature-based utility
(sqrt over non-negative features: no closed form, so the sampled mode) at n = 200 under the
partition matroid, T in {10, 30, 100}, m in {10, 50}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import matroidopt as mo  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def utility(kind: str, n: int, rng: np.random.Generator):
    if kind == "facility_location":
        X = rng.normal(size=(n, 5))
        clients = X[rng.choice(n, size=200, replace=False)]
        return mo.FacilityLocation.from_features(X, metric="rbf", clients=clients)
    if kind == "weighted_coverage":
        inc = sp.random(n, 600, density=0.01, random_state=int(rng.integers(1 << 31)),
                        format="csr", data_rvs=np.ones)
        return mo.WeightedCoverage(inc, rng.uniform(0.5, 2.0, 600))
    if kind == "feature_based":
        return mo.FeatureBased(np.abs(rng.normal(size=(n, 20))), concave="sqrt")
    raise AssertionError(kind)


def matroid(kind: str, n: int, rng: np.random.Generator):
    if kind == "partition":
        return mo.PartitionMatroid(np.arange(n) % 10, [2] * 10)
    G = nx.MultiGraph()
    G.add_nodes_from(range(21))
    for _ in range(n):
        a, b = rng.choice(21, size=2, replace=False)
        G.add_edge(int(a), int(b))
    return mo.GraphicMatroid(G)


def run(f, m, solver: str, **opts) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = mo.maximize(f, m, solver=solver, seed=0, **opts)
        sec = time.perf_counter() - t0
    return {"value": res.value, "seconds": sec, "oracle_calls": res.oracle_calls,
            "upper_bound": res.upper_bound, "size": len(res.indices)}


SOLVERS = [
    ("lazy_greedy", "lazy_greedy", {}),
    ("residual_random_greedy", "residual_random_greedy", {}),
    ("continuous_greedy T=30", "continuous_greedy", {"steps": 30}),
    ("threshold ε=0.2", "continuous_greedy", {"variant": "threshold", "epsilon": 0.2}),
]


def comparison(sizes, quick: bool) -> list[dict]:
    rows = []
    for n in sizes:
        for mkind in ("partition", "graphic"):
            for ukind in ("facility_location", "weighted_coverage"):
                rng = np.random.default_rng(n + len(mkind) + len(ukind))
                f, m = utility(ukind, n, rng), matroid(mkind, n, rng)
                base = None
                for label, solver, opts in SOLVERS:
                    if quick and "T=30" in label:
                        opts = {"steps": 5}
                    r = run(f, m, solver, **opts)
                    base = base or r
                    rows.append({"n": n, "matroid": mkind, "utility": ukind, "solver": label,
                                 **r, "value_ratio": r["value"] / base["value"],
                                 "time_ratio": r["seconds"] / base["seconds"]})
                    print(f"n={n:5d} {mkind:9s} {ukind:17s} {label:24s} "
                          f"value={r['value']:.4g} ({rows[-1]['value_ratio']:.3f}) "
                          f"t={r['seconds']:.3g}s ({rows[-1]['time_ratio']:.1f}x) "
                          f"calls={r['oracle_calls']}", flush=True)
    return rows


def scaling(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    n = 200
    f, m = utility("feature_based", n, rng), matroid("partition", n, rng)
    base = run(f, m, "lazy_greedy")
    rows = []
    configs = [("standard", {"steps": T, "samples": s}) for T in (10, 30, 100)
               for s in (10, 50)]
    configs += [("threshold", {"variant": "threshold", "epsilon": e, "samples": s})
                for e in (0.2, 0.1) for s in (10, 50)]
    if quick:
        configs = [c for c in configs if c[1].get("steps", 10) == 10 and c[1]["samples"] == 10]
    for variant, opts in configs:
        r = run(f, m, "continuous_greedy", **opts)
        rows.append({"variant": variant, "T": opts.get("steps"), "epsilon": opts.get("epsilon"),
                     "m": opts["samples"], **r, "value_ratio": r["value"] / base["value"],
                     "time_ratio": r["seconds"] / base["seconds"]})
        print(f"scaling {variant:9s} {opts} value={r['value']:.4g} "
              f"({rows[-1]['value_ratio']:.3f}) t={r['seconds']:.3g}s "
              f"({rows[-1]['time_ratio']:.1f}x) calls={r['oracle_calls']}", flush=True)
    rows.insert(0, {"variant": "lazy_greedy", "T": None, "epsilon": None, "m": None, **base,
                    "value_ratio": 1.0, "time_ratio": 1.0})
    return rows


def markdown(comp: list[dict], scal: list[dict], meta: dict) -> str:
    out = ["# Continuous greedy benchmark", "",
           f"{meta['platform']}, torch {meta['torch']}, {meta['threads']} thread(s), "
           f"total {meta['seconds']:.0f} s. Ratios are to lazy greedy on the same instance in "
           f"the same run (value: higher is better; time: lower is better). Seed 0 for every "
           f"randomised solver (one run, not a mean).", "",
           "## Against greedy", "",
           "| n | matroid | utility | solver | value | value / lazy | seconds | time / lazy "
           "| oracle calls |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in comp:
        out.append(f"| {r['n']} | {r['matroid']} | {r['utility']} | {r['solver']} | "
                   f"{r['value']:.4g} | {r['value_ratio']:.3f} | {r['seconds']:.3g} | "
                   f"{r['time_ratio']:.1f} | {r['oracle_calls']} |")
    out += ["", "## Scaling with T and m (sampled mode, feature-based, n = 200, partition)", "",
            "| variant | T | ε | m | value / lazy | seconds | time / lazy | oracle calls |",
            "|---|---|---|---|---|---|---|---|"]
    for r in scal:
        out.append(f"| {r['variant']} | {r['T'] or ''} | {r['epsilon'] or ''} | "
                   f"{r['m'] or ''} | {r['value_ratio']:.3f} | {r['seconds']:.3g} | "
                   f"{r['time_ratio']:.1f} | {r['oracle_calls']} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    args = ap.parse_args()
    sizes = args.sizes or ([200] if args.quick else [200, 2000])
    t0 = time.perf_counter()
    comp = comparison(sizes, args.quick)
    scal = scaling(args.quick)
    meta = {"platform": platform.platform(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "seconds": time.perf_counter() - t0,
            "sizes": sizes, "quick": args.quick}
    os.makedirs(RESULTS, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    with open(os.path.join(RESULTS, f"continuous_greedy{suffix}.json"), "w") as fh:
        json.dump({"meta": meta, "comparison": comp, "scaling": scal}, fh, indent=1)
    with open(os.path.join(RESULTS, f"continuous_greedy{suffix}.md"), "w") as fh:
        fh.write(markdown(comp, scal, meta))
    print(f"done in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
