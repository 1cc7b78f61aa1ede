#!/usr/bin/env python
"""Facility location: matroidopt against apricot-select and submodlib-py, in one run.

What is compared
----------------
Gaussian features ``X`` (n x d, d = 64, float32, fixed seed) and ONE shared kernel for every
library, ``s(i, j) = exp(-||x_i - x_j||_2 / d)`` (submodlib's own "euclidean" kernel; apricot
receives it with ``metric="precomputed"``; matroidopt's ``from_features(metric="euclidean")``
computes the same kernel on the fly).

* matroidopt: ``lazy_greedy`` on the dense kernel; ``lazy_greedy`` on
  ``FacilityLocation.from_features`` (no kernel stored, the whole solve timed);
  ``greedy`` (n = 2000 only); ``stochastic_greedy(epsilon=0.1, seed=0)`` on the dense kernel;
  and, as a diagnostic kept out of the ratios, ``lazy_greedy`` on the same kernel mirrored to
  exact symmetry (the blockwise BLAS build leaves |K - K^T| ~ 1e-16).
* apricot-select: ``FacilityLocationSelection`` optimizers "naive", "lazy", "stochastic".
* submodlib-py: ``FacilityLocationFunction(mode="dense")`` optimizers "NaiveGreedy",
  "LazyGreedy", "StochasticGreedy" (float32 kernel: its binding is float32-only).
* numpy: a plain vectorised naive greedy, the quality reference (apricot naive is the fallback
  reference if it is missing).

How it is measured
------------------
Every (library, optimizer, n, k) runs in a fresh subprocess. The subprocess warms up on a tiny
problem (imports, numba/LLVM compilation), times a second tiny call (``tiny call s``: the fixed
per-call overhead), builds the dense kernel (timed separately as ``kernel s`` and excluded from
the optimiser time, for every library), then repeats setup + solve up to ``--reps`` times
(fewer once the cumulative time passes ``--timeout``); the median is reported. ``setup`` is the
library's object construction around the prebuilt kernel (matroidopt: ``FacilityLocation(K)``,
submodlib: ``FacilityLocationFunction``, apricot: the selector); ``total = setup + solve``.
For ``from_features`` nothing is prebuilt and the whole solve is timed.

Peak RSS is ``getrusage(RUSAGE_SELF).ru_maxrss`` of the subprocess; ``dRSS`` is the peak minus
the peak right after the kernel build (for ``from_features``: after the features were made).
Every returned set is scored by ONE float64 evaluation function computed from the features.
Naive optimizers are skipped at sizes where a quadratic extrapolation from the previous size
exceeds ``2 * --timeout`` (the reason is recorded).

The workers run without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` (an override of
OpenBLAS's kernel choice); the BLAS libraries actually loaded are recorded with threadpoolctl.

Usage (from the repository root)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/facility_location.py
    python benchmarks/facility_location.py --quick          # smoke test, small n

Writes ``results.json`` and ``results.md`` into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

STOCH_EPS = 0.1
BLAS_ENV_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# (library, optimizer, kind); kind: "ref" reference, "exact" exact greedy, "stochastic",
# "diag" diagnostic (reported, not used in ratios)
CONFIGS = [
    ("matroidopt", "lazy_greedy", "exact"),
    ("matroidopt", "lazy_greedy-features", "exact"),
    ("matroidopt", "greedy", "exact"),
    ("matroidopt", "stochastic_greedy", "stochastic"),
    ("matroidopt", "lazy_greedy-symkernel", "diag"),
    ("numpy", "naive", "ref"),
    ("apricot", "naive", "exact"),
    ("apricot", "lazy", "exact"),
    ("apricot", "stochastic", "stochastic"),
    ("submodlib", "NaiveGreedy", "exact"),
    ("submodlib", "LazyGreedy", "exact"),
    ("submodlib", "StochasticGreedy", "stochastic"),
]
KIND = {(lib, opt): kind for lib, opt, kind in CONFIGS}
NAIVE = {("numpy", "naive"), ("apricot", "naive"), ("submodlib", "NaiveGreedy"),
         ("matroidopt", "greedy")}
GREEDY_MAX_N = 2000  # our plain greedy runs only up to this n


# ----------------------------------------------------------------------------
# data, shared kernel, shared evaluation
# ----------------------------------------------------------------------------
def make_features(n, d, seed, dtype):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype)


def kernel_block(A64, B64, d, sqA=None, sqB=None):
    """s(a, b) = exp(-||a - b|| / d) for all rows a of A, b of B (float64)."""
    import numpy as np

    if sqA is None:
        sqA = np.einsum("ij,ij->i", A64, A64)
    if sqB is None:
        sqB = np.einsum("ij,ij->i", B64, B64)
    G = A64 @ B64.T
    G *= -2.0
    G += sqA[:, None]
    G += sqB[None, :]
    np.maximum(G, 0.0, out=G)
    np.sqrt(G, out=G)
    G *= -1.0 / d
    np.exp(G, out=G)
    return G


def shared_kernel(X, out_dtype, block=1024):
    """Dense n x n shared kernel, built blockwise (one n^2 buffer)."""
    import numpy as np

    X64 = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X64.shape
    sq = np.einsum("ij,ij->i", X64, X64)
    K = np.empty((n, n), dtype=out_dtype)
    for s in range(0, n, block):
        e = min(n, s + block)
        K[s:e] = kernel_block(X64[s:e], X64, d, sq[s:e], sq)
    np.fill_diagonal(K, 1.0)
    return K


def mirror_upper(K, block=1024):
    """Make K exactly symmetric in place: the lower triangle := the upper one."""
    n = K.shape[0]
    for s in range(0, n, block):
        e = min(n, s + block)
        K[s:e, :s] = K[:s, s:e].T
        sub = K[s:e, s:e]
        for r in range(e - s):  # inside the diagonal block
            sub[r, :r] = sub[:r, r]
    return K


def fl_objective(X, S):
    """THE shared facility-location evaluation: sum_i max_{j in S} s(i, j), recomputed in
    float64 from the features (independent of every library)."""
    import numpy as np

    S = np.asarray(list(S), dtype=np.int64)
    if S.size == 0:
        return 0.0
    X64 = np.asarray(X, dtype=np.float64)
    d = X64.shape[1]
    total = 0.0
    for s in range(0, X64.shape[0], 4096):
        C = kernel_block(X64[s:s + 4096], X64[S], d)
        total += float(C.max(axis=1).sum())
    return total


def numpy_fl_naive(K, k):
    """Plain naive greedy: every step recomputes all n gains (ties to the smallest index).
    gains_j = sum_i max(K[j, i] - cur_i, 0)."""
    import numpy as np

    n = K.shape[0]
    cur = np.zeros(n)
    picked = np.zeros(n, dtype=bool)
    B = max(1, 4_000_000 // n)
    tmp = np.empty((B, n))
    gains = np.empty(n)
    S = []
    for _ in range(k):
        for s in range(0, n, B):
            e = min(n, s + B)
            t = tmp[: e - s]
            np.subtract(K[s:e], cur[None, :], out=t)
            np.maximum(t, 0.0, out=t)
            t.sum(axis=1, out=gains[s:e])
        gains[picked] = -np.inf
        j = int(np.argmax(gains))
        S.append(j)
        picked[j] = True
        np.maximum(cur, K[j], out=cur)
    return S


# ----------------------------------------------------------------------------
# runners: setup(data) -> state, run(state) -> (indices, extra info)
# ----------------------------------------------------------------------------
def runner(lib, opt, k, seed):
    """Return (setup, run, data kind) for one configuration; data kind is the numpy dtype
    name of the kernel it consumes, or "features"."""
    if lib == "numpy":
        return (lambda K: K), (lambda K: (numpy_fl_naive(K, k), {})), "float64"
    if lib == "matroidopt":
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        import matroidopt as mo

        def info(res):
            return {"our_value": float(res.value), "our_upper_bound": res.upper_bound,
                    "oracle_calls": int(res.oracle_calls), "our_seconds": float(res.seconds)}

        if opt == "lazy_greedy-features":
            def run_features(X):
                f = mo.FacilityLocation.from_features(X, metric="euclidean")
                res = mo.lazy_greedy(f, k)
                return [int(i) for i in res.indices], info(res)
            return (lambda X: X), run_features, "features"
        solve = {"lazy_greedy": mo.lazy_greedy, "lazy_greedy-symkernel": mo.lazy_greedy,
                 "greedy": mo.greedy,
                 "stochastic_greedy": lambda f, k: mo.stochastic_greedy(
                     f, k, epsilon=STOCH_EPS, seed=seed)}[opt]

        def run_dense(f):
            res = solve(f, k)
            return [int(i) for i in res.indices], info(res)
        return (lambda K: mo.FacilityLocation(K)), run_dense, "float64"
    if lib == "apricot":
        from apricot import FacilityLocationSelection

        kw = {"epsilon": STOCH_EPS} if opt == "stochastic" else {}

        def setup_apricot(K):
            return K, FacilityLocationSelection(k, metric="precomputed", optimizer=opt,
                                                optimizer_kwds=kw, random_state=seed)

        def run_apricot(st):
            K, sel = st
            sel.fit(K)
            return [int(i) for i in sel.ranking], {}
        return setup_apricot, run_apricot, "float64"
    if lib == "submodlib":
        from submodlib import FacilityLocationFunction

        def setup_submodlib(K):
            return FacilityLocationFunction(n=K.shape[0], mode="dense", sijs=K,
                                            separate_rep=False)

        def run_submodlib(f):
            r = f.maximize(budget=k, optimizer=opt, stopIfZeroGain=False,
                           stopIfNegativeGain=False, epsilon=STOCH_EPS, verbose=False,
                           show_progress=False)
            return [int(i) for i, _ in r], {}
        return setup_submodlib, run_submodlib, "float32"
    raise ValueError(lib)


# ----------------------------------------------------------------------------
# worker (one configuration, in its own process)
# ----------------------------------------------------------------------------
def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def prepare(kind, X, mirror):
    import numpy as np

    if kind == "features":
        return X
    K = shared_kernel(X, np.dtype(kind))
    return mirror_upper(K) if mirror else K


def worker(spec):
    import numpy as np

    lib, opt, n, k, d, seed = (spec[key] for key in ("lib", "opt", "n", "k", "d", "seed"))
    out = dict(spec)
    X = make_features(n, d, seed, np.dtype(spec["feature_dtype"]))
    setup, run, kind = runner(lib, opt, k, seed)
    mirror = opt.endswith("-symkernel")
    # warm-up on a tiny problem, then time a second tiny call (fixed per-call overhead)
    wsetup, wrun, _ = runner(lib, opt, 10, seed)
    Dw = prepare(kind, make_features(300, d, seed + 1, X.dtype), mirror)
    wrun(wsetup(Dw))
    t0 = time.perf_counter()
    wrun(wsetup(Dw))
    out["tiny_call_s"] = time.perf_counter() - t0
    del Dw
    t0 = time.perf_counter()
    data = prepare(kind, X, mirror)
    out["kernel_s"] = None if kind == "features" else time.perf_counter() - t0
    out["kernel_dtype"] = kind
    out["rss_base_mb"] = maxrss_mb()
    setups, solves, S, extra = [], [], None, {}
    for _ in range(spec["reps"]):
        t0 = time.perf_counter()
        st = setup(data)
        t1 = time.perf_counter()
        S, extra = run(st)
        t2 = time.perf_counter()
        del st
        setups.append(t1 - t0)
        solves.append(t2 - t1)
        emit({"event": "rep", "setup_s": t1 - t0, "opt_s": t2 - t1})
        if sum(setups) + sum(solves) > spec["timeout"]:
            break
    out["peak_rss_mb"] = maxrss_mb()
    del data
    tot = [a + b for a, b in zip(setups, solves, strict=True)]
    out.update(extra)
    out.update(reps_done=len(tot), setup_s=statistics.median(setups),
               opt_s=statistics.median(solves), total_s=statistics.median(tot),
               total_all_s=tot, selection=S, objective=fl_objective(X, S), status="ok")
    emit({"event": "done", **out})


def env_worker():
    """The numeric libraries as a worker sees them (BLAS, threads, versions)."""
    import importlib.metadata as md

    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import torch
    from threadpoolctl import threadpool_info

    info = {"worker_env": {v: os.environ.get(v) for v in BLAS_ENV_OVERRIDES}}
    vers = {}
    for pkg in ["numpy", "scipy", "torch", "scikit-learn", "numba", "apricot-select",
                "submodlib-py", "threadpoolctl", "matroidopt"]:
        try:
            vers[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            vers[pkg] = None
    info["versions"] = vers
    try:
        import apricot  # noqa: F401
        import numba
        import submodlib  # noqa: F401

        info["numba_num_threads"] = numba.config.NUMBA_NUM_THREADS
    except ImportError as exc:
        info["peer_import_error"] = str(exc)
    info["threadpools"] = [{**{key: v for key, v in p.items() if key != "filepath"},
                            "library": os.path.basename(p.get("filepath") or "")}
                           for p in threadpool_info()]
    cfg = torch.__config__.show()
    info["torch_blas"] = next((part.split("=", 1)[1].strip() for line in cfg.splitlines()
                               for part in line.split(",") if "BLAS_INFO=" in part), None)
    info["torch_mkl"] = bool(torch.backends.mkl.is_available())
    info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    info["torch_num_threads"] = torch.get_num_threads()
    emit({"event": "done", **info})


# ----------------------------------------------------------------------------
# orchestrator
# ----------------------------------------------------------------------------
def worker_env():
    env = dict(os.environ)
    for v in BLAS_ENV_OVERRIDES:
        env.pop(v, None)
    return env


def busy_cores(interval=1.0):
    """CPU cores kept busy by other processes over ``interval`` seconds (from /proc/stat), or
    None where that is not available. Time of niced processes (``nice > 0``) is not counted:
    they yield the CPUs to the benchmark's workers (run other work under ``nice -n 19``)."""
    def sample():
        with open("/proc/stat") as fh:
            v = [float(x) for x in fh.readline().split()[1:]]
        # total; idle + iowait + nice
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0.0) + v[1]
    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if t1 <= t0:
        return 0.0
    return (1.0 - (i1 - i0) / (t1 - t0)) * (os.cpu_count() or 1)


