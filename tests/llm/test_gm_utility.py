"""Gradient-matching utilities: WeightedGradientMatching (exact QP refit, monotone, guarantee
of residual random greedy on tiny pools) and GreatsUtility (exact gains), plus bad input."""

import itertools
import math

import cvxpy as cp
import numpy as np
import pytest
import torch

import matroidopt as mo
from llm_minibatch.selection.utility import (
    GreatsUtility,
    WeightedGradientMatching,
    solve_nonnegative_qp,
    submodularity_ratio,
)
from matroidopt.errors import AssumptionWarning, InvalidInputError
from matroidopt.testing import brute_force_maximum, check_submodular


def unit_rows(rng, n, p):
    G = rng.normal(size=(n, p))
    return G / np.linalg.norm(G, axis=1, keepdims=True)


def instance(seed, n=10, p=12, anchors=4):
    rng = np.random.default_rng(seed)
    G = unit_rows(rng, n, p)
    A = unit_rows(rng, anchors, p)
    return G, A


def cvxpy_value(G, gbar, eta, S):
    """max_{v >= 0} Σ v_i (s_i + ½ η |g_i|²) - ½ |G_Sᵀ v|² by CLARABEL."""
    if not S:
        return 0.0
    GS = G[list(S)]
    c = GS @ gbar + 0.5 * eta * (GS * GS).sum(1)
    v = cp.Variable(len(S), nonneg=True)
    prob = cp.Problem(cp.Maximize(c @ v - 0.5 * cp.sum_squares(GS.T @ v)))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return float(prob.value)


# --------------------------------------------------------------------------- the QP
@pytest.mark.parametrize("eta", [1e-6, 1e-3, 0.5, 1.0])
def test_refit_equals_cvxpy(eta):
    for seed in range(4):
        G, A = instance(seed)
        gbar = A.mean(0)
        f = WeightedGradientMatching(G, A, eta, dtype=torch.float64)
        rng = np.random.default_rng(100 + seed)
        for _ in range(5):
            S = sorted(rng.choice(10, size=int(rng.integers(1, 11)), replace=False).tolist())
            ours = f.evaluate(S)
            assert math.isfinite(ours)
            assert ours == pytest.approx(cvxpy_value(G, gbar, eta, S), abs=1e-6, rel=1e-6)


def test_refit_weights_satisfy_kkt_and_match_value():
    G, A = instance(7, n=9, p=9)
    eta = 0.3
    f = WeightedGradientMatching(G, A, eta, dtype=torch.float64)
    S = [0, 2, 3, 5, 8]
    v, val = f.refit(S)
    GS = G[S]
    c = GS @ A.mean(0) + 0.5 * eta * (GS * GS).sum(1)
    K = GS @ GS.T
    grad = c - K @ v
    assert (v >= 0).all()
    assert np.abs(grad[v > 0]).max(initial=0.0) < 1e-9
    assert (grad[v == 0] <= 1e-9).all()
    assert val == pytest.approx(c @ v - 0.5 * v @ K @ v, abs=1e-12)
    # w-scale: U(w) with w = v / η is the same number
    w = v / eta
    Uw = w @ (eta * (GS @ A.mean(0)) + 0.5 * eta ** 2 * np.diag(K)) - 0.5 * eta ** 2 * w @ K @ w
    assert Uw == pytest.approx(val, rel=1e-12)


def test_singular_gram_duplicates_and_zero_rows():
    rng = np.random.default_rng(3)
    G = unit_rows(rng, 5, 6)
    G = np.vstack([G, G[1], np.zeros(6)])  # 5 duplicates 1; 6 is a zero gradient
    gbar = unit_rows(rng, 1, 6)[0]
    f = WeightedGradientMatching(G, gbar, 0.2, dtype=torch.float64)
    for S in ([1, 5], [0, 1, 5], [0, 1, 2, 3, 4, 5, 6], [6], [1, 6]):
        assert f.evaluate(S) == pytest.approx(cvxpy_value(G, gbar, 0.2, S), abs=1e-6)
    assert f.evaluate([1, 5]) == pytest.approx(f.evaluate([1]), rel=1e-12)
    assert f.evaluate([6]) == 0.0


