"""Kernels from features in the peers' conventions, and graph cut on a directed similarity.

* ``similarity_kernel`` (submodlib style) and ``knn_kernel`` equal submodlib's
  ``create_kernel`` matrices, dense and sparse;
* the apricot style reproduces apricot-select's selections (dense metrics and sparse
  ``n_neighbors``) when fed to ``FacilityLocation``;
* ``GraphCut(directed=True)`` is submodular on asymmetric similarities and equals
  submodlib's graph cut on them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from input_checks import names_the_argument
from peer_support import assert_same_greedy

import matroidopt as mo
from matroidopt.errors import InvalidInputError
from matroidopt.testing.utilities import check_oracle, check_submodular

RNG = np.random.default_rng(31)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    return datasets.load_digits().data[:300].astype(np.float64)


def test_submodlib_style_formulas():
    X, Y = RNG.normal(size=(7, 3)), RNG.normal(size=(4, 3))
    D = np.linalg.norm(Y[:, None] - X[None], axis=-1)
    assert np.allclose(mo.similarity_kernel(X, Y, metric="euclidean"), np.exp(-D / 3))
    assert np.allclose(mo.similarity_kernel(X, Y, metric="rbf", gamma=0.5),
                       np.exp(-0.5 * D ** 2))
    assert np.allclose(mo.similarity_kernel(X, Y, metric="dot"), Y @ X.T)
    cos = (Y @ X.T) / np.outer(np.linalg.norm(Y, axis=1), np.linalg.norm(X, axis=1))
    assert np.allclose(mo.similarity_kernel(X, Y, metric="cosine"), cos)
    Z = X.copy()
    Z[2] = 0.0                                   # a zero vector: similarity 0, not NaN
    K = mo.similarity_kernel(Z, metric="cosine")
    assert np.isfinite(K).all() and (K[2] == 0).all()


def test_apricot_style_formulas():
    X = RNG.normal(size=(6, 3))
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    assert np.allclose(mo.similarity_kernel(X, metric="euclidean", style="apricot"),
                       (D ** 2).max() - D ** 2)
    cos = mo.similarity_kernel(X, metric="cosine")
    assert np.allclose(mo.similarity_kernel(X, metric="cosine", style="apricot"), cos ** 2)
    C = X - X.mean(1, keepdims=True)
    corr = (C @ C.T) / np.outer(np.linalg.norm(C, axis=1), np.linalg.norm(C, axis=1))
    assert np.allclose(mo.similarity_kernel(X, metric="correlation", style="apricot"),
                       corr ** 2)
    L1 = np.abs(X[:, None] - X[None]).sum(-1)
    assert np.allclose(mo.similarity_kernel(X, metric="manhattan", style="apricot"),
                       L1.max() - L1)


@pytest.mark.peers
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
def test_dense_kernels_equal_submodlib(digits, metric):
    helper = pytest.importorskip("submodlib.helper")
    X = digits[:120]
    ours = mo.similarity_kernel(X, metric=metric)
    theirs = helper.create_kernel(X, metric=metric, mode="dense")
    assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    ours_rep = mo.similarity_kernel(X, X[:10], metric=metric)
    theirs_rep = helper.create_kernel(X, metric=metric, mode="dense", X_rep=X[:10])
    assert ours_rep.shape == (10, 120) and np.allclose(ours_rep, theirs_rep, atol=1e-10)


@pytest.mark.peers
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_sparse_knn_kernel_equals_submodlib(digits, metric):
    helper = pytest.importorskip("submodlib.helper")
    X = digits[:200] + RNG.normal(scale=1e-6, size=(200, 64))   # no tied distances
    ours = mo.knn_kernel(X, 7, metric=metric, backend="sklearn")
    theirs = sp.csr_matrix(helper.create_kernel(X, metric=metric, mode="sparse", num_neigh=7))
    assert ours.shape == theirs.shape and ours.nnz == theirs.nnz == 200 * 7
    assert abs(ours - theirs).max() < 1e-10


@pytest.mark.peers
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_apricot_style_selects_as_apricot(digits, metric):
    """(apricot 0.6.1's own "correlation" fails inside apricot: it mangles the metric's name
    to "correlationelation"; the formula test covers ours.)"""
    apricot = pytest.importorskip("apricot")
    X = digits[:250]
    K = mo.similarity_kernel(X, metric=metric, style="apricot")
    f = mo.FacilityLocation(K)
    mine = mo.greedy(f, 20)
    sel = apricot.FacilityLocationSelection(20, metric=metric, optimizer="naive",
                                            verbose=False).fit(X)
    assert_same_greedy(f, mine.indices, sel.ranking, eps=2.0**-52, label=f"apricot {metric}")
    if list(sel.ranking) == mine.indices.tolist():
        assert np.allclose(sel.gains, mine.gains, rtol=1e-9)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_apricot_style_knn_kernel_formula(metric):
    """Column j holds what candidate j covers in apricot's sparse mode: itself and its k - 1
    nearest points by distance d (euclidean, or the transformed 1 - cos^2), with similarity
    max(d) - d over every stored distance (apricot's precomputed branch, cosine included)."""
    X = RNG.normal(size=(40, 5))
    k = 6
    K = mo.knn_kernel(X, k, metric=metric, style="apricot").toarray()
    if metric == "euclidean":
        dist = np.linalg.norm(X[:, None] - X[None], axis=-1)
    else:
        dist = 1.0 - mo.similarity_kernel(X, metric="cosine") ** 2
    np.fill_diagonal(dist, 0.0)
    near = np.argsort(dist, axis=1, kind="stable")[:, :k]          # itself first
    stored = np.take_along_axis(dist, near, 1)
    ref = np.zeros((40, 40))
    for j in range(40):
        ref[near[j], j] = stored.max() - stored[j]
    assert np.allclose(K, ref, atol=1e-12)


@pytest.mark.peers
def test_apricot_reads_the_apricot_knn_kernel_as_facility_location_does(digits):
    """apricot's own n_neighbors mode fails in this environment (its compiled sparse gains
    expect 32-bit indices; scikit-learn's neighbour graphs now have 64-bit ones), so its
    reading of the same kernel is checked through metric="precomputed": apricot takes
    candidate rows, FacilityLocation clients × candidates, hence the transpose."""
    apricot = pytest.importorskip("apricot")
    X = digits[:250] + RNG.normal(scale=1e-6, size=(250, 64))
    K = mo.knn_kernel(X, 11, metric="euclidean", style="apricot")
    assert K.nnz == 250 * 11
    f = mo.FacilityLocation(K)
    mine = mo.greedy(f, 20)
    rows = sp.csr_matrix(K.T)
    rows.indices, rows.indptr = rows.indices.astype(np.int32), rows.indptr.astype(np.int32)
    sel = apricot.FacilityLocationSelection(20, metric="precomputed", optimizer="naive",
                                            verbose=False).fit(rows)
    assert_same_greedy(f, mine.indices, sel.ranking, eps=2.0**-52, label="apricot sparse")
    assert np.allclose(sel.gains, [f.evaluate(list(sel.ranking[:t + 1]))
                                   - f.evaluate(list(sel.ranking[:t])) for t in range(20)],
                       rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- directed cut
def _directed(n, rng):
    W = rng.uniform(0.0, 1.0, (n, n)) * (rng.random((n, n)) < 0.6)
    return W


def test_directed_graph_cut_formula_and_submodularity():
    W = _directed(7, RNG)
    for lam in (0.2, 0.5, 1.0):
        f = mo.GraphCut(W, lam=lam, directed=True)
        for r in range(0, 5):
            for S in itertools.combinations(range(7), r):
                S = list(S)
                ref = W[:, S].sum() - lam * W[np.ix_(S, S)].sum()
                assert f.evaluate(S) == pytest.approx(ref, rel=1e-12, abs=1e-12)
        assert f.submodular
        check_submodular(f)          # checks monotonicity too when declared
        check_oracle(f, trials=5)


def test_directed_monotonicity_is_declared_exactly():
    """Declared monotone iff every worst-case gain (at S = V - j) is non-negative."""
    rng = np.random.default_rng(5)
    seen = set()
    for _ in range(40):
        W = _directed(5, rng)
        lam = rng.uniform(0.3, 0.9)
        f = mo.GraphCut(W, lam=lam, directed=True)
        values = {S: f.evaluate(list(S)) for r in range(6)
                  for S in itertools.combinations(range(5), r)}
        monotone = all(values[tuple(sorted(S + (j,)))] >= values[S] - 1e-12
                       for S in values for j in range(5) if j not in S)
        assert f.monotone == monotone
        seen.add(monotone)
    assert seen == {True, False}


def test_symmetric_kernels_give_the_same_cut_either_way():
    X = RNG.normal(size=(6, 2))
    K = mo.similarity_kernel(X, metric="euclidean")
    a, b = mo.GraphCut(K, lam=0.7), mo.GraphCut(K, lam=0.7, directed=True)
    assert a.monotone == b.monotone
    for S in ([0], [1, 4], [0, 2, 3, 5]):
        assert a.evaluate(S) == pytest.approx(b.evaluate(S), rel=1e-12)


def test_a_directed_knn_graph_needs_directed():
    X = RNG.normal(size=(30, 3))
    K = mo.knn_kernel(X, 4, metric="euclidean", backend="sklearn")
    assert abs(K - K.T).max() > 0                 # kNN graphs are not symmetric
    with pytest.raises(InvalidInputError, match=r"^kernel: expected a symmetric"):
        mo.GraphCut(K, lam=0.3)
    f = mo.GraphCut(K, lam=0.3, directed=True)
    r = mo.lazy_greedy(f, 5)
    assert r.indices.tolist() == mo.greedy(f, 5).indices.tolist()


@pytest.mark.peers
def test_directed_graph_cut_same_as_submodlib():
    """Our values and gains are submodlib's values on an asymmetric kernel. (submodlib's own
    marginal gains on one are not the differences of its values: they count each pair's
    outgoing direction twice, 2 lam sum_{i in S} W_ji, instead of both directions once, so
    its greedy optimises something else; its values are the graph cut.)"""
    submodlib = pytest.importorskip("submodlib")
    W = _directed(80, np.random.default_rng(9))
    lam = 0.4
    ours = mo.GraphCut(W, lam=lam, directed=True)
    theirs = submodlib.GraphCutFunction(n=80, mode="dense", lambdaVal=lam, separate_rep=False,
                                        ggsijs=W.astype(np.float32))
    rng = np.random.default_rng(1)
    for _ in range(10):
        S = sorted(rng.permutation(80)[:int(rng.integers(1, 15))].tolist())
        assert ours.evaluate(S) == pytest.approx(theirs.evaluate(set(S)), rel=1e-5)
    mine = mo.greedy(ours, 10)
    steps = [theirs.evaluate(set(mine.indices[:t + 1].tolist()))
             - (theirs.evaluate(set(mine.indices[:t].tolist())) if t else 0.0)
             for t in range(10)]
    assert np.allclose(steps, mine.gains, rtol=1e-5)
    S = set(mine.indices[:3].tolist())
    j = int(mine.indices[3])
    assert theirs.marginalGain(S, j) == pytest.approx(
        W[:, j].sum() - lam * (W[j, j] + 2 * W[j, sorted(S)].sum()), rel=1e-5)


BAD = [
    (lambda: mo.similarity_kernel(np.eye(3), metric="manhattan"), "metric"),
    (lambda: mo.similarity_kernel(np.eye(3), metric="nope", style="apricot"), "metric"),
    (lambda: mo.similarity_kernel(np.eye(3), style="sklearn"), "style"),
    (lambda: mo.similarity_kernel(np.eye(3), np.eye(2)), "Y"),
    (lambda: mo.similarity_kernel([[np.nan]]), "X"),
    (lambda: mo.similarity_kernel(np.eye(3), metric="euclidean", gamma=-1.0), "gamma"),
    (lambda: mo.similarity_kernel(np.eye(3), style="apricot", gamma=1.0), "gamma"),
    (lambda: mo.knn_kernel(np.eye(3), 2, style="apricot", backend="faiss"), "style"),
    (lambda: mo.knn_kernel(np.eye(3), 2, style="other"), "style"),
    (lambda: mo.GraphCut(np.ones((2, 3)), directed=True), "kernel"),
    (lambda: mo.GraphCut(np.eye(2), directed="yes"), "directed"),
]


test_bad_input_names_the_argument = names_the_argument(BAD)