def wait_quiet(max_wait, threshold=0.3):
    """Wait up to ``max_wait`` seconds for the other processes to leave the CPUs idle; return
    the busy cores seen last (the run starts anyway after the wait)."""
    deadline = time.monotonic() + max_wait
    busy = busy_cores()
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        time.sleep(4.0)
        busy = busy_cores()
    return busy


def run_worker(spec, hard_limit, max_wait=0.0):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    busy0 = wait_quiet(max_wait) if max_wait > 0 else None
    load0 = os.getloadavg()[0]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=worker_env(), cwd=ROOT)
    killed = False
    try:
        so, se = p.communicate(timeout=hard_limit)
    except subprocess.TimeoutExpired:
        p.kill()  # only the child started here, by its handle
        so, se = p.communicate()
        killed = True
    res, reps = None, []
    for line in so.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "done":
            res = ev
        elif ev.get("event") == "rep":
            reps.append(ev)
    if res is None:
        res = dict(spec)
        if killed:
            res["status"] = f"killed after {hard_limit:.0f} s (hard limit)"
        else:
            tail = (se or "").strip().splitlines()[-3:]
            res["status"] = f"failed rc={p.returncode}: " + " | ".join(tail)[:300]
        if reps:
            res["opt_s"] = statistics.median(r["opt_s"] for r in reps)
            res["setup_s"] = statistics.median(r["setup_s"] for r in reps)
            res["total_s"] = res["opt_s"] + res["setup_s"]
            res["reps_done"] = len(reps)
    res.pop("event", None)
    res["load1_before"], res["load1_after"] = load0, os.getloadavg()[0]
    res["busy_cores_before"] = busy0
    return res


