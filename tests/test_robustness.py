"""No silent wrong answers: regressions for odd inputs, and a fuzz test of the constructors.

Each defect of the robustness issue has its own tests below (``test_d<k>_...``): either the
answer is right (half precision, huge capacities, scaled linear matroids, certificates at
``k = 0``) or the error is an :class:`~matroidopt.errors.InvalidInputError` whose message
starts with the argument's name.

The fuzz test feeds the public constructors random and odd arguments (0-D, wrong dtype,
NaN, inf, huge ints, negative, empty, None, strings) and requires, of every outcome, either a
``ValueError`` / ``TypeError`` whose message starts with an argument name and ``:``, or an
object that then works in :func:`matroidopt.maximize` with every applicable registered
solver, the result passing independent checks. ``pytest -s`` prints how many inputs were
fuzzed.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from collections import Counter

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import event, given, settings
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.constraint import ConstraintState
from matroidopt.errors import AssumptionWarning, InvalidInputError
from matroidopt.utility.base import Utility, UtilityState
from matroidopt.utility.combinators import ConditionedUtility, RestrictedUtility, TruncatedUtility
from matroidopt.utility.feature_based import FeatureBased

NAN, INF = float("nan"), float("inf")
#: ``name:`` or ``name[key]:`` at the start of a message
NAMED = re.compile(r"^[A-Za-z_]\w*(\[[^\]]*\])*: ")


def raises_named(arg: str):
    """``pytest.raises`` for an InvalidInputError whose message starts with ``arg:``."""
    return pytest.raises(InvalidInputError, match=rf"^{re.escape(arg)}(\[[^\]]*\])*: ")


#: greedi's parts run in this process here (a real Dask cluster is exercised in test_greedi)
LOCAL_OPTIONS = {"greedi": {"client": "synchronous"}}


def constraint_for(name, n, k):
    """How solver ``name`` says "at most ``k`` of ``n``": a Knapsack for cost-benefit greedy,
    None (no constraint) for double greedy when ``k >= n`` (else it has no such problem:
    ``SKIP``), ``k`` for the others."""
    if name == "cost_benefit_greedy":
        return mo.Knapsack(np.ones(n), float(k))
    if name == "double_greedy":
        return None if k >= n else SKIP
    return k


SKIP = object()


def solve_all(f, k):
    """Every registered solver on ``f`` under ``k`` (``constraint_for``)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        for name in mo.SOLVERS:
            c = constraint_for(name, f.n, k)
            if c is SKIP or not mo.SOLVER_SPECS[name].accepts_utility(f):
                continue   # (a solver that needs a utility hook, e.g. dispersion_greedy)
            opts = {"steps": 3} if name == "continuous_greedy" else dict(LOCAL_OPTIONS.get(
                name, {}))
            if name == "continuous_greedy" and not mo.has_closed_form(f):
                opts["samples"] = 4
            out[name] = mo.maximize(f, c, solver=name, seed=0, **opts)
    return out


# =========================================================================== 1: half precision
HALF_KERNEL_ROWS = np.random.default_rng(1).random((8, 5))


def _half_cases():
    A = HALF_KERNEL_ROWS
    K = A @ A.T
    P = A / A.max()
    return {
        "Modular": lambda t: mo.Modular(t(A[:, 0])),
        "FacilityLocation": lambda t: mo.FacilityLocation(t(K)),
        "FacilityLocation.from_features": lambda t: mo.FacilityLocation.from_features(
            t(A), metric="rbf"),
        "WeightedCoverage": lambda t: mo.WeightedCoverage(A > 0.5, weights=t(A[0])),
        "FeatureBased": lambda t: FeatureBased(t(A), weights=t(A[1])),
        "GraphCut": lambda t: mo.GraphCut(t(K), lam=0.3),
        "LogDeterminant": lambda t: mo.LogDeterminant(t(K + np.eye(len(K)))),
        "SaturatedCoverage": lambda t: mo.SaturatedCoverage(t(K), alpha=0.3),
        "ProbabilisticCoverage": lambda t: mo.ProbabilisticCoverage(t(P), weights=t(A[2])),
        "WeightedSum": lambda t: mo.Modular(t(A[:, 1])) + 0.5 * mo.FacilityLocation(t(K)),
    }


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("family", sorted(_half_cases()))
def test_d1_half_precision_computes_like_float32(family, half):
    make = _half_cases()[family]
    f16 = make(lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64)).to(half))
    f32 = make(lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64)).to(half).float())
    assert f16.dtype == torch.float32
    r16, r32 = mo.maximize(f16, 3), mo.maximize(f32, 3)
    assert r16.indices.tolist() == r32.indices.tolist()
    assert r16.value == pytest.approx(r32.value, rel=1e-6)
    assert r16.upper_bound >= r16.value > 0


def test_d1_half_features_rbf_768d():
    """The reported case: value 0 with a 'certified' ratio 1.0 in float16."""
    X = torch.randn(40, 768, generator=torch.Generator().manual_seed(0)).mul(10)
    f16 = mo.FacilityLocation.from_features(X.half(), metric="rbf")
    same = mo.FacilityLocation.from_features(X.half().float(), metric="rbf")
    f32 = mo.FacilityLocation.from_features(X, metric="rbf")
    r16, r_same, r32 = mo.maximize(f16, 5), mo.maximize(same, 5), mo.maximize(f32, 5)
    assert r16.indices.tolist() == r_same.indices.tolist() and r16.value == r_same.value
    # the kernel is the identity up to rounding: every 5-set is optimal, with value ~5
    assert r16.value == pytest.approx(r32.value, rel=1e-3) and r16.value == pytest.approx(5.0)
    assert r16.upper_bound >= r16.value > 0


@pytest.mark.parametrize("make", [
    lambda K: torch.as_tensor(K).half(),
    lambda K: K.astype(np.float16),
    lambda K: torch.as_tensor(K).bfloat16(),
], ids=["torch-half", "numpy-float16", "torch-bfloat16"])
def test_d1_half_kernel_with_large_entries_selects(make):
    K = np.full((5, 5), 6e4)
    np.fill_diagonal(K, 6.5e4)
    H = make(K)
    f = mo.FacilityLocation(H)
    ref = mo.FacilityLocation(H.double() if isinstance(H, torch.Tensor) else H.astype(float))
    r, r_ref = mo.maximize(f, 2), mo.maximize(ref, 2)
    assert len(r.indices) == 2
    assert r.value == pytest.approx(r_ref.value, rel=1e-6)
    assert r.upper_bound >= r.value > 0


