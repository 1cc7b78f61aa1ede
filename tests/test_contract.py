"""The contract table: every solver × constraint kind × utility family it applies to.

For each hypothesis-generated instance (n <= 10) the optimum is found by enumerating all 2^n
subsets with a feasibility oracle written here, independently of the library's own
constraint code. Every applicable solver must then:

* return distinct indices that this independent oracle accepts;
* report ``value == utility.evaluate(indices)``;
* meet its guarantee against the brute-force optimum (on every run for deterministic
  guarantees; for guarantees in expectation, on the mean over 30 seeds, with a confidence
  margin of 4 standard errors);
* report a certificate ``upper_bound >= OPT``;
* return the same result for the same seed;
* and lazy greedy must return exactly what greedy returns, with non-increasing gains.
"""

from __future__ import annotations

import itertools
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.errors import AssumptionWarning
from matroidopt.matroid.graphic import GraphicMatroid
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.matroid.linear import LinearMatroid
from matroidopt.matroid.operations import truncate
from matroidopt.matroid.transversal import TransversalMatroid
from matroidopt.testing import brute_force_maximum
from matroidopt.testing.utilities import utilities, utility_families

SEEDS = range(30)          # seeds for randomised solvers (guarantees in expectation)
Z = 4.0                    # the mean may fall Z standard errors below g * OPT
TOL = 1e-9
RANDOMISED = {"stochastic_greedy", "residual_random_greedy", "random_greedy",
              "continuous_greedy"}
# continuous greedy: T = 20 steps and 10 samples per step where no closed form exists keep the
# table affordable (the defaults are 100 and 100); fewer seeds for the same reason
SOLVER_OPTIONS = {"continuous_greedy": {"steps": 20}}
SAMPLED_OPTIONS = {"continuous_greedy": {"samples": 10}}
SEED_COUNT = {"continuous_greedy": 10}

CONSTRAINT_KINDS = ["uniform", "partition", "laminar", "graphic", "transversal", "linear",
                    "truncated", "knapsack", "intersection"]


# --------------------------------------------------------------------------- constraints
# Each builder returns (constraint, independent feasibility oracle on a list of indices).

def _uniform(rng, n):
    k = int(rng.integers(0, n + 1))
    return mo.UniformMatroid(n, k), lambda S: len(S) <= k


def _partition_data(rng, n):
    blocks = int(rng.integers(1, 4))
    labels = rng.integers(0, blocks, n)
    caps = rng.integers(0, 4, blocks)
    return labels, caps


def _partition(rng, n):
    labels, caps = _partition_data(rng, n)

    def oracle(S):
        counts = np.bincount(labels[list(S)], minlength=len(caps)) if S else 0
        return bool(np.all(counts <= caps))

    return mo.PartitionMatroid(labels, caps), oracle


def _laminar(rng, n):
    # blocks of a random partition, one union of some blocks, and the whole ground set
    labels = rng.integers(0, 3, n)
    sets = [np.flatnonzero(labels == b).tolist() for b in range(3)]
    sets.append(sorted(sets[0] + sets[1]))
    sets.append(list(range(n)))
    caps = [int(c) for c in rng.integers(0, 4, len(sets))]

    def oracle(S):
        return all(len(set(S) & set(A)) <= c for A, c in zip(sets, caps))

    return LaminarMatroid(n, sets, caps), oracle


def _graphic(rng, n):
    nodes = int(rng.integers(2, 6))
    G = nx.MultiGraph()
    G.add_nodes_from(range(nodes))
    for _ in range(n):
        G.add_edge(int(rng.integers(nodes)), int(rng.integers(nodes)))
    edges = list(G.edges(keys=True))

    def oracle(S):
        H = nx.MultiGraph()
        H.add_edges_from(edges[i] for i in S)
        # a forest: no self-loop, no parallel pair, no cycle
        return H.number_of_edges() == 0 or nx.is_forest(nx.Graph(H)) and \
            nx.Graph(H).number_of_edges() == H.number_of_edges() and \
            nx.number_of_selfloops(H) == 0

    return GraphicMatroid(G), oracle


def _transversal(rng, n):
    right = int(rng.integers(1, 6))
    G = nx.Graph()
    left_nodes = [("L", i) for i in range(n)]
    right_nodes = [("R", r) for r in range(right)]
    G.add_nodes_from(left_nodes, bipartite=0)
    G.add_nodes_from(right_nodes, bipartite=1)
    for i in range(n):
        for r in range(right):
            if rng.random() < 0.4:
                G.add_edge(("L", i), ("R", r))

    def oracle(S):
        H = G.subgraph([left_nodes[i] for i in S] + right_nodes)
        M = nx.bipartite.hopcroft_karp_matching(H, top_nodes=[left_nodes[i] for i in S])
        return len(M) // 2 == len(S)

    return TransversalMatroid(G, ground=left_nodes), oracle


def _linear(rng, n):
    d = int(rng.integers(1, 5))
    A = rng.integers(-1, 2, size=(d, n)).astype(float)

    def oracle(S):
        return not S or np.linalg.matrix_rank(A[:, list(S)]) == len(S)

    return LinearMatroid(A), oracle


