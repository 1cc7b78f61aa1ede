"""Matroid kinds: the axioms by brute force on random instances (hypothesis), closed-form
facts per kind, and bad input."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from matroidopt.errors import InvalidInputError
from matroidopt.matroid.base import Matroid
from matroidopt.matroid.graphic import GraphicMatroid
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.matroid.linear import LinearMatroid
from matroidopt.matroid.operations import (
    ContractedMatroid,
    DirectSumMatroid,
    RestrictedMatroid,
    TruncatedMatroid,
    contract,
    direct_sum,
    restrict,
    truncate,
)
from matroidopt.matroid.partition import PartitionMatroid
from matroidopt.matroid.transversal import TransversalMatroid
from matroidopt.matroid.uniform import UniformMatroid
from matroidopt.testing.matroids import check_matroid, matroid_kinds, matroids


def subsets(n: int):
    return itertools.chain.from_iterable(itertools.combinations(range(n), k) for k in range(n + 1))


# --------------------------------------------------------------------------- axioms
@pytest.mark.parametrize("kind", matroid_kinds())
@given(data=st.data())
def test_axioms_hold_for_every_kind(kind, data):
    check_matroid(data.draw(matroids(max_n=7, kinds=[kind]), label=kind))


def test_matroid_kinds_lists_every_kind():
    assert set(matroid_kinds()) == {
        "uniform", "partition", "laminar", "graphic", "transversal", "linear",
        "truncation", "restriction", "contraction", "direct_sum",
    }


@given(matroids(max_n=3, kinds=["graphic"]))
def test_matroids_respects_max_n_and_kinds(m):
    assert isinstance(m, GraphicMatroid)
    assert m.n <= 3


def test_matroids_rejects_unknown_kind():
    with pytest.raises(InvalidInputError, match=r"^kinds:"):
        matroids(kinds=["graphic", "vector"])
    with pytest.raises(InvalidInputError, match=r"^max_n:"):
        matroids(max_n=-1)


# --------------------------------------------------------------------------- check_matroid
class _FamilyMatroid(Matroid):
    """A 'matroid' given by its family of independent sets (for breaking the axioms)."""

    def __init__(self, n, family):
        super().__init__(n)
        self.family = {frozenset(s) for s in family}

    def _init_data(self):
        return None

    def _can_add(self, state, candidates):
        base = frozenset(state.selected)
        return torch.tensor([base | {int(j)} in self.family for j in candidates])

    def _add_data(self, state, j):
        return None


def test_check_matroid_reports_hereditary_violation():
    m = _FamilyMatroid(2, [(), (0,), (0, 1)])  # {0, 1} independent, {1} not
    with pytest.raises(AssertionError, match=r"hereditary.*\[0, 1\].*\[1\]"):
        check_matroid(m)


def test_check_matroid_reports_augmentation_violation():
    m = _FamilyMatroid(3, [(), (0,), (1,), (2,), (1, 2)])
    with pytest.raises(AssertionError, match=r"augmentation.*I=\[0\].*J=\[1, 2\]"):
        check_matroid(m)


def test_check_matroid_reports_wrong_rank():
    class BadRank(UniformMatroid):
        def _rank(self, idx):
            return len(idx)

    with pytest.raises(AssertionError, match=r"rank\(\[0, 1, 2\]\) = 3"):
        check_matroid(BadRank(3, 2))


def test_check_matroid_reports_order_dependent_can_add():
    class Increasing(UniformMatroid):  # only accepts elements above the current maximum
        def _can_add(self, state, candidates):
            return candidates > max(state.selected, default=-1)

    with pytest.raises(AssertionError, match="can_add disagrees"):
        check_matroid(Increasing(3, 3))


def test_check_matroid_reports_mutating_add():
    class Mutating(PartitionMatroid):
        def _add_data(self, state, j):
            state.data[self.block_of[j]] += 1
            return state.data

    with pytest.raises(AssertionError, match="mutated"):
        check_matroid(Mutating([0, 0, 1], [1, 1]))


def test_check_matroid_reports_wrong_max_weight_basis():
    class Lazy(UniformMatroid):
        def max_weight_basis(self, weights):
            return np.arange(self.k)

    with pytest.raises(AssertionError, match="max_weight_basis"):
        check_matroid(Lazy(4, 2))


def test_check_matroid_reports_wrong_greedy_extension():
    class Greedy(PartitionMatroid):  # ignores the counts already in the state
        def _greedy_extension(self, state, order):
            return super()._greedy_extension(self._init_state(), order)

    with pytest.raises(AssertionError, match="_greedy_extension"):
        check_matroid(Greedy([0, 0, 1, 1, 1], [1, 2]))


def test_check_matroid_rejects_bad_arguments():
    with pytest.raises(InvalidInputError, match=r"^matroid:"):
        check_matroid(UniformMatroid(13, 2))
    with pytest.raises(InvalidInputError, match=r"^max_n:"):
        check_matroid(UniformMatroid(3, 2), max_n=-1)
    with pytest.raises(InvalidInputError, match=r"^matroid:"):
        check_matroid("not a matroid")


# --------------------------------------------------------------------------- uniform, partition
def test_uniform_and_partition_pass_check():
    check_matroid(UniformMatroid(6, 3))
    check_matroid(PartitionMatroid(["a", "b", "a", "c", "b", "a"], {"a": 2, "b": 0, "c": 1}))


@pytest.mark.parametrize("labels, capacities, arg", [
    ([0, 1, 1], [1, -1], "capacities"),
    (["a", "b"], {"a": 1}, "capacities"),
    ([0, 1, 3], [1, 1], "labels"),
    ([0, -1], [1, 1], "labels"),
    (["a", "b"], [1, 2, 3], "capacities"),
    ([0, 1], [1, 0.5], "capacities"),
])
def test_partition_bad_input(labels, capacities, arg):
    with pytest.raises(InvalidInputError, match=rf"^{arg}(\[\d+\])*:"):
        PartitionMatroid(labels, capacities)


def test_uniform_bad_input():
    with pytest.raises(InvalidInputError, match=r"^k:"):
        UniformMatroid(3, -1)
    with pytest.raises(InvalidInputError, match=r"^n:"):
        UniformMatroid(-2, 1)


# --------------------------------------------------------------------------- laminar
def test_laminar_nested_capacities():
    # two groups of 3 with capacity 2 each, inside a total budget of 3
    m = LaminarMatroid(7, sets=[[0, 1, 2], [3, 4, 5], [0, 1, 2, 3, 4, 5]], capacities=[2, 2, 3])
    assert m.rank() == 4  # element 6 is free
    assert m.rank([0, 1, 2]) == 2
    assert m.rank([0, 1, 2, 3, 4, 5]) == 3
    assert m.is_independent([0, 1, 3, 6])
    assert not m.is_independent([0, 1, 3, 4])
    assert not m.is_independent([0, 1, 2])
    state = m.add(m.add(m.init_state(), 0), 1)
    assert m.can_add(state).tolist() == [False, False, False, True, True, True, True]
    check_matroid(m)


def test_laminar_equals_partition_on_blocks():
    lam = LaminarMatroid(5, [[0, 1], [2, 3, 4]], [1, 2])
    part = PartitionMatroid([0, 0, 1, 1, 1], [1, 2])
    for S in subsets(5):
        assert lam.is_independent(S) == part.is_independent(S)
        assert lam.rank(S) == part.rank(S)


def test_laminar_allows_repeated_and_empty_sets():
    m = LaminarMatroid(3, [[0, 1], [1, 0], [], [0, 1, 2]], [2, 1, 0, 3])
    assert m.rank([0, 1]) == 1
    assert m.rank() == 2
    assert m.sets == [[0, 1], [0, 1], [], [0, 1, 2]]
    check_matroid(m)


@pytest.mark.parametrize("n, sets, caps, arg", [
    (4, [[0, 1], [1, 2]], [1, 1], "sets"),
    (3, [[0, 3]], [1], r"sets\[0\]"),
    (3, [[0, -1]], [1], r"sets\[0\]"),
    (3, [[0.5]], [1], r"sets\[0\]"),
    (3, 5, [1], "sets"),
    (3, [1, 2], [1, 1], r"sets\[0\]"),
    (3, [[0, 1]], [-1], "capacities"),
    (3, [[0, 1]], [1, 2], "capacities"),
    (3, [[0, 1]], [1.5], "capacities"),
    (-1, [], [], "n"),
])
def test_laminar_bad_input(n, sets, caps, arg):
    with pytest.raises(InvalidInputError, match=rf"^{arg}(\[\d+\])*:"):
        LaminarMatroid(n, sets, caps)


# --------------------------------------------------------------------------- graphic
def test_graphic_triangle_has_rank_two():
    m = GraphicMatroid(nx.cycle_graph(3))
    assert m.n == 3 and m.rank() == 2
    assert all(m.is_independent(S) for S in itertools.combinations(range(3), 2))
    assert not m.is_independent([0, 1, 2])
    assert m.is_basis([0, 2])


def test_graphic_parallel_edges_and_self_loops():
    G = nx.MultiGraph([(0, 1), (0, 1), (1, 1), (1, 2)])
    m = GraphicMatroid(G)
    assert m.edges == [(0, 1, 0), (0, 1, 1), (1, 1, 0), (1, 2, 0)]
    loop = m.edges.index((1, 1, 0))
    assert not m.is_independent([loop])
    assert m.rank([loop]) == 0
    assert not m.is_independent([0, 1])  # parallel pair: a 2-cycle
    assert m.rank([0, 1]) == 1
    assert m.rank() == 2
    state = m.add(m.init_state(), 0)
    assert m.can_add(state).tolist() == [False, False, False, True]
    check_matroid(m)


def test_graphic_rank_is_nodes_minus_components():
    G = nx.gnm_random_graph(9, 14, seed=3)
    G.add_edge(0, 0)
    m = GraphicMatroid(G)
    rng = np.random.default_rng(0)
    for _ in range(20):
        S = sorted(rng.choice(m.n, size=rng.integers(0, m.n + 1), replace=False).tolist())
        H = nx.Graph()
        H.add_edges_from(m.edges[i] for i in S)
        assert m.rank(S) == H.number_of_nodes() - nx.number_connected_components(H)


def test_graphic_max_weight_basis_is_a_maximum_spanning_forest():
    G = nx.gnm_random_graph(8, 16, seed=1)
    w = np.random.default_rng(2).uniform(size=G.number_of_edges())
    m = GraphicMatroid(G)
    for (u, v), wi in zip(m.edges, w, strict=True):
        G[u][v]["weight"] = wi
    T = nx.maximum_spanning_tree(G)
    best = sum(d["weight"] for _, _, d in T.edges(data=True))
    assert w[m.max_weight_basis(w)].sum() == pytest.approx(best)


def test_graphic_is_a_copy_of_the_graph():
    G = nx.path_graph(3)
    m = GraphicMatroid(G)
    G.add_edge(0, 2)
    assert m.n == 2 and m.rank() == 2


def test_graphic_bad_input():
    with pytest.raises(InvalidInputError, match=r"^G:"):
        GraphicMatroid([(0, 1), (1, 2)])


# --------------------------------------------------------------------------- transversal
def _bipartite(adj: dict) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from(adj, bipartite=0)
    G.add_nodes_from({r for rs in adj.values() for r in rs}, bipartite=1)
    G.add_edges_from((a, r) for a, rs in adj.items() for r in rs)
    return G


def test_transversal_hall_violation():
    # a, b, c all want only slots x, y: no three of them can be matched
    m = TransversalMatroid(_bipartite({"a": ["x", "y"], "b": ["x", "y"], "c": ["x"],
                                       "d": ["z"]}))
    assert m.ground == ["a", "b", "c", "d"]
    assert m.rank() == 3
    assert m.is_independent([0, 1]) and m.is_independent([1, 2, 3])
    assert not m.is_independent([0, 1, 2])  # |N({a, b, c})| = 2 < 3
    assert m.rank([0, 1, 2]) == 2
    check_matroid(m)


def test_transversal_can_add_needs_an_augmenting_path():
    # after matching a-x, adding b needs the path b-x-a-y
    m = TransversalMatroid(_bipartite({"a": ["x", "y"], "b": ["x"], "c": ["x"]}))
    state = m.add(m.init_state(), 0)
    assert m.can_add(state).tolist() == [False, True, True]
    state = m.add(state, 1)
    assert m.can_add(state).tolist() == [False, False, False]
    assert sorted(state.selected) == [0, 1]


def test_transversal_rank_matches_networkx_matching():
    G = nx.bipartite.random_graph(7, 5, 0.3, seed=4)
    m = TransversalMatroid(G)
    assert m.ground == [v for v in G if G.nodes[v]["bipartite"] == 0]
    rng = np.random.default_rng(1)
    for _ in range(15):
        S = sorted(rng.choice(m.n, size=rng.integers(0, m.n + 1), replace=False).tolist())
        H = G.subgraph([m.ground[i] for i in S] + m.other)
        top = [m.ground[i] for i in S]
        M = nx.bipartite.hopcroft_karp_matching(H, top_nodes=top)
        assert m.rank(S) == sum(1 for v in top if v in M)


def test_transversal_explicit_ground_and_unmatched_nodes():
    G = nx.Graph([(1, "x"), (2, "x"), (3, "y")])
    G.add_node(4)
    m = TransversalMatroid(G, ground=[4, 3, 2, 1])
    assert m.n == 4
    assert not m.is_independent([0])  # node 4 has no neighbours: a loop
    assert m.is_independent([1, 2]) and not m.is_independent([2, 3])


@pytest.mark.parametrize("G, ground, arg", [
    (nx.cycle_graph(3), None, "G"),
    (nx.path_graph(3), None, "ground"),
    (nx.path_graph(3), [0, 1], "G"),
    (nx.path_graph(3), [0, 7], "ground"),
    (nx.path_graph(4), [0, 2, 0], "ground"),
    ([(0, 1)], None, "G"),
])
def test_transversal_bad_input(G, ground, arg):
    with pytest.raises(InvalidInputError, match=rf"^{arg}(\[\d+\])*:"):
        TransversalMatroid(G, ground)


# --------------------------------------------------------------------------- linear
def test_linear_rank_equals_numpy_matrix_rank():
    rng = np.random.default_rng(5)
    A = rng.integers(-2, 3, size=(4, 9)).astype(float)
    A[:, 2] = A[:, 0] - A[:, 1]
    A[:, 5] = 0.0
    A[:, 7] = 2 * A[:, 3]
    m = LinearMatroid(A)
    for S in subsets(9):
        want = np.linalg.matrix_rank(A[:, list(S)]) if S else 0
        assert m.rank(S) == want
    assert not m.is_independent([5])
    assert not m.is_independent([0, 1, 2])
    assert not m.is_independent([3, 7])


def test_linear_incremental_basis_is_orthonormal_and_not_shared():
    A = np.random.default_rng(0).standard_normal((5, 7))
    m = LinearMatroid(A)
    state = m.init_state()
    for j in [3, 0, 6, 1]:
        before = state.data.clone()
        new = m.add(state, j)
        assert torch.equal(state.data, before)
        state = new
    Q = state.data
    assert torch.allclose(Q.T @ Q, torch.eye(4, dtype=Q.dtype), atol=1e-12)
    assert m.can_add(state).sum() == 3  # rank 5: any other column still fits


def test_linear_torch_input_and_tolerance():
    A = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1e-3, 1.0]], dtype=torch.float32)
    m = LinearMatroid(A)
    assert m.matrix.dtype == torch.float32
    assert m.tol == pytest.approx(100 * np.sqrt(2) * torch.finfo(torch.float32).eps)
    assert m.is_independent([0, 1])  # nearly parallel, but above the tolerance
    loose = LinearMatroid(A, tol=1e-2)
    assert not loose.is_independent([0, 1]) and loose.rank([0, 1]) == 1
    A[0, 0] = 5.0  # the matroid keeps a copy
    assert float(m.matrix[0, 0]) == 1.0


def test_linear_scaled_columns_are_parallel():
    m = LinearMatroid([[1e-9, 3.0, 0.0], [2e-9, 6.0, 0.0]])
    assert m.rank() == 1
    assert m.is_independent([0]) and not m.is_independent([0, 1])
    assert not m.is_independent([2])


@pytest.mark.parametrize("matrix, tol, arg", [
    ([1.0, 2.0], None, "matrix"),
    ([[1.0, np.nan]], None, "matrix"),
    ([["a", "b"]], None, "matrix"),
    ([[1.0, 2.0]], -1e-3, "tol"),
    ([[1.0, 2.0]], 1.0, "tol"),
    ([[1.0, 2.0]], float("nan"), "tol"),
])
def test_linear_bad_input(matrix, tol, arg):
    with pytest.raises(InvalidInputError, match=rf"^{arg}(\[\d+\])*:"):
        LinearMatroid(matrix, tol=tol)


# --------------------------------------------------------------------------- operations
def test_truncation():
    base = GraphicMatroid(nx.complete_graph(4))  # rank 3
    m = truncate(base, 2)
    assert isinstance(m, TruncatedMatroid) and m.n == base.n
    assert m.rank() == 2
    for S in subsets(m.n):
        assert m.is_independent(S) == (base.is_independent(S) and len(S) <= 2)
        assert m.rank(S) == min(base.rank(S), 2)
    assert truncate(base, 10).rank() == 3


def test_restriction_reindexes():
    base = PartitionMatroid([0, 0, 1, 1, 2], [1, 1, 0])
    m = restrict(base, [4, 1, 0])
    assert isinstance(m, RestrictedMatroid)
    assert m.n == 3 and m.elements.tolist() == [4, 1, 0]
    assert not m.is_independent([0])  # element 4: capacity 0
    assert m.is_independent([1]) and not m.is_independent([1, 2])  # 1 and 0 share a block
    for S in subsets(3):
        assert m.rank(S) == base.rank([[4, 1, 0][i] for i in S])


def test_contraction_reindexes_and_rank_formula():
    base = GraphicMatroid(nx.complete_graph(4))
    S = [0, 1, 3]  # edges 01, 02, 12: a triangle (dependent)
    m = contract(base, S)
    assert isinstance(m, ContractedMatroid)
    assert m.n == 3 and m.elements.tolist() == [2, 4, 5]
    assert m.contracted == (0, 1, 3)
    for I in subsets(m.n):
        orig = [m.elements.tolist()[i] for i in I]
        assert m.rank(I) == base.rank(orig + S) - base.rank(S)
        assert m.is_independent(I) == (m.rank(I) == len(I))
    assert m.rank() == 1


def test_contraction_of_loops_and_empty_set():
    base = LinearMatroid([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    assert contract(base, [0]).rank() == 2  # contracting a loop changes nothing
    same = contract(base, [])
    assert same.n == 4 and same.elements.tolist() == [0, 1, 2, 3]
    for S in subsets(4):
        assert same.is_independent(S) == base.is_independent(S)


def test_direct_sum_ranks_add():
    parts = [UniformMatroid(3, 2), GraphicMatroid(nx.cycle_graph(3)),
             PartitionMatroid([0, 1], [1, 0])]
    m = direct_sum(*parts)
    assert isinstance(m, DirectSumMatroid)
    assert m.n == 8 and m.offsets == (0, 3, 6)
    assert m.rank() == 2 + 2 + 1
    assert DirectSumMatroid(parts).rank() == 5
    rng = np.random.default_rng(0)
    for _ in range(20):
        S = sorted(rng.choice(8, size=rng.integers(0, 9), replace=False).tolist())
        blocks = zip(parts, m.offsets, strict=True)
        pieces = [[j - o for j in S if o <= j < o + p.n] for p, o in blocks]
        assert m.rank(S) == sum(p.rank(q) for p, q in zip(parts, pieces, strict=True))
        assert m.is_independent(S) == all(
            p.is_independent(q) for p, q in zip(parts, pieces, strict=True)
        )
    check_matroid(m)


def test_operations_use_the_base_greedy():
    fast = [UniformMatroid(4, 2), PartitionMatroid([0, 1, 1, 0], [1, 1])]
    slow = GraphicMatroid(nx.cycle_graph(4))
    for M in fast:
        for op in (truncate(M, 1), restrict(M, [3, 1]), contract(M, [0])):
            assert op._cheap_max_weight
    assert direct_sum(*fast)._cheap_max_weight
    assert not direct_sum(fast[0], slow)._cheap_max_weight
    assert not contract(slow, [0])._cheap_max_weight
    m = direct_sum(restrict(fast[1], [3, 2, 1]), truncate(slow, 2))
    w = np.array([0.5, 0.9, 0.1, 0.3, 0.8, 0.2, 0.7])
    assert m.max_weight_basis(w).tolist() == [1, 4, 6, 0]


def test_operations_bad_input():
    base = UniformMatroid(4, 2)
    with pytest.raises(InvalidInputError, match=r"^k:"):
        truncate(base, -1)
    with pytest.raises(InvalidInputError, match=r"^M:"):
        truncate("matroid", 2)
    with pytest.raises(InvalidInputError, match=r"^elements:"):
        restrict(base, [0, 4])
    with pytest.raises(InvalidInputError, match=r"^elements:"):
        restrict(base, [1, 1])
    with pytest.raises(InvalidInputError, match=r"^S:"):
        contract(base, [-1])
    with pytest.raises(InvalidInputError, match=r"^S:"):
        contract(base, [2, 2])
    with pytest.raises(InvalidInputError, match=r"^matroids:"):
        direct_sum()
    with pytest.raises(InvalidInputError, match=r"^matroids\[1\]:"):
        direct_sum(base, 3)
