"""The compiled one-pass facility-location gains (numba) against the torch operators they
replace, and when they are taken."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import matroidopt as mo
from matroidopt.utility import _fused

needs_numba = pytest.mark.skipif(not _fused.available(), reason="numba is not installed")


def _torch_gains(f: mo.FacilityLocation, state, cand: torch.Tensor, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(_fused, "ENABLED", False)
        f._kernel.__dict__.pop("_compiled", None)
        out = f._gains(state, cand)
    f._kernel.__dict__.pop("_compiled", None)
    return out


def _state_after(f: mo.FacilityLocation, chosen):
    state = f._init_state()
    for j in chosen:
        state = f._add(state, j)
    return state


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_compiled_gains_equal_the_torch_operators(mode, dtype, monkeypatch):
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 0)
    rng = np.random.default_rng(0)
    n, m = 700, 530                          # clients != candidates: a rectangular kernel
    K = rng.normal(size=(m, n))              # negative entries: the clamp matters
    K[rng.random(K.shape) < 0.6] = 0.0
    kernel = sp.csr_matrix(K) if mode == "sparse" else K
    f = mo.FacilityLocation(kernel, dtype=dtype)
    state = _state_after(f, [3, 500, 41])    # gains at a non-empty set
    # every order, repeats and the chosen elements themselves (gain 0)
    cand = torch.as_tensor(np.concatenate([rng.permutation(n), [5, 5, 3, n - 1, 0]]))
    compiled = f._gains(state, cand)
    assert f._kernel._compiled
    expected = _torch_gains(f, state, cand, monkeypatch)
    exact = (np.maximum(K[:, cand.numpy()] - state.data.double().numpy()[:, None], 0.0)
             .sum(axis=0))
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    assert compiled.dtype == dtype
    np.testing.assert_allclose(compiled.double().numpy(), exact, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(compiled.numpy(), expected.numpy(), rtol=rtol, atol=rtol)
    assert float(compiled[-3]) == 0.0   # candidate 3 is in the set and (compiled >= 0).all()


@needs_numba
@pytest.mark.parametrize("mode", ["dense", "sparse"])
def test_solves_are_the_same_with_and_without_the_compiled_gains(mode, monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1100, 16))
    K = mo.FacilityLocation.from_features(X, metric="rbf").kernel_block(np.arange(1100))
    K = K.numpy()
    if mode == "sparse":
        K = sp.csr_matrix(np.where(K > np.quantile(K, 0.9), K, 0.0))
    P = mo.PartitionMatroid(np.arange(1100) % 4, [5, 6, 7, 8])

    def solves():
        f = mo.FacilityLocation(K)
        return f._kernel._compiled, [mo.greedy(f, 15), mo.lazy_greedy(f, 40),
                                     mo.stochastic_greedy(f, 40, seed=2), mo.lazy_greedy(f, P)]

    monkeypatch.setattr(_fused, "MIN_ENTRIES", 1 << 20)
    on, compiled = solves()
    monkeypatch.setattr(_fused, "ENABLED", False)
    off, plain = solves()
    assert (on, off) == (mode == "dense", False)   # the sparse kernel is below the size
    monkeypatch.setattr(_fused, "ENABLED", True)
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 0)
    on, compiled = solves()
    assert on
    for a, b in zip(compiled, plain):
        assert a.indices.tolist() == b.indices.tolist()
        np.testing.assert_allclose(a.gains, b.gains, rtol=1e-12)
        assert a.oracle_calls == b.oracle_calls


@needs_numba
def test_what_takes_the_compiled_gains(monkeypatch):
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 100)
    K = torch.rand(10, 10)
    assert _fused.wanted(100, K)
    assert not _fused.wanted(99, K)                                   # too small
    assert not _fused.wanted(100, K.to(torch.float16))                # no compiled dtype
    assert not _fused.wanted(100, K.T)                                # not contiguous
    assert not _fused.wanted(100, K, torch.arange(4)[::2])            # a strided index array
    monkeypatch.setattr(_fused, "ENABLED", False)
    assert not _fused.wanted(100, K)
    # the kernel decides once, on first use
    assert not mo.FacilityLocation(K)._kernel._compiled


def test_the_environment_switches_the_compiled_gains_off():
    code = "from matroidopt.utility import _fused; print(_fused.ENABLED)"
    for value, expected in (("0", "False"), ("false", "False"), ("1", "True")):
        env = {**os.environ, "MATROIDOPT_NUMBA": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == expected
