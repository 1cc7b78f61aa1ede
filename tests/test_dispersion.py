"""Disparity-sum and disparity-min: values, declared properties, the metric check, the
dispersion greedy (against a plain transcription and against brute force over sets of
exactly k), its certificate, and submodlib's values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_checks import names_the_argument

import matroidopt as mo
from matroidopt.testing.utilities import check_oracle
from matroidopt.utility.dispersion import METRIC_CHECK_UP_TO

RNG = np.random.default_rng(17)


def _points(rng, n, d=2):
    return rng.normal(size=(n, d))


def _euclid(X):
    return np.linalg.norm(X[:, None] - X[None], axis=-1)


def test_values_match_their_formulas():
    D = _euclid(_points(RNG, 8))
    fs, fm = mo.DisparitySum(distances=D), mo.DisparityMin(distances=D)
    for r in range(0, 6):
        for S in itertools.combinations(range(8), r):
            S = list(S)
            pairs = [D[i, j] for i, j in itertools.combinations(S, 2)]
            assert fs.evaluate(S) == pytest.approx(sum(pairs), rel=1e-12, abs=0)
            assert fm.evaluate(S) == pytest.approx(min(pairs) if pairs else 0.0, rel=1e-12)
    assert (fs.monotone, fs.submodular, fs.normalized, fs.nonnegative) == (True, False, True,
                                                                          True)
    assert (fm.monotone, fm.submodular, fm.normalized, fm.nonnegative) == (False, False,
                                                                          True, True)
    check_oracle(fs, trials=6)
    check_oracle(fm, trials=6)


def test_kernel_input_is_one_minus_similarity():
    X = _points(RNG, 6)
    S = np.exp(-_euclid(X))
    a = mo.DisparitySum(kernel=S)
    b = mo.DisparitySum(distances=1.0 - S)
    for T in ([0, 1], [1, 3, 5], [0, 2, 3, 4]):
        assert a.evaluate(T) == pytest.approx(b.evaluate(T), rel=1e-12)


def test_the_metric_flag():
    X = _points(RNG, 12)
    assert mo.DisparityMin(distances=_euclid(X)).metric
    assert mo.DisparityMin.from_features(X).metric
    assert not mo.DisparityMin.from_features(X, metric="cosine").metric
    squared = _euclid(X) ** 2            # squared distances break the triangle inequality
    assert not mo.DisparitySum(distances=squared).metric
    assert mo.DisparitySum(distances=squared, metric=True).metric   # the user's word
    # one violated triple among many is found
    D = _euclid(X)
    D[3, 7] = D[7, 3] = D[3, 0] + D[0, 7] + 0.5
    assert not mo.DisparitySum(distances=D).metric
    big = _euclid(_points(RNG, METRIC_CHECK_UP_TO + 1, 1))
    assert not mo.DisparitySum(distances=big).metric                 # not checked: not claimed
    assert mo.DisparitySum.from_features(_points(RNG, METRIC_CHECK_UP_TO + 1)).metric


def _transcription(D, k, kind):
    """The greedy of Ravi, Rosenkrantz, Tayi (1994), element by element: the farthest pair,
    then the point whose sum (or minimum) of distances to the chosen ones is largest."""
    n = len(D)
    if k <= 1:
        return [0][:k]
    best, pair = -1.0, None
    for i in range(n):
        for j in range(i + 1, n):
            if D[i, j] > best:
                best, pair = D[i, j], [i, j]
    S = list(pair)
    while len(S) < min(k, n):
        scores = {}
        for j in range(n):
            if j not in S:
                ds = [D[i, j] for i in S]
                scores[j] = sum(ds) if kind == "sum" else min(ds)
        top = max(scores.values())
        S.append(min(j for j, v in scores.items() if v == top))
    return S


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 9), k=st.integers(0, 9), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["sum", "min"]), metric=st.booleans())
def test_guarantee_and_certificate_by_brute_force(n, k, seed, kind, metric):
    rng = np.random.default_rng(seed)
    if metric:
        D = _euclid(_points(rng, n, int(rng.integers(1, 4))))
    else:
        D = rng.uniform(0.0, 1.0, (n, n)) ** 3
        D = (D + D.T) / 2
    cls = mo.DisparitySum if kind == "sum" else mo.DisparityMin
    f = cls(distances=D)
    r = mo.dispersion_greedy(f, k)
    size = min(k, n)
    assert np.asarray(r.indices).tolist() == _transcription(D, k, kind)
    assert len(r.indices) == size and r.info["problem"] == f"exactly {size} elements"
    opt = max(f.evaluate(list(S)) for S in itertools.combinations(range(n), size))
    at_most = max(f.evaluate(list(S)) for s in range(size + 1)
                  for S in itertools.combinations(range(n), s))
    assert r.value <= opt + 1e-12
    assert r.upper_bound >= at_most - 1e-9, (r.upper_bound, at_most)   # the problem passed
    guarantee, bound = r.guarantee, r.upper_bound
    if kind == "min":
        assert r.guarantee is None
        guarantee, bound = r.info["exactly_k"]["guarantee"], r.info["exactly_k"]["upper_bound"]
    assert bound >= opt - 1e-9, (bound, opt)
    if f.metric:
        assert guarantee == 0.5
        assert r.value >= 0.5 * opt - 1e-12
    else:
        assert guarantee is None


def test_the_half_is_attained_for_max_min():
    """A metric where the farthest pair is a trap: a, b, c, d pairwise 2 apart, h at 2.5 from
    a and 1 from b, c, d. The greedy starts with (a, h); every third point is then 1 from h:
    value 1, while {a, b, c} has 2. The 1/2 is attained, so a variant that claimed more, or
    a bound that claimed less than 2, would fail here."""
    D = np.array([[0.0, 2.0, 2.0, 2.0, 2.5],
                  [2.0, 0.0, 2.0, 2.0, 1.0],
                  [2.0, 2.0, 0.0, 2.0, 1.0],
                  [2.0, 2.0, 2.0, 0.0, 1.0],
                  [2.5, 1.0, 1.0, 1.0, 0.0]])
    f = mo.DisparityMin(distances=D)
    assert f.metric
    r = mo.dispersion_greedy(f, 3)
    assert r.indices.tolist()[:2] == [0, 4]
    opt = max(f.evaluate(list(S)) for S in itertools.combinations(range(5), 3))
    exact = r.info["exactly_k"]
    assert (r.value, opt, exact["guarantee"]) == (1.0, 2.0, 0.5)
    assert exact["upper_bound"] == pytest.approx(2.0)   # min(2 × value, the k-th largest u_i)
    assert r.upper_bound == pytest.approx(2.5)          # at most 3: the farthest pair


def test_identical_points_give_distinct_elements():
    """All distances 0: the farthest pair is a tie among all pairs; the pair is (0, 1), not
    the diagonal (0, 0)."""
    for cls in (mo.DisparitySum, mo.DisparityMin):
        r = mo.dispersion_greedy(cls(distances=np.zeros((4, 4))), 3)
        assert r.indices.tolist() == [0, 1, 2] and r.value == 0.0


def test_maximize_picks_dispersion_greedy():
    f = mo.DisparitySum.from_features(_points(RNG, 10))
    assert mo.auto_solver(f, 3) == "dispersion_greedy"
    assert mo.maximize(f, 3).solver == "dispersion_greedy"
    assert mo.auto_solver(mo.FacilityLocation(np.eye(3)), 2) == "lazy_greedy"


def test_plain_greedy_on_disparity_sum_runs_without_a_guarantee():
    f = mo.DisparitySum.from_features(_points(RNG, 10))
    with pytest.warns(mo.AssumptionWarning):
        r = mo.greedy(f, 3)
    assert r.guarantee is None and len(r.indices) == 3


BAD = [
    (lambda: mo.DisparitySum(), "kernel, distances"),
    (lambda: mo.DisparitySum(kernel=np.eye(2), distances=np.eye(2)), "kernel, distances"),
    (lambda: mo.DisparitySum(distances=[[0.0, -1.0], [-1.0, 0.0]]), "distances"),
    (lambda: mo.DisparitySum(kernel=[[1.0, 2.0], [2.0, 1.0]]), "kernel"),
    (lambda: mo.DisparityMin(distances=[[0.0, 1.0], [2.0, 0.0]]), "distances"),
    (lambda: mo.DisparityMin(distances=np.zeros((2, 3))), "distances"),
    (lambda: mo.DisparityMin(distances=np.eye(2), metric="yes"), "metric"),
    (lambda: mo.DisparityMin.from_features(np.eye(3), metric="manhattan"), "metric"),
    (lambda: mo.dispersion_greedy(mo.Modular([1.0, 2.0]), 1), "utility"),
    (lambda: mo.dispersion_greedy(mo.DisparityMin(distances=np.eye(2)),
                                  mo.Knapsack([1.0, 1.0], 1.0)), "constraint"),
]


test_bad_input_names_the_argument = names_the_argument(BAD)


@pytest.mark.peers
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_values_same_as_submodlib():
    """submodlib's DisparitySum is ½ Σ_{i,j ∈ S} (1 - s_ij) (the diagonal adds ½ (1 - s_ii),
    0 for a unit diagonal); its DisparityMin caps the value at 1, which 1 - s never exceeds
    for s >= 0."""
    submodlib = pytest.importorskip("submodlib")
    datasets = pytest.importorskip("sklearn.datasets")
    X = datasets.load_digits().data[:120].astype(np.float64)
    S = np.exp(-_euclid(X) / X.shape[1])
    ours = {"DisparitySum": mo.DisparitySum(kernel=S), "DisparityMin": mo.DisparityMin(kernel=S)}
    rng = np.random.default_rng(2)
    for name, f in ours.items():
        theirs = getattr(submodlib, f"{name}Function")(n=120, mode="dense",
                                                       sijs=S.astype(np.float32))
        for _ in range(12):
            T = sorted(rng.permutation(120)[:int(rng.integers(2, 15))].tolist())
            assert f.evaluate(T) == pytest.approx(theirs.evaluate(set(T)), rel=1e-5), name