def test_d1_half_dtype_argument_computes_in_float32():
    f = mo.FacilityLocation(np.eye(3), dtype=torch.float16)
    assert f.dtype == torch.float32 and f.gains(f.init_state()).dtype == torch.float32


# =========================================================================== 2: non-finite gains
class _NaNGains(Utility):
    """Modular, except that element 2's gain is NaN (or ``bad``)."""

    def __init__(self, n=5, bad=NAN):
        super().__init__(n, monotone=True, submodular=True)
        self.bad = bad

    def _init_data(self):
        return 0.0

    def _gains(self, state, candidates):
        g = torch.ones(candidates.numel(), dtype=torch.float64)
        g[candidates == 2] = self.bad
        return g

    def _add_data(self, state, j):
        return state.data + 1.0

    def _value(self, state):
        return state.data


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("solver", sorted(s for s in mo.SOLVERS
                                          if mo.SOLVER_SPECS[s].accepts_utility(_NaNGains())))
def test_d2_non_finite_gains_raise_naming_utility(solver, bad):
    """(dispersion_greedy takes only dispersion utilities, whose distances are checked
    finite at construction: tests/test_dispersion.py.)"""
    f = _NaNGains(bad=bad)
    c = constraint_for(solver, 5, 5 if solver == "double_greedy" else 2)
    opts = {"steps": 3, "samples": 4} if solver == "continuous_greedy" else \
        dict(LOCAL_OPTIONS.get(solver, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        with pytest.raises(InvalidInputError, match=r"^utility: marginal gains are not finite"
                                                    r".*elements \[2\]"):
            mo.maximize(f, c, solver=solver, seed=0, **opts)


def test_d2_public_gains_and_values_reject_nan():
    f = _NaNGains()
    with raises_named("utility"):
        f.gains(f.init_state())
    assert f.gains(f.init_state(), [0, 1]).tolist() == [1.0, 1.0]

    class NaNValue(_NaNGains):
        def _value(self, state):
            return NAN

    g = NaNValue(bad=1.0)
    with raises_named("utility"):
        g.evaluate([0])
    with raises_named("utility"):
        g.value(g.init_state())


def test_d2_nan_metric_rejected_at_construction():
    X = np.random.default_rng(0).normal(size=(6, 3))

    def nan_metric(A, B):
        return torch.full((len(A), len(B)), NAN, dtype=A.dtype)

    with raises_named("metric"):
        mo.FacilityLocation.from_features(X, metric=nan_metric)


def test_d2_metric_nan_for_some_candidates_raises_at_solve():
    X = np.arange(12.0).reshape(6, 2)

    def metric(A, B):  # NaN for candidates whose first feature exceeds 4 (not candidate 0)
        K = torch.exp(-torch.cdist(A, B))
        K[A[:, 0] > 4] = NAN
        return K

    f = mo.FacilityLocation.from_features(X, metric=metric)
    with raises_named("metric"):
        mo.maximize(f, 2)


def test_d2_callable_utility_non_finite():
    # NaN values were already rejected by Utility.from_callable (naming fn) ...
    with raises_named("fn"):
        mo.maximize(mo.Utility.from_callable(lambda S: NAN if S else 0.0, 4, monotone=True,
                                             submodular=True), 2)
    # ... but finite values whose difference overflows gave an infinite gain
    f = mo.Utility.from_callable(lambda S: 1e308 if len(S) % 2 else -1e308, 3, monotone=True,
                                 submodular=True)
    with raises_named("utility"):
        mo.maximize(f, 2)


# =========================================================================== 3: linear matroid
INT_MATRICES = st.integers(1, 4).flatmap(lambda d: st.integers(1, 5).flatmap(
    lambda n: st.lists(st.lists(st.integers(-3, 3), min_size=n, max_size=n),
                       min_size=d, max_size=d)))


def _all_subsets(n):
    return [list(S) for r in range(n + 1) for S in itertools.combinations(range(n), r)]


@settings(max_examples=40)
@given(rows=INT_MATRICES, k=st.integers(-200, 200))
def test_d3_linear_matroid_is_scale_invariant(rows, k):
    A = np.array(rows, dtype=np.float64)
    base = mo.LinearMatroid(A)
    scaled = mo.LinearMatroid(A * 10.0 ** k)
    assert scaled.rank() == base.rank() == np.linalg.matrix_rank(A)
    for S in _all_subsets(A.shape[1]):
        assert scaled.is_independent(S) == base.is_independent(S), S
        assert scaled.rank(S) == base.rank(S), S


@settings(max_examples=20)
@given(rows=INT_MATRICES, k=st.integers(-30, 30))
def test_d3_linear_matroid_is_scale_invariant_float32(rows, k):
    A = np.array(rows, dtype=np.float64)
    base = mo.LinearMatroid(A)
    scaled = mo.LinearMatroid(torch.tensor(A * 10.0 ** k, dtype=torch.float32))
    assert scaled.rank() == base.rank()
    for S in _all_subsets(A.shape[1]):
        assert scaled.is_independent(S) == base.is_independent(S), S


@pytest.mark.parametrize("scale, dtype", [(1e155, torch.float64), (1e-170, torch.float64),
                                          (1e20, torch.float32), (1e-25, torch.float32)])
def test_d3_reported_scales(scale, dtype):
    A = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=torch.float64) * scale
    m = mo.LinearMatroid(A.to(dtype))
    assert m.rank() == 2
    assert m.is_independent([0, 1]) and not m.is_independent([0, 1, 2])
    r = mo.maximize(mo.Modular([1.0, 2.0, 3.0]), m)
    assert sorted(r.indices.tolist()) == [1, 2]


# =========================================================================== 4: huge integers
def test_d4_huge_partition_capacity_means_no_limit():
    m = mo.PartitionMatroid([0, 1, 2], [2**70, 1, 1])
    assert m.capacity(0) == 3 and m.rank() == 3 and m.is_independent([0, 1, 2])
    m2 = mo.PartitionMatroid(["a", "a", "b"], {"a": 2**70, "b": 1})
    assert m2.rank() == 3
    assert mo.maximize(mo.Modular([1.0, 2.0, 3.0]), m2).value == 6.0


def test_d4_huge_uniform_truncate_laminar_knapsack():
    f = mo.Modular([1.0, 2.0, 3.0])
    u = mo.UniformMatroid(3, 2**70)
    assert u.k == 3 and u.rank() == 3
    for c in (u, mo.truncate(mo.UniformMatroid(3, 3), 2**70),
              mo.LaminarMatroid(3, [[0, 1], [0, 1, 2]], [2**70, 2**80]),
              mo.Knapsack([1.0, 1.0, 1.0], 2**2000)):
        res = mo.maximize(f, c)
        assert sorted(res.indices.tolist()) == [0, 1, 2] and res.value == 6.0
    assert mo.truncate(mo.UniformMatroid(3, 2), 2**70).rank() == 2
    assert mo.Knapsack([1.0], 2**2000).budget == np.finfo(np.float64).max
    assert mo.maximize(f, 2**70).value == 6.0
    r = mo.continuous_greedy(f, mo.UniformMatroid(3, 2**70), rounding="pipage", steps=3, seed=0)
    assert sorted(r.indices.tolist()) == [0, 1, 2]


@pytest.mark.parametrize("options, arg", [
    ({"steps": 2**70}, "steps"),
    ({"steps": 10**6 + 1}, "steps"),
    ({"variant": "threshold", "epsilon": 1e-300}, "epsilon"),
    ({"variant": "threshold", "epsilon": 5e-324}, "epsilon"),
    ({"samples": 2**70}, "samples"),
])
def test_d4_continuous_greedy_cost_limits(options, arg):
    with raises_named(arg):
        mo.continuous_greedy(mo.Modular([1.0, 2.0]), 1, **options)


def test_d4_other_cost_limits():
    f = mo.Modular([1.0, 2.0])
    with raises_named("steps"):
        mo.measured_continuous_greedy(f, 1, steps=2**70)
    with raises_named("samples"):
        mo.multilinear_value(f, [0.5, 0.5], samples=2**70)
    with raises_named("n"):
        mo.LaminarMatroid(2**70, [], [])
    # a tiny epsilon is fine for stochastic greedy: its sample is the whole ground set
    assert mo.stochastic_greedy(f, 1, epsilon=5e-324, seed=0).indices.tolist() == [1]


# =========================================================================== 5: 0-D arrays
@pytest.mark.parametrize("make, arg", [
    (lambda z: mo.Modular(z), "weights"),
    (lambda z: mo.Knapsack(z, 1.0), "costs"),
    (lambda z: mo.FacilityLocation(z), "kernel"),
    (lambda z: mo.FacilityLocation.from_features(z), "X"),
    (lambda z: mo.FacilityLocation.from_features(np.ones((2, 1)), clients=z), "clients"),
    (lambda z: mo.WeightedCoverage(z), "incidence"),
    (lambda z: mo.WeightedCoverage(np.ones((2, 1)), weights=z), "weights"),
    (lambda z: mo.GraphCut(z), "kernel"),
    (lambda z: mo.LogDeterminant(z), "kernel"),
    (lambda z: mo.SaturatedCoverage(z), "kernel"),
    (lambda z: mo.ProbabilisticCoverage(z), "probabilities"),
    (lambda z: mo.ProbabilisticCoverage(np.ones((2, 1)), weights=z), "weights"),
    (lambda z: FeatureBased(z), "features"),
    (lambda z: FeatureBased(np.ones((2, 1)), weights=z), "weights"),
    (lambda z: mo.LinearMatroid(z), "matrix"),
    (lambda z: mo.PartitionMatroid(z, [1]), "labels"),
    (lambda z: mo.PartitionMatroid([0, 0], z), "capacities"),
    (lambda z: mo.LaminarMatroid(2, [[0]], z), "capacities"),
    (lambda z: mo.UniformMatroid(1, 1).max_weight_basis(z), "weights"),
    (lambda z: mo.multilinear_value(mo.Modular([1.0]), z), "x"),
    (lambda z: mo.Modular([1.0, 2.0]).evaluate(z), "S"),
])
@pytest.mark.parametrize("zero_d", [1.0, np.array(1.0), torch.tensor(1.0)],
                         ids=["python", "numpy", "torch"])
def test_d5_zero_d_arrays_are_rejected(make, arg, zero_d):
    with raises_named(arg):
        make(zero_d)


def test_d5_reported_messages():
    with pytest.raises(InvalidInputError, match=r"^weights: expected a 1-D array"):
        mo.Modular(1.0)
    with pytest.raises(InvalidInputError, match=r"^costs: expected a 1-D array"):
        mo.Knapsack(1.0, 1.0)


# =========================================================================== 6: laminar sets
@pytest.mark.parametrize("sets", [[None], [[0], None], [3], [[0], 1.5], None, 7, ["01"]])
def test_d6_laminar_rejects_non_iterable_sets(sets):
    with raises_named("sets"):
        mo.LaminarMatroid(3, sets, [1] * (len(sets) if isinstance(sets, list) else 1))


# =========================================================================== 7: index arguments
BAD_INDICES = {
    "fractional": [0.5],
    "negative": [-1],
    "out of range": [5],
    "2-D": [[0, 1]],
    "boolean mask": [True, False, True, False, False],
    "string": "01",
    "scalar": 1,
    "nan": [NAN],
    "inf": [INF],
    "huge": [2**70],
    "ragged": [[0], [1, 2]],
    "torch float": torch.tensor([1.0]),
    "torch 2-D": torch.tensor([[0, 1]]),
}


def _index_calls():
    X = np.random.default_rng(0).normal(size=(5, 2))
    f = mo.FacilityLocation.from_features(X)
    fk = mo.FacilityLocation(np.eye(5))
    m = mo.UniformMatroid(5, 3)
    return {
        "kernel_block (features)": (lambda S: f.kernel_block(S), "candidates"),
        "kernel_block (dense)": (lambda S: fk.kernel_block(S), "candidates"),
        "evaluate": (lambda S: f.evaluate(S), "S"),
        "gains": (lambda S: f.gains(f.init_state(), S), "candidates"),
        "condition": (lambda S: f.condition(S), "given"),
        "restrict (utility)": (lambda S: f.restrict(S), "elements"),
        "is_independent": (lambda S: m.is_independent(S), "S"),
        "is_feasible": (lambda S: mo.Knapsack(np.ones(5), 2.0).is_feasible(S), "S"),
        "rank": (lambda S: m.rank(S), "S"),
        "is_basis": (lambda S: m.is_basis(S), "S"),
        "can_add": (lambda S: m.can_add(m.init_state(), S), "candidates"),
        "restrict": (lambda S: mo.restrict(m, S), "elements"),
        "contract": (lambda S: mo.contract(m, S), "S"),
        "laminar sets": (lambda S: mo.LaminarMatroid(5, [S], [1]), "sets"),
        "swap_rounding": (lambda S: mo.swap_rounding(m, [S]), "bases"),
    }


@pytest.mark.parametrize("bad", sorted(BAD_INDICES))
@pytest.mark.parametrize("call", sorted(_index_calls()))
def test_d7_index_arguments_are_validated(call, bad):
    fn, arg = _index_calls()[call]
    with raises_named(arg):
        fn(BAD_INDICES[bad])


@pytest.mark.parametrize("call", ["is_independent", "is_basis", "restrict", "contract",
                                  "restrict (utility)"])
def test_d7_sets_reject_duplicates(call):
    fn, arg = _index_calls()[call]
    with pytest.raises(InvalidInputError, match=rf"^{re.escape(arg)}: indices must be distinct"):
        fn([1, 1])


def test_d7_valid_indices_still_work():
    f = mo.FacilityLocation(np.eye(5))
    assert f.kernel_block(np.array([1, 1, 3])).shape == (3, 5)
    assert f.evaluate(np.array([1.0, 3.0])) == 2.0  # whole-number floats are indices
    assert f.evaluate([1, 1, 3]) == 2.0             # evaluate ignores repeats, as documented
    assert mo.UniformMatroid(5, 3).rank({0, 1, 2, 3}) == 3


# =========================================================================== 8: foreign states
def test_d8_utility_rejects_foreign_states():
    f = mo.Modular([1.0, 2.0, 3.0])
    g = mo.FacilityLocation(np.eye(3))
    twin = mo.Modular([1.0, 2.0, 3.0])
    for state in (g.init_state(), g.add(g.init_state(), 1), twin.init_state(),
                  UtilityState((), 0.0)):
        with raises_named("state"):
            f.gains(state)
        with raises_named("state"):
            f.add(state, 0)
        with raises_named("state"):
            f.value(state)
    with raises_named("state"):
        (f + g).gains(f.init_state())
    s = f.add(f.init_state(), 2)  # its own states keep working
    assert f.gains(s).tolist() == [1.0, 2.0, 0.0] and f.value(s) == 3.0


def test_d8_constraint_rejects_foreign_states():
    m = mo.PartitionMatroid([0, 0, 1], [1, 1])
    for state in (mo.UniformMatroid(3, 1).init_state(),
                  mo.PartitionMatroid([0, 0, 1], [1, 1]).init_state(),
                  ConstraintState((), None)):
        with raises_named("state"):
            m.can_add(state)
        with raises_named("state"):
            m.add(state, 0)
    assert m.can_add(m.add(m.init_state(), 0)).tolist() == [False, False, True]


# =========================================================================== 9: named messages
@pytest.mark.parametrize("make, arg", [
    (lambda: mo.PartitionMatroid(None, [1]), "labels"),
    (lambda: mo.PartitionMatroid("abc", [1]), "labels"),
    (lambda: mo.PartitionMatroid([[0, 1]], [1]), "labels"),
    (lambda: mo.PartitionMatroid([0, 1], None), "capacities"),
    (lambda: mo.PartitionMatroid([NAN, 1.0], [1, 1]), "labels"),
    (lambda: mo.LaminarMatroid(2, [[0]], None), "capacities"),
    (lambda: mo.FacilityLocation(sp.coo_array(np.array([1.0, 2.0]))), "kernel"),
    (lambda: mo.WeightedCoverage(sp.coo_array(np.array([1.0, 0.0]))), "incidence"),
    (lambda: mo.FacilityLocation(sp.csr_matrix(np.array([[1 + 1j]]))), "kernel"),
    (lambda: mo.LogDeterminant(np.eye(3) * 1e308), "kernel"),
    (lambda: mo.LogDeterminant(np.eye(3), scale=1e308), "kernel"),
    (lambda: mo.GraphCut(np.full((3, 3), 1e308)), "kernel"),
    (lambda: mo.GraphCut(np.ones((3, 3)), lam=1e308), "lam"),
    (lambda: mo.SaturatedCoverage(np.full((2, 2), 1e308)), "kernel"),
    (lambda: mo.Modular([1e308, 1e308]), "weights"),
    (lambda: mo.Modular(torch.tensor([3e38, 3e38])), "weights"),
    (lambda: mo.WeightedCoverage(np.ones((2, 2)), weights=[1e308, 1e308]), "weights"),
    (lambda: mo.ProbabilisticCoverage(np.ones((2, 2)) / 2, weights=[1e308, 1e308]), "weights"),
    (lambda: FeatureBased(np.full((2, 2), 1e308)), "features"),
    (lambda: mo.FacilityLocation(np.full((3, 3), 1e308)), "kernel"),
    (lambda: mo.FacilityLocation(sp.csr_matrix(np.full((3, 3), 1e308))), "kernel"),
    (lambda: mo.FacilityLocation(torch.full((3, 3), 3e38)), "kernel"),
    (lambda: mo.FacilityLocation.from_features(np.full((3, 2), 1e200), metric="rbf"), "X"),
    (lambda: mo.FacilityLocation.from_features(np.full((3, 2), 1e200), metric="dot"), "X"),
    (lambda: mo.FacilityLocation.from_features(np.ones((3, 2)), metric=lambda A, B: "x"),
     "metric"),
    (lambda: mo.FacilityLocation.from_features(np.ones((3, 2)), metric=lambda A, B: 1 / 0),
     "metric"),
    (lambda: mo.Knapsack([1.0], "2"), "budget"),
    (lambda: mo.Modular(np.array([1, 2], dtype=">i8").astype(complex)), "weights"),
])
def test_d9_messages_name_the_argument(make, arg):
    with raises_named(arg):
        make()


def test_d9_extreme_but_valid_inputs_work():
    # cosine of huge / tiny features: the row norms no longer overflow / underflow
    for s in (1e200, 1e-200):
        X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) * s
        f = mo.FacilityLocation.from_features(X)
        ref = mo.FacilityLocation.from_features(X / s)
        assert f.evaluate([2]) == pytest.approx(ref.evaluate([2]), rel=1e-12)
    # a large but representable log-determinant
    assert mo.LogDeterminant(np.eye(3) * 1e300).evaluate([0, 1]) == pytest.approx(
        2 * math.log1p(1e300))


