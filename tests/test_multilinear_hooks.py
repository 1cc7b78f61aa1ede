"""The ``Utility._multilinear`` / ``_has_multilinear`` hooks and facility location's kernels.

* a user's subclass that overrides ``_multilinear`` is used by ``multilinear_value``,
  ``multilinear_gradient`` and ``has_closed_form`` (a hook, not a type ladder);
* a ``WeightedSum`` has a closed form exactly when every part has one;
* each family's hook equals the expectation over all ``2^n`` subsets (n = 6..8);
* the dense, sparse and from-features kernels of ``FacilityLocation`` agree on one kernel;
* ``matroidopt.multilinear`` names no concrete utility, and the utility layer never imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import matroidopt as mo
from matroidopt import multilinear
from matroidopt.validation import as_point


# --------------------------------------------------------------------------- helpers
def brute_force(f, x):
    """``F(x)`` and ``∇F(x)`` of ``f`` by enumerating all ``2^n`` subsets (``f`` evaluated
    once per subset, indexed by bitmask)."""
    n = f.n
    table = [f.evaluate([j for j in range(n) if mask >> j & 1]) for mask in range(1 << n)]
    value, grad = 0.0, np.zeros(n)
    for mask in range(1 << n):
        p = float(np.prod([x[j] if mask >> j & 1 else 1.0 - x[j] for j in range(n)]))
        value += p * table[mask]
        for j in range(n):   # E_R[f(R + j) - f(R - j)]
            grad[j] += p * (table[mask | 1 << j] - table[mask & ~(1 << j)])
    return value, grad


def point(rng, n):
    x = rng.random(n)
    x[0], x[-1] = 1.0, 0.0          # corners of the cube are part of the domain
    return x


def fl_dense(rng, n):
    K = rng.normal(size=(n, n))
    K[:, 1] = K[:, 2]               # ties
    return mo.FacilityLocation(K)


def fl_rect(rng, n):
    return mo.FacilityLocation(rng.random((n + 3, n)))


def fl_sparse(rng, n):
    K = rng.random((n, n))
    K[rng.random(K.shape) < 0.5] = 0.0
    return mo.FacilityLocation(sp.csr_matrix(K))


def fl_features(rng, n):
    return mo.FacilityLocation.from_features(rng.normal(size=(n, 3)), metric="rbf")


def coverage_dense(rng, n):
    return mo.WeightedCoverage(rng.random((n, 9)) < 0.35, weights=rng.random(9) + 0.1)


def coverage_sparse(rng, n):
    inc = sp.csr_matrix(rng.random((n, 9)) < 0.35)
    return mo.WeightedCoverage(inc, weights=rng.random(9) + 0.1)


def modular(rng, n):
    return mo.Modular(rng.normal(size=n))


def weighted_sum(rng, n):
    return mo.WeightedSum([fl_dense(rng, n), coverage_sparse(rng, n), modular(rng, n)],
                          [0.7, 1.3, -0.4])


FAMILIES = {f.__name__: f for f in (modular, coverage_dense, coverage_sparse, fl_dense, fl_rect,
                                    fl_sparse, fl_features, weighted_sum)}


class Doubled(mo.Utility):
    """``f(S) = 2|S|`` with its own closed form, which also counts its calls."""

    def __init__(self, n):
        super().__init__(n, monotone=True, submodular=True)
        self.calls = 0

    def _init_data(self):
        return 0.0

    def _gains(self, state, candidates):
        return torch.full((candidates.numel(),), 2.0, dtype=torch.float64)

    def _add_data(self, state, j):
        return state.data + 2.0

    def _value(self, state):
        return state.data

    def _multilinear(self, x):
        self.calls += 1
        return 2.0 * float(x.sum()), torch.full_like(x, 2.0)


def no_closed_form(n):
    return mo.Utility.from_callable(lambda S: min(len(S), 2), n, monotone=True, submodular=True)


# --------------------------------------------------------------------------- the hook
def test_a_user_subclass_overriding_the_hook_is_used():
    f = Doubled(3)
    assert f._has_multilinear and mo.has_closed_form(f)
    assert mo.multilinear_value(f, [0.25, 0.5, 1.0]) == 3.5
    assert mo.multilinear_gradient(f, [0.25, 0.5, 1.0]).tolist() == [2.0, 2.0, 2.0]
    assert f.calls == 2
    # forced sampling does not call the hook
    mo.multilinear_value(f, [0.5, 0.5, 0.5], samples=10, seed=0)
    assert f.calls == 2
    # and it composes: a sum of two hooks is a hook
    g = f + mo.Modular([1.0, 0.0, -1.0])
    assert mo.has_closed_form(g)
    assert mo.multilinear_value(g, [0.25, 0.5, 1.0]) == pytest.approx(3.5 + 0.25 - 1.0)
    assert f.calls == 3


def test_defaults_and_non_utilities_have_no_closed_form():
    f = no_closed_form(3)
    assert not f._has_multilinear and f._multilinear(torch.zeros(3, dtype=torch.float64)) is None
    assert not mo.has_closed_form(f)
    assert not mo.has_closed_form("not a utility")
    assert not mo.has_closed_form(mo.Modular([1.0, 2.0]).truncate(1.0))


def test_a_weighted_sum_has_a_closed_form_iff_all_its_parts_do():
    rng = np.random.default_rng(0)
    n = 5
    closed = mo.WeightedSum([fl_dense(rng, n), Doubled(n)], [1.0, 2.0])
    assert mo.has_closed_form(closed)
    mixed = mo.WeightedSum([fl_dense(rng, n), no_closed_form(n)], [1.0, 2.0])
    assert not mixed._has_multilinear and not mo.has_closed_form(mixed)
    assert mixed._multilinear(torch.full((n,), 0.5, dtype=torch.float64)) is None
    v, se = mo.multilinear_value(mixed, np.full(n, 0.5), seed=0, return_stderr=True)
    assert se > 0.0                                     # sampled, not exact
    assert mo.has_closed_form(mo.WeightedSum([no_closed_form(n)], [0.0]))   # no parts left


def test_a_hook_with_a_wrong_gradient_shape_is_rejected():
    class Bad(Doubled):
        def _multilinear(self, x):
            return 0.0, torch.zeros(self.n + 1, dtype=torch.float64)

    with pytest.raises(mo.InvalidInputError, match="expected 3"):
        mo.multilinear_gradient(Bad(3), [0.5, 0.5, 0.5])


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("n, seed", [(6, 0), (7, 1), (8, 2)])
def test_each_family_hook_equals_brute_force(family, n, seed):
    rng = np.random.default_rng(seed)
    f = FAMILIES[family](rng, n)
    assert mo.has_closed_form(f)
    x = point(rng, n)
    F, grad = brute_force(f, x)
    scale = max(1.0, abs(F), float(np.abs(grad).max()))
    value, g = f._multilinear(as_point(x, n))
    assert isinstance(value, float)
    assert g.dtype == torch.float64 and g.device.type == "cpu" and g.shape == (n,)
    assert value == pytest.approx(F, abs=1e-11 * scale)
    np.testing.assert_allclose(g.numpy(), grad, atol=1e-11 * scale)
    assert mo.multilinear_value(f, x) == value
    np.testing.assert_array_equal(mo.multilinear_gradient(f, x), g.numpy())


# --------------------------------------------------------------------------- FL kernels
def sparse_rbf(A, B):
    """An rbf kernel block with its small entries zeroed (so a sparse copy stores less)."""
    K = torch.exp(-torch.cdist(A, B) ** 2 / 3.0)
    return torch.where(K < 0.3, 0.0, K)


def three_kernels(n=30, m=23, seed=4):
    """One kernel ``K`` (m clients × n candidates) in the three storage modes."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    feat = mo.FacilityLocation.from_features(X, clients=Y, metric=sparse_rbf, block_size=7)
    K = feat.kernel_block(np.arange(n)).T.numpy()
    assert 0.2 < (K == 0).mean() < 0.9
    return {"dense": mo.FacilityLocation(K), "sparse": mo.FacilityLocation(sp.csc_matrix(K)),
            "features": feat}, K


