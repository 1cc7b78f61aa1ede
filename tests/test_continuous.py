"""Continuous greedy, the multilinear extension and matroid-aware rounding.

* closed-form multilinear values and gradients against the exact expectation over all ``2^n``
  subsets, and the sampling estimator against it within a few standard errors;
* swap and pipage rounding: always independent, the right marginals, and
  ``E[f(S)] >= F(x)`` on the mean over many roundings (with a standard-error margin);
* continuous greedy: beats greedy on greedy's bad partition-matroid instance, meets
  ``(1 - 1/e)·OPT`` on the mean over seeds against brute force, certifies ``upper_bound >=
  OPT``, is reproducible per seed, and rejects bad input naming the argument.
"""

from __future__ import annotations

import math
import re
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.errors import AssumptionWarning, InvalidInputError
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.testing import brute_force_maximum
from matroidopt.testing.matroids import matroids
from matroidopt.testing.utilities import _BUILDERS, utilities

Z = 4.0             # confidence margin, in standard errors
E_RATIO = 1.0 - 1.0 / math.e


# --------------------------------------------------------------------------- helpers
def exact_multilinear(f, x):
    """``F(x)`` and ``∇F(x)`` by enumerating all ``2^n`` subsets."""
    n = f.n
    masks = np.arange(1 << n)
    bits = (masks[:, None] >> np.arange(n)[None, :]) & 1                 # (2^n, n)
    vals = np.array([f.evaluate(np.flatnonzero(b).tolist()) for b in bits])
    factors = np.where(bits == 1, x[None, :], 1.0 - x[None, :])          # P(coordinate) each
    F = float(np.prod(factors, axis=1) @ vals)
    grad = np.zeros(n)
    for j in range(n):
        others = np.prod(np.delete(factors, j, axis=1), axis=1)
        sign = np.where(bits[:, j] == 1, 1.0, -1.0)
        grad[j] = float((others * sign) @ vals)
    return F, grad


def random_point(rng, n, ends=True):
    x = rng.random(n)
    if ends and n >= 2:
        x[rng.integers(n)] = 1.0
        x[rng.integers(n)] = 0.0
    return x


def closed_form_utility(rng, n, family):
    if family == "modular":
        return mo.Modular(rng.normal(size=n))
    if family in ("fl_dense", "fl_sparse", "fl_rect"):
        K = rng.normal(size=(n if family != "fl_rect" else int(rng.integers(1, 6)), n))
        if family == "fl_sparse":
            K[rng.random(K.shape) < 0.4] = 0.0
            return mo.FacilityLocation(sp.csr_matrix(K))
        if family == "fl_dense":
            K = (K + K.T) / 2  # symmetric: stored as is
        return mo.FacilityLocation(K)
    if family == "fl_features":
        return mo.FacilityLocation.from_features(rng.normal(size=(n, 2)), metric="rbf")
    if family in ("coverage_dense", "coverage_sparse"):
        m = int(rng.integers(1, 7))
        inc = rng.random((n, m)) < 0.4
        w = rng.uniform(0.1, 2.0, m)
        return mo.WeightedCoverage(sp.csr_matrix(inc) if family == "coverage_sparse" else inc, w)
    if family == "weighted_sum":
        K = rng.random((3, n))
        return mo.FacilityLocation(K) + 0.5 * mo.WeightedCoverage(rng.random((n, 4)) < 0.5)
    raise AssertionError(family)


CLOSED_FAMILIES = ["modular", "fl_dense", "fl_sparse", "fl_rect", "fl_features",
                   "coverage_dense", "coverage_sparse", "weighted_sum"]