# =========================================================================== 10: certificates
@pytest.mark.parametrize("n, k", [(5, 0), (0, 0), (0, 3)])
def test_d10_trivial_instances_are_certified(n, k):
    rng = np.random.default_rng(0)
    for f in (mo.Modular(rng.random(n)), mo.FacilityLocation(rng.random((3, n)))):
        for name, r in solve_all(f, k).items():
            assert r.upper_bound == f.evaluate([]) == r.value == 0.0, name


class _Weak(Utility):
    """Monotone, declared γ-weakly submodular (γ = 0.5), not submodular:
    ``f(S) = |S| + [|S| >= 2] / 2``."""

    def __init__(self, n):
        super().__init__(n, monotone=True, submodular=False, weak_submodularity=0.5)

    def _init_data(self):
        return None

    def _gains(self, state, candidates):
        return torch.full((candidates.numel(),), 1.5 if len(state) == 1 else 1.0,
                          dtype=torch.float64)

    def _add_data(self, state, j):
        return None

    def _value(self, state):
        return len(state) + (0.5 if len(state) >= 2 else 0.0)


@pytest.mark.parametrize("n, k", [(5, 0), (0, 0), (5, 2), (6, 3)])
def test_d10_weakly_submodular_solves_are_certified(n, k):
    f = _Weak(n)
    opt = k + (0.5 if k >= 2 else 0.0) if n else 0.0
    for name, r in solve_all(f, k).items():
        assert r.upper_bound is not None, name
        assert r.upper_bound >= opt - 1e-12, name


