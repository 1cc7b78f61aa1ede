"""Polytopes: the LP step, matroid membership / projection / decomposition, and continuous
greedy over polytopes that are not matroid polytopes.

* the LP step over knapsack ∩ partition-matroid polytopes against scipy's ``linprog``, and
  over integral polytopes (one matroid, the intersection of two partition matroids, a graphic
  matroid's rank inequalities) against brute force over the feasible sets;
* membership by the family, by the rank inequalities and by decomposition agree;
* projections satisfy the variational inequality against every vertex;
* decompositions reconstruct ``x`` within ``1e-8`` from independent sets only;
* measured / plain continuous greedy meets ``(1 - 1/e)·OPT`` (``OPT`` by brute force) and
  certifies an upper bound on it;
* bad input raises ``InvalidInputError`` naming the argument.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings

import cvxpy as cp
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import matroidopt as mo
from matroidopt.errors import AssumptionWarning, InvalidInputError
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.testing.matroids import matroids

E_RATIO = 1.0 - 1.0 / math.e


def subsets(n):
    for r in range(n + 1):
        yield from itertools.combinations(range(n), r)


def independent_sets(m):
    return [list(S) for S in subsets(m.n) if m.is_independent(list(S))]


def knapsack_partition(rng, n):
    costs = rng.uniform(0.1, 2.0, n).round(3)
    budget = float(rng.uniform(0.5, 3.0))
    labels = rng.integers(0, 3, n)
    caps = rng.integers(0, 3, 3)
    return mo.Knapsack(costs, budget), mo.PartitionMatroid(labels, caps), costs, budget, \
        labels, caps


# --------------------------------------------------------------------------- LP step
@pytest.mark.parametrize("seed", range(8))
def test_lp_step_knapsack_partition_matches_linprog(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    ks, pm, costs, budget, labels, caps = knapsack_partition(rng, n)
    P = mo.polytope_of(ks, pm)
    w = rng.normal(size=n)
    v = P.linear_maximize(w)
    A = np.vstack([costs[None, :]] + [(labels == b).astype(float)[None, :] for b in range(3)])
    b = np.concatenate([[budget], caps.astype(float)])
    ref = linprog(-w, A_ub=A, b_ub=b, bounds=(0, 1), method="highs")
    assert float(w @ v) == pytest.approx(-ref.fun, abs=1e-7)
    assert P.contains(v, tol=1e-7)
    assert np.all(A @ v <= b + 1e-7)


@settings(max_examples=15)
@given(m=matroids(max_n=7), seed=st.integers(0, 2**32 - 1))
def test_lp_step_on_matroid_polytopes_is_integral_and_optimal(m, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=m.n)
    best = max(float(w[S].sum()) if S else 0.0 for S in independent_sets(m))
    P = mo.polytope_of(m)                       # the matroid greedy
    v = P.linear_maximize(w)
    assert float(w @ v) == pytest.approx(best, abs=1e-9)
    assert m.is_independent(np.flatnonzero(v).tolist())
    if m.n:                                  # the same polytope as an LP (its inequalities)
        Q = mo.polytope_of(m, mo.UniformMatroid(m.n, m.n))
        assert float(w @ Q.linear_maximize(w)) == pytest.approx(best, abs=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_lp_over_two_partition_matroids_is_a_matching(seed):
    # the intersection of two matroid polytopes is integral (Edmonds): bipartite matching
    rng = np.random.default_rng(seed)
    n = 8
    m1 = mo.PartitionMatroid(rng.integers(0, 3, n), [1, 1, 1])
    m2 = mo.PartitionMatroid(rng.integers(0, 3, n), [1, 2, 1])
    w = rng.uniform(0.0, 1.0, n)
    common = [S for S in independent_sets(m1) if m2.is_independent(S)]
    best = max(float(w[S].sum()) if S else 0.0 for S in common)
    v = mo.polytope_of(mo.Intersection(m1, m2)).linear_maximize(w)
    assert float(w @ v) == pytest.approx(best, abs=1e-7)
    assert np.allclose(v, v.round(), atol=1e-7)


def test_user_cvxpy_polytope():
    A = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 2.0, 1.0]])
    b = np.array([1.0, 1.5])
    P = mo.Polytope.from_cvxpy(4, lambda x: [A @ x <= b])
    Q = P & mo.polytope_of(mo.Knapsack([1.0, 1.0, 1.0, 1.0], 1.2))
    w = np.array([1.0, 1.5, 0.7, 0.2])
    for poly, (AA, bb) in [(P, (A, b)), (Q, (np.vstack([A, np.ones(4)]), np.r_[b, 1.2]))]:
        ref = linprog(-w, A_ub=AA, b_ub=bb, bounds=(0, 1), method="highs")
        v = poly.linear_maximize(w)
        assert float(w @ v) == pytest.approx(-ref.fun, abs=1e-7)
        assert poly.contains(v, tol=1e-7)
    assert P.contains([0.5, 0.5, 0.25, 0.0]) and not P.contains([0.5, 0.6, 0.0, 0.0])
    p = P.project([1.0, 1.0, 1.0, 1.0])
    assert P.contains(p, tol=1e-6)
    ref = cp.Variable(4)
    cp.Problem(cp.Minimize(cp.sum_squares(ref - 1.0)), [ref >= 0, ref <= 1, A @ ref <= b]).solve()
    np.testing.assert_allclose(p, ref.value, atol=1e-5)
    assert "user" in repr(P)


# --------------------------------------------------------------------------- matroid helpers
def points(rng, m, k=3):
    """A point inside P(M) (a convex combination of independent sets) and a perturbed one."""
    sets = [m.max_weight_independent(rng.normal(size=m.n)) for _ in range(k)]
    lam = rng.random(k + 1)
    lam /= lam.sum()
    x = np.zeros(m.n)
    for S, c in zip(sets, lam):
        x[S] += c
    x = np.clip(x, 0.0, 1.0)
    return x, np.clip(x * 1.3 + 0.1 * rng.random(m.n), 0.0, 1.0)


@settings(max_examples=25)
@given(m=matroids(max_n=7), seed=st.integers(0, 2**32 - 1))
def test_membership_methods_agree(m, seed):
    rng = np.random.default_rng(seed)
    inside, other = points(rng, m)
    assert mo.MatroidPolytope(m).contains(inside)
    assert mo.MatroidPolytope(m).contains(inside, method="decomposition")
    truth = mo.MatroidPolytope(m).contains(other, method="rank_inequalities")
    assert mo.MatroidPolytope(m).contains(other, method="decomposition", tol=1e-7) == truth
    if mo.pipage_supported(m):
        assert mo.MatroidPolytope(m).contains(other, method="family") == truth
    assert mo.polytope_of(m).contains(other) == truth


@settings(max_examples=25)
@given(m=matroids(max_n=7), seed=st.integers(0, 2**32 - 1))
def test_decomposition_reconstructs_with_independent_sets(m, seed):
    rng = np.random.default_rng(seed)
    x, _ = points(rng, m, k=int(rng.integers(1, 5)))
    sets, w = mo.MatroidPolytope(m).decompose(x)
    assert np.all(w > 0) and float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    assert len(sets) <= np.count_nonzero(x) + 1
    assert len({tuple(S) for S in sets}) == len(sets)
    rec = np.zeros(m.n)
    for S, c in zip(sets, w):
        assert m.is_independent(S.tolist())
        rec[S] += c
    assert np.max(np.abs(rec - x), initial=0.0) <= 1e-8


@settings(max_examples=20)
@given(m=matroids(max_n=6), seed=st.integers(0, 2**32 - 1))
def test_projection_is_the_nearest_point(m, seed):
    rng = np.random.default_rng(seed)
    inside, _ = points(rng, m)
    np.testing.assert_allclose(mo.MatroidPolytope(m).project(inside), inside, atol=1e-6)
    y = rng.normal(0.5, 0.8, m.n)
    p = mo.MatroidPolytope(m).project(y)
    assert mo.MatroidPolytope(m).contains(p, tol=1e-6)
    # variational inequality against every vertex (the polytope is their convex hull)
    for S in independent_sets(m):
        q = np.zeros(m.n)
        q[S] = 1.0
        assert float((y - p) @ (q - p)) <= 1e-5


def test_large_compact_matroids_need_no_enumeration():
    n = 400
    m = mo.PartitionMatroid(np.arange(n) % 5, [3, 1, 2, 2, 4])
    x = np.full(n, 0.01)
    assert mo.MatroidPolytope(m).contains(x) and not mo.MatroidPolytope(m).contains(np.full(n, 0.1))
    p = mo.MatroidPolytope(m).project(np.full(n, 0.1))
    assert mo.MatroidPolytope(m).contains(p, tol=1e-6)
    lam = LaminarMatroid(6, [[0, 1], [0, 1, 2, 3], list(range(6))], [1, 2, 2])
    assert mo.MatroidPolytope(lam).contains([0.5, 0.5, 0.5, 0.5, 0.0, 0.0])
    assert not mo.MatroidPolytope(lam).contains([0.5, 0.5, 0.5, 0.5, 0.5, 0.0])
    G = nx.gnm_random_graph(8, 20, seed=1)
    g = mo.GraphicMatroid(G)               # 20 edges: membership by decomposition
    x = np.full(20, 7 / 20 * 0.999)        # rank 7 spread evenly: inside iff dense parts fit
    P = mo.MatroidPolytope(g)
    assert P.contains(x) == P.contains(x, method="decomposition")
    sets, w = mo.MatroidPolytope(g).decompose(np.full(20, 0.2))
    assert all(g.is_independent(S.tolist()) for S in sets)


# --------------------------------------------------------------------------- continuous greedy
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("measured", [True, False])
def test_continuous_greedy_over_knapsack_partition(seed, measured):
    rng = np.random.default_rng(seed)
    n = 7
    ks, pm, *_ = knapsack_partition(rng, n)
    f = mo.FacilityLocation(rng.random((5, n)) ** 2)
    opt = max(f.evaluate(list(S)) for S in subsets(n)
              if ks.is_feasible(list(S)) and pm.is_feasible(list(S)))
    P = mo.polytope_of(ks, pm)
    res = mo.measured_continuous_greedy(f, P, steps=30, measured=measured)
    assert P.contains(res.x, tol=1e-6)
    assert res.value == pytest.approx(mo.multilinear_value(f, res.x))
    assert res.value >= E_RATIO * opt - 1e-9
    assert res.upper_bound >= opt - 1e-9 and res.upper_bound >= res.value
    assert res.guarantee == pytest.approx(E_RATIO) and res.info["rounding"] is None
    assert res.lp_calls == 31 and res.info["measured"] is measured


def test_measured_over_a_matroid_and_sampled_and_non_monotone():
    rng = np.random.default_rng(2)
    m = mo.PartitionMatroid([0, 0, 1, 1, 2, 2], [1, 1, 1])
    f = mo.FacilityLocation(rng.random((4, 6)))
    opt = mo.testing.brute_force_maximum(f, m).value
    res = mo.measured_continuous_greedy(f, m, steps=20, measured=True)   # greedy linear step
    assert mo.MatroidPolytope(m).contains(res.x, tol=1e-9) and res.value >= E_RATIO * opt
    # the plain update with the greedy linear step is continuous greedy itself
    plain = mo.measured_continuous_greedy(f, m, steps=20, measured=False)
    cg = mo.continuous_greedy(f, m, steps=20, seed=0)
    assert plain.value == pytest.approx(cg.info["fractional_value"], rel=1e-9)
    assert plain.value >= res.value
    g = mo.Utility.from_callable(lambda S: math.sqrt(len({i % 3 for i in S})), 6,
                                 monotone=True, submodular=True)
    r = mo.measured_continuous_greedy(g, [m, mo.Knapsack(np.ones(6), 2.0)], steps=5,
                                      samples=20, seed=0)
    assert r.stderr > 0 and r.upper_bound is None and r.info["gradient"] == "sampled"
    # non-negative, non-monotone (a cut): 1/e for the measured variant
    W = rng.random((6, 6))
    cut = mo.GraphCut((W + W.T) / 2, lam=1.0)
    if cut.nonnegative and cut.submodular and not cut.monotone:
        r = mo.measured_continuous_greedy(cut, 3, steps=10, samples=30, seed=1)
        assert r.guarantee == pytest.approx(1 / math.e)
    with pytest.warns(AssumptionWarning, match="measured_continuous_greedy"):
        r = mo.measured_continuous_greedy(mo.Modular([1.0, -2.0]), 1, steps=2, measured=False)
    assert r.guarantee is None


# --------------------------------------------------------------------------- bad input
PM = mo.PartitionMatroid([0, 0, 1], [1, 1])
F3 = mo.FacilityLocation(np.eye(3))


def _big_graphic():
    return mo.GraphicMatroid(nx.gnm_random_graph(6, 14, seed=0))


@pytest.mark.parametrize("call, arg", [
    (lambda: mo.MatroidPolytope(PM).contains([0.5, 1.5, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(PM).contains([0.5, -0.1, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(PM).contains([0.5, 0.5]), "x"),
    (lambda: mo.MatroidPolytope(PM).contains([0.5, np.nan, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(PM).contains([0.5, 0.5, 0.0], method="lp"), "method"),
    (lambda: mo.MatroidPolytope(_big_graphic()).contains(np.zeros(14), method="family"), "method"),
    (lambda: mo.MatroidPolytope(_big_graphic()).contains(np.zeros(14),
                                    method="rank_inequalities"), "method"),
    (lambda: mo.MatroidPolytope("not a matroid").contains([0.5]), "matroid"),
    (lambda: mo.MatroidPolytope(PM).decompose([0.7, 0.7, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(PM).decompose([0.7, 2.0, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(mo.UniformMatroid(2, 0)).decompose([0.5, 0.0]), "x"),
    (lambda: mo.MatroidPolytope(_big_graphic()).project(np.zeros(14)), "matroid"),
    (lambda: mo.MatroidPolytope(PM).project([0.5, np.inf, 0.0]), "x"),
    (lambda: mo.polytope_of(_big_graphic()).project(np.zeros(14)), "matroid"),
    (lambda: mo.polytope_of(_big_graphic(), mo.UniformMatroid(14, 2)), "constraint"),
    (lambda: mo.polytope_of("knapsack"), "constraint"),
    (lambda: mo.polytope_of(mo.Knapsack([1.0], 1.0), 3), "constraint"),
    (lambda: mo.polytope_of(PM, mo.UniformMatroid(4, 1)), "constraints"),
    (lambda: mo.polytope_of(), "constraints"),
    (lambda: mo.Polytope.from_cvxpy(2, lambda x: [x[0] >= 0.5]), "constraints"),
    (lambda: mo.Polytope.from_cvxpy(2, "x <= 1"), "constraints"),
    (lambda: mo.polytope_of(PM).contains([0.5, 0.5, 1.2]), "x"),
    (lambda: mo.polytope_of(PM, mo.Knapsack([1.0] * 3, 1.0)).contains([0.5, 0.5, 1.2]), "x"),
    (lambda: mo.polytope_of(PM).linear_maximize([1.0, 2.0]), "weights"),
    (lambda: mo.lp_solver("milp"), "problem"),
    (lambda: mo.measured_continuous_greedy(F3, PM, steps=0), "steps"),
    (lambda: mo.measured_continuous_greedy(F3, PM, steps=2.5), "steps"),
    (lambda: mo.measured_continuous_greedy(F3, PM, samples=0), "samples"),
    (lambda: mo.measured_continuous_greedy(F3, PM, measured="yes"), "measured"),
    (lambda: mo.measured_continuous_greedy(F3, mo.polytope_of(mo.UniformMatroid(4, 1))),
     "polytope"),
    (lambda: mo.measured_continuous_greedy(F3, "a polytope"), "constraint"),
    (lambda: mo.measured_continuous_greedy(lambda S: 0.0, PM), "utility"),
])
def test_bad_input_names_the_argument(call, arg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        with pytest.raises(InvalidInputError, match=rf"^{re.escape(arg)}:"):
            call()


def test_intersection_with_a_matroid_polytope_keeps_its_rows_in_either_order():
    part = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
    user = mo.Polytope.from_cvxpy(4, lambda x: [x[0] <= 1])
    for P in (user & mo.polytope_of(part), mo.polytope_of(part) & user):
        assert not P.contains([1.0, 1.0, 1.0, 1.0])
        assert P.contains([1.0, 0.0, 1.0, 0.0])
        assert P.b.size == 2
