"""The transversal matroid of a bipartite graph: the sets that can be matched."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence

import networkx as nx
import torch

from ..errors import InvalidInputError
from .base import Matroid

__all__ = ["TransversalMatroid"]


class TransversalMatroid(Matroid):
    """Subsets of one side of a bipartite graph that can be matched into the other side.

    With ground set ``L`` (one side of the bipartite graph ``G``) and ``R`` the other side,
    ``S ⊆ L`` is independent iff ``G`` has a matching that covers ``S``. Equivalently (Hall),
    iff ``|N(T)| >= |T|`` for every ``T ⊆ S``. Typical use: each element is a candidate and
    each right node a slot it may fill.

    Parameters
    ----------
    G : networkx.Graph
        A bipartite graph (a ``MultiGraph`` is fine; parallel edges are ignored).
    ground : sequence of nodes, optional
        The ground set, in index order. Default: the nodes with attribute ``bipartite=0``,
        in the graph's node order (then every node must carry a ``bipartite`` attribute).
        Every edge must join a ground node to a node outside ``ground``.

    Attributes
    ----------
    ground : list
        ``ground[i]`` is the node of ground-set index ``i``.
    other : list
        The other side, in the graph's node order.

    Notes
    -----
    The incremental state is a matching covering the selected set. ``can_add`` finds, in
    one alternating breadth-first search backwards from the free right nodes, every
    candidate from which an augmenting path starts: O(|E|) per call whatever the number of
    candidates. ``add`` applies one augmenting path (Kuhn's step), O(|E|). ``rank`` is a
    maximum matching (Hopcroft–Karp, O(|E| √|V|)).

    References
    ----------
    J. Edmonds, D. R. Fulkerson, "Transversals and matroid partition", J. Res. NBS 69B
    (1965); J. Hopcroft, R. Karp, "An n^{5/2} algorithm for maximum matchings in bipartite
    graphs", SIAM J. Comput. 2 (1973).

    Examples
    --------
    >>> import networkx as nx
    >>> from matroidopt.matroid.transversal import TransversalMatroid
    >>> G = nx.Graph([("a", "x"), ("b", "x"), ("c", "x"), ("c", "y")])
    >>> m = TransversalMatroid(G, ground=["a", "b", "c"])
    >>> m.rank(), m.is_independent([0, 2]), m.is_independent([0, 1])
    (2, True, False)
    """

    def __init__(self, G: nx.Graph, ground: Sequence[Hashable] | None = None) -> None:
        if not isinstance(G, nx.Graph):
            raise InvalidInputError(f"G: expected a networkx Graph, got {type(G).__name__}")
        if not nx.is_bipartite(G):
            raise InvalidInputError("G: expected a bipartite graph, but it has an odd cycle")
        ground_list = self._check_ground(G, ground)
        super().__init__(len(ground_list))
        left = {v: i for i, v in enumerate(ground_list)}
        self.ground: list = ground_list
        self.other: list = [v for v in G.nodes() if v not in left]
        right = {v: i for i, v in enumerate(self.other)}
        adj: list[set[int]] = [set() for _ in self.ground]
        for a, b in G.edges():
            if (a in left) == (b in left):
                side = "ground" if a in left else "non-ground"
                raise InvalidInputError(
                    f"G: edge ({a!r}, {b!r}) joins two {side} nodes; every edge must join a "
                    f"node of ground to a node outside it"
                )
            l_node, r_node = (a, b) if a in left else (b, a)
            adj[left[l_node]].add(right[r_node])
        self._adj: tuple[tuple[int, ...], ...] = tuple(tuple(sorted(s)) for s in adj)
        radj: list[list[int]] = [[] for _ in self.other]
        for i, rs in enumerate(self._adj):
            for r in rs:
                radj[r].append(i)
        self._radj: tuple[tuple[int, ...], ...] = tuple(map(tuple, radj))

    @staticmethod
    def _check_ground(G: nx.Graph, ground) -> list:
        if ground is None:
            sides = dict(G.nodes(data="bipartite"))
            bad = [v for v, s in sides.items() if s not in (0, 1)]
            if bad:
                raise InvalidInputError(
                    f"ground: not given, so every node needs a 'bipartite' attribute 0 or 1, "
                    f"but node {bad[0]!r} has {sides[bad[0]]!r}; pass ground=[...] instead"
                )
            return [v for v, s in sides.items() if s == 0]
        if isinstance(ground, (str, bytes)) or not isinstance(ground, Iterable):
            raise InvalidInputError(f"ground: expected a sequence of nodes, got {ground!r}")
        out = list(ground)
        for v in out:
            try:
                present = v in G
            except TypeError:
                present = False
            if not present:
                raise InvalidInputError(f"ground: {v!r} is not a node of G")
        if len(set(out)) != len(out):
            raise InvalidInputError("ground: nodes must be distinct")
        return out

    def __repr__(self) -> str:
        return f"TransversalMatroid(n={self.n}, n_other={len(self.other)})"

    # state data: (match of each ground index or -1, match of each other-side node or -1)
    def _init_data(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (-1,) * self.n, (-1,) * len(self.other)

    def _can_add(self, state, candidates):
        match_left, match_right = state.data
        reached = [m < 0 for m in match_right]  # right nodes that are free or can be freed
        queue = deque(r for r, free in enumerate(reached) if free)
        good = torch.zeros(self.n, dtype=torch.bool)
        while queue:
            r = queue.popleft()
            for i in self._radj[r]:
                r2 = match_left[i]
                if r2 < 0:
                    good[i] = True  # i can take r directly
                elif r2 != r and not reached[r2]:
                    reached[r2] = True  # i moves to r, freeing r2
                    queue.append(r2)
        return good[candidates]

    def _add_data(self, state, j):
        match_left, match_right = (list(m) for m in state.data)
        prev: dict[int, int] = {}
        queue = deque([j])
        end = -1
        while queue and end < 0:
            i = queue.popleft()
            for r in self._adj[i]:
                if r in prev:
                    continue
                prev[r] = i
                if match_right[r] < 0:
                    end = r
                    break
                queue.append(match_right[r])
        while end >= 0:  # flip the alternating path back to j
            i = prev[end]
            nxt = match_left[i]
            match_left[i], match_right[end] = end, i
            end = nxt
        return tuple(match_left), tuple(match_right)

    def _rank(self, idx):
        if not len(idx):
            return 0
        H = nx.Graph()
        H.add_nodes_from(idx)
        H.add_edges_from((i, self.n + r) for i in idx for r in self._adj[i])
        matching = nx.bipartite.hopcroft_karp_matching(H, top_nodes=idx)
        return sum(1 for i in idx if i in matching)