# =========================================================================== fuzz
FUZZ = Counter()  # (constructor, outcome) -> count

ODD_FLOATS = [0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 6e4, 1e20, 1e308, -1e308, 5e-324, 1e-310, NAN, INF,
              -INF]
ODD_SCALARS = [None, 0, 1, 2, 3, -1, 2**70, -(2**70), 0.5, 1.0, 2.0, NAN, INF, -INF, 1e308,
               5e-324, "a", "", True, b"x", [], (), np.float64(NAN), np.int64(2), np.array(2.0),
               np.array([]), torch.tensor(1.0), torch.tensor(2), {}]
ODD_INTS = [0, 1, 2, 3, 4, 5, 7, -1, -(2**70), 2**70, 2**63, 1.0, 1.5, NAN, INF, None, "2",
            True, np.int64(2), np.uint64(3), torch.tensor(2), np.array(2)]
KINDS = ["float64", "float32", "float16", "int64", "bool", "torch64", "torch32", "torch16",
         "bfloat16", "list", "sparse", "object", "str", "none", "scalar"]


#: set by :func:`odd_array` when it hands out a 0-D array (which every constructor must reject)
DRAWN = {"zero_d": False}


def _values(data, size, clean):
    # clean: finite and >= 0, sometimes near float16's largest value (its sums overflow there)
    el = (st.one_of(st.floats(0.0, 4.0), st.sampled_from([0.0, 1.0, 2e4, 6e4])) if clean
          else st.one_of(st.floats(-4.0, 4.0), st.sampled_from(ODD_FLOATS)))
    return data.draw(st.lists(el, min_size=size, max_size=size), label="values")