def test_unbounded_sets_and_ridge():
    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    f = WeightedGradientMatching(G, [0.5, 0.5], 0.1)
    assert math.isfinite(f.evaluate([0, 2]))
    assert f.evaluate([0, 1]) == math.inf  # v = t(1, 1) raises U by 0.1·t
    st = f.add(f.add(f.init_state(), 0), 1)
    assert f.value(st) == math.inf
    assert torch.equal(f.gains(st), torch.zeros(3, dtype=torch.float64))
    assert f.value(f.add(st, 2)) == math.inf
    g = WeightedGradientMatching(G, [0.5, 0.5], 0.1, ridge=1e-3)
    v, val = g.refit([0, 1])
    assert math.isfinite(val) and val > 2.5  # t = 0.05/ridge along v = (t, t)


def test_solver_warm_start_from_any_feasible_point():
    rng = np.random.default_rng(5)
    G = unit_rows(rng, 8, 10)
    c = G @ unit_rows(rng, 1, 10)[0] + 0.05
    K = G @ G.T
    v_ref, val_ref = solve_nonnegative_qp(K, c)
    for _ in range(5):
        v, val = solve_nonnegative_qp(K, c, np.abs(rng.normal(size=8)))
        assert val == pytest.approx(val_ref, abs=1e-12)
        np.testing.assert_allclose(v, v_ref, atol=1e-9)


# --------------------------------------------------------------------------- the oracle
def test_incremental_add_equals_from_scratch_and_states_are_values():
    for seed in range(3):
        G, A = instance(seed, n=16, p=20)
        f = WeightedGradientMatching(G, A, 1e-2, dtype=torch.float64)
        order = np.random.default_rng(seed).permutation(16).tolist()
        st = f.init_state()
        assert f.value(st) == 0.0 and f.evaluate([]) == 0.0
        for t, j in enumerate(order):
            before = f.value(st)
            new = f.add(st, j)
            assert f.value(st) == before  # the old state is untouched
            st = new
            assert f.value(st) == pytest.approx(f.evaluate(order[:t + 1]), rel=1e-9, abs=1e-12)


def test_monotone_and_proxy_gain_sign():
    rng = np.random.default_rng(11)
    for seed in range(4):
        G, A = instance(20 + seed, n=12, p=14)
        f = WeightedGradientMatching(G, A, 0.05, dtype=torch.float64)
        assert f.monotone and not f.submodular and f.normalized and not f.gains_are_exact
        for _ in range(8):
            S = rng.choice(12, size=int(rng.integers(0, 8)), replace=False).tolist()
            st = f.init_state()
            for j in S:
                st = f.add(st, j)
            g = f.gains(st).numpy()
            for j in sorted(set(range(12)) - set(S)):
                inc = f.evaluate([*S, j]) - f.value(st)
                assert inc >= -1e-10
                if g[j] > 1e-7:  # positive gradient: adding j strictly helps
                    assert inc > 0
                if g[j] <= 0:  # non-positive gradient: the optimum does not move
                    assert abs(inc) < 1e-10


@pytest.mark.parametrize("eta", [1e-6, 1e-3, 1.0])
def test_learning_rates_finite_and_correct(eta):
    G, A = instance(4, n=8, p=8)
    f = WeightedGradientMatching(G, A, eta, dtype=torch.float64)
    st = f.init_state()
    for j in range(8):
        st = f.add(st, j)
        assert math.isfinite(f.value(st))
        assert torch.isfinite(f.gains(st)).all()
    S = [0, 3, 5, 6]
    assert f.evaluate(S) == pytest.approx(cvxpy_value(G, A.mean(0), eta, S), abs=1e-6)
    if eta == 1e-6:  # η → 0 limit: max_{v>=0} vᵀs - ½vᵀKv
        g0 = WeightedGradientMatching(G, A, 1e-8, dtype=torch.float64)
        assert f.evaluate(S) == pytest.approx(g0.evaluate(S), abs=1e-5)


def test_float32_and_float64_agree():
    """Stated tolerance: 1e-4 relative (float32 s, K; float64 QP refit)."""
    for seed in range(3):
        G, A = instance(seed, n=32, p=64)
        f64 = WeightedGradientMatching(G, A, 1e-3, dtype=torch.float64)
        f32 = WeightedGradientMatching(torch.tensor(G, dtype=torch.float32),
                                       torch.tensor(A, dtype=torch.float32), 1e-3)
        assert f32.dtype == torch.float32 and f32.torch_input
        for S in ([0, 1, 2, 3], list(range(0, 32, 3)), list(range(16))):
            assert f32.evaluate(S) == pytest.approx(f64.evaluate(S), rel=1e-4)


