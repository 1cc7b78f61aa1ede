"""Sparse kNN kernels from features, and facility location agreeing across its storage modes
(dense, sparse, from features) on the same kernel."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import matroidopt as mo
from matroidopt.errors import InvalidInputError
from matroidopt.utility import knn


@pytest.mark.parametrize("pair_block", [None, 100])
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "rbf"])
def test_rows_hold_exactly_the_k_most_similar_points(metric, pair_block, monkeypatch):
    if pair_block is not None:   # similarities in many blocks of rows, not one
        monkeypatch.setattr(knn, "_PAIR_ELEMENTS", pair_block)
    X = np.random.default_rng(1).normal(size=(250, 6))
    k = 12
    K = mo.knn_kernel(X, k, metric=metric, backend="sklearn")
    dense = mo.FacilityLocation.from_features(X, metric=metric).kernel_block(
        np.arange(250)).numpy()
    assert K.shape == (250, 250) and K.nnz == 250 * k
    for i in range(250):
        cols = K.indices[K.indptr[i]:K.indptr[i + 1]]
        assert i in cols
        assert set(cols) == set(np.argsort(-dense[i], kind="stable")[:k])
        assert np.allclose(K.data[K.indptr[i]:K.indptr[i + 1]], dense[i, cols], atol=1e-7)


@pytest.mark.parametrize("tiles", [None, (7, 50)])
@pytest.mark.parametrize("metric", ["cosine", "rbf", "euclidean"])
def test_dense_sparse_and_feature_facility_location_agree_on_one_kernel(metric, tiles,
                                                                         monkeypatch):
    if tiles is not None:   # from-features gains in many tiles of candidates × clients
        from matroidopt.utility import facility_location as fl
        monkeypatch.setattr(fl, "_TILE_ROWS", tiles[0])
        monkeypatch.setattr(fl, "_TILE_CLIENTS", tiles[1])
    X = np.random.default_rng(2).normal(size=(180, 5))
    feat = mo.FacilityLocation.from_features(X, metric=metric)
    dense = mo.FacilityLocation(feat.kernel_block(np.arange(180)).numpy())
    sparse = mo.FacilityLocation(mo.knn_kernel(X, 180, metric=metric))   # k = n: every entry
    runs = [mo.lazy_greedy(f, 15) for f in (feat, dense, sparse)]
    assert runs[0].indices.tolist() == runs[1].indices.tolist() == runs[2].indices.tolist()
    assert np.allclose(runs[0].gains, runs[1].gains) and np.allclose(runs[0].gains,
                                                                     runs[2].gains)
    S = runs[0].indices.tolist()[:7]
    assert feat.evaluate(S) == pytest.approx(dense.evaluate(S)) == \
        pytest.approx(sparse.evaluate(S))
    state = feat.add(feat.init_state(), S[0])
    assert np.allclose(feat.gains(state).numpy(), dense.gains(dense.add(dense.init_state(),
                                                                          S[0])).numpy())


def _neighbour_sets(K):
    return [set(K.indices[K.indptr[i]:K.indptr[i + 1]].tolist()) for i in range(K.shape[0])]


def _clustered(n, d, centres, seed):
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(centres, d)) * 4.0
    return C[rng.integers(centres, size=n)] + rng.normal(size=(n, d))


@pytest.mark.parametrize("backend", ["pynndescent", "faiss", "faiss-ivf"])
def test_other_backends_find_the_neighbours(backend):
    pytest.importorskip(backend.split("-")[0])
    X = np.random.default_rng(3).normal(size=(1500, 16))
    if backend == "faiss-ivf":   # an inverted file needs structure to be worth its cells
        X = _clustered(1500, 16, 30, 3)
    exact = mo.knn_kernel(X, 10, metric="cosine", backend="sklearn")
    other = mo.knn_kernel(X, 10, metric="cosine", backend=backend)
    hits = sum(len(set(exact.indices[exact.indptr[i]:exact.indptr[i + 1]])
                   & set(other.indices[other.indptr[i]:other.indptr[i + 1]]))
               for i in range(1500))
    assert hits / (1500 * 10) >= 0.9
    assert (other.diagonal() > 0.999).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_inverted_file_searching_every_cell_is_exact(metric):
    pytest.importorskip("faiss")
    X = _clustered(1200, 8, 20, 4)
    exact = mo.knn_kernel(X, 8, metric=metric, backend="sklearn")
    full = mo.knn_kernel(X, 8, metric=metric, backend="faiss-ivf", nprobe=10**6)   # all cells
    one = mo.knn_kernel(X, 8, metric=metric, backend="faiss-ivf", nprobe=1)
    assert full.nnz == exact.nnz == 1200 * 8
    assert _neighbour_sets(full) == _neighbour_sets(exact)
    assert abs(full - exact).max() <= 1e-9     # similarities in float64 from the features
    recall = lambda K: np.mean([len(a & b) / 8 for a, b in zip(_neighbour_sets(K),  # noqa: E731
                                                               _neighbour_sets(exact))])
    assert recall(one) < recall(full)      # nprobe reaches the search: one cell misses some


def test_an_approximate_search_short_of_k_keeps_itself_and_drops_the_missing():
    pytest.importorskip("faiss")
    X = _clustered(400, 4, 10, 5)           # 10 cells of about 40 points, k = 60, one probed
    K = mo.knn_kernel(X, 60, metric="euclidean", backend="faiss-ivf", nprobe=1)
    lengths = np.diff(K.indptr)
    assert lengths.min() < 60 and K.nnz < 400 * 60 and lengths.max() <= 60
    assert (K.indices >= 0).all() and (K.diagonal() == 1.0).all()
    f = mo.FacilityLocation(K)
    assert f.evaluate(list(range(400))) == pytest.approx(400.0)


def test_the_callers_features_are_not_modified_and_progress_is_shown(capsys):
    X = np.random.default_rng(6).normal(size=(300, 5))
    before = X.copy()
    mo.knn_kernel(X, 5, metric="cosine", backend="sklearn")
    assert np.array_equal(X, before)
    if importlib.util.find_spec("faiss") is not None:
        mo.knn_kernel(X, 5, metric="cosine", backend="faiss", progress=True)
        assert "knn (faiss)" in capsys.readouterr().err


def test_bad_input_names_the_argument():
    X = np.ones((5, 2))
    for kwargs, arg in [({"k": 0}, "k"), ({"k": 6}, "k"), ({"k": 2, "metric": "dot"}, "metric"),
                        ({"k": 2, "backend": "annoy"}, "backend"),
                        ({"k": 2, "gamma": -1.0}, "gamma"),
                        ({"k": 2, "nprobe": 0}, "nprobe")]:
        with pytest.raises(InvalidInputError, match=rf"^{arg}:"):
            mo.knn_kernel(X, **kwargs)
    for bad in (np.ones(5), np.zeros((0, 3)), np.array([[np.nan, 1.0]]), "x"):
        with pytest.raises(InvalidInputError, match=r"^X:"):
            mo.knn_kernel(bad, 1)


@pytest.mark.parametrize("metric", ["euclidean", "rbf"])
def test_feature_gains_give_each_point_similarity_exactly_one_to_itself(metric, monkeypatch):
    from matroidopt.utility import facility_location as fl
    monkeypatch.setattr(fl, "_TILE_ROWS", 7)         # the point's own entry in a later tile
    monkeypatch.setattr(fl, "_TILE_CLIENTS", 16)
    X = np.random.default_rng(7).uniform(size=(60, 3))
    X[:, 0] += 1e4 + 200.0 * np.arange(60)   # far apart, huge norms: |x|^2 - 2x·x + |x|^2
    f = mo.FacilityLocation.from_features(X, metric=metric, gamma=1.0)   # rounds to ~1e-8
    gains = f.gains(f.init_state()).numpy()
    assert np.abs(gains - 1.0).max() <= 1e-12
    assert (f.kernel_block(np.arange(60)).numpy().diagonal() == 1.0).all()   # rows path too