def odd_array(data, shapes, *, clean=None, label="array"):
    """An array of one of ``shapes`` in an odd container / dtype, clean (finite, >= 0, a
    plain dtype) or odd values."""
    if clean is None:  # two in three arrays are clean: most inputs should reach the solvers
        clean = data.draw(st.sampled_from([True, True, False]), label=f"{label} clean")
    shape = data.draw(st.sampled_from(shapes), label=f"{label} shape")
    a = np.array(_values(data, int(np.prod(shape)), clean), dtype=np.float64).reshape(shape)
    kind = data.draw(st.sampled_from(["float64", "list", "torch64", "torch32", "torch16",
                                      "bfloat16", "float16"] if clean else KINDS),
                     label=f"{label} kind")
    if shape == () and kind not in ("none", "scalar", "sparse", "object", "str"):
        DRAWN["zero_d"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "float64":
            return a
        if kind == "float32":
            return a.astype(np.float32)
        if kind == "float16":
            return a.astype(np.float16)
        if kind == "int64":
            return np.nan_to_num(a, posinf=9, neginf=-9).clip(-9, 9).astype(np.int64)
        if kind == "bool":
            return a > 0.5
        if kind in ("torch64", "torch32", "torch16", "bfloat16"):
            dt = {"torch64": torch.float64, "torch32": torch.float32, "torch16": torch.float16,
                  "bfloat16": torch.bfloat16}[kind]
            return torch.as_tensor(a).to(dt)
        if kind == "list":
            return a.tolist()
        if kind == "sparse":
            return sp.csr_matrix(a) if a.ndim == 2 else (sp.coo_array(a) if a.ndim == 1 else a)
        if kind == "object":
            v = a.astype(object).reshape(-1)
            if v.size:
                v[0] = None
            return v.reshape(a.shape)
        if kind == "str":
            return a.astype(str)
        if kind == "none":
            return None
        return data.draw(st.sampled_from(ODD_SCALARS), label=f"{label} scalar")


def _shapes(n, m, good):
    """Odd shapes, and the constructor's own shape ``good`` five times as often."""
    return [(), (0,), (n,), (m,), (n, m), (m, n), (n, n), (0, 0), (2, 2, 2)] + [good] * 40


def _unit(P):
    """Floating arrays (numpy, torch, lists) divided by their largest entry if above 1, so
    that clean draws are probabilities."""
    with np.errstate(all="ignore"):
        if isinstance(P, list):
            return _unit(np.array(P, dtype=float)).tolist() if P else P
        if isinstance(P, np.ndarray) and P.dtype.kind == "f" and P.size:
            return P / max(1.0, float(np.nanmax(np.abs(P))) if not np.isnan(P).all() else 1.0)
        if isinstance(P, torch.Tensor) and P.is_floating_point() and P.numel():
            top = float(P.abs().nan_to_num(0.0).max())
            return P / max(1.0, top) if math.isfinite(top) else P
    return P


def _arg(data, strategy_values, label):
    return data.draw(st.sampled_from(strategy_values), label=label)


def _labels(data, n):
    kind = data.draw(st.sampled_from(["ints", "strs", "mixed", "odd", "floats"]), label="lk")
    if kind == "ints":
        return data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n), label="labels")
    if kind == "strs":
        return data.draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n),
                         label="labels")
    if kind == "mixed":
        return data.draw(st.lists(st.sampled_from([0, 1, "a", (1, 2)]), min_size=n,
                                  max_size=n), label="labels")
    if kind == "floats":
        return data.draw(st.lists(st.sampled_from([0.0, 1.0, 1.5, NAN]), min_size=n,
                                  max_size=n), label="labels")
    return data.draw(st.sampled_from(ODD_SCALARS + [np.zeros((2, 2)), [[0], [1]], [[0, 1]]]),
                     label="labels")


