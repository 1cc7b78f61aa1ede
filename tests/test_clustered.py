"""Clustered utilities: the per-cluster sum, its declared properties, its closed-form
multilinear extension, clusters from scikit-learn, and submodlib's ClusteredFunction."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from input_checks import names_the_argument
from peer_support import assert_same_greedy

import matroidopt as mo
from matroidopt.testing.utilities import check_oracle, check_submodular

RNG = np.random.default_rng(21)


def _kernel(A, B):
    return np.exp(-np.linalg.norm(A[:, None] - B[None], axis=-1) / A.shape[1])


X = RNG.normal(size=(10, 3))
K = _kernel(X, X)
LABELS = np.array([2, 0, 1, 0, 2, 2, 1, 0, 0, 1])


def _fl_per_cluster(S):
    """sum over clusters c of sum_{i in C_c} max_{j in S ∩ C_c} K_ij, by hand."""
    total = 0.0
    for c in np.unique(LABELS):
        members = np.flatnonzero(LABELS == c)
        chosen = [j for j in S if LABELS[j] == c]
        if chosen:
            total += K[np.ix_(members, chosen)].max(1).sum()
    return total


def _clustered_fl(labels=LABELS, kernel=K):
    return mo.ClusteredUtility.from_labels(
        labels, lambda idx: mo.FacilityLocation(kernel[np.ix_(idx, idx)]))


def test_value_is_the_sum_over_clusters():
    f = _clustered_fl()
    for r in range(1, 5):
        for S in itertools.combinations(range(10), r):
            assert f.evaluate(list(S)) == pytest.approx(_fl_per_cluster(S), rel=1e-12)
    assert (f.monotone, f.submodular, f.normalized) == (True, True, True)
    check_submodular(f)
    check_oracle(f, trials=6)
    # not the unclustered facility location: a pick represents its own cluster only
    plain = mo.FacilityLocation(K)
    assert f.evaluate([0]) < plain.evaluate([0])


def test_greedy_spreads_over_clusters():
    """One representative per cluster first: the other clusters' gains are their whole
    facility-location value, far above a second pick's."""
    f = _clustered_fl()
    first = mo.greedy(f, 3).indices
    assert sorted(LABELS[first].tolist()) == [0, 1, 2]


def test_properties_come_from_the_parts():
    parts_mixed = mo.ClusteredUtility(
        [0, 1, 1], [mo.Modular([1.0]), mo.GraphCut(np.ones((2, 2)), lam=1.0)])
    assert parts_mixed.submodular and not parts_mixed.monotone
    with_mi = mo.ClusteredUtility(
        [0, 0], [mo.MutualInformation(mo.FacilityLocation(np.eye(3)), query=[2])])
    assert with_mi.monotone and not with_mi.submodular


def test_multilinear_is_the_sum_of_the_parts_closed_forms():
    f = _clustered_fl()
    assert mo.has_closed_form(f)
    x = torch.as_tensor(RNG.uniform(0.0, 1.0, 10))
    value = mo.multilinear_value(f, x)
    grad = mo.multilinear_gradient(f, x)
    # exact expectation over all 2^10 sets
    p = x.numpy()
    ref_v, ref_g = 0.0, np.zeros(10)
    for mask in range(1 << 10):
        S = [j for j in range(10) if mask >> j & 1]
        w = np.prod([p[j] if mask >> j & 1 else 1 - p[j] for j in range(10)])
        ref_v += w * _fl_per_cluster(S)
    for j in range(10):
        for mask in range(1 << 10):
            if mask >> j & 1:
                continue
            S = [i for i in range(10) if mask >> i & 1]
            w = np.prod([p[i] if mask >> i & 1 else 1 - p[i] for i in range(10) if i != j])
            ref_g[j] += w * (_fl_per_cluster(S + [j]) - _fl_per_cluster(S))
    assert float(value) == pytest.approx(ref_v, rel=1e-10)
    assert np.allclose(np.asarray(grad, dtype=float), ref_g, rtol=1e-10, atol=1e-12)


