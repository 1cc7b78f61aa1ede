"""Solver behaviour beyond the contract table: known instances, lazy == greedy at scale,
the certificate, maximize() dispatch and its errors, torch in / torch out."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.errors import AssumptionWarning, InvalidInputError
from matroidopt.testing import assert_guarantee, brute_force_maximum


def greedy_bad_partition_instance(eps: float):
    """Greedy's worst case under a partition matroid: clients x, y; candidates a, b in block 0
    (capacity 1) and c in block 1 (capacity 1). a covers x with 1 + eps, b covers y with 1,
    c covers x with 1. Greedy takes a (1 + eps), after which c adds nothing; OPT = {b, c} = 2."""
    K = np.array([[1.0 + eps, 0.0, 1.0], [0.0, 1.0, 0.0]])
    return mo.FacilityLocation(K), mo.PartitionMatroid([0, 0, 1], [1, 1])


@pytest.mark.parametrize("solver", ["greedy", "lazy_greedy"])
def test_greedy_bad_instance_ratio_tends_to_half(solver):
    ratios = []
    for eps in [0.5, 0.1, 0.01, 1e-4]:
        f, m = greedy_bad_partition_instance(eps)
        res = mo.maximize(f, m, solver=solver)
        opt = brute_force_maximum(f, m)
        assert opt.value == pytest.approx(2.0) and opt.indices == (1, 2)
        assert res.indices.tolist()[0] == 0  # greedy is lured by a
        ratio = res.value / opt.value
        assert ratio >= 0.5 - 1e-12  # the 1/2 guarantee holds...
        assert res.upper_bound >= opt.value - 1e-12
        ratios.append(ratio)
    assert ratios == sorted(ratios, reverse=True)
    assert ratios[-1] == pytest.approx(0.5, abs=1e-4)  # ...and is tight


def test_residual_random_greedy_beats_greedy_on_bad_instance_in_mean():
    f, m = greedy_bad_partition_instance(1e-3)
    vals = [mo.residual_random_greedy(f, m, seed=s).value for s in range(200)]
    greedy_val = mo.greedy(f, m).value
    # RRG picks a or b first with probability 1/2 each... (basis {a, c} or {b, c} at step 1)
    assert np.mean(vals) > greedy_val
    assert_guarantee([mo.residual_random_greedy(f, m, seed=s) for s in range(50)], f, m,
                     margin=0.05)


def random_fl(n, d, seed, metric="rbf"):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return mo.FacilityLocation.from_features(X, metric=metric)


@pytest.mark.parametrize("make_constraint", [
    lambda n: 25,
    lambda n: mo.PartitionMatroid(np.arange(n) % 5, [3, 1, 4, 1, 5]),
    lambda n: mo.Knapsack(np.random.default_rng(1).uniform(0.5, 2.0, n), 12.0),
    lambda n: mo.Intersection(mo.PartitionMatroid(np.arange(n) % 4, [4] * 4),
                              mo.PartitionMatroid(np.arange(n) // (n // 3 + 1), [5, 5, 5])),
], ids=["cardinality", "partition", "knapsack", "intersection"])
def test_lazy_equals_greedy_at_scale_with_fewer_calls(make_constraint):
    f = random_fl(400, 6, 0)
    c = make_constraint(400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)  # greedy on a knapsack: no ratio
        a, b = mo.lazy_greedy(f, c), mo.greedy(f, c)
        small = mo.lazy_greedy(f, c, working_set=16)   # many rebuilds, infeasible ones too
    assert a.indices.tolist() == b.indices.tolist() == small.indices.tolist()
    np.testing.assert_allclose(a.gains, b.gains, rtol=1e-12)
    np.testing.assert_allclose(small.gains, b.gains, rtol=1e-12)
    assert a.oracle_calls < b.oracle_calls
    assert a.value == b.value
    assert small.upper_bound >= small.value   # its certificate, from other stale bounds


@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), k=st.integers(0, 12),
       metric=st.sampled_from(["rbf", "cosine", "euclidean"]))
def test_lazy_equals_greedy_property(seed, n, k, metric):
    f = random_fl(n, 3, seed, metric)
    a, b = mo.lazy_greedy(f, k, batch=1 + seed % 7), mo.greedy(f, k)
    assert a.indices.tolist() == b.indices.tolist()
    small = mo.lazy_greedy(f, k, batch=1 + seed % 7, working_set=1 + seed % 5)
    assert small.indices.tolist() == b.indices.tolist()
    np.testing.assert_allclose(small.gains, b.gains, rtol=1e-12)


def test_gains_nonincreasing_for_exact_greedy_on_submodular():
    f = random_fl(300, 5, 3)
    for solver in ["greedy", "lazy_greedy"]:
        g = mo.maximize(f, 40, solver=solver).gains
        assert np.all(np.diff(g) <= 1e-12)


def test_certificate_tightens_with_tight_option_and_bounds_opt():
    f = random_fl(12, 3, 5)
    m = mo.PartitionMatroid(np.arange(12) % 3, [2, 1, 2])
    opt = brute_force_maximum(f, m).value
    for solver in ["greedy", "lazy_greedy", "residual_random_greedy", "stochastic_greedy"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AssumptionWarning)
            r = mo.maximize(f, m, solver=solver, seed=0)
        assert r.upper_bound >= opt - 1e-9
        assert r.certified_ratio <= r.value / opt + 1e-12


def test_certificate_disabled_and_none_for_non_monotone():
    f = random_fl(30, 3, 0)
    assert mo.greedy(f, 5, certificate=False).upper_bound is None
    cut = mo.Utility.from_callable(lambda S: len(S) * (8 - len(S)), 8, submodular=True,
                                   nonnegative=True)
    r = mo.random_greedy(cut, 4, seed=0)
    assert r.upper_bound is None and r.guarantee == pytest.approx(1 / math.e)


def test_weakly_submodular_certificate_uses_gamma():
    # f(S) = sqrt(|S|) * 2 is submodular; declare only gamma (not submodular): the
    # certificate must come from fresh gains divided by gamma and still bound OPT.
    g = mo.Utility.from_callable(lambda S: 2 * math.sqrt(len(S)), 6, monotone=True,
                                 weak_submodularity=0.5)
    r = mo.greedy(g, 3)
    assert r.guarantee == pytest.approx(1 - math.exp(-0.5))
    assert r.upper_bound >= 2 * math.sqrt(3) - 1e-12


def test_maximize_dispatch_and_int_constraint():
    f = random_fl(50, 3, 1)
    r = mo.maximize(f, 5)
    assert r.solver == "lazy_greedy" and len(r.indices) == 5
    assert set(mo.SOLVERS) >= {"greedy", "lazy_greedy", "stochastic_greedy",
                               "residual_random_greedy", "cost_benefit_greedy", "random_greedy"}
    assert mo.get_solver("greedy") is mo.greedy


def test_register_custom_solver():
    @mo.register_solver("first_k_test")
    def first_k(utility, constraint, *, seed=None):
        return mo.greedy(utility, constraint)

    try:
        assert mo.maximize(random_fl(10, 2, 0), 3, solver="first_k_test").solver == "greedy"
    finally:
        mo.unregister_solver("first_k_test")


@pytest.mark.parametrize("call, arg", [
    (lambda f: mo.maximize(f, 3, solver="nope"), "solver"),
    (lambda f: mo.maximize(f, 3, solver="greedy", epsilon=0.1), "options"),
    (lambda f: mo.maximize(f, -1), "k"),
    (lambda f: mo.maximize(f, mo.UniformMatroid(11, 2)), "constraint"),
    (lambda f: mo.maximize(f, "three"), "constraint"),
    (lambda f: mo.maximize([1, 2, 3], 2), "utility"),
    (lambda f: mo.stochastic_greedy(f, 3, epsilon=1.5), "epsilon"),
    (lambda f: mo.stochastic_greedy(f, 3, epsilon=float("nan")), "epsilon"),
    (lambda f: mo.lazy_greedy(f, 3, batch=0), "batch"),
    (lambda f: mo.lazy_greedy(f, 3, working_set=0), "working_set"),
    (lambda f: mo.cost_benefit_greedy(f, 3), "constraint"),
    (lambda f: mo.random_greedy(f, mo.PartitionMatroid([0] * 10, [2])), "constraint"),
    (lambda f: mo.residual_random_greedy(f, mo.Knapsack(np.ones(10), 2)), "constraint"),
    (lambda f: mo.residual_random_greedy(f, 3, seed=-1), "seed"),
    (lambda f: mo.residual_random_greedy(f, 3, seed="x"), "seed"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_bad_solver_input(call, arg):
    f = random_fl(10, 2, 0)
    with pytest.raises(InvalidInputError, match=rf"^{arg}(\[\d+\])*:"):
        call(f)


def test_assumption_warning_when_guarantee_does_not_apply():
    f = mo.Utility.from_callable(lambda S: float(len(S)) ** 2, 5, monotone=True)
    with pytest.warns(AssumptionWarning):
        r = mo.lazy_greedy(f, 2)  # not submodular: falls back to greedy
    assert r.solver == "greedy" and r.guarantee is None


def test_empty_and_trivial_instances():
    f = random_fl(6, 2, 0)
    r = mo.greedy(f, 0)
    assert len(r.indices) == 0 and r.value == 0.0 and r.upper_bound == pytest.approx(0.0)
    r = mo.lazy_greedy(f, 100)  # k >= n: everything is feasible
    assert sorted(r.indices.tolist()) == list(range(6))
    empty = mo.Modular(np.zeros(0))
    for solver in ["greedy", "lazy_greedy", "stochastic_greedy", "residual_random_greedy",
                   "random_greedy"]:
        assert len(mo.maximize(empty, 3, solver=solver, seed=0).indices) == 0


def test_torch_input_gives_torch_output_and_same_selection():
    X = np.random.default_rng(0).normal(size=(80, 4))
    fn = mo.FacilityLocation.from_features(X, metric="cosine")
    ft = mo.FacilityLocation.from_features(torch.from_numpy(X), metric="cosine")
    a, b = mo.lazy_greedy(fn, 7), mo.lazy_greedy(ft, 7)
    assert isinstance(a.indices, np.ndarray) and isinstance(b.indices, torch.Tensor)
    assert a.indices.tolist() == b.indices.tolist()
    f32 = mo.FacilityLocation.from_features(torch.from_numpy(X).float(), metric="cosine")
    assert f32.dtype == torch.float32
    assert mo.lazy_greedy(f32, 7).value == pytest.approx(a.value, rel=1e-5)


def test_progress_bar_runs(capsys):
    mo.lazy_greedy(random_fl(100, 3, 0), 10, progress=True)
    assert "lazy_greedy" in capsys.readouterr().err


def test_same_seed_same_result_randomised_solvers():
    f = random_fl(200, 4, 2)
    m = mo.PartitionMatroid(np.arange(200) % 4, [3, 3, 3, 3])
    for solver, c in [("stochastic_greedy", 10), ("residual_random_greedy", m),
                      ("random_greedy", 10)]:
        a = mo.maximize(f, c, solver=solver, seed=7)
        b = mo.maximize(f, c, solver=solver, seed=7)
        d = mo.maximize(f, c, solver=solver, seed=8)
        assert a.indices.tolist() == b.indices.tolist()
        assert a.indices.tolist() != d.indices.tolist() or solver == "random_greedy"


def test_cost_benefit_fill_spends_the_budget_on_a_non_monotone_utility():
    rng = np.random.default_rng(4)
    W = rng.uniform(size=(40, 40))
    W = (W + W.T) / 2
    costs = rng.uniform(0.5, 2.0, size=40)
    knap = mo.Knapsack(costs, 30.0)
    f = mo.GraphCut(W, lam=1.0)                       # gains turn negative past ~half of V
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mo.AssumptionWarning)
        plain = mo.cost_benefit_greedy(f, knap)
        filled = mo.maximize(f, knap, solver="cost_benefit_greedy", fill=True)
    p, q = np.asarray(plain.indices).tolist(), np.asarray(filled.indices).tolist()
    assert len(p) < len(q) and q[:len(p)] == p       # the same path, continued
    assert filled.gains[len(p):].max() <= 0.0 < plain.gains.min()
    left = 30.0 - costs[q].sum()
    assert left >= -1e-12 and not np.any(np.delete(costs, q) <= left)   # nothing else fits
    # a monotone utility is scanned to the end anyway: fill changes nothing
    g = mo.FacilityLocation(W)
    a, b = mo.cost_benefit_greedy(g, knap), mo.cost_benefit_greedy(g, knap, fill=True)
    assert np.asarray(a.indices).tolist() == np.asarray(b.indices).tolist()
    assert a.guarantee == b.guarantee is not None


@pytest.mark.parametrize("solver", ["greedy", "lazy_greedy", "stochastic_greedy",
                                    "cost_benefit_greedy"])
def test_bound_trace_holds_every_prefix_certificate(solver):
    """Result.bound_trace: each recorded bound is >= OPT (brute force) and >= the value of
    its prefix, and upper_bound is the least of them (the solvers take the minimum)."""
    rng = np.random.default_rng(11)
    f = mo.FacilityLocation(rng.uniform(size=(14, 12)))
    c = {"cost_benefit_greedy": mo.Knapsack(rng.uniform(0.5, 1.5, size=12), 4.0),
         "stochastic_greedy": mo.UniformMatroid(12, 5)}.get(
        solver, mo.PartitionMatroid(np.arange(12) % 3, [2, 1, 2]))
    opt = brute_force_maximum(f, c).value
    res = mo.maximize(f, c, solver=solver, seed=0)
    trace = res.bound_trace
    assert trace.ndim == 2 and trace.shape[1] == 2 and len(trace) >= 1
    assert np.all(trace[:, 1] >= opt - 1e-9)
    sizes = trace[:, 0].astype(int)
    assert np.all((sizes >= 0) & (sizes <= len(res.indices)))
    for t, b in trace:
        assert b >= f.evaluate(res.indices[: int(t)]) - 1e-9
    assert res.upper_bound == pytest.approx(max(trace[:, 1].min(), res.value))


def test_bound_trace_is_empty_when_the_answer_is_not_the_greedy_path():
    """Cost-benefit greedy may answer with its best single element instead of its greedy
    path; the trace's prefixes are the path's, so it is not reported for that answer."""
    f = mo.Modular([1.0, 0.9, 0.8, 0.7, 10.0])
    res = mo.cost_benefit_greedy(f, mo.Knapsack([0.1, 0.1, 0.1, 0.1, 5.0], 5.0))
    assert res.indices.tolist() == [4]
    assert res.bound_trace.shape == (0, 2)
    assert res.upper_bound >= 10.0
    path = mo.cost_benefit_greedy(f, mo.Knapsack([0.1, 0.1, 0.1, 0.1, 5.0], 0.4))
    assert path.indices.tolist() == [0, 1, 2, 3] and len(path.bound_trace) >= 1
    assert np.all(path.bound_trace[:, 0] <= len(path.indices))