def _truncated(rng, n):
    base, base_oracle = _partition(rng, n)
    k = int(rng.integers(0, n + 1))
    return truncate(base, k), lambda S: len(S) <= k and base_oracle(S)


def _knapsack(rng, n):
    costs = rng.uniform(0.1, 2.0, n).round(3)
    budget = float(rng.uniform(0.5, 4.0))
    return mo.Knapsack(costs, budget), lambda S: float(costs[list(S)].sum()) <= budget + 1e-9


def _intersection(rng, n):
    m1, o1 = _partition(rng, n)
    m2, o2 = _graphic(rng, n) if rng.random() < 0.5 else _partition(rng, n)
    return mo.Intersection(m1, m2), lambda S: o1(S) and o2(S)


BUILDERS = {"uniform": _uniform, "partition": _partition, "laminar": _laminar,
            "graphic": _graphic, "transversal": _transversal, "linear": _linear,
            "truncated": _truncated, "knapsack": _knapsack, "intersection": _intersection}
MATROID_KINDS = {"uniform", "partition", "laminar", "graphic", "transversal", "linear",
                 "truncated"}


def applicable_solvers(kind: str) -> list[str]:
    solvers = ["greedy", "lazy_greedy", "stochastic_greedy"]
    if kind in MATROID_KINDS:
        solvers.extend(["residual_random_greedy", "continuous_greedy"])
    if kind == "knapsack":
        solvers.append("cost_benefit_greedy")
    if kind == "uniform":
        solvers.append("random_greedy")
    return solvers


def brute_force(utility, oracle, n):
    best, best_set = -np.inf, ()
    for r in range(n + 1):
        for S in itertools.combinations(range(n), r):
            if oracle(list(S)):
                v = utility.evaluate(list(S))
                if v > best:
                    best, best_set = v, S
    return best, best_set


def check_run(res, utility, oracle, opt, n):
    idx = np.asarray(res.indices).tolist()
    assert len(set(idx)) == len(idx), f"{res.solver}: repeated indices {idx}"
    assert all(0 <= i < n for i in idx)
    assert oracle(idx), f"{res.solver}: infeasible {idx}"
    assert res.value == pytest.approx(utility.evaluate(idx), rel=1e-9, abs=1e-9)
    if res.upper_bound is not None:
        assert res.upper_bound >= opt - TOL * max(1, abs(opt)), \
            f"{res.solver}: certificate {res.upper_bound} < OPT {opt}"
    return idx


# --------------------------------------------------------------------------- the table
@pytest.mark.parametrize("family", utility_families())
@pytest.mark.parametrize("kind", CONSTRAINT_KINDS)
@settings(max_examples=4)
@given(data=st.data())
def test_contract(kind, family, data):
    n = data.draw(st.integers(1, 9), label="n")
    utility = data.draw(utilities(n, families=[family]), label="utility")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="constraint_seed"))
    constraint, oracle = BUILDERS[kind](rng, n)
    opt, _ = brute_force(utility, oracle, n)
    # the public brute-force helper agrees with the independent enumeration
    assert brute_force_maximum(utility, constraint).value == pytest.approx(opt, rel=1e-9,
                                                                            abs=1e-9)
    scale = max(1.0, abs(opt))
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        for solver in applicable_solvers(kind):
            seeds = SEEDS[:SEED_COUNT.get(solver, len(SEEDS))] if solver in RANDOMISED \
                else SEEDS[:1]
            options = dict(SOLVER_OPTIONS.get(solver, {}))
            if not mo.has_closed_form(utility):
                options.update(SAMPLED_OPTIONS.get(solver, {}))
            runs = [mo.maximize(utility, constraint, solver=solver, seed=s, **options)
                    for s in seeds]
            again = mo.maximize(utility, constraint, solver=solver, seed=SEEDS[0], **options)
            assert np.asarray(again.indices).tolist() == np.asarray(runs[0].indices).tolist()
            for r in runs:
                check_run(r, utility, oracle, opt, n)
            results[solver] = runs
            g = runs[0].guarantee
            if g is None:
                continue
            values = np.array([r.value for r in runs])
            if runs[0].expected:
                # a confidence margin of Z standard errors of the mean over seeds
                margin = Z * values.std(ddof=1) / np.sqrt(len(values))
                assert values.mean() >= g * opt - margin - TOL * scale, \
                    f"{solver}: mean {values.mean()} < {g} x OPT {opt} - {margin}"
            else:
                assert values.min() >= g * opt - TOL * scale, \
                    f"{solver}: {values.min()} < {g} x OPT {opt}"
    greedy, lazy = results["greedy"][0], results["lazy_greedy"][0]
    if utility.submodular and utility.gains_are_exact:
        assert np.asarray(lazy.indices).tolist() == np.asarray(greedy.indices).tolist()
        if utility.monotone:
            assert np.all(np.diff(greedy.gains) <= TOL * scale)


def test_contract_covers_every_registered_solver():
    covered = set()
    for kind in CONSTRAINT_KINDS:
        covered.update(applicable_solvers(kind))
    assert covered == set(mo.SOLVERS)