@pytest.mark.filterwarnings("ignore::matroidopt.errors.AssumptionWarning")
def test_torch_input_and_numpy_defaults():
    G, A = instance(1, n=6, p=6)
    f = WeightedGradientMatching(torch.tensor(G), torch.tensor(A), 0.1)
    assert f.dtype == torch.float64 and f.device.type == "cpu" and f.torch_input
    v, val = f.refit([2, 4])
    assert isinstance(v, torch.Tensor) and v.shape == (2,)
    g = WeightedGradientMatching(G, A.mean(0), 0.1)
    assert g.dtype == torch.float64 and not g.torch_input
    assert g.evaluate([2, 4]) == pytest.approx(val, rel=1e-12)
    # a precomputed Gram gives the same utility
    h = WeightedGradientMatching(G, A, 0.1, gram=G @ G.T)
    assert h.evaluate([1, 2, 5]) == pytest.approx(f.evaluate([1, 2, 5]), rel=1e-12)
    r = mo.greedy(f, 3)
    assert isinstance(r.indices, torch.Tensor)


# --------------------------------------------------------------------------- solvers
@pytest.mark.filterwarnings("ignore::matroidopt.errors.AssumptionWarning")
def test_residual_random_greedy_meets_weak_submodular_bound():
    checked = 0
    for seed in range(6):
        rng = np.random.default_rng(50 + seed)
        n = 8
        G = unit_rows(rng, n, 8)
        gbar = unit_rows(rng, 1, 8)[0]
        labels = np.arange(n) % 2
        m = mo.PartitionMatroid(labels, [2, 1])
        f = WeightedGradientMatching(G, gbar, 0.1, dtype=torch.float64)
        gamma = submodularity_ratio(f, n, k=m.rank())
        if gamma <= 0:
            continue
        fd = WeightedGradientMatching(G, gbar, 0.1, dtype=torch.float64,
                                      weak_submodularity=min(gamma, 1.0))
        opt = brute_force_maximum(fd, m).value
        vals = []
        for s in range(40):
            r = mo.residual_random_greedy(fd, m, seed=s)
            assert m.is_independent(r.indices) and len(r.indices) == m.rank()
            assert r.value == pytest.approx(fd.evaluate(r.indices), rel=1e-12)
            vals.append(r.value)
        ratio = (1 + 1 / min(gamma, 1.0)) ** -2
        # the proved bound assumes exact marginal gains; ranking by the refit's gradient proxy
        # voids it, so the solver reports none — the bound is checked empirically instead
        assert r.guarantee is None
        se = np.std(vals, ddof=1) / np.sqrt(len(vals))
        assert np.mean(vals) >= ratio * opt - 4 * se
        checked += 1
    assert checked >= 3


def test_deterministic_greedy_feasible_and_reproducible():
    G, A = instance(9, n=24, p=32)
    labels = np.arange(24) % 3
    m = mo.PartitionMatroid(labels, [2, 3, 1])
    f = WeightedGradientMatching(G, A, 1e-3, weak_submodularity=0.5)
    with pytest.warns(AssumptionWarning):
        a = mo.greedy(f, m)
    with pytest.warns(AssumptionWarning):
        b = mo.greedy(f, m)
    assert a.indices.tolist() == b.indices.tolist()
    assert m.is_independent(a.indices) and len(a.indices) == 6
    assert a.value == pytest.approx(f.evaluate(a.indices))
    with pytest.warns(AssumptionWarning):
        c = mo.residual_random_greedy(f, m, deterministic=True)
    assert c.indices.tolist() == a.indices.tolist()  # best of the residual basis = greedy


def test_submodularity_ratio_helper():
    assert submodularity_ratio(mo.Modular([1.0, 2.0, 3.0]), 3) == pytest.approx(1.0)
    assert submodularity_ratio(lambda S: len(S) ** 2, 3, k=2) == pytest.approx(0.5)
    with pytest.raises(InvalidInputError, match=r"^n\b"):
        submodularity_ratio(lambda S: 0.0, 11)
    with pytest.raises(InvalidInputError, match=r"^n\b"):
        submodularity_ratio(mo.Modular([1.0, 2.0]), 3)


# --------------------------------------------------------------------------- GREATS
def greats_formula(G, gbar, eta, S):
    s = G @ gbar
    K = G @ G.T
    return eta * sum(s[i] for i in S) - eta ** 2 * sum(K[i, j] for i, j in
                                                       itertools.combinations(S, 2))


def test_greats_hand_example():
    G = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    f = GreatsUtility(G, [1.0, 1.0], 0.5)
    assert f.evaluate([0, 2]) == pytest.approx(0.5 * (1 + 1.4) - 0.25 * 0.6, abs=1e-15)
    assert f.evaluate([0, 1, 2]) == pytest.approx(1.7 - 0.25 * 1.4, abs=1e-15)
    st = f.add(f.add(f.add(f.init_state(), 2), 0), 1)
    assert f.value(st) == pytest.approx(1.35, abs=1e-15)
    assert f.evaluate([]) == 0.0
    assert not f.monotone and not f.submodular and f.normalized and f.gains_are_exact


