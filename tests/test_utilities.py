"""Utility families and combinators: properties, oracle consistency, backends, bad input.

Property tests draw random instances from :func:`matroidopt.testing.utilities.utilities` and
check what each instance declares (diminishing returns, monotonicity, normalization,
non-negativity) against brute force, and the incremental oracle against ``evaluate``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from matroidopt.errors import InvalidInputError
from matroidopt.testing.utilities import (
    check_oracle,
    check_submodular,
    utilities,
    utility_families,
)
from matroidopt.utility import coverage, feature_based, saturated_coverage
from matroidopt.utility.base import Utility
from matroidopt.utility.combinators import (
    ConditionedUtility,
    RestrictedUtility,
    TruncatedUtility,
    WeightedSum,
)
from matroidopt.utility.coverage import SetCover, WeightedCoverage
from matroidopt.utility.feature_based import FeatureBased
from matroidopt.utility.graph_cut import GraphCut
from matroidopt.utility.log_determinant import LogDeterminant
from matroidopt.utility.modular import Modular
from matroidopt.utility.probabilistic_coverage import ProbabilisticCoverage
from matroidopt.utility.saturated_coverage import SaturatedCoverage

# ----------------------------------------------------------------------------- fixtures


def _rbf(X):
    return np.exp(-((X[:, None] - X[None]) ** 2).sum(-1) / X.shape[1])


def _all_subsets(n):
    return [[i for i in range(n) if mask >> i & 1] for mask in range(1 << n)]


RNG = np.random.default_rng(7)
N = 7
X = RNG.normal(size=(N, 3))
KERNEL = _rbf(X)
INCIDENCE = RNG.random((N, 9)) < 0.4
CONCEPT_W = RNG.uniform(0.5, 2.0, 9)
PROBS = RNG.random((N, 9)) * (RNG.random((N, 9)) < 0.7)
FEATURES = RNG.uniform(0.0, 2.0, (N, 5)) * (RNG.random((N, 5)) < 0.7)
PSD = X @ X.T / 3 + 0.05 * np.eye(N)

# family -> constructor from its main matrix (converted per backend by the test)
FACTORIES = {
    "weighted_coverage": (INCIDENCE, lambda A: WeightedCoverage(A, CONCEPT_W)),
    "probabilistic_coverage": (PROBS, lambda A: ProbabilisticCoverage(A, CONCEPT_W)),
    "graph_cut": (KERNEL, lambda A: GraphCut(A, lam=0.7)),
    "log_determinant": (PSD, lambda A: LogDeterminant(A, scale=1.5)),
    "feature_based": (FEATURES, lambda A: FeatureBased(A, concave="log")),
    "saturated_coverage": (KERNEL[:5], lambda A: SaturatedCoverage(A, alpha=0.3)),
}

BACKENDS = {
    "numpy": lambda A: A,
    "scipy": lambda A: sp.csr_matrix(A),
    "torch": lambda A: torch.from_numpy(np.asarray(A, dtype=np.float64)),
}

SETS = [[], [0], [2, 5], [1, 3, 4, 6], list(range(N))]


# ----------------------------------------------------------------------------- properties


def _check_monotone(f):
    """``f(S + j) >= f(S)`` for every ``S`` and ``j``, exhaustively."""
    vals = np.array([f.evaluate(S) for S in _all_subsets(f.n)])
    for mask in range(1 << f.n):
        for j in range(f.n):
            if not mask >> j & 1:
                assert vals[mask | 1 << j] >= vals[mask] - 1e-9 * max(1.0, abs(vals[mask])), \
                    f"not monotone at mask {mask}, element {j}"


@pytest.mark.parametrize("family", utility_families())
@given(data=st.data())
def test_declared_properties_hold(family, data):
    f = data.draw(utilities(st.integers(1, 6), families=[family]), label="f")
    assert isinstance(f, Utility)
    vals = np.array([f.evaluate(S) for S in _all_subsets(f.n)])
    if f.submodular:
        check_submodular(f)  # checks monotonicity too when declared
    elif f.monotone:  # mutual information, disparity-sum: monotone, not declared submodular
        assert family in ("mutual_information", "disparity_sum")
        _check_monotone(f)
    check_oracle(f, trials=3)
    if f.normalized:
        assert vals[0] == 0.0
    if f.nonnegative:
        assert vals.min() >= -1e-9 * max(1.0, np.abs(vals).max())
    assert np.abs(vals).max() < 1e3  # well-conditioned, O(1..100) values


@given(f=utilities(5, monotone=True))
def test_monotone_filter_keeps_only_monotone(f):
    assert f.monotone
    if f.submodular:
        check_submodular(f, monotone=True)
    else:
        _check_monotone(f)


@given(f=utilities(5, monotone=False))
def test_non_monotone_filter_draws_non_monotone(f):
    assert not f.monotone


@given(f=utilities(4, submodular=False))
def test_non_submodular_filter(f):
    assert not f.submodular


def test_utility_families_lists_every_family():
    assert set(utility_families()) == {
        "modular", "facility_location", "weighted_coverage", "probabilistic_coverage",
        "graph_cut", "log_determinant", "feature_based", "saturated_coverage",
        "sum_redundancy", "information", "disparity_sum", "disparity_min", "weighted_sum",
        "truncated", "conditioned",
        "restricted", "mutual_information", "clustered"}


# ----------------------------------------------------------------------------- backends


@pytest.mark.parametrize("family", sorted(FACTORIES))
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_backends_give_the_same_values(family, backend):
    A, make = FACTORIES[family]
    ref = make(A)
    f = make(BACKENDS[backend](A))
    assert f.n == ref.n and f.dtype == torch.float64
    assert f.torch_input == (backend == "torch")
    for S in SETS:
        assert f.evaluate(S) == pytest.approx(ref.evaluate(S), rel=1e-12, abs=1e-12)
    state = f.add(f.add(f.init_state(), 1), 4)
    ref_state = ref.add(ref.add(ref.init_state(), 1), 4)
    torch.testing.assert_close(f.gains(state), ref.gains(ref_state), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", sorted(FACTORIES))
def test_float32_input_stays_float32(family):
    A, make = FACTORIES[family]
    ref = make(A)
    f = make(torch.as_tensor(np.asarray(A, dtype=np.float32)))
    assert f.dtype == torch.float32
    state = f.add(f.init_state(), 2)
    gains = f.gains(state)
    assert gains.dtype == torch.float32
    torch.testing.assert_close(gains.double(), ref.gains(ref.add(ref.init_state(), 2)),
                               rtol=1e-4, atol=1e-4)
    assert f.evaluate([0, 3, 6]) == pytest.approx(ref.evaluate([0, 3, 6]), rel=1e-5)
    check_oracle(f, trials=3, tol=1e-5)


def test_sparse_coverage_stays_sparse_and_matches_dense():
    f = WeightedCoverage(sp.csr_matrix(INCIDENCE), CONCEPT_W)
    g = WeightedCoverage(INCIDENCE, CONCEPT_W)
    assert f._sparse and not g._sparse
    check_oracle(f, trials=5)
    s_f, s_g = f.init_state(), g.init_state()
    for j in (3, 0, 5):
        torch.testing.assert_close(f.gains(s_f), g.gains(s_g))
        s_f, s_g = f.add(s_f, j), g.add(s_g, j)
    assert f.value(s_f) == pytest.approx(g.value(s_g))


@pytest.mark.parametrize("module, make", [
    (coverage, lambda: WeightedCoverage(INCIDENCE, CONCEPT_W)),
    (coverage, lambda: ProbabilisticCoverage(PROBS, CONCEPT_W)),
    (feature_based, lambda: FeatureBased(FEATURES, concave="sqrt")),
    (saturated_coverage, lambda: SaturatedCoverage(KERNEL, alpha=0.2)),
])
def test_chunked_gains_match_one_block(module, make, monkeypatch):
    f = make()
    state = f.add(f.init_state(), 1)
    whole = f.gains(state)
    monkeypatch.setattr(module, "_BLOCK_ELEMENTS", 10)  # a block of 1 or 2 candidates
    g = make()
    state = g.add(g.init_state(), 1)  # states belong to the utility that made them
    torch.testing.assert_close(g.gains(state), whole, rtol=1e-12, atol=1e-12)
    for c in range(N):  # one candidate: the gathered (not whole-matrix) path
        torch.testing.assert_close(g.gains(state, [c]), whole[[c]], rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("family", sorted(FACTORIES))
def test_cuda_matches_cpu(family):
    A, make = FACTORIES[family]
    ref = make(A)
    f = make(torch.as_tensor(np.asarray(A, dtype=np.float64), device="cuda"))
    assert f.device.type == "cuda"
    state = f.add(f.add(f.init_state(), 1), 4)
    assert f.gains(state).device.type == "cuda"
    for S in SETS:
        assert f.evaluate(S) == pytest.approx(ref.evaluate(S), rel=1e-9, abs=1e-9)
    check_oracle(f, trials=3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_sparse_coverage_and_combinators():
    cov = WeightedCoverage(sp.csr_matrix(INCIDENCE), CONCEPT_W, device="cuda")
    phi = FeatureBased(FEATURES, concave=torch.sqrt, device="cuda")
    cut = GraphCut(KERNEL, lam=1.0, device="cuda")
    ld = LogDeterminant(PSD, device="cuda")
    assert cov.device.type == "cuda" and cov.weights.device.type == "cuda"
    for f in (cov, phi, WeightedSum([cov, phi, cut], [1.0, 0.5, 0.2]), cov.truncate(3.0),
              ld.condition([1, 4]), ld.restrict([6, 0, 2]), cut.restrict([5, 1, 3])):
        assert f.device.type == "cuda" and f.gains(f.init_state()).device.type == "cuda"
        check_oracle(f, trials=3)
        if f.submodular:
            check_submodular(f)
    assert cov.evaluate([0, 3]) == pytest.approx(WeightedCoverage(INCIDENCE, CONCEPT_W)([0, 3]))


# ----------------------------------------------------------------------------- known values


def test_facility_location_reads_a_rounding_symmetric_kernel_as_its_own_transpose():
    from matroidopt.utility.facility_location import FacilityLocation

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    exact = np.exp(-np.linalg.norm(X[:, None] - X[None], axis=-1) / 5)
    exact = (exact + exact.T) / 2
    noisy = exact * (1 + 2 * np.finfo(float).eps * rng.choice([-1, 0, 1], size=exact.shape))
    assert not np.array_equal(noisy, noisy.T)
    K = torch.from_numpy(noisy)
    f = FacilityLocation(K)
    assert f._kernel.Kt.data_ptr() == K.data_ptr()  # no transposed copy
    S = rng.choice(300, size=12, replace=False).tolist()
    strict = np.maximum(noisy[:, S].max(1), 0).sum()
    assert f.evaluate(S) == pytest.approx(strict, rel=1e-13)
    # an asymmetric kernel (beyond rounding) is transposed and read strictly
    skew = noisy.copy()
    skew[0, 1] += 1e-6
    g = FacilityLocation(torch.from_numpy(skew))
    assert g._kernel.Kt.data_ptr() != K.data_ptr()
    assert g.evaluate([1]) == pytest.approx(np.maximum(skew[:, 1], 0).sum(), rel=1e-15)


def test_weighted_coverage_values_and_set_cover_alias():
    f = WeightedCoverage([[1, 1, 0], [0, 1, 1], [0, 0, 0]], weights=[1.0, 2.0, 4.0])
    assert [f.evaluate(S) for S in ([], [0], [1], [0, 1], [2])] == [0.0, 3.0, 6.0, 7.0, 0.0]
    assert SetCover is WeightedCoverage
    assert SetCover([[1, 0], [1, 1]]).evaluate([0, 1]) == 2.0  # unit weights count concepts
    assert f.monotone and f.submodular and f.normalized


def test_probabilistic_coverage_values():
    f = ProbabilisticCoverage([[0.5, 0.2], [0.5, 0.0]], weights=[1.0, 2.0])
    assert f.evaluate([0]) == pytest.approx(0.5 + 2 * 0.2)
    assert f.evaluate([0, 1]) == pytest.approx(0.75 + 2 * 0.2)
    # 0-1 probabilities are weighted coverage
    g = WeightedCoverage(INCIDENCE, CONCEPT_W)
    h = ProbabilisticCoverage(INCIDENCE.astype(float), CONCEPT_W)
    assert [h.evaluate(S) for S in SETS] == pytest.approx([g.evaluate(S) for S in SETS])


def test_graph_cut_lam_one_is_the_cut_function():
    W = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    f = GraphCut(W, lam=1.0)
    for S in _all_subsets(3):
        out = [i for i in range(3) if i not in S]
        assert f.evaluate(S) == pytest.approx(W[np.ix_(out, S)].sum())
    assert not f.monotone and f.submodular and f.nonnegative
    check_submodular(f)
    with pytest.raises(AssertionError, match="not monotone"):
        check_submodular(f, monotone=True)


def test_graph_cut_monotonicity_rule():
    assert GraphCut(KERNEL, lam=0.5).monotone
    assert not GraphCut(KERNEL, lam=0.6).monotone
    # a dominant diagonal keeps every gain >= 0 beyond lam = 0.5: declared, and true
    W = np.array([[10.0, 1.0], [1.0, 10.0]])
    f = GraphCut(W, lam=0.8)
    assert f.monotone
    check_submodular(f, monotone=True)
    assert not GraphCut(W, lam=1.5).nonnegative


def test_log_determinant_values_match_slogdet():
    f = LogDeterminant(PSD, scale=1.5)
    for S in SETS[1:]:
        want = np.linalg.slogdet(np.eye(len(S)) + 1.5 * PSD[np.ix_(S, S)])[1]
        assert f.evaluate(S) == pytest.approx(want, rel=1e-10)
    state = f.init_state()
    for j in (4, 0, 6, 2):
        state = f.add(state, j)
    want = np.linalg.slogdet(np.eye(4) + 1.5 * PSD[np.ix_([4, 0, 6, 2], [4, 0, 6, 2])])[1]
    assert f.value(state) == pytest.approx(want, rel=1e-10)
    L = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert LogDeterminant(L, scale=0.5).evaluate([0, 1]) == pytest.approx(math.log(3.75))


def test_log_determinant_rank_deficient_kernel():
    # rank 1: det(I + v_S v_S^T) = 1 + |v_S|^2, so gain_j | {1} = log1p(v_j^2 / (1 + v_1^2))
    v = np.array([1.0, 2.0, 0.5, 1.5])
    f = LogDeterminant(np.outer(v, v))
    state = f.add(f.init_state(), 1)
    gains = f.gains(state).numpy()
    want = np.log1p(v**2 / (1 + v[1] ** 2))
    want[1] = 0.0
    np.testing.assert_allclose(gains, want, rtol=1e-12, atol=1e-15)
    assert f.evaluate([0, 1, 2, 3]) == pytest.approx(math.log1p(v @ v))
    check_oracle(f, trials=5)


def test_feature_based_values():
    F = np.array([[1.0, 0.0], [1.0, 2.0]])
    assert FeatureBased(F, concave="log").evaluate([0, 1]) == pytest.approx(2 * math.log(3))
    assert FeatureBased(F, concave="inverse").evaluate([1]) == pytest.approx(0.5 + 2 / 3)
    assert FeatureBased(F, weights=[2.0, 1.0]).evaluate([0, 1]) == pytest.approx(
        2 * math.sqrt(2) + math.sqrt(2))
    assert FeatureBased(F, concave="power", power=1.0).evaluate([0, 1]) == pytest.approx(4.0)
    # a user callable equal to a built-in gives the same function
    g = FeatureBased(FEATURES, concave=torch.sqrt)
    h = FeatureBased(FEATURES, concave="sqrt")
    assert [g.evaluate(S) for S in SETS] == pytest.approx([h.evaluate(S) for S in SETS])
    check_oracle(g, trials=3)


def test_saturated_coverage_values():
    f = SaturatedCoverage([[1.0, 2.0], [3.0, 0.0]], alpha=0.5)  # caps 1.5, 1.5
    assert [f.evaluate(S) for S in ([0], [1], [0, 1])] == pytest.approx([2.5, 1.5, 3.0])
    # alpha = 1 is the modular column sum
    g = SaturatedCoverage(KERNEL, alpha=1.0)
    m = Modular(KERNEL.sum(0))
    assert [g.evaluate(S) for S in SETS] == pytest.approx([m.evaluate(S) for S in SETS])


# ----------------------------------------------------------------------------- combinators


def _cov():
    return WeightedCoverage(INCIDENCE, CONCEPT_W)


def test_weighted_sum_derived_properties():
    cut = GraphCut(KERNEL, lam=1.0)
    mixed = WeightedSum([_cov(), FeatureBased(FEATURES)], [1.0, 0.5])
    assert mixed.monotone and mixed.submodular and mixed.weak_submodularity == 1.0
    assert [mixed.evaluate(S) for S in SETS] == pytest.approx(
        [_cov().evaluate(S) + 0.5 * FeatureBased(FEATURES).evaluate(S) for S in SETS])
    minus_cost = WeightedSum([_cov(), Modular(np.ones(N))], [1.0, -0.3])
    assert minus_cost.submodular and not minus_cost.monotone
    check_submodular(minus_cost)
    difference = WeightedSum([_cov(), FeatureBased(FEATURES)], [1.0, -1.0])
    assert not difference.submodular and not difference.monotone
    assert difference.weak_submodularity is None and not difference.nonnegative
    assert not WeightedSum([_cov(), cut], [1.0, 1.0]).monotone
    assert WeightedSum([_cov(), cut], [1.0, 0.0]).monotone  # a zero weight drops the part
    assert WeightedSum([Modular(-np.ones(N))], [-2.0]).monotone  # -(-w) >= 0
    weak = Utility.from_callable(lambda S: float(len(S)), N, monotone=True,
                                 weak_submodularity=0.5)
    ws = WeightedSum([_cov(), weak], [1.0, 1.0])
    assert not ws.submodular and ws.monotone and ws.weak_submodularity == 0.5
    assert WeightedSum([_cov(), weak], [1.0, -1.0]).weak_submodularity is None


def test_operators_build_combinators():
    f, g = _cov(), FeatureBased(FEATURES)
    h = GraphCut(KERNEL, lam=0.3)
    total = f + g + h
    assert isinstance(total, WeightedSum) and len(total.utilities) == 3  # flattened
    assert total.evaluate([1, 2]) == pytest.approx(f([1, 2]) + g([1, 2]) + h([1, 2]))
    scaled = 2.5 * f
    assert isinstance(scaled, WeightedSum) and scaled.evaluate([0, 3]) == pytest.approx(
        2.5 * f.evaluate([0, 3]))
    assert (f * -1.0).monotone is False
    assert isinstance(f.truncate(1.0), TruncatedUtility)
    assert isinstance(f.condition([0]), ConditionedUtility)
    assert isinstance(f.restrict([0, 1]), RestrictedUtility)
    check_oracle(total, trials=3)


def test_truncated_utility():
    f = _cov()
    cap = 0.6 * f.evaluate(range(N))
    t = TruncatedUtility(f, cap)
    assert [t.evaluate(S) for S in SETS] == pytest.approx([min(f(S), cap) for S in SETS])
    assert t.monotone and t.submodular
    check_submodular(t)
    check_oracle(t, trials=5)
    cut = TruncatedUtility(GraphCut(KERNEL, lam=1.0), 1.0)
    assert not cut.monotone and not cut.submodular
    assert TruncatedUtility(f, 0.0).evaluate(range(N)) == 0.0


def test_conditioned_utility():
    f = FeatureBased(FEATURES, concave="sqrt")
    A = [2, 5, 2]
    g = ConditionedUtility(f, A)
    assert g.given == (2, 5) and g.normalized and g.monotone and g.submodular
    for S in SETS:
        assert g.evaluate(S) == pytest.approx(f.evaluate(sorted(set(S) | {2, 5}))
                                              - f.evaluate([2, 5]))
    gains = g.gains(g.init_state())
    assert gains[2] == 0.0 and gains[5] == 0.0
    state = g.add(g.init_state(), 5)  # adding a given element changes nothing
    assert g.value(state) == 0.0
    check_oracle(g, trials=5)
    cut = ConditionedUtility(GraphCut(KERNEL, lam=1.0), [0])
    assert not cut.monotone and cut.submodular
    check_submodular(cut)


def test_restricted_utility():
    f = LogDeterminant(PSD)
    elements = [6, 1, 3]
    r = RestrictedUtility(f, elements)
    assert r.n == 3 and r.elements.tolist() == elements
    assert r.monotone and r.submodular and r.normalized
    for S in _all_subsets(3):
        assert r.evaluate(S) == pytest.approx(f.evaluate([elements[i] for i in S]))
    check_oracle(r, trials=5)
    check_submodular(r)
    cut = RestrictedUtility(GraphCut(KERNEL, lam=1.0), elements)
    assert not cut.monotone and cut.submodular and cut.nonnegative


# ----------------------------------------------------------------------------- checkers


def test_check_submodular_catches_supermodular_callable():
    with pytest.raises(AssertionError, match=r"not submodular: S=\[.*\], T=.*j=") as err:
        check_submodular(lambda S: len(S) ** 2, 5)
    assert "f(T+j)" in str(err.value)
    declared = Utility.from_callable(lambda S: len(S) ** 2, 5, monotone=True, submodular=True)
    with pytest.raises(AssertionError, match="not submodular"):
        check_submodular(declared)
    with pytest.raises(AssertionError, match="not submodular: S="):  # sampled path
        check_submodular(lambda S: len(S) ** 2, 12, exhaustive_max_n=10, samples=200)


def test_check_submodular_catches_non_monotone():
    def concave_card(S):
        return len(S) * (5 - len(S))  # submodular, decreasing beyond |S| = 2

    check_submodular(concave_card, 6)
    with pytest.raises(AssertionError, match=r"not monotone: S=\[.*\], j="):
        check_submodular(concave_card, 6, monotone=True)
    with pytest.raises(AssertionError, match="not monotone"):
        check_submodular(concave_card, 12, monotone=True, exhaustive_max_n=4, samples=500)
    declared = Utility.from_callable(concave_card, 6, monotone=True, submodular=True)
    with pytest.raises(AssertionError, match="not monotone"):
        check_submodular(declared)  # the declared monotone is checked by default


def test_check_submodular_passes_true_instances_both_paths():
    check_submodular(lambda S: len({i % 4 for i in S}), 8, monotone=True)
    rng = np.random.default_rng(3)
    f = WeightedCoverage(rng.random((14, 20)) < 0.3)
    check_submodular(f, exhaustive_max_n=10, samples=300)  # 14 > 10: sampled


class _WrongGains(Modular):
    def _gains(self, state, candidates):
        return 2.0 * self.weights[candidates]


class _MutatingState(GraphCut):
    def _add_data(self, state, j):
        return state.data.add_(self.kernel[j])


def test_check_oracle_catches_broken_oracles():
    check_oracle(Modular([1.0, 2.0, 3.0]))
    with pytest.raises(AssertionError, match="gains"):
        check_oracle(_WrongGains([1.0, 2.0, 3.0]))
    with pytest.raises(AssertionError):
        check_oracle(_MutatingState(KERNEL, lam=0.3))


# ----------------------------------------------------------------------------- bad input

BAD_INPUT = [
    (lambda: WeightedCoverage(np.array([[0, 2]])), "incidence"),
    (lambda: WeightedCoverage(np.array([1, 0])), "incidence"),
    (lambda: WeightedCoverage([[np.nan, 1.0]]), "incidence"),
    (lambda: WeightedCoverage(sp.csr_matrix([[0.0, 3.0]])), "incidence"),
    (lambda: WeightedCoverage([[1, 0]], weights=[1.0, -1.0]), "weights"),
    (lambda: WeightedCoverage([[1, 0]], weights=[1.0, 1.0, 1.0]), "weights"),
    (lambda: WeightedCoverage([[1, 0]], weights=[1.0, np.inf]), "weights"),
    (lambda: ProbabilisticCoverage([[1.5, 0.0]]), "probabilities"),
    (lambda: ProbabilisticCoverage([[-0.1, 0.0]]), "probabilities"),
    (lambda: ProbabilisticCoverage([[np.inf, 0.0]]), "probabilities"),
    (lambda: ProbabilisticCoverage([[0.5, 0.0]], weights=[np.nan, 1.0]), "weights"),
    (lambda: GraphCut([[0.0, 1.0], [2.0, 0.0]]), "kernel"),
    (lambda: GraphCut([[0.0, -1.0], [-1.0, 0.0]]), "kernel"),
    (lambda: GraphCut(np.ones((2, 3))), "kernel"),
    (lambda: GraphCut([[0.0, np.nan], [np.nan, 0.0]]), "kernel"),
    (lambda: GraphCut(KERNEL, lam=-0.1), "lam"),
    (lambda: GraphCut(KERNEL, lam=float("nan")), "lam"),
    (lambda: LogDeterminant([[1.0, 0.5], [0.0, 1.0]]), "kernel"),
    (lambda: LogDeterminant([[0.0, 1.0], [1.0, 0.0]]), "kernel"),
    (lambda: LogDeterminant([[1.0, np.inf], [np.inf, 1.0]]), "kernel"),
    (lambda: LogDeterminant(np.ones(3)), "kernel"),
    (lambda: LogDeterminant(PSD, scale=0.0), "scale"),
    (lambda: LogDeterminant(PSD, scale=-1.0), "scale"),
    (lambda: FeatureBased(-FEATURES - 1.0), "features"),
    (lambda: FeatureBased(FEATURES, concave="cubic"), "concave"),
    (lambda: FeatureBased(FEATURES, concave=torch.square), "concave"),
    (lambda: FeatureBased(FEATURES, concave=lambda x: x + 1.0), "concave"),
    (lambda: FeatureBased(FEATURES, concave=lambda x: -x), "concave"),
    (lambda: FeatureBased(FEATURES, concave="power"), "power"),
    (lambda: FeatureBased(FEATURES, concave="power", power=1.5), "power"),
    (lambda: FeatureBased(FEATURES, concave="power", power=0.0), "power"),
    (lambda: FeatureBased(FEATURES, concave="sqrt", power=0.5), "power"),
    (lambda: FeatureBased(FEATURES, weights=np.ones(3)), "weights"),
    (lambda: SaturatedCoverage(KERNEL, alpha=0.0), "alpha"),
    (lambda: SaturatedCoverage(KERNEL, alpha=1.5), "alpha"),
    (lambda: SaturatedCoverage(-KERNEL), "kernel"),
    (lambda: SaturatedCoverage(np.ones(3)), "kernel"),
    (lambda: WeightedSum([_cov(), Modular([1.0, 2.0])], [1.0, 1.0]), "utilities"),
    (lambda: WeightedSum([], []), "utilities"),
    (lambda: WeightedSum([_cov(), "f"], [1.0, 1.0]), "utilities"),
    (lambda: WeightedSum([_cov()], [1.0, 2.0]), "weights"),
    (lambda: WeightedSum([_cov()], [float("nan")]), "weights"),
    (lambda: TruncatedUtility(_cov(), -1.0), "cap"),
    (lambda: TruncatedUtility(lambda S: 0.0, 1.0), "f"),
    (lambda: ConditionedUtility(_cov(), [0, N]), "given"),
    (lambda: RestrictedUtility(_cov(), [0, 0]), "elements"),
    (lambda: RestrictedUtility(_cov(), [-1]), "elements"),
    (lambda: check_submodular(lambda S: 0.0), "n"),
    (lambda: check_submodular(_cov(), N + 1), "n"),
    (lambda: check_oracle(lambda S: 0.0), "f"),
    (lambda: utilities(0), "n"),
    (lambda: utilities(3, families=["nope"]), "families"),
    (lambda: utilities(3, families=["facility_location", "truncated"], monotone=True,
                       submodular=False), "families, monotone, submodular"),
]


@pytest.mark.parametrize("make, name", BAD_INPUT,
                         ids=[f"{i}-{name}" for i, (_, name) in enumerate(BAD_INPUT)])
def test_bad_input_names_the_argument(make, name):
    with pytest.raises(InvalidInputError, match=rf"^{name}(\[\d+\])*:"):
        make()
