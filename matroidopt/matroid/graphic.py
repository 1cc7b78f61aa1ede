"""The graphic (cycle) matroid of a graph: edge sets that form a forest."""

from __future__ import annotations

import networkx as nx
import torch
from networkx.utils import UnionFind

from ..errors import InvalidInputError
from .base import Matroid

__all__ = ["GraphicMatroid"]


class GraphicMatroid(Matroid):
    """The cycle matroid of a graph: a set of edges is independent iff it contains no cycle.

    Ground-set index ``i`` is the ``i``-th edge of ``list(G.edges())`` (of
    ``list(G.edges(keys=True))`` for a multigraph), kept in :attr:`edges`. Self-loops are
    loops of the matroid (never independent); parallel edges are parallel elements. Edge
    directions of a directed graph are ignored.

    Parameters
    ----------
    G : networkx.Graph or networkx.MultiGraph
        The graph (a copy of its node and edge lists is kept; later changes to ``G`` do not
        affect the matroid).

    Notes
    -----
    The incremental state labels each node with its connected component in the forest
    selected so far. ``can_add`` is one vectorised comparison ``comp[u] != comp[v]``, O(1)
    per candidate; ``add`` relabels one component, O(|V|). ``rank(S)`` is
    ``|V(S)| - #components(V(S), S)`` by union–find, O(|S| α(|V|)). The maximum-weight
    basis is Kruskal's algorithm.

    References
    ----------
    J. Oxley, *Matroid Theory*, 2nd ed., Oxford University Press, 2011, §1.3.

    Examples
    --------
    >>> import networkx as nx
    >>> from matroidopt.matroid.graphic import GraphicMatroid
    >>> m = GraphicMatroid(nx.cycle_graph(3))
    >>> m.edges
    [(0, 1), (0, 2), (1, 2)]
    >>> m.rank(), m.is_independent([0, 1]), m.is_independent([0, 1, 2])
    (2, True, False)
    """

    def __init__(self, G: nx.Graph) -> None:
        if not isinstance(G, nx.Graph):
            raise InvalidInputError(
                f"G: expected a networkx Graph or MultiGraph, got {type(G).__name__}"
            )
        edges = list(G.edges(keys=True)) if G.is_multigraph() else list(G.edges())
        super().__init__(len(edges))
        self.edges: list[tuple] = edges
        self.nodes: list = list(G.nodes())
        index = {v: i for i, v in enumerate(self.nodes)}
        self._u = torch.tensor([index[e[0]] for e in edges], dtype=torch.long)
        self._v = torch.tensor([index[e[1]] for e in edges], dtype=torch.long)
        self._ends = list(zip(self._u.tolist(), self._v.tolist(), strict=True))

    def __repr__(self) -> str:
        return f"GraphicMatroid(n={self.n}, n_nodes={len(self.nodes)})"

    def _init_data(self) -> torch.Tensor:
        return torch.arange(len(self.nodes))

    def _can_add(self, state, candidates):
        comp = state.data
        return comp[self._u[candidates]] != comp[self._v[candidates]]

    def _add_data(self, state, j):
        comp = state.data
        a, b = comp[self._u[j]], comp[self._v[j]]
        return torch.where(comp == b, a, comp)

    def _rank(self, idx):
        components = UnionFind()  # networkx's union–find: path compression, union by size
        rank = 0
        for e in idx:
            a, b = self._ends[e]
            if components[a] != components[b]:
                components.union(a, b)
                rank += 1
        return rank