@pytest.mark.parametrize("eta", [1e-6, 1e-2, 1.0])
def test_greats_gains_exact(eta):
    rng = np.random.default_rng(8)
    G, A = instance(8, n=10, p=6)
    gbar = A.mean(0)
    f = GreatsUtility(G, A, eta, dtype=torch.float64)
    s, K = G @ gbar, G @ G.T
    for _ in range(10):
        S = rng.choice(10, size=int(rng.integers(0, 9)), replace=False).tolist()
        st = f.init_state()
        for j in S:
            st = f.add(st, j)
        assert f.value(st) == pytest.approx(greats_formula(G, gbar, eta, S), rel=1e-12,
                                            abs=1e-18)
        g = f.gains(st).numpy()
        for z in range(10):
            if z in S:
                assert g[z] == 0.0
                continue
            brute = eta * s[z] - eta ** 2 * sum(K[z, j] for j in S)
            assert g[z] == pytest.approx(brute, rel=1e-12, abs=1e-18)
            assert g[z] == pytest.approx(f.evaluate([*S, z]) - f.evaluate(S), rel=1e-9,
                                         abs=1e-15)


def test_greats_submodular_iff_nonnegative_off_diagonal():
    rng = np.random.default_rng(2)
    G = np.abs(unit_rows(rng, 7, 5))  # non-negative K
    f = GreatsUtility(G, G.mean(0), 0.7, dtype=torch.float64)
    check_submodular(f, monotone=False)
    G2 = G.copy()
    G2[0] = -G2[1]  # K_01 = -1
    g = GreatsUtility(G2, G.mean(0), 0.7, dtype=torch.float64)
    with pytest.raises(AssertionError):
        check_submodular(g, monotone=False)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [WeightedGradientMatching, GreatsUtility])
@pytest.mark.parametrize("case, arg", [
    ("target_p", "target"),
    ("target_nan", "target"),
    ("features_nan", "features"),
    ("features_inf", "features"),
    ("features_1d", "features"),
    ("features_empty", "features"),
    ("lr_zero", "lr"),
    ("lr_big", "lr"),
    ("lr_nan", "lr"),
    ("gram_shape", "gram"),
    ("gram_asym", "gram"),
    ("dtype", "dtype"),
])
def test_bad_input(cls, case, arg):
    G, A = instance(0, n=6, p=5)
    kw = dict(features=G, target=A, lr=0.1)
    if case == "target_p":
        kw["target"] = A[:, :4]
    elif case == "target_nan":
        kw["target"] = np.where(np.eye(4, 5) > 0, np.nan, A)
    elif case == "features_nan":
        G = G.copy()
        G[2, 3] = np.nan
        kw["features"] = G
    elif case == "features_inf":
        kw["features"] = torch.tensor(G).index_fill(0, torch.tensor([1]), math.inf)
    elif case == "features_1d":
        kw["features"] = G[0]
    elif case == "features_empty":
        kw["features"] = np.zeros((0, 5))
    elif case == "lr_zero":
        kw["lr"] = 0.0
    elif case == "lr_big":
        kw["lr"] = 20.0
    elif case == "lr_nan":
        kw["lr"] = float("nan")
    elif case == "gram_shape":
        kw["gram"] = (G @ G.T)[:5, :5]
    elif case == "gram_asym":
        K = G @ G.T
        K[0, 1] += 0.5
        kw["gram"] = K
    elif case == "dtype":
        kw["dtype"] = torch.float16
    with pytest.raises(InvalidInputError, match=arg):
        cls(**kw)


def test_bad_indices_and_options():
    G, A = instance(0, n=6, p=5)
    f = WeightedGradientMatching(G, A, 0.1)
    with pytest.raises(InvalidInputError, match=r"^indices\b"):
        f.refit([0, 0])
    with pytest.raises(InvalidInputError, match=r"^indices\b"):
        f.refit([7])
    with pytest.raises(InvalidInputError, match=r"^S\b"):
        f.evaluate([6])
    with pytest.raises(InvalidInputError, match=r"^ridge\b"):
        WeightedGradientMatching(G, A, 0.1, ridge=-1.0)
    with pytest.raises(InvalidInputError, match=r"^tol\b"):
        WeightedGradientMatching(G, A, 0.1, tol=0.0)