def machine_info():
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "parent_env": {v: os.environ.get(v) for v in BLAS_ENV_OVERRIDES}}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.strip().lower().startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        info["cpu_model"] = platform.processor() or platform.machine()
    try:
        info["mem_total_gib"] = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return info


def skip_reason(results, lib, opt, n, k, limit):
    """Skip a naive optimizer at size n if it failed at a smaller n, or if a quadratic
    extrapolation of the largest smaller n exceeds ``limit`` seconds."""
    if lib == "matroidopt" and opt == "greedy" and n > GREEDY_MAX_N:
        return f"skipped: our plain greedy runs only at n <= {GREEDY_MAX_N}"
    if (lib, opt) not in NAIVE or (lib, opt) == ("numpy", "naive"):
        return None  # never skip the reference
    prev = [r for r in results
            if (r["lib"], r["opt"], r["k"]) == (lib, opt, k) and r["n"] < n]
    if not prev:
        return None
    last = max(prev, key=lambda r: r["n"])
    if last.get("status") != "ok":
        return f"skipped: n={last['n']} already {last.get('status', 'failed')}"
    pred = last["total_s"] * (n / last["n"]) ** 2
    if pred > limit:
        return (f"skipped: predicted {pred:.0f} s (= {last['total_s']:.1f} s at "
                f"n={last['n']} x (n ratio)^2) > {limit:.0f} s")
    return None


