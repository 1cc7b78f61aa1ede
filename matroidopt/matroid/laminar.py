"""The laminar matroid: capacities on a nested-or-disjoint family of subsets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from .._backend import as_index_tensor, as_list_1d, check_int
from ..errors import InvalidInputError
from .base import Matroid

__all__ = ["LaminarMatroid"]


class LaminarMatroid(Matroid):
    """Independent sets hold at most ``capacities[i]`` elements of each ``sets[i]``.

    The family ``sets`` must be *laminar*: any two of its sets are disjoint or one contains
    the other. Elements in no set are unconstrained. A partition matroid is the laminar
    matroid of its blocks; nesting adds, e.g., a total budget over per-group budgets.

    Parameters
    ----------
    n : int
        Ground-set size (>= 0).
    sets : sequence of iterables of int
        The laminar family; each set is a collection of indices in ``range(n)`` (repeats
        inside one set are ignored). Empty and repeated sets are allowed; ``None`` is not a
        set.
    capacities : sequence of int
        One non-negative integer capacity per set; one of ``n`` or more means "no limit"
        and is stored as ``n``.

    Notes
    -----
    The family is stored as a boolean membership matrix (``len(sets) × n``); the incremental
    state keeps the per-set counts. ``can_add`` is one vectorised gather, O(len(sets)) per
    candidate; ``add`` is O(len(sets)). ``rank`` uses the bottom-up closed form
    ``r(A) = min(cap(A), |S ∩ A \\ children| + Σ r(child))`` over the forest of the family,
    O(len(sets) + |S|) after an O(len(sets)² · n) set-up.

    References
    ----------
    T. Fife, J. Oxley, "Laminar matroids", European Journal of Combinatorics 62 (2017).

    Examples
    --------
    >>> from matroidopt.matroid.laminar import LaminarMatroid
    >>> m = LaminarMatroid(4, sets=[[0, 1], [2, 3], [0, 1, 2, 3]], capacities=[1, 2, 2])
    >>> m.rank(), m.is_independent([0, 2]), m.is_independent([0, 1]), m.is_independent([0, 2, 3])
    (2, True, False, False)
    """

    def __init__(self, n: int, sets: Sequence[Iterable[int]], capacities: Sequence[int]) -> None:
        super().__init__(n)
        if isinstance(sets, (str, bytes)) or not isinstance(sets, Iterable):
            raise InvalidInputError(
                f"sets: expected a sequence of collections of indices, got {type(sets).__name__}"
            )
        try:
            sets = list(sets)
        except TypeError:  # a 0-D numpy array or torch tensor
            raise InvalidInputError(
                f"sets: expected a sequence of collections of indices, got {sets!r}") from None
        member = torch.zeros((len(sets), self.n), dtype=torch.bool)
        for i, s in enumerate(sets):
            if s is None or isinstance(s, (str, bytes)) or not (
                    isinstance(s, (np.ndarray, torch.Tensor)) or isinstance(s, Iterable)):
                raise InvalidInputError(
                    f"sets[{i}]: expected a collection of indices in range(0, {self.n}), "
                    f"got {s!r}"[:200]
                )
            member[i, as_index_tensor(s, self.n, f"sets[{i}]", unique=False)] = True
        self.member = member
        self.capacities = self._check_capacities(capacities, len(sets), self.n)
        self._check_laminar()
        self._build_forest()

    @staticmethod
    def _check_capacities(capacities, k: int, n: int) -> torch.Tensor:
        caps = as_list_1d(capacities, "capacities", f"a sequence of {k} non-negative integers")
        if len(caps) != k:
            raise InvalidInputError(
                f"capacities: expected {k} values (one per set in sets), got {len(caps)}"
            )
        out = []
        for i, c in enumerate(caps):
            if isinstance(c, float) and c.is_integer():
                c = int(c)
            # a capacity >= n means "no limit": stored as n (huge ints stay representable)
            out.append(min(check_int(c, f"capacities[{i}]", minimum=0), n))
        return torch.tensor(out, dtype=torch.long)

    def _check_laminar(self) -> None:
        m = self.member.to(torch.int64)
        inter = m @ m.T
        size = m.sum(1)
        nested = inter == torch.minimum(size[:, None], size[None, :])
        bad = torch.nonzero((inter > 0) & ~nested)
        if bad.numel():
            a, b = bad[0].tolist()
            sa = torch.nonzero(self.member[a]).flatten().tolist()
            sb = torch.nonzero(self.member[b]).flatten().tolist()
            raise InvalidInputError(
                f"sets: the family must be laminar (any two sets disjoint or nested), but "
                f"sets[{a}]={sa} and sets[{b}]={sb} overlap without nesting"
            )

    def _build_forest(self) -> None:
        """Order the sets children-first and record each set's parent (-1 for roots) and each
        element's smallest enclosing set (-1 for none)."""
        k = self.member.shape[0]
        size = self.member.sum(1).tolist()
        order = sorted(range(k), key=lambda i: (size[i], i))
        rows = self.member.numpy()
        parent = [-1] * k
        for pos, a in enumerate(order):
            for b in order[pos + 1:]:
                if not (rows[a] & ~rows[b]).any():
                    parent[a] = b
                    break
        lowest = [-1] * self.n
        for a in reversed(order):  # largest first, so the smallest enclosing set wins
            for e in np.flatnonzero(rows[a]).tolist():
                lowest[e] = a
        self._order = order
        self._parent = parent
        self._lowest = lowest

    def __repr__(self) -> str:
        return f"LaminarMatroid(n={self.n}, n_sets={self.member.shape[0]})"

    def _laminar_family(self):
        rows = self.member.numpy()
        caps = self.capacities.tolist()
        return [(np.flatnonzero(rows[a]), int(caps[a])) for a in self._order]

    @property
    def sets(self) -> list[list[int]]:
        """The family, as sorted lists of indices."""
        return [torch.nonzero(row).flatten().tolist() for row in self.member]

    def _init_data(self) -> torch.Tensor:
        return torch.zeros(self.member.shape[0], dtype=torch.long)

    def _can_add(self, state, candidates):
        full = state.data >= self.capacities
        if not bool(full.any()):
            return torch.ones(candidates.numel(), dtype=torch.bool)
        return ~(self.member[full][:, candidates]).any(0)

    def _add_data(self, state, j):
        return state.data + self.member[:, j].to(torch.long)

    def _rank(self, idx):
        count = [0] * self.member.shape[0]
        free = 0
        for e in idx:
            a = self._lowest[e]
            if a < 0:
                free += 1
            else:
                count[a] += 1
        caps = self.capacities.tolist()
        for a in self._order:
            r = min(caps[a], count[a])
            if self._parent[a] < 0:
                free += r
            else:
                count[self._parent[a]] += r
        return free