def _capacities(data, k):
    kind = data.draw(st.sampled_from(["clean", "odd", "mapping", "scalar"]), label="ck")
    if kind == "clean":
        return data.draw(st.lists(st.integers(0, 4), min_size=k, max_size=k), label="caps")
    if kind == "odd":
        return data.draw(st.lists(st.sampled_from(ODD_INTS), min_size=k, max_size=k + 1),
                         label="caps")
    if kind == "mapping":
        keys = data.draw(st.lists(st.sampled_from([0, 1, 2, 3, "a", "b", "c"]), max_size=5),
                         label="keys")
        return {key: data.draw(st.sampled_from(ODD_INTS[:8]), label="cap") for key in keys}
    return data.draw(st.sampled_from(ODD_SCALARS), label="caps")


def _sets(data, n):
    if data.draw(st.booleans(), label="odd sets"):
        return data.draw(st.sampled_from(ODD_SCALARS + [[None], [1, 2], [[0.5]], [[-1]],
                                                        [[2**70]], [[[0]]], ["01"]]),
                         label="sets")
    blocks = data.draw(st.lists(st.lists(st.integers(0, max(n - 1, 0)), max_size=n),
                                max_size=3), label="sets") if n else []
    if n and data.draw(st.booleans(), label="whole"):
        blocks.append(list(range(n)))
    return blocks