def add_quality(results):
    """Relative objective gap and set/order equality against the reference of the same
    (n, k): numpy naive greedy, else apricot naive."""
    refs = {}
    for pref in (("apricot", "naive"), ("numpy", "naive")):  # later wins
        for r in results:
            if (r["lib"], r["opt"]) == pref and r.get("status") == "ok":
                refs[(r["n"], r["k"])] = r
    for r in results:
        ref = refs.get((r["n"], r["k"]))
        r.pop("rel_gap_vs_ref", None)
        if ref is None or "objective" not in r:
            continue
        r["ref"] = f"{ref['lib']}:{ref['opt']}"
        r["rel_gap_vs_ref"] = (r["objective"] - ref["objective"]) / abs(ref["objective"])
        r["same_set_as_ref"] = sorted(r["selection"]) == sorted(ref["selection"])
        r["same_order_as_ref"] = list(r["selection"]) == list(ref["selection"])


def ratios(results):
    """Per (n, k): our total time / the fastest peer's (apricot or submodlib) total time."""
    rows = []
    for n, k in sorted({(r["n"], r["k"]) for r in results}):
        ok = [r for r in results if (r["n"], r["k"]) == (n, k) and r.get("status") == "ok"]
        peers = [r for r in ok if r["lib"] in ("apricot", "submodlib")]
        exact = [r for r in peers if KIND[(r["lib"], r["opt"])] == "exact"]
        stoch = [r for r in peers if KIND[(r["lib"], r["opt"])] == "stochastic"]
        best = min(exact, key=lambda r: r["total_s"]) if exact else None
        best_opt = min(exact, key=lambda r: r["opt_s"]) if exact else None
        best_st = min(stoch, key=lambda r: r["total_s"]) if stoch else None
        row = {"n": n, "k": k,
               "fastest_peer": f"{best['lib']}:{best['opt']}" if best else None,
               "fastest_peer_total_s": best["total_s"] if best else None,
               "fastest_peer_opt_s": best_opt["opt_s"] if best_opt else None,
               "fastest_peer_stochastic": f"{best_st['lib']}:{best_st['opt']}" if best_st else None,
               "fastest_peer_stochastic_total_s": best_st["total_s"] if best_st else None,
               "ours": {}}
        for r in ok:
            if r["lib"] != "matroidopt":
                continue
            kind = KIND[(r["lib"], r["opt"])]
            base = best_st if kind == "stochastic" else best
            row["ours"][r["opt"]] = {
                "total_s": r["total_s"], "opt_s": r["opt_s"],
                "ratio_total": r["total_s"] / base["total_s"] if base else None,
                "ratio_opt": (r["opt_s"] / (base["opt_s"] if kind == "stochastic"
                                            else best_opt["opt_s"])) if base else None,
                "vs": f"{base['lib']}:{base['opt']}" if base else None,
                "rel_gap_vs_ref": r.get("rel_gap_vs_ref"),
            }
        rows.append(row)
    return rows