def greedy_bad_partition_instance(eps: float):
    """As in tests/test_solvers.py: greedy takes a (1 + eps), then c adds nothing; OPT = 2."""
    K = np.array([[1.0 + eps, 0.0, 1.0], [0.0, 1.0, 0.0]])
    return mo.FacilityLocation(K), mo.PartitionMatroid([0, 0, 1], [1, 1])


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- multilinear
@pytest.mark.parametrize("family", CLOSED_FAMILIES)
@settings(max_examples=8)
@given(n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_closed_form_equals_enumeration(family, n, seed):
    rng = np.random.default_rng(seed)
    f = closed_form_utility(rng, n, family)
    assert mo.has_closed_form(f)
    x = random_point(rng, n)
    F, grad = exact_multilinear(f, x)
    scale = max(1.0, np.abs(grad).max(), abs(F))
    assert mo.multilinear_value(f, x) == pytest.approx(F, abs=1e-10 * scale)
    g = mo.multilinear_gradient(f, x)
    assert isinstance(g, np.ndarray) and g.shape == (n,)
    np.testing.assert_allclose(g, grad, atol=1e-10 * scale)
    # the corners: F(1_S) = f(S)
    S = np.flatnonzero(rng.random(n) < 0.5)
    corner = np.zeros(n)
    corner[S] = 1.0
    assert mo.multilinear_value(f, corner) == pytest.approx(f.evaluate(S.tolist()),
                                                            abs=1e-10 * scale)


@pytest.mark.parametrize("make", [
    lambda rng, n: mo.Utility.from_callable(lambda S: math.sqrt(len(S)) + 0.5 * (0 in S), n,
                                            monotone=True, submodular=True),
    lambda rng, n: mo.FacilityLocation(rng.random((4, n))),   # forced sampling
    lambda rng, n: mo.GraphCut((lambda A: A + A.T)(rng.random((n, n))), lam=0.5),
])
def test_sampling_estimator_converges(make):
    rng = np.random.default_rng(3)
    n = 5
    f = make(rng, n)
    x = random_point(rng, n)
    F, grad = exact_multilinear(f, x)
    v, se = mo.multilinear_value(f, x, samples=1500, seed=1, return_stderr=True)
    assert abs(v - F) <= Z * se + 1e-9
    g, ses = mo.multilinear_gradient(f, x, samples=400, seed=2, return_stderr=True)
    assert np.all(np.abs(g - grad) <= Z * ses + 1e-9)
    # more samples, smaller error bars; same seed, same estimate
    _, se_small = mo.multilinear_value(f, x, samples=150, seed=1, return_stderr=True)
    assert se < se_small or se == 0.0
    assert mo.multilinear_value(f, x, samples=50, seed=9) == \
        mo.multilinear_value(f, x, samples=50, seed=9)


def test_no_closed_form_defaults_to_sampling_and_custom_hooks_are_used():
    f = mo.Utility.from_callable(lambda S: min(len(S), 2), 3, monotone=True, submodular=True)
    assert not mo.has_closed_form(f)
    F, _ = exact_multilinear(f, np.full(3, 0.5))
    v, se = mo.multilinear_value(f, [0.5, 0.5, 0.5], seed=0, return_stderr=True)
    assert se > 0 and abs(v - F) <= Z * se

    class Linear(mo.Utility):   # a utility that brings its own closed form
        def __init__(self):
            super().__init__(2, monotone=True, submodular=True)

        def _init_data(self):
            return 0.0

        def _gains(self, state, candidates):
            return torch.ones(candidates.numel(), dtype=torch.float64)

        def _add_data(self, state, j):
            return state.data + 1.0

        def _value(self, state):
            return state.data

        def multilinear(self, x):
            return float(x.sum())

        def multilinear_grad(self, x):
            return torch.ones_like(x)

    h = Linear()
    assert mo.has_closed_form(h)
    assert mo.multilinear_value(h, [0.25, 0.5]) == 0.75
    assert mo.multilinear_gradient(h, [0.25, 0.5]).tolist() == [1.0, 1.0]
    assert mo.continuous_greedy(h, 1, steps=3).info["gradient"] == "closed form"


def test_torch_utility_gives_torch_gradient():
    K = torch.rand(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f = mo.FacilityLocation(K)
    g = mo.multilinear_gradient(f, torch.full((5,), 0.3, dtype=torch.float64))
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
    np.testing.assert_allclose(g.numpy(), mo.multilinear_gradient(mo.FacilityLocation(
        K.numpy()), np.full(5, 0.3)), atol=1e-12)


# --------------------------------------------------------------------------- rounding
def random_bases(rng, m, k):
    return [m.max_weight_basis(rng.normal(size=m.n)).tolist() for _ in range(k)]


@settings(max_examples=30)
@given(m=matroids(max_n=7), seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5))
def test_swap_rounding_returns_a_basis(m, seed, k):
    rng = np.random.default_rng(seed)
    bases = random_bases(rng, m, k)
    w = rng.random(k) + 0.01
    S = mo.swap_rounding(m, bases, w / w.sum(), seed=seed)
    assert m.is_basis(S.tolist())
    assert len(set(S.tolist())) == len(S)
    # strong exchange property of the helper it uses
    B1, B2 = bases[0], bases[-1]
    for x in sorted(set(B1) - set(B2)):
        y = m.strong_exchange(B1, B2, x)
        assert y in set(B2) - set(B1)
        assert m.is_basis([e for e in B1 if e != x] + [y])
        assert m.is_basis([e for e in B2 if e != y] + [x])


@settings(max_examples=30)
@given(m=matroids(max_n=8, kinds=["uniform", "partition", "laminar"]),
       seed=st.integers(0, 2**32 - 1), k=st.integers(1, 4))
def test_pipage_rounding_is_always_independent(m, seed, k):
    rng = np.random.default_rng(seed)
    # a point of P(M): a convex combination of independent sets (not only bases)
    sets = [m.max_weight_independent(rng.normal(size=m.n)) for _ in range(k)]
    w = rng.random(k) + 0.01
    w /= w.sum()
    x = np.zeros(m.n)
    for S, c in zip(sets, w):
        x[S] += c
    x = np.clip(x, 0.0, 1.0)
    S = mo.pipage_rounding(m, x, seed=seed)
    assert m.is_independent(S.tolist())
    # integral coordinates are kept as they are
    assert set(np.flatnonzero(x >= 1.0)) <= set(S.tolist())
    assert not set(np.flatnonzero(x <= 0.0)) & set(S.tolist())


ROUNDING_CASES = {
    "partition": mo.PartitionMatroid([0, 0, 0, 1, 1, 2, 2], [2, 1, 1]),
    "laminar": LaminarMatroid(7, [[0, 1], [2, 3], [0, 1, 2, 3, 4], list(range(7))],
                              [1, 1, 2, 3]),
}


@pytest.mark.parametrize("kind", sorted(ROUNDING_CASES))
@pytest.mark.parametrize("method", ["swap", "pipage"])
def test_rounding_keeps_marginals_and_value_in_expectation(kind, method):
    m = ROUNDING_CASES[kind]
    rng = np.random.default_rng(5)
    f = mo.FacilityLocation(rng.random((6, 7)) ** 3)
    bases = random_bases(rng, m, 4)
    w = np.array([0.1, 0.2, 0.3, 0.4])
    x = sum(c * np.isin(np.arange(7), B) for B, c in zip(bases, w))
    F = mo.multilinear_value(f, x)
    N = 600
    gen = np.random.default_rng(11)
    draws = [mo.swap_rounding(m, bases, w, seed=gen) if method == "swap"
             else mo.pipage_rounding(m, x, seed=gen) for _ in range(N)]
    assert all(m.is_independent(S.tolist()) for S in draws)
    vals = np.array([f.evaluate(S.tolist()) for S in draws])
    se = vals.std(ddof=1) / math.sqrt(N)
    assert vals.mean() >= F - Z * se - 1e-12
    freq = np.mean([np.isin(np.arange(7), S) for S in draws], axis=0)
    assert np.all(np.abs(freq - x) <= Z * np.sqrt(x * (1 - x) / N) + 1e-12)


# --------------------------------------------------------------------------- continuous greedy
@pytest.mark.parametrize("rounding", ["swap", "pipage"])
@pytest.mark.parametrize("eps", [0.1, 1e-3])
def test_beats_greedy_on_greedy_bad_instance(rounding, eps):
    f, m = greedy_bad_partition_instance(eps)
    opt = brute_force_maximum(f, m).value
    greedy_value = mo.greedy(f, m).value
    runs = [mo.continuous_greedy(f, m, steps=40, rounding=rounding, seed=s) for s in range(40)]
    vals = np.array([r.value for r in runs])
    assert vals.mean() >= (E_RATIO - 0.02) * opt
    assert vals.mean() > greedy_value
    # the fractional point: c always; a only while x_c is small (its edge over c is eps),
    # then b; F(x) = (1 + eps·x_a) + x_b for the two clients
    r = runs[0]
    xa, xb, xc = r.info["x"]
    assert xc == 1.0 and xa + xb == pytest.approx(1.0) and 0 < xa <= 2 * eps + 1 / 40
    assert r.info["fractional_value"] == pytest.approx(1.0 + eps * xa + xb)
    assert all(rr.upper_bound >= opt - 1e-12 for rr in runs)
    assert r.guarantee == pytest.approx(cg_ratio(40, m.rank())) and r.expected


def cg_ratio(steps, rank):
    """The finite-T guarantee of continuous greedy with exact weights."""
    return max(0.0, 1 - (1 - 1 / steps) ** steps - rank * (rank - 1) / (2 * steps))


def test_reported_guarantee_accounts_for_the_step_count():
    # two items worth 1.01 covering one concept, two worth 1 covering one each; k = 2
    f = mo.WeightedCoverage([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
                            weights=[1.01, 1.0, 1.0])
    m = mo.UniformMatroid(4, 2)
    opt = brute_force_maximum(f, m).value
    one = mo.continuous_greedy(f, m, steps=1, seed=0)
    assert one.value / opt < E_RATIO                 # one step is far from 1 - 1/e ...
    assert one.value >= one.guarantee * opt - 1e-12  # ... and the reported bound says so
    assert one.guarantee == pytest.approx(cg_ratio(1, 2))
    many = mo.continuous_greedy(f, m, steps=200, seed=0)
    assert many.guarantee == pytest.approx(cg_ratio(200, 2)) and many.guarantee > 0.62
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no assumption warning when sampled
        sampled = mo.continuous_greedy(f, m, steps=5, samples=5, seed=0)
    assert sampled.guarantee is None


def check_solve(res, f, m, opt):
    idx = np.asarray(res.indices).tolist()
    assert len(set(idx)) == len(idx) and m.is_independent(idx)
    assert res.value == pytest.approx(f.evaluate(idx), rel=1e-9, abs=1e-9)
    if res.upper_bound is not None:
        assert res.upper_bound >= opt - 1e-9 * max(1.0, abs(opt))


@settings(max_examples=30)
@given(data=st.data())
def test_meets_guarantee_in_mean_against_brute_force(data):
    m = data.draw(matroids(max_n=8, kinds=["uniform", "partition", "laminar", "graphic",
                                           "transversal", "linear", "truncation"]),
                  label="matroid")
    assume(m.n >= 2)
    f = data.draw(utilities(m.n, families=["modular", "facility_location", "weighted_coverage"],
                            monotone=True, submodular=True), label="utility")
    rounding = data.draw(st.sampled_from(["swap", "pipage"] if mo.pipage_supported(m)
                                         else ["swap"]), label="rounding")
    opt = brute_force_maximum(f, m).value
    runs = [mo.continuous_greedy(f, m, steps=30, rounding=rounding, seed=s) for s in range(8)]
    for r in runs:
        check_solve(r, f, m, opt)
        assert r.guarantee == pytest.approx(cg_ratio(30, m.rank())) and r.expected
    vals = np.array([r.value for r in runs])
    margin = Z * vals.std(ddof=1) / math.sqrt(len(vals))
    assert vals.mean() >= E_RATIO * opt - margin - 1e-9 * max(1.0, opt)


@pytest.mark.parametrize("family", ["feature_based", "probabilistic_coverage"])
def test_sampled_gradient_mode_meets_guarantee(family):
    gen = np.random.default_rng(4)
    f = _BUILDERS[family](gen, 6, (True, True))
    m = mo.PartitionMatroid([0, 0, 1, 1, 2, 2], [1, 1, 1])
    opt = brute_force_maximum(f, m).value
    runs = [mo.continuous_greedy(f, m, steps=10, samples=10, seed=s) for s in range(8)]
    assert runs[0].info["gradient"] == "sampled" and runs[0].info["samples"] == 10
    assert runs[0].oracle_calls > 10 * 10  # T·samples gains calls of the elements outside R
    for r in runs:
        check_solve(r, f, m, opt)
    vals = np.array([r.value for r in runs])
    margin = Z * vals.std(ddof=1) / math.sqrt(len(vals))
    assert vals.mean() >= E_RATIO * opt - margin - 1e-9


def test_same_seed_same_result_and_dispatch():
    rng = np.random.default_rng(0)
    f = mo.FacilityLocation.from_features(rng.normal(size=(30, 3)), metric="rbf")
    m = mo.PartitionMatroid(np.arange(30) % 3, [2, 1, 2])
    for rounding in ("swap", "pipage"):
        a = mo.continuous_greedy(f, m, steps=20, rounding=rounding, seed=7)
        b = mo.maximize(f, m, solver="continuous_greedy", steps=20, rounding=rounding, seed=7)
        assert a.indices.tolist() == b.indices.tolist() and a.value == b.value
        assert b.solver == "continuous_greedy" and len(b.indices) == 5
    s = mo.continuous_greedy(f, m, steps=10, samples=5, seed=3)
    t = mo.continuous_greedy(f, m, steps=10, samples=5, seed=3)
    assert s.indices.tolist() == t.indices.tolist()
    np.testing.assert_array_equal(s.info["x"], t.info["x"])
    # an int constraint is a uniform matroid; the gains follow the returned order
    r = mo.maximize(f, 4, solver="continuous_greedy", steps=10, rounding="pipage", seed=0)
    assert len(r.indices) == 4 and r.gains.shape == (4,)
    assert r.value == pytest.approx(f.evaluate(r.indices.tolist()))
    assert r.value == pytest.approx(r.gains.sum())
    assert "continuous_greedy" in mo.SOLVERS
    assert any(row[0] == "continuous_greedy" for row in mo.GUARANTEES)


def test_torch_input_gives_torch_indices():
    X = torch.randn(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    r = mo.continuous_greedy(f, 3, steps=10, seed=0)
    assert isinstance(r.indices, torch.Tensor) and r.indices.numel() == 3
    g = mo.FacilityLocation.from_features(X.numpy(), metric="rbf")
    assert mo.continuous_greedy(g, 3, steps=10, seed=0).indices.tolist() == r.indices.tolist()


def test_no_guarantee_and_warning_outside_assumptions():
    f = mo.Modular([2.0, -1.0, 0.5, -3.0])
    with pytest.warns(AssumptionWarning, match="continuous_greedy"):
        r = mo.continuous_greedy(f, 2, steps=5, seed=0)
    assert r.guarantee is None and r.upper_bound is None
    assert mo.UniformMatroid(4, 2).is_independent(r.indices.tolist())
    r = mo.continuous_greedy(mo.Modular([1.0, 5.0]), 1, steps=3, certificate=False)
    assert r.upper_bound is None and r.indices.tolist() == [1]


def test_empty_and_trivial_instances():
    r = mo.continuous_greedy(mo.Modular([1.0, 2.0]), 0, steps=3, seed=0)
    assert r.indices.tolist() == [] and r.value == 0.0
    r = mo.continuous_greedy(mo.Modular([1.0, 2.0, 3.0]), 5, steps=2, seed=0)
    assert sorted(r.indices.tolist()) == [0, 1, 2] and r.value == 6.0
    r = quiet(mo.continuous_greedy, mo.Modular(np.zeros(0)), 1, steps=2)
    assert r.indices.tolist() == []


def test_progress_bar_runs(capsys):
    mo.continuous_greedy(mo.Modular([1.0, 2.0, 3.0]), 2, steps=4, progress=True)
    assert "continuous_greedy" in capsys.readouterr().err


# --------------------------------------------------------------------------- threshold variant
@settings(max_examples=15)
@given(data=st.data())
def test_threshold_variant_meets_guarantee_in_mean(data):
    m = data.draw(matroids(max_n=8, kinds=["uniform", "partition", "laminar", "graphic",
                                           "linear"]), label="matroid")
    assume(m.n >= 2)
    f = data.draw(utilities(m.n, families=["modular", "facility_location", "weighted_coverage"],
                            monotone=True, submodular=True), label="utility")
    eps = data.draw(st.sampled_from([0.1, 0.25]), label="epsilon")
    opt = brute_force_maximum(f, m).value
    runs = [mo.continuous_greedy(f, m, variant="threshold", epsilon=eps, seed=s)
            for s in range(6)]
    for r in runs:
        check_solve(r, f, m, opt)
        assert r.guarantee == pytest.approx(E_RATIO - eps) and r.expected
        assert r.info["variant"] == "threshold" and r.info["steps"] == math.ceil(1 / eps)
    vals = np.array([r.value for r in runs])
    margin = Z * vals.std(ddof=1) / math.sqrt(len(vals))
    assert vals.mean() >= (E_RATIO - eps) * opt - margin - 1e-9 * max(1.0, opt)


def test_threshold_variant_sampled_meets_guarantee_and_uses_fewer_calls():
    gen = np.random.default_rng(4)
    f = _BUILDERS["feature_based"](gen, 6, (True, True))
    m = mo.PartitionMatroid([0, 0, 1, 1, 2, 2], [1, 1, 1])
    opt = brute_force_maximum(f, m).value
    runs = [mo.continuous_greedy(f, m, variant="threshold", epsilon=0.2, samples=10, seed=s)
            for s in range(8)]
    vals = np.array([r.value for r in runs])
    margin = Z * vals.std(ddof=1) / math.sqrt(len(vals))
    assert vals.mean() >= (E_RATIO - 0.2) * opt - margin - 1e-9
    # a moderate instance: 150 elements, rank 6
    n = 150
    g = _BUILDERS["feature_based"](np.random.default_rng(1), n, (True, True))
    pm = mo.PartitionMatroid(np.arange(n) % 3, [2, 2, 2])
    std = mo.continuous_greedy(g, pm, steps=20, samples=10, seed=0)
    thr = mo.continuous_greedy(g, pm, variant="threshold", epsilon=0.2, samples=10, seed=0)
    assert thr.info["gradient"] == "sampled" and thr.info["samples"] == 10
    assert thr.oracle_calls < std.oracle_calls / 2
    assert thr.value >= 0.9 * std.value
    # closed form, small rank: fewer gradients than T = 100 steps
    h = mo.FacilityLocation.from_features(np.random.default_rng(2).normal(size=(n, 3)),
                                          metric="rbf")
    std = mo.continuous_greedy(h, pm, seed=0)
    thr = mo.continuous_greedy(h, pm, variant="threshold", epsilon=0.2, seed=0)
    assert thr.oracle_calls < std.oracle_calls and thr.value >= 0.95 * std.value


def test_threshold_variant_details():
    f, m = greedy_bad_partition_instance(0.1)
    for rounding in ("swap", "pipage"):
        a = mo.continuous_greedy(f, m, variant="threshold", epsilon=0.05, rounding=rounding,
                                 seed=3)
        b = mo.maximize(f, m, solver="continuous_greedy", variant="threshold", epsilon=0.05,
                        rounding=rounding, seed=3)
        assert a.indices.tolist() == b.indices.tolist()
        np.testing.assert_array_equal(a.info["x"], b.info["x"])
        assert a.info["x"][2] == 1.0 and a.info["x"][1] >= 0.8 and a.upper_bound >= 2.0 - 1e-12
        assert a.info["x"].sum() == pytest.approx(2.0)      # bases: extended to full rank
    assert mo.guarantee("continuous_greedy", f, m, variant="threshold", epsilon=0.3) == \
        (pytest.approx(E_RATIO - 0.3), True)
    r = mo.continuous_greedy(mo.Modular([0.0, 0.0, 0.0]), 2, variant="threshold", seed=0)
    assert len(r.indices) == 2 and r.info["epsilon"] == 0.1       # d = 0: extension only
    r = mo.continuous_greedy(mo.Modular(np.zeros(0)), 1, variant="threshold")
    assert r.indices.tolist() == []
    assert mo.continuous_greedy(f, m, steps=5).info["variant"] == "standard"


# --------------------------------------------------------------------------- blocked closed form
def _fl_reference(K, x):
    """The facility-location multilinear extension with the per-candidate backward recursion,
    one client at a time (the unblocked formula)."""
    value, grad = 0.0, np.zeros(K.shape[1])
    for row in np.clip(K, 0.0, None):
        idx = np.argsort(-row, kind="stable")
        s, xs = row[idx], x[idx]
        P = np.concatenate([[1.0], np.cumprod(1.0 - xs)[:-1]])
        value += float((s * xs * P).sum())
        T, U = np.zeros_like(s), 0.0
        for k in range(s.size - 1, -1, -1):
            T[k] = U
            U = xs[k] * s[k] + (1.0 - xs[k]) * U
        grad[idx] += P * (s - T)
    return value, grad


@pytest.mark.parametrize("mode", ["dense", "sparse", "features", "rect"])
def test_facility_location_blocks_equal_unblocked(mode, monkeypatch):
    from matroidopt.utility import _multilinear_forms

    rng = np.random.default_rng(7)
    n = 40
    X = rng.normal(size=(n, 3))
    if mode == "features":
        f = mo.FacilityLocation.from_features(X, metric="rbf")
        K = f.kernel_block(np.arange(n)).T.numpy()
    else:
        K = rng.normal(size=(n if mode != "rect" else 23, n))
        K[:, 5] = K[:, 6]                                     # ties
        if mode == "sparse":
            K[rng.random(K.shape) < 0.6] = 0.0
            f = mo.FacilityLocation(sp.csr_matrix(K))
        else:
            f = mo.FacilityLocation(K)
    x = rng.random(n)
    x[[3, 11, 12]] = 1.0                                      # several x_j = 1
    x[[4, 20]] = 0.0
    x[7] = 1.0 - 1e-13
    v_ref, g_ref = _fl_reference(K, x)
    monkeypatch.setattr(_multilinear_forms, "_BLOCK_ENTRIES", 1 << 30)   # one block
    v1, g1 = mo.multilinear_value(f, x), mo.multilinear_gradient(f, x)
    monkeypatch.setattr(_multilinear_forms, "_BLOCK_ENTRIES", 3 * n + 1)  # blocks of 3 clients
    v3, g3 = mo.multilinear_value(f, x), mo.multilinear_gradient(f, x)
    monkeypatch.setattr(_multilinear_forms, "_BLOCK_ENTRIES", 1)          # one client per block
    v0, g0 = mo.multilinear_value(f, x), mo.multilinear_gradient(f, x)
    for v, g in ((v1, g1), (v3, g3), (v0, g0)):
        assert v == pytest.approx(v_ref, rel=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g3, g1, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- bad input
def _graph_matroid():
    G = nx.MultiGraph()
    G.add_edges_from([(0, 1), (1, 2), (0, 2)])
    return mo.GraphicMatroid(G)


F3 = mo.Modular([1.0, 2.0, 3.0])
P3 = mo.PartitionMatroid([0, 0, 1], [1, 1])


@pytest.mark.parametrize("call, arg", [
    (lambda: mo.continuous_greedy(F3, 2, steps=0), "steps"),
    (lambda: mo.continuous_greedy(F3, 2, steps=2.5), "steps"),
    (lambda: mo.continuous_greedy(F3, 2, samples=0), "samples"),
    (lambda: mo.continuous_greedy(F3, 2, rounding="nearest"), "rounding"),
    (lambda: mo.continuous_greedy(F3, _graph_matroid(), rounding="pipage"), "rounding"),
    (lambda: mo.continuous_greedy(F3, mo.Knapsack([1.0, 1.0, 1.0], 2.0)), "constraint"),
    (lambda: mo.continuous_greedy(F3, mo.Intersection(P3, mo.UniformMatroid(3, 1))),
     "constraint"),
    (lambda: mo.continuous_greedy(F3, mo.UniformMatroid(4, 2)), "constraint"),
    (lambda: mo.continuous_greedy(lambda S: len(S), 2), "utility"),
    (lambda: mo.continuous_greedy(F3, 2, seed=-1), "seed"),
    (lambda: mo.continuous_greedy(F3, 2, variant="fast"), "variant"),
    (lambda: mo.continuous_greedy(F3, 2, variant="threshold", steps=10), "steps"),
    (lambda: mo.continuous_greedy(F3, 2, variant="threshold", epsilon=0.0), "epsilon"),
    (lambda: mo.continuous_greedy(F3, 2, variant="threshold", epsilon=1.0), "epsilon"),
    (lambda: mo.continuous_greedy(F3, 2, variant="threshold", epsilon="a"), "epsilon"),
    (lambda: mo.continuous_greedy(F3, 2, epsilon=0.1), "epsilon"),
    (lambda: mo.continuous_greedy(F3, mo.Knapsack([1.0, 1.0, 1.0], 2.0),
                                  variant="threshold"), "constraint"),
    (lambda: mo.multilinear_value(F3, [0.5, 1.5, 0.0]), "x"),
    (lambda: mo.multilinear_gradient(F3, [0.5, -0.1, 0.0]), "x"),
    (lambda: mo.multilinear_gradient(F3, [0.5, 0.5]), "x"),
    (lambda: mo.multilinear_value(F3, [0.5, np.nan, 0.0]), "x"),
    (lambda: mo.multilinear_value(F3, [[0.5, 0.5, 0.5]]), "x"),
    (lambda: mo.multilinear_value(F3, [0.5, 0.5, 0.5], samples=0), "samples"),
    (lambda: mo.multilinear_value(lambda S: 1.0, [0.5]), "f"),
    (lambda: mo.swap_rounding(P3, [[0]]), "bases[0]"),
    (lambda: mo.swap_rounding(P3, []), "bases"),
    (lambda: mo.swap_rounding(P3, [[0, 2], [1, 2]], [0.5, 0.6]), "weights"),
    (lambda: mo.swap_rounding(P3, [[0, 2], [1, 2]], [0.5]), "weights"),
    (lambda: mo.swap_rounding(P3, [[0, 2], [1, 2]], [1.5, -0.5]), "weights"),
    (lambda: mo.swap_rounding("not a matroid", [[0, 2]]), "matroid"),
    (lambda: mo.pipage_rounding(P3, [0.7, 0.7, 0.0]), "x"),
    (lambda: mo.pipage_rounding(P3, [0.5, 0.5]), "x"),
    (lambda: mo.pipage_rounding(P3, [0.5, 0.5, 2.0]), "x"),
    (lambda: mo.pipage_rounding(_graph_matroid(), [0.5, 0.5, 0.5]), "matroid"),
    (lambda: P3.strong_exchange([0, 2], [1, 2], 2), "x"),
    (lambda: P3.strong_exchange([0, 1], [1, 2], 0), "B1"),
])
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(InvalidInputError, match=rf"^{re.escape(arg)}:"):
        call()


def test_an_intersection_of_one_matroid_is_that_matroid():
    f = mo.Modular([1.0, 2.0, 3.0, 4.0])
    m = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
    for rounding in ("swap", "pipage"):
        res = mo.continuous_greedy(f, mo.Intersection(m), steps=5, seed=0, rounding=rounding)
        bare = mo.continuous_greedy(f, m, steps=5, seed=0, rounding=rounding)
        assert res.indices.tolist() == bare.indices.tolist()
        assert m.is_independent(res.indices) and res.guarantee == bare.guarantee
    with pytest.raises(InvalidInputError, match=r"^constraint:"):
        mo.continuous_greedy(f, mo.Intersection(m, mo.UniformMatroid(4, 1)), steps=5)
