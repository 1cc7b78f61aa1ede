"""Operations that build new matroids from old: truncation, restriction, contraction and
direct sum. Each is a :class:`Matroid` whose incremental state wraps the base matroid's.

Each composes its matroids' laminar family (:meth:`Matroid._laminar_family`) when they have
one, so that operations on uniform, partition and laminar matroids keep pipage rounding and
the compact polytope description."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from .._backend import as_index_tensor, check_int
from ..constraint import ConstraintState
from ..errors import InvalidInputError
from .base import Matroid, check_matroid

__all__ = [
    "TruncatedMatroid", "RestrictedMatroid", "ContractedMatroid", "DirectSumMatroid",
    "truncate", "restrict", "contract", "direct_sum",
]


def _inverse(elements: torch.Tensor, n: int) -> torch.Tensor:
    """``inv[elements[i]] = i``, and ``-1`` for elements of ``range(n)`` not listed."""
    inv = torch.full((n,), -1, dtype=torch.long)
    inv[elements] = torch.arange(elements.numel())
    return inv


class TruncatedMatroid(Matroid):
    """The truncation of ``M`` at ``k``: ``I`` is independent iff it is independent in ``M``
    and ``|I| <= k``. Its rank is ``min(rank_M, k)``.

    Parameters
    ----------
    M : Matroid
        The base matroid.
    k : int
        The cardinality bound (>= 0; ``k >= rank(M)`` gives ``M`` back; values above ``n``
        are stored as ``n``).

    Notes
    -----
    ``can_add`` and ``add`` cost one call of ``M``'s (``can_add`` short-circuits to all-False
    at size ``k``). ``rank(S) = min(rank_M(S), k)``. The matroid greedy (``max_weight_basis``,
    the certificate) is ``M``'s own, cut after ``k`` elements.

    Examples
    --------
    >>> from matroidopt.matroid.operations import truncate
    >>> from matroidopt.matroid.partition import PartitionMatroid
    >>> m = truncate(PartitionMatroid([0, 0, 1, 1], [2, 2]), 3)
    >>> m.rank(), m.is_independent([0, 1, 2]), m.is_independent([0, 1, 2, 3])
    (3, True, False)
    """

    def __init__(self, M: Matroid, k: int) -> None:
        self.M = check_matroid(M, "M")
        super().__init__(M.n)
        self.k = min(check_int(k, "k", minimum=0), self.n)  # k >= n: no limit, stored as n

    def __repr__(self) -> str:
        return f"TruncatedMatroid({self.M!r}, k={self.k})"

    def _init_data(self) -> ConstraintState:
        return self.M._init_state()

    def _can_add(self, state, candidates):
        if len(state.selected) >= self.k:
            return torch.zeros(candidates.numel(), dtype=torch.bool)
        return self.M._can_add(state.data, candidates)

    def _add_data(self, state, j):
        return self.M._add(state.data, j)

    def _rank(self, idx):
        return min(self.M._rank(idx), self.k)

    @property
    def _cheap_max_weight(self) -> bool:
        return self.M._cheap_max_weight

    def _greedy_extension(self, state, order):
        room = self.k - len(state.selected)
        if room <= 0:
            return order[:0]
        return self.M._greedy_extension(state.data, order)[:room]

    def _max_feasible_size(self):
        return min(self.M._max_feasible_size(), self.k)

    def _laminar_family(self):
        """``M``'s laminar family with the whole ground set capped at ``k`` (still laminar:
        the ground set contains every set, and it comes last)."""
        family = self.M._laminar_family()
        if family is None:
            return None
        family = list(family)
        if family and len(family[-1][0]) == self.n:  # M already caps the whole ground set
            members, cap = family[-1]
            family[-1] = (members, min(int(cap), self.k))
        else:
            family.append((np.arange(self.n), self.k))
        return family


class _ReindexedMatroid(Matroid):
    """Shared wrapper of a matroid seen through a re-indexing: new index ``i`` is element
    ``elements[i]`` of ``M``, and the state is ``M``'s, started from :meth:`_init_data`
    (``M``'s empty state here; a subclass may start from the state of a set ``T`` of ``M``,
    independent and disjoint from ``elements``). The independent sets are then the ``I`` with
    ``T ∪ elements[I]`` independent in ``M``.

    Subclasses validate their arguments, then call this constructor with the checked ``M``
    and the long tensor ``elements`` (distinct indices of ``M``); they define ``__repr__``
    and ``_rank``.
    """

    def __init__(self, M: Matroid, elements: torch.Tensor) -> None:
        self.M = M
        self.elements = elements
        super().__init__(elements.numel())
        self._inverse = _inverse(elements, M.n)

    def _to_base(self, idx: Sequence[int]) -> list[int]:
        """The elements of ``M`` behind the new indices ``idx``."""
        return self.elements[list(idx)].tolist() if len(idx) else []

    def _init_data(self) -> ConstraintState:
        return self.M._init_state()

    def _can_add(self, state, candidates):
        return self.M._can_add(state.data, self.elements[candidates])

    def _add_data(self, state, j):
        return self.M._add(state.data, int(self.elements[j]))

    @property
    def _cheap_max_weight(self) -> bool:
        return self.M._cheap_max_weight

    def _greedy_extension(self, state, order):
        return self._inverse[self.M._greedy_extension(state.data, self.elements[order])]

    def _laminar_family(self):
        """``M``'s laminar family intersected with ``elements`` and re-indexed, each capacity
        lowered by the elements of the starting set ``T`` it holds; empty sets are dropped
        and a set met again (two sets of ``M`` with the same intersection) keeps its first
        place and the smaller capacity.

        Proof. Let ``F`` be ``M``'s family, ``R = elements`` and ``T`` the starting set
        (``∅`` for a restriction, the basis ``B_S`` of ``S`` for a contraction: ``M / S`` has
        the independent sets ``I`` with ``I ∪ B_S`` independent in ``M``, for any basis
        ``B_S`` of ``S``; Oxley, Prop. 3.1.7). ``T`` is disjoint from ``R``, so
        ``T ∪ R[I]`` is independent iff ``|R[I] ∩ A| <= cap(A) - |T ∩ A|`` for every
        ``A ∈ F``, and the new capacities are ``>= 0`` because ``T`` is independent.
        ``|R[I] ∩ A| = |I ∩ A'|`` with ``A' = R^{-1}(A ∩ R)``. The sets ``A'`` are laminar
        (intersecting with ``R`` keeps disjoint sets disjoint and nested sets nested) and
        contained sets still come first: if ``B' ⊊ A'`` then ``B`` meets ``A`` (``B'`` is
        not empty) and does not contain it (else ``A' ⊆ B'``), so ``B ⊊ A`` and ``B`` was
        listed first; a merged set sits at its first occurrence ``X``, and by the same
        argument every set strictly inside it (containing it) comes from a set listed before
        (after) ``X``. An empty ``A'`` constrains nothing.
        """
        family = self.M._laminar_family()
        if family is None:
            return None
        start = np.zeros(self.M.n, dtype=bool)
        start[list(self._init_data().selected)] = True
        inverse = self._inverse.numpy()
        out: list[tuple[np.ndarray, int]] = []
        seen: dict[bytes, int] = {}
        for members, cap in family:
            members = np.asarray(members, dtype=np.int64)
            new = inverse[members]
            new = np.sort(new[new >= 0])
            if new.size == 0:
                continue
            cap = int(cap) - int(start[members].sum())
            key = new.tobytes()
            if key in seen:
                i = seen[key]
                out[i] = (out[i][0], min(out[i][1], cap))
            else:
                seen[key] = len(out)
                out.append((new, cap))
        return out


class RestrictedMatroid(_ReindexedMatroid):
    """The restriction ``M | R`` (deletion of ``E \\ R``): the independent sets of ``M``
    inside ``R = elements``, re-indexed so that index ``i`` is ``elements[i]`` of ``M``.

    Parameters
    ----------
    M : Matroid
        The base matroid.
    elements : iterable of int
        Distinct indices of ``M``'s ground set, in the order of the new indices.

    Attributes
    ----------
    elements : torch.Tensor
        Long tensor: ``elements[i]`` is the element of ``M`` behind new index ``i``.

    Notes
    -----
    ``can_add``, ``add``, ``rank`` and the matroid greedy cost one call of ``M``'s, plus an
    index gather. When ``M`` has a laminar family (uniform, partition, laminar matroids and
    the operations that compose one), so does ``M | R``: each set intersected with ``R``
    (pipage rounding and the compact polytope then apply).

    Examples
    --------
    >>> import networkx as nx
    >>> from matroidopt.matroid.graphic import GraphicMatroid
    >>> from matroidopt.matroid.operations import restrict
    >>> m = restrict(GraphicMatroid(nx.complete_graph(4)), [0, 1, 3])  # edges 01, 02, 12
    >>> m.rank(), m.is_independent([0, 1]), m.is_independent([0, 1, 2])
    (2, True, False)
    """

    def __init__(self, M: Matroid, elements: Iterable[int]) -> None:
        M = check_matroid(M, "M")
        super().__init__(M, as_index_tensor(elements, M.n, "elements").cpu().clone())

    def __repr__(self) -> str:
        return f"RestrictedMatroid({self.M!r}, n={self.n})"

    def _rank(self, idx):
        base = self._to_base(idx)
        return self.M._rank(base) if base else 0

    def _max_weight_sum(self, weights):
        """Exact: ``M``'s bound with zero weight outside ``R``."""
        w = torch.zeros(self.M.n, dtype=torch.float64)
        w[self.elements] = weights.detach().to("cpu", torch.float64)
        return self.M._max_weight_sum(w)