def targets(results, ratio_rows, sizes):
    out = []
    n_t, k_t = (10000, 200) if 10000 in sizes else (max(sizes), max(r["k"] for r in results))
    row = next((x for x in ratio_rows if (x["n"], x["k"]) == (n_t, k_t)), None)
    ours = row["ours"].get("lazy_greedy") if row else None
    if ours and row["fastest_peer_total_s"]:
        speed = row["fastest_peer_total_s"] / ours["total_s"]
        gap = ours["rel_gap_vs_ref"]
        met = speed >= 2.0 and gap is not None and abs(gap) <= 1e-6
        out.append({"target": f"lazy_greedy (dense) >= 2x faster than the fastest peer at "
                              f"n={n_t}, k={k_t}, same objective (+-1e-6 rel.)",
                    "measured": f"fastest peer {row['fastest_peer']} "
                                f"{row['fastest_peer_total_s']:.3f} s, ours "
                                f"{ours['total_s']:.3f} s (solve only {ours['opt_s']:.3f} s): "
                                f"speed-up {speed:.2f}x; objective rel. gap {gap:.2e}",
                    "met": bool(met)})
    else:
        out.append({"target": f"lazy_greedy >= 2x at n={n_t}, k={k_t}",
                    "measured": "missing run", "met": False})
    n_m = 20000 if 20000 in sizes else max(sizes)
    mem = [r for r in results if r["lib"] == "matroidopt" and r["opt"] == "lazy_greedy-features"
           and r["n"] == n_m]
    for r in mem:
        ok = r.get("status") == "ok" and r.get("peak_rss_mb", 1e18) <= 2048
        out.append({"target": f"from_features lazy_greedy at n={n_m}, k={r['k']} within 2 GB "
                              f"(2048 MiB) peak RSS",
                    "measured": (f"peak RSS {r['peak_rss_mb']:.0f} MiB (of which "
                                 f"{r['peak_rss_mb'] - r['rss_base_mb']:.0f} after the features "
                                 f"were made), solve {r['total_s']:.2f} s"
                                 if "peak_rss_mb" in r else r.get("status")),
                    "met": bool(ok)})
    return out


