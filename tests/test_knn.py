"""Sparse kNN kernels from features, and facility location agreeing across its storage modes
(dense, sparse, from features) on the same kernel."""

from __future__ import annotations

import numpy as np
import pytest

import matroidopt as mo
from matroidopt.errors import InvalidInputError


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "rbf"])
def test_rows_hold_exactly_the_k_most_similar_points(metric):
    X = np.random.default_rng(1).normal(size=(250, 6))
    k = 12
    K = mo.knn_kernel(X, k, metric=metric)
    dense = mo.FacilityLocation.from_features(X, metric=metric).kernel_block(
        np.arange(250)).numpy()
    assert K.shape == (250, 250) and K.nnz == 250 * k
    for i in range(250):
        cols = K.indices[K.indptr[i]:K.indptr[i + 1]]
        assert i in cols
        assert set(cols) == set(np.argsort(-dense[i], kind="stable")[:k])
        assert np.allclose(K.data[K.indptr[i]:K.indptr[i + 1]], dense[i, cols], atol=1e-7)


@pytest.mark.parametrize("metric", ["cosine", "rbf"])
def test_dense_sparse_and_feature_facility_location_agree_on_one_kernel(metric):
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


@pytest.mark.parametrize("backend", ["pynndescent", "faiss"])
def test_other_backends_find_the_neighbours(backend):
    pytest.importorskip(backend)
    X = np.random.default_rng(3).normal(size=(1500, 16))
    exact = mo.knn_kernel(X, 10, metric="cosine")
    other = mo.knn_kernel(X, 10, metric="cosine", backend=backend)
    hits = sum(len(set(exact.indices[exact.indptr[i]:exact.indptr[i + 1]])
                   & set(other.indices[other.indptr[i]:other.indptr[i + 1]]))
               for i in range(1500))
    assert hits / (1500 * 10) >= 0.9
    assert (other.diagonal() > 0.999).all()


def test_bad_input_names_the_argument():
    X = np.ones((5, 2))
    for kwargs, arg in [({"k": 0}, "k"), ({"k": 6}, "k"), ({"k": 2, "metric": "dot"}, "metric"),
                        ({"k": 2, "backend": "annoy"}, "backend"),
                        ({"k": 2, "gamma": -1.0}, "gamma")]:
        with pytest.raises(InvalidInputError, match=rf"^{arg}:"):
            mo.knn_kernel(X, **kwargs)
    for bad in (np.ones(5), np.zeros((0, 3)), np.array([[np.nan, 1.0]]), "x"):
        with pytest.raises(InvalidInputError, match=r"^X:"):
            mo.knn_kernel(bad, 1)