def _constructor_args(name, data):
    """(callable building the object, is_utility)."""
    n = data.draw(st.integers(0, 5), label="n")
    m = data.draw(st.integers(1, 4), label="m")
    one, two, square = _shapes(n, m, (n,)), _shapes(n, m, (n, m)), _shapes(n, m, (n, n))
    if name == "UniformMatroid":
        a, b = _arg(data, ODD_INTS + [n], "n"), _arg(data, ODD_INTS, "k")
        return lambda: mo.UniformMatroid(a, b), False
    if name == "PartitionMatroid":
        labels = _labels(data, n)
        caps = _capacities(data, data.draw(st.integers(0, 4), label="blocks"))
        return lambda: mo.PartitionMatroid(labels, caps), False
    if name == "LaminarMatroid":
        nn = data.draw(st.sampled_from([n, n, n, -1, None, 2.0, "3", 2**70]), label="n'")
        sets = _sets(data, n)
        caps = _capacities(data, len(sets) if isinstance(sets, list) else 1)
        return lambda: mo.LaminarMatroid(nn, sets, caps), False
    if name == "truncate":
        k = _arg(data, ODD_INTS, "k")
        return lambda: mo.truncate(mo.PartitionMatroid(np.arange(n) % 2, [2, 2]), k), False
    if name == "Knapsack":
        costs = odd_array(data, one, label="costs")
        budget = _arg(data, ODD_SCALARS + [0.0, 1.5, 3.0, 2**2000], "budget")
        return lambda: mo.Knapsack(costs, budget), False
    if name == "LinearMatroid":
        A = odd_array(data, _shapes(n, m, (m, n)), label="matrix")
        tol = _arg(data, [None, None, 0.0, 1e-3, 1.0, -1.0, NAN, "x"], "tol")
        return lambda: mo.LinearMatroid(A, tol=tol), False
    if name == "Modular":
        w = odd_array(data, one, label="weights")
        return lambda: mo.Modular(w), True
    if name == "FacilityLocation":
        K = odd_array(data, _shapes(n, m, (m, n)) + [(n, n)] * 20, label="kernel")
        return lambda: mo.FacilityLocation(K), True
    if name == "FacilityLocation.from_features":
        X = odd_array(data, two, label="X")
        metric = _arg(data, ["cosine", "euclidean", "rbf", "dot", "manhattan", None, 3,
                             lambda A, B: A @ B.T,
                             lambda A, B: torch.full((len(A), len(B)), NAN, dtype=A.dtype)],
                      "metric")
        gamma = _arg(data, [None, None, 0.5, 0.0, -1.0, NAN, INF, 1e308], "gamma")
        return lambda: mo.FacilityLocation.from_features(X, metric=metric, gamma=gamma), True
    if name == "WeightedCoverage":
        clean = data.draw(st.booleans(), label="clean")
        inc = odd_array(data, two, clean=clean, label="incidence")
        if clean and isinstance(inc, np.ndarray):
            inc = inc > 2.0
        w = None if data.draw(st.booleans(), label="no w") else odd_array(
            data, _shapes(n, m, (m,)), label="w")
        return lambda: mo.WeightedCoverage(inc, weights=w), True
    if name == "ProbabilisticCoverage":
        P = _unit(odd_array(data, two, label="probabilities"))
        w = None if data.draw(st.booleans(), label="no w") else odd_array(
            data, _shapes(n, m, (m,)), label="w")
        return lambda: mo.ProbabilisticCoverage(P, weights=w), True
    if name == "GraphCut":
        W = odd_array(data, square, label="kernel")
        if isinstance(W, np.ndarray) and W.ndim == 2 and W.shape[0] == W.shape[1] \
                and W.dtype.kind == "f":
            with np.errstate(over="ignore", invalid="ignore"):
                W = W + W.T
        lam = _arg(data, [0.0, 0.25, 0.5, 1.0, 2.0, -1.0, NAN, 1e308, "x", None], "lam")
        return lambda: mo.GraphCut(W, lam=lam), True
    if name == "LogDeterminant":
        A = odd_array(data, two, label="A")
        with np.errstate(over="ignore", invalid="ignore"):
            L = A @ A.T if isinstance(A, np.ndarray) and A.ndim == 2 and A.dtype == float else A
        scale = _arg(data, [1.0, 1.0, 0.5, 0.0, -1.0, NAN, 1e308, 1e-300], "scale")
        return lambda: mo.LogDeterminant(L, scale=scale), True
    if name == "SaturatedCoverage":
        K = odd_array(data, _shapes(n, m, (m, n)), label="kernel")
        alpha = _arg(data, [0.1, 0.5, 1.0, 0.0, 1.5, NAN, None], "alpha")
        return lambda: mo.SaturatedCoverage(K, alpha=alpha), True
    if name == "FeatureBased":
        F = odd_array(data, two, label="features")
        w = None if data.draw(st.booleans(), label="no w") else odd_array(
            data, _shapes(n, m, (m,)), label="w")
        concave = _arg(data, ["sqrt", "log", "inverse", "power", "cube", None,
                              lambda x: torch.sqrt(x), lambda x: x * 2.0], "concave")
        power = _arg(data, [None, 0.5, 1.0, 2.0, 0.0, NAN], "power")
        return lambda: FeatureBased(F, weights=w, concave=concave, power=power), True
    base = mo.Modular(np.arange(1.0, n + 1)) if n else mo.Modular(np.zeros(0))
    matroid = mo.PartitionMatroid(np.arange(n) % 2, [1, 2])
    elements = _arg(data, ODD_SCALARS + [[], [0], [0, 0], [n], [-1], [0.5], [[0]], "0",
                                         list(range(n)), list(range(n))[::-1]], "elements")
    if name == "GraphicMatroid":
        edges = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                   max_size=6), label="edges")
        G = _arg(data, [None, 3, "G", nx.Graph(edges), nx.MultiGraph(edges),
                        nx.DiGraph(edges)], "G")
        return lambda: mo.GraphicMatroid(G), False
    if name == "TransversalMatroid":
        B = nx.Graph()
        B.add_edges_from((("L", i), ("R", j)) for i, j in data.draw(
            st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=8),
            label="edges"))
        ground = _arg(data, [None, [("L", i) for i in range(4)], [("L", 0), ("L", 0)],
                             [("X", 9)], 5, "L"], "ground")
        G = _arg(data, [B, B, None, 3], "G")
        return lambda: mo.TransversalMatroid(G, ground=ground), False
    if name == "Intersection":
        parts = _arg(data, [(), (matroid,), (matroid, mo.UniformMatroid(n, 2)),
                            (matroid, mo.UniformMatroid(n + 1, 2)), (matroid, None),
                            (matroid, mo.Knapsack(np.ones(n), 2.0)) if n else (None,)],
                     "matroids")
        return lambda: mo.Intersection(*parts), False
    if name == "restrict":
        return lambda: mo.restrict(matroid, elements), False
    if name == "contract":
        return lambda: mo.contract(matroid, elements), False
    if name == "WeightedSum":
        weights = _arg(data, [[1.0, 1.0], [1.0, -0.5], [1.0], [NAN, 1.0], [INF, 1.0],
                              [1e308, 1e308], None, 1.0, ["a", 1.0]], "weights")
        other = _arg(data, [base, mo.Modular(np.ones(n + 1)), None, 3], "utilities")
        return lambda: mo.WeightedSum([base, other], weights), True
    if name == "TruncatedUtility":
        cap = _arg(data, ODD_SCALARS + [0.0, 2.5], "cap")
        return lambda: TruncatedUtility(base, cap), True
    if name == "ConditionedUtility":
        return lambda: ConditionedUtility(base, elements), True
    if name == "RestrictedUtility":
        return lambda: RestrictedUtility(base, elements), True
    raise AssertionError(name)


FUZZED = ["UniformMatroid", "PartitionMatroid", "LaminarMatroid", "truncate", "Knapsack",
          "LinearMatroid", "Modular", "FacilityLocation", "FacilityLocation.from_features",
          "WeightedCoverage", "ProbabilisticCoverage", "GraphCut", "LogDeterminant",
          "SaturatedCoverage", "FeatureBased", "GraphicMatroid", "TransversalMatroid",
          "Intersection", "restrict", "contract", "WeightedSum", "TruncatedUtility",
          "ConditionedUtility", "RestrictedUtility"]


def _check_result(res, f, c, n, opt, tol, cert_tol):
    idx = np.asarray(res.indices.cpu() if isinstance(res.indices, torch.Tensor)
                     else res.indices).tolist()
    assert len(set(idx)) == len(idx), f"{res.solver}: repeated indices {idx}"
    assert all(isinstance(i, int) and 0 <= i < n for i in idx), f"{res.solver}: {idx}"
    assert c.is_feasible(idx), f"{res.solver}: infeasible {idx}"
    again = f.evaluate(idx)
    assert not math.isnan(res.value)
    assert res.value == pytest.approx(again, rel=tol, abs=tol), res.solver
    if res.upper_bound is not None:
        assert res.upper_bound >= res.value, res.solver
        assert res.upper_bound >= opt - cert_tol * max(1.0, abs(opt)), \
            f"{res.solver}: certificate {res.upper_bound} < OPT {opt}"
    elif f.monotone and f.submodular and f.gains_are_exact:
        raise AssertionError(f"{res.solver}: no certificate for {f!r}")