class ContractedMatroid(_ReindexedMatroid):
    """The contraction ``M / S``: ground set ``E \\ S`` (re-indexed in increasing order),
    ``I`` independent iff ``I ∪ B_S`` is independent in ``M`` for a basis ``B_S`` of ``S``.

    This is the residual matroid a greedy solver faces after committing to ``S``. Its rank
    function is ``rank_{M/S}(I) = rank_M(I ∪ S) - rank_M(S)``. ``S`` need not be independent.

    Parameters
    ----------
    M : Matroid
        The base matroid.
    S : iterable of int
        Distinct indices of ``M``'s ground set to contract.

    Attributes
    ----------
    elements : torch.Tensor
        Long tensor: ``elements[i]`` is the element of ``M`` behind new index ``i``.
    contracted : tuple of int
        ``S``, sorted.

    Notes
    -----
    A basis of ``S`` is found once by the matroid greedy; afterwards ``can_add`` and
    ``add`` (and the matroid greedy) cost one call of ``M``'s, started from the state of that
    basis. When ``M`` has a laminar family, so does ``M / S``: each set ``A`` intersected
    with ``E \\ S``, its capacity lowered by ``|A ∩ B_S|`` (proof in
    ``_ReindexedMatroid._laminar_family``).

    References
    ----------
    J. Oxley, *Matroid Theory*, 2nd ed., Oxford University Press, 2011, §3.1.

    Examples
    --------
    >>> from matroidopt.matroid.operations import contract
    >>> from matroidopt.matroid.uniform import UniformMatroid
    >>> m = contract(UniformMatroid(5, 3), [0, 4])   # U(5, 3) / {0, 4} = U(3, 1)
    >>> m.elements.tolist(), m.rank(), m.is_independent([2]), m.is_independent([1, 2])
    ([1, 2, 3], 1, True, False)
    >>> [(A.tolist(), cap) for A, cap in m._laminar_family()]
    [([0, 1, 2], 1)]
    """

    def __init__(self, M: Matroid, S: Iterable[int]) -> None:
        M = check_matroid(M, "M")
        contracted = sorted(as_index_tensor(S, M.n, "S").tolist())
        keep = torch.ones(M.n, dtype=torch.bool)
        if contracted:
            keep[contracted] = False
        self.contracted: tuple[int, ...] = tuple(contracted)
        super().__init__(M, torch.nonzero(keep).flatten())
        self._base_state = M._greedy_independent_subset(contracted)
        self._rank_S = len(self._base_state.selected)

    def __repr__(self) -> str:
        return f"ContractedMatroid({self.M!r}, S={list(self.contracted)})"

    def _init_data(self) -> ConstraintState:
        return self._base_state

    def _rank(self, idx):
        if not len(idx):
            return 0
        return self.M._rank(self._to_base(idx) + list(self.contracted)) - self._rank_S