def test_cluster_labels_from_features():
    blobs = np.vstack([RNG.normal(0, 0.1, (6, 2)), RNG.normal(5, 0.1, (5, 2)),
                       RNG.normal((0, 5), 0.1, (4, 2))])
    truth = np.repeat([0, 1, 2], [6, 5, 4])
    for method in mo.utility.clustered.CLUSTER_METHODS:
        labels = mo.cluster_labels(blobs, 3, method=method)
        assert labels.dtype == np.int64 and sorted(set(labels.tolist())) == [0, 1, 2]
        # the same partition as the truth, up to the names of the clusters
        pairs = {(int(a), int(b)) for a, b in zip(truth, labels, strict=True)}
        assert len(pairs) == 3, method


BAD = [
    (lambda: mo.ClusteredUtility([0, 1], [mo.Modular([1.0])]), "parts"),
    (lambda: mo.ClusteredUtility([0, 2], [mo.Modular([1.0])] * 3), "labels"),
    (lambda: mo.ClusteredUtility([0, 0], [mo.Modular([1.0])]), "parts"),
    (lambda: mo.ClusteredUtility([0.5, 1.0], [mo.Modular([1.0])] * 2), "labels"),
    (lambda: mo.ClusteredUtility([-1, 0], [mo.Modular([1.0])]), "labels"),
    (lambda: mo.ClusteredUtility(None, []), "labels"),
    (lambda: mo.ClusteredUtility([0], mo.Modular([1.0])), "parts"),
    (lambda: mo.ClusteredUtility([0], [lambda S: 0.0]), "parts"),
    (lambda: mo.ClusteredUtility.from_labels([0, 1], "facility_location"), "make"),
    (lambda: mo.cluster_labels(X, 0), "n_clusters"),
    (lambda: mo.cluster_labels(X, 11), "n_clusters"),
    (lambda: mo.cluster_labels(X, 2, method="dbscan"), "method"),
]


test_bad_input_names_the_argument = names_the_argument(BAD)


# --------------------------------------------------------------------------- submodlib-py
@pytest.mark.peers
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("family", ["FacilityLocation", "GraphCut", "LogDeterminant"])
def test_same_as_submodlib_clustered_function(family):
    submodlib = pytest.importorskip("submodlib")
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_digits().data[:150].astype(np.float64)
    labels = mo.cluster_labels(data, 6, seed=1)
    G = _kernel(data, data)
    lam = 0.4 if family == "GraphCut" else 1.5

    def part(idx):
        block = G[np.ix_(idx, idx)]
        if family == "FacilityLocation":
            return mo.FacilityLocation(block)
        if family == "GraphCut":
            return mo.GraphCut(block, lam=lam)
        # submodlib: log det(S_A + lam I) = log det(I + S_A / lam) + |A| log lam
        return (mo.LogDeterminant(block, scale=1.0 / lam)
                + mo.Modular(np.full(idx.size, np.log(lam))))

    ours = mo.ClusteredUtility.from_labels(labels, part)
    theirs = submodlib.ClusteredFunction(n=150, f_name=family, data=data, mode="single",
                                         cluster_lab=labels.tolist(), num_clusters=6,
                                         metric="euclidean", lambdaVal=lam)
    rng = np.random.default_rng(4)
    for _ in range(10):
        S = sorted(rng.permutation(150)[:int(rng.integers(1, 20))].tolist())
        assert ours.evaluate(S) == pytest.approx(theirs.evaluate(set(S)), rel=2e-5)
    out = theirs.maximize(budget=15, optimizer="NaiveGreedy", stopIfZeroGain=False,
                          stopIfNegativeGain=False, verbose=False, show_progress=False)
    mine = mo.greedy(ours, 15)
    their_idx = [int(i) for i, _ in out]
    assert_same_greedy(ours, mine.indices, their_idx, eps=2.0**-23,
                       label=f"submodlib clustered {family}")
    # their reported gains are our gains along their sequence (which may part from ours at a
    # tie: log-determinant's first pick in each cluster is one)
    ours_along = [ours.evaluate(their_idx[:t + 1]) - ours.evaluate(their_idx[:t])
                  for t in range(len(their_idx))]
    assert np.allclose([g for _, g in out], ours_along, rtol=1e-4, atol=1e-4)