def _brute_force(f, c, n):
    return max(f.evaluate(list(S)) for r in range(n + 1)
               for S in itertools.combinations(range(n), r) if c.is_feasible(list(S)))


def _exercise(obj, is_utility, data):
    """Solve with every applicable solver and check each result independently."""
    if is_utility:
        f = obj
        n = f.n
        k = data.draw(st.integers(0, n), label="k")
        constraints = {name: mo.UniformMatroid(n, k) if isinstance(c, int)
                       else mo.FreeMatroid(n) if c is None else c
                       for name in mo.SOLVERS
                       if (c := constraint_for(name, n, k)) is not SKIP
                       and mo.SOLVER_SPECS[name].accepts_utility(f)}
    else:
        c = obj
        n = c.n
        assume_small = n <= 6
        if not assume_small:  # e.g. UniformMatroid(2**70, 1): no utility that large exists
            assert c.rank() >= 0
            return
        f = mo.Modular(np.random.default_rng(n).random(n) + 0.5)
        applicable = ["greedy", "lazy_greedy", "stochastic_greedy"]
        if c.is_matroid:
            applicable += ["residual_random_greedy", "continuous_greedy"]
        if isinstance(c, mo.Knapsack):
            applicable.append("cost_benefit_greedy")
        if c.kind == "cardinality":
            applicable.append("random_greedy")
        constraints = {name: c for name in applicable}
    tol = 1e-5 if f.dtype == torch.float32 else 1e-9
    # the certificate sums oracle gains, OPT comes from evaluate: on ill-conditioned inputs
    # (a log-determinant of entries 1 and 4e9) they differ by rounding of about eps · cond
    cert_tol = 1e-4 if f.dtype == torch.float32 else 1e-6
    opts = {"continuous_greedy": {"steps": 3}, **LOCAL_OPTIONS}
    if not mo.has_closed_form(f):
        opts["continuous_greedy"]["samples"] = 4
    opt = {}
    for name, c in constraints.items():
        key = id(c) if not isinstance(c, mo.UniformMatroid) else ("u", c.k)
        if key not in opt:
            opt[key] = _brute_force(f, c, n)
        try:
            res = mo.maximize(f, c, solver=name, seed=0, **opts.get(name, {}))
        except InvalidInputError as exc:
            # values that overflow only in combination (a weighted sum of weights 1e308) are
            # found when gains are computed: a named error, never a silent answer
            assert re.match(r"^utility: (marginal gains are not finite|f\(S\) is NaN)",
                            str(exc)), f"{name}: {exc}"
            FUZZ["solves rejected", name] += 1
            continue
        _check_result(res, f, c, n, opt[key], tol, cert_tol)
        FUZZ["solves", name] += 1


@pytest.mark.parametrize("name", FUZZED)
@settings(max_examples=150)
@given(data=st.data())
def test_fuzz_constructors(name, data):
    DRAWN["zero_d"] = False
    build, is_utility = _constructor_args(name, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. torch on read-only numpy arrays
        try:
            obj = build()
        except (ValueError, TypeError) as exc:
            assert NAMED.match(str(exc)), f"{name}: unnamed {type(exc).__name__}: {exc}"
            FUZZ[name, "rejected"] += 1
            event("rejected")
            return
        assert not DRAWN["zero_d"], f"{name}: accepted a 0-D array argument: {obj!r}"
        _exercise(obj, is_utility, data)
    FUZZ[name, "built and solved"] += 1
    event("built and solved")


def test_fuzz_report():
    """Print the fuzz counts (``pytest -s``); runs after the fuzz test in file order."""
    inputs = {key: v for key, v in FUZZ.items() if key[0] not in ("solves", "solves rejected")}
    total = sum(inputs.values())
    if total == 0:
        pytest.skip("the fuzz test did not run in this session")
    rejected = sum(v for (_, o), v in inputs.items() if o == "rejected")
    solves = {name: v for (kind, name), v in FUZZ.items() if kind == "solves"}
    lines = [f"fuzzed {total} constructor inputs ({rejected} rejected with a named error, "
             f"{total - rejected} built and solved by every applicable solver); "
             f"{sum(solves.values())} checked solves: "
             + ", ".join(f"{k} {v}" for k, v in sorted(solves.items()))
             + f"; {sum(v for (kind, _), v in FUZZ.items() if kind == 'solves rejected')} "
             "solves stopped by a named overflow error"]
    for name in FUZZED:
        lines.append(f"  {name}: {FUZZ[name, 'rejected']} rejected, "
                     f"{FUZZ[name, 'built and solved']} solved")
    print("\n" + "\n".join(lines))
    for name in FUZZED:  # each constructor got through to the solvers at least once
        assert FUZZ[name, "built and solved"] > 0, name


# --------------------------------------------------------------------------- found by the fuzz
def test_transversal_ground_that_is_not_a_sequence_is_named():
    G = nx.Graph([(("L", 0), ("R", 0))])
    with pytest.raises(InvalidInputError, match=r"^ground: expected a sequence of nodes"):
        mo.TransversalMatroid(G, ground=5)


def test_weighted_sum_whose_multiplied_weights_overflow_is_named():
    inner = mo.WeightedSum([mo.Modular([1.0, 2.0])], [1e200])
    with pytest.raises(InvalidInputError, match=r"^weights: their products"):
        mo.WeightedSum([inner], [1e200])


def test_weighted_sum_whose_values_overflow_stops_with_a_named_error():
    f = mo.WeightedSum([mo.Modular([1.0]), mo.Modular([1.0])], [1e308, 1e308])
    with pytest.raises(InvalidInputError, match=r"^utility: marginal gains are not finite"):
        mo.maximize(f, 1)