class DirectSumMatroid(Matroid):
    """The direct sum ``M1 ⊕ M2 ⊕ ...``: disjoint ground sets side by side; a set is
    independent iff its part in each summand is. Ranks add.

    Element ``i`` of summand ``k`` has index ``offsets[k] + i``.

    Parameters
    ----------
    *matroids : Matroid
        The summands (or one list of them); at least one.

    Attributes
    ----------
    matroids : tuple of Matroid
    offsets : tuple of int
        Start index of each summand's block.

    Notes
    -----
    ``can_add`` makes one vectorised call per summand that has candidates; ``add`` one call
    of the summand that holds ``j``. ``rank`` and the certificate bound are sums over the
    summands; the matroid greedy runs each summand's own on its part of the scan order.
    When every summand has a laminar family, the sum's is their union, shifted to the blocks.

    Examples
    --------
    >>> from matroidopt.matroid.operations import direct_sum
    >>> from matroidopt.matroid.uniform import UniformMatroid
    >>> m = direct_sum(UniformMatroid(2, 1), UniformMatroid(3, 2))
    >>> m.offsets, m.rank(), m.is_independent([0, 2, 3]), m.is_independent([0, 1])
    ((0, 2), 3, True, False)
    """

    def __init__(self, *matroids: Matroid) -> None:
        if len(matroids) == 1 and isinstance(matroids[0], (list, tuple)):
            matroids = tuple(matroids[0])
        if not matroids:
            raise InvalidInputError("matroids: expected at least one Matroid")
        for i, m in enumerate(matroids):
            check_matroid(m, f"matroids[{i}]")
        self.matroids: tuple[Matroid, ...] = tuple(matroids)
        sizes = [m.n for m in self.matroids]
        starts = [0]
        for s in sizes[:-1]:
            starts.append(starts[-1] + s)
        self.offsets: tuple[int, ...] = tuple(starts)
        super().__init__(sum(sizes))
        self._ends = torch.tensor(starts, dtype=torch.long) + torch.tensor(sizes, dtype=torch.long)

    def __repr__(self) -> str:
        return f"DirectSumMatroid({', '.join(map(repr, self.matroids))})"

    def _part(self, j: int) -> int:
        return int(torch.searchsorted(self._ends, torch.tensor(j), right=True))

    def _init_data(self) -> tuple[ConstraintState, ...]:
        return tuple(m._init_state() for m in self.matroids)

    def _can_add(self, state, candidates):
        part = torch.searchsorted(self._ends, candidates, right=True)
        out = torch.zeros(candidates.numel(), dtype=torch.bool)
        for k in torch.unique(part).tolist():
            sel = part == k
            m = self.matroids[k]
            out[sel] = m._can_add(state.data[k], candidates[sel] - self.offsets[k])
        return out

    def _add_data(self, state, j):
        k = self._part(j)
        data = list(state.data)
        data[k] = self.matroids[k]._add(data[k], j - self.offsets[k])
        return tuple(data)

    def _split(self, idx: Sequence[int]) -> list[list[int]]:
        parts: list[list[int]] = [[] for _ in self.matroids]
        for j in idx:
            k = self._part(j)
            parts[k].append(j - self.offsets[k])
        return parts

    def _rank(self, idx):
        return sum(m._rank(p) for m, p in zip(self.matroids, self._split(idx), strict=True))

    def _max_feasible_size(self):
        return sum(m._max_feasible_size() for m in self.matroids)

    @property
    def _cheap_max_weight(self) -> bool:
        return all(m._cheap_max_weight for m in self.matroids)

    def _greedy_extension(self, state, order):
        part = torch.searchsorted(self._ends, order, right=True)
        keep = torch.zeros(order.numel(), dtype=torch.bool)
        for k in torch.unique(part).tolist():
            sel = part == k
            m, o = self.matroids[k], self.offsets[k]
            kept = m._greedy_extension(state.data[k], order[sel] - o)
            keep[sel] = torch.isin(order[sel] - o, kept)
        return order[keep]

    def _laminar_family(self):
        """The union of the summands' families, each shifted to its block, empty sets left
        out (None unless every summand has one). Sets of different summands are disjoint, so
        the union is laminar and keeps each summand's "contained sets first" order."""
        out: list[tuple[np.ndarray, int]] = []
        for m, o in zip(self.matroids, self.offsets, strict=True):
            family = m._laminar_family()
            if family is None:
                return None
            out.extend((np.asarray(members, dtype=np.int64) + o, int(cap))
                       for members, cap in family if len(members))  # empty: no constraint
        return out

    def _max_weight_sum(self, weights):
        w = weights.detach().to("cpu", torch.float64)
        parts = zip(self.matroids, self.offsets, strict=True)
        return sum(m._max_weight_sum(w[o:o + m.n]) for m, o in parts)


def truncate(M: Matroid, k: int) -> TruncatedMatroid:
    """The truncation of ``M`` at ``k`` (see :class:`TruncatedMatroid`)."""
    return TruncatedMatroid(M, k)


def restrict(M: Matroid, elements: Iterable[int]) -> RestrictedMatroid:
    """The restriction ``M | elements``, re-indexed (see :class:`RestrictedMatroid`)."""
    return RestrictedMatroid(M, elements)


def contract(M: Matroid, S: Iterable[int]) -> ContractedMatroid:
    """The contraction ``M / S``, re-indexed (see :class:`ContractedMatroid`)."""
    return ContractedMatroid(M, S)


def direct_sum(*matroids: Matroid) -> DirectSumMatroid:
    """The direct sum of the given matroids (see :class:`DirectSumMatroid`)."""
    return DirectSumMatroid(*matroids)