def test_three_kernels_give_the_same_oracle_and_closed_form():
    fs, K = three_kernels()
    m, n = K.shape
    names = {name: repr(f) for name, f in fs.items()}
    assert names == {k: f"FacilityLocation(n={n}, clients={m}, mode={k!r})" for k in fs}
    rng = np.random.default_rng(5)
    order = rng.permutation(n)[:6].tolist()
    states = {k: f.init_state() for k, f in fs.items()}
    for step in range(len(order) + 1):
        for cand in (None, [3, 4, 5, 6, 7], [9, 2, 17, 2]):          # run, gather, repeats
            gains = {k: fs[k].gains(states[k], cand).numpy() for k in fs}
            np.testing.assert_allclose(gains["sparse"], gains["dense"], rtol=1e-13, atol=1e-13)
            np.testing.assert_allclose(gains["features"], gains["dense"], rtol=1e-13,
                                       atol=1e-13)
        S = list(states["dense"].selected)
        ref = float(np.maximum(K[:, S].max(1), 0.0).sum()) if S else 0.0
        for k, f in fs.items():
            assert f.value(states[k]) == pytest.approx(ref, rel=1e-13)
            assert f.evaluate(S) == pytest.approx(ref, rel=1e-13)
        if step < len(order):
            states = {k: fs[k].add(states[k], order[step]) for k in fs}
    for f in fs.values():
        np.testing.assert_allclose(f.kernel_block([4, 0, 4]).numpy(), K[:, [4, 0, 4]].T)
    x = rng.random(n)
    x[[1, 8]] = 1.0
    closed = {k: f._multilinear(as_point(x, n)) for k, f in fs.items()}
    for k in ("sparse", "features"):
        assert closed[k][0] == pytest.approx(closed["dense"][0], rel=1e-12)
        np.testing.assert_allclose(closed[k][1], closed["dense"][1], rtol=1e-11, atol=1e-12)


def test_dense_kernel_run_and_gather_paths_agree():
    rng = np.random.default_rng(6)
    f = mo.FacilityLocation(rng.normal(size=(40, 40)))
    state = f.add(f.add(f.init_state(), 3), 11)
    full = f.gains(state).numpy()                                  # contiguous run
    picked = np.array([12, 13, 14, 15])                            # run inside
    np.testing.assert_array_equal(f.gains(state, picked).numpy(), full[picked])
    scattered = np.array([30, 5, 12, 39, 0])                       # gather
    np.testing.assert_allclose(f.gains(state, scattered).numpy(), full[scattered], rtol=1e-15)


# --------------------------------------------------------------------------- layering
def test_multilinear_names_no_concrete_utility_and_the_utility_layer_never_imports_it():
    for name in ("Modular", "WeightedCoverage", "FacilityLocation", "WeightedSum"):
        assert not hasattr(multilinear, name)
    root = Path(mo.__file__).parent / "utility"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert "multilinear" != (node.module or "").split(".")[-1], path.name
            elif isinstance(node, ast.Import):
                assert all(a.name != "matroidopt.multilinear" for a in node.names), path.name
