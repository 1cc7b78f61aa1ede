"""The memory-bounded paths never hold an ``n × n`` array: each runs in a subprocess whose
address space is capped far below what one ``n × n`` float32 kernel would need (and the cap
is shown to bite: allocating that kernel there fails)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

N = 30_000                 # one n × n float32 kernel: 3.6 GB
BUDGET = 1_200 * 2**20     # address space allowed beyond what the imports mapped

SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np, torch
    import matroidopt as mo

    def mapped():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    n, budget, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    X = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    if path == "sparse":           # warm faiss's import before the cap
        import faiss  # noqa: F401
    limit = mapped() + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = {}
    try:
        torch.empty(n, n)          # the cap bites: a dense kernel cannot even be mapped
        out["dense_allocated"] = True
    except RuntimeError:
        out["dense_allocated"] = False
    if path == "features":
        f = mo.FacilityLocation.from_features(X, metric="cosine")
        out["lazy"] = mo.lazy_greedy(f, 4).indices.tolist()
        out["stochastic"] = mo.stochastic_greedy(f, 4, seed=0).indices.tolist()
        out["value"] = f.evaluate(out["lazy"])
    elif path == "sparse":
        f = mo.FacilityLocation(mo.knn_kernel(X, 10, metric="cosine", backend="faiss"))
        out["lazy"] = mo.lazy_greedy(f, 50).indices.tolist()
        out["value"] = f.evaluate(out["lazy"])
    else:                          # greedi over parts of the features, in this process
        f = mo.FacilityLocation.from_features(X, metric="cosine")
        r = mo.greedi(f, 4, shards=3, seed=0, client="synchronous")
        out["lazy"] = r.indices.tolist()
        out["value"] = r.value
    print(json.dumps(out))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
@pytest.mark.parametrize("path", ["features", "sparse", "greedi"])
def test_solves_fit_in_far_less_than_one_dense_kernel(path):
    if path == "sparse":
        pytest.importorskip("faiss")
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(N), str(BUDGET), path],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["dense_allocated"] is False
    k = 50 if path == "sparse" else 4
    assert len(set(out["lazy"])) == k and all(0 <= j < N for j in out["lazy"])
    assert out["value"] > 0