def fmt(x, p=3):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        if x != x:
            return "nan"
        return f"{x:.{p}f}"
    return str(x)


def write_markdown(meta, results, ratio_rows, tgt, path):
    L = ["# Facility location: matroidopt vs apricot-select and submodlib-py", ""]
    L.append(f"Generated by `benchmarks/facility_location.py`{' --quick' if meta['quick'] else ''}"
             f" ({meta['started']} to {meta.get('finished', 'unfinished')}). Gaussian features, "
             f"d={meta['d']}, seed={meta['seed']}, features {meta['feature_dtype']}; shared kernel "
             f"s(i,j) = exp(-||x_i - x_j|| / d); reps <= {meta['reps']} (fewer once the "
             f"cumulative time passes {meta['timeout']:.0f} s), median reported.")
    L.append("")
    m, w = meta["machine"], meta.get("env", {})
    L.append("## Machine and BLAS")
    L.append("")
    L.append(f"- CPU: {m.get('cpu_model')} ({m.get('cpu_count')} logical CPUs), "
             f"{m.get('mem_total_gib')} GiB RAM; Python {m.get('python')}; {m.get('platform')}")
    L.append(f"- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: parent {m.get('parent_env')}, removed "
             f"in the workers (seen there: {w.get('worker_env')})")
    for p in w.get("threadpools", []):
        L.append(f"- threadpoolctl: {p.get('internal_api')} {p.get('version') or ''} "
                 f"(`{p.get('library') or p.get('prefix')}`), {p.get('num_threads')} threads"
                 + (f", kernel architecture **{p['architecture']}**" if p.get("architecture")
                    else "")
                 + (f", threading layer {p['threading_layer']}" if p.get("threading_layer")
                    else ""))
    L.append(f"- torch: BLAS {w.get('torch_blas')} (MKL available: {w.get('torch_mkl')}), CPU "
             f"capability {w.get('torch_cpu_capability')}, {w.get('torch_num_threads')} threads; "
             f"numba threads {w.get('numba_num_threads')}")
    L.append("- numpy (reference, kernel build) runs on the OpenBLAS above; matroidopt computes "
             "with torch (its bundled BLAS); apricot with numba; submodlib with its C++ code.")
    L.append(f"- versions: {w.get('versions')}")
    L.append("")
    L.append("## Targets")
    L.append("")
    for t in tgt:
        L.append(f"- **{'MET' if t['met'] else 'MISSED'}**: {t['target']} -- {t['measured']}")
    L.append("")
    L.append("## Ratios: our time / fastest peer time (same n, k; < 1 means we are faster)")
    L.append("")
    L.append("Exact-greedy rows are divided by the fastest exact peer (apricot naive/lazy, "
             "submodlib NaiveGreedy/LazyGreedy); stochastic by the fastest peer stochastic greedy "
             "(eps=0.1). `total` = setup + solve (kernel build excluded; from_features: the whole "
             "solve); `solve` = solve only, against the peers' fastest solve-only time.")
    L.append("")
    L.append("| n | k | fastest exact peer | its total s | ours | our total s | ratio total | "
             "ratio solve | rel. gap vs ref |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for row in ratio_rows:
        for name, o in row["ours"].items():
            if KIND[("matroidopt", name)] == "diag":
                continue
            stoch = KIND[("matroidopt", name)] == "stochastic"
            L.append(f"| {row['n']} | {row['k']} | "
                     f"{o['vs'] if stoch else row['fastest_peer']} | "
                     f"{fmt(row['fastest_peer_stochastic_total_s'] if stoch else row['fastest_peer_total_s'])} | "  # noqa: E501
                     f"{name} | {fmt(o['total_s'])} | {fmt(o['ratio_total'], 2)} | "
                     f"{fmt(o['ratio_opt'], 2)} | "
                     f"{fmt(o['rel_gap_vs_ref'], 9) if o['rel_gap_vs_ref'] is not None else '-'} |")
    L.append("")
    L.append("## All runs")
    L.append("")
    L.append("`kernel s`: dense kernel build in that worker (excluded from setup/solve/total). "
             "`tiny s`: a warm second call on n=300, k=10 (fixed per-call cost; apricot "
             "recompiles its numba kernels on every fit). `dRSS`: peak RSS minus RSS after the "
             "kernel build (from_features: after making the features). `set`/`order`: same "
             "set / same order as the reference (numpy naive greedy). `load`: CPU cores busy "
             "(processes not niced) in the second before the worker started, after waiting up to "
             "`--wait-quiet` s for a quiet machine; then the 1-min load average before/after "
             "the worker. Load near or above the core count means other processes competed "
             "for the CPUs during that run: its timings overstate (torch's OpenMP threads "
             "suffer most).")
    L.append("")
    L.append("| lib | optimizer | n | k | reps | kernel s | tiny s | setup s | solve s | total s "
             "| peak RSS MiB | dRSS MiB | objective | rel. gap vs ref | set | order | load "
             "| status |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        drss = (r["peak_rss_mb"] - r["rss_base_mb"]) if "peak_rss_mb" in r else None
        L.append("| " + " | ".join([
            r["lib"], r["opt"], str(r["n"]), str(r["k"]), fmt(r.get("reps_done")),
            fmt(r.get("kernel_s"), 2), fmt(r.get("tiny_call_s"), 3), fmt(r.get("setup_s")),
            fmt(r.get("opt_s")), fmt(r.get("total_s")), fmt(r.get("peak_rss_mb"), 0),
            fmt(drss, 0), fmt(r.get("objective"), 4),
            fmt(r.get("rel_gap_vs_ref"), 9) if "rel_gap_vs_ref" in r else "-",
            fmt(r.get("same_set_as_ref")), fmt(r.get("same_order_as_ref")),
            (f"{fmt(r.get('busy_cores_before'), 1)}; {r['load1_before']:.1f}/"
             f"{r['load1_after']:.1f}") if "load1_before" in r else "-",
            r.get("status", "-")]) + " |")
    ours = [r for r in results if r["lib"] == "matroidopt" and r.get("status") == "ok"]
    if ours:
        L.append("")
        L.append("## matroidopt certificates and oracle calls")
        L.append("")
        L.append("| optimizer | n | k | value (ours) | upper bound | value / bound | "
                 "oracle calls | |value - shared objective| / value |")
        L.append("|---|---|---|---|---|---|---|---|")
        for r in ours:
            ub = r.get("our_upper_bound")
            L.append(f"| {r['opt']} | {r['n']} | {r['k']} | {fmt(r['our_value'], 4)} | "
                     f"{fmt(ub, 4)} | {fmt(r['our_value'] / ub if ub else None, 4)} | "
                     f"{r['oracle_calls']} | "
                     f"{abs(r['our_value'] - r['objective']) / abs(r['objective']):.1e} |")
    kb = {}
    for r in results:
        if r.get("kernel_s") is not None:
            kb.setdefault((r["n"], r["kernel_dtype"]), []).append(r["kernel_s"])
    if kb:
        L.append("")
        L.append("## Dense kernel build (numpy/OpenBLAS, blockwise; excluded from the times above)")
        L.append("")
        L.append("| n | dtype | median build s | workers |")
        L.append("|---|---|---|---|")
        for (n, dt), v in sorted(kb.items()):
            L.append(f"| {n} | {dt} | {statistics.median(v):.2f} | {len(v)} |")
    with open(path, "w") as fh:
        fh.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 20000])
    ap.add_argument("--ks", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--feature-dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="stop repeating once the cumulative time passes this; skip naive "
                         "optimizers predicted above twice this")
    ap.add_argument("--only", nargs="*", default=None,
                    help="lib:opt filters, e.g. matroidopt:lazy_greedy apricot:lazy")
    ap.add_argument("--wait-quiet", type=float, default=60.0,
                    help="before each worker, wait up to this many seconds for other processes "
                         "to leave the CPUs idle (0: do not wait)")
    ap.add_argument("--quick", action="store_true", help="smoke test: small n and k")
    ap.add_argument("--out", default=os.path.join("benchmarks", "results"),
                    help="output directory for results.json and results.md")
    a = ap.parse_args()

    if a.worker:
        spec = json.loads(a.worker)
        env_worker() if spec.get("task") == "env" else worker(spec)
        return
    if a.quick:
        a.sizes, a.ks, a.reps = [500, 1000], [10, 20], 2
    os.makedirs(a.out, exist_ok=True)
    json_path, md_path = os.path.join(a.out, "results.json"), os.path.join(a.out, "results.md")
    meta = {"seed": a.seed, "d": a.d, "feature_dtype": a.feature_dtype, "reps": a.reps,
            "timeout": a.timeout, "sizes": a.sizes, "ks": a.ks, "quick": a.quick,
            "machine": machine_info(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    meta["env"] = run_worker({"task": "env"}, 300)
    print(json.dumps(meta, indent=1), flush=True)
    limit, hard = 2 * a.timeout, max(600.0, 4 * a.timeout + 300)
    base = {"d": a.d, "seed": a.seed, "feature_dtype": a.feature_dtype, "reps": a.reps,
            "timeout": a.timeout}
    results = []

    def save():
        add_quality(results)
        rr = ratios(results)
        tgt = targets(results, rr, a.sizes)
        with open(json_path, "w") as fh:
            json.dump({"meta": meta, "results": results, "ratios": rr, "targets": tgt}, fh,
                      indent=1)
        write_markdown(meta, results, rr, tgt, md_path)

    for n in a.sizes:
        for k in a.ks:
            if k >= n:
                continue
            for lib, opt, _ in CONFIGS:
                if a.only and f"{lib}:{opt}" not in a.only:
                    continue
                spec = dict(base, lib=lib, opt=opt, n=n, k=k)
                why = skip_reason(results, lib, opt, n, k, limit)
                r = dict(spec, status=why) if why else run_worker(spec, hard, a.wait_quiet)
                results.append(r)
                print(f"{lib:10s} {opt:22s} n={n:<6d} k={k:<4d} total={fmt(r.get('total_s'))} "
                      f"solve={fmt(r.get('opt_s'))} rss={fmt(r.get('peak_rss_mb'), 0)} "
                      f"obj={fmt(r.get('objective'), 4)} {r.get('status')}", flush=True)
                save()
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    save()
    print("wrote", json_path, "and", md_path)


if __name__ == "__main__":
    main()
