"""The partition matroid: at most ``capacities[b]`` elements from each block ``b``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .._backend import as_list_1d, check_int
from ..errors import InvalidInputError
from .base import Matroid

__all__ = ["PartitionMatroid"]


class PartitionMatroid(Matroid):
    """Independent sets hold at most ``capacity(b)`` elements of each block ``b``.

    Parameters
    ----------
    labels : sequence of hashable, length n
        The block of each element (any hashable labels: ints, strings, ...).
    capacities : sequence of int or mapping label -> int
        A sequence indexed by the sorted distinct labels, or a mapping that must give a
        capacity for every label that occurs. Capacities are non-negative integers; one of
        ``n`` or more means "no limit" and is stored as ``n`` (so any Python int is fine).

    Notes
    -----
    The incremental state keeps per-block counts; ``can_add`` is one vectorised gather.
    ``max_weight_basis`` takes each block's top ``capacity`` elements.

    Examples
    --------
    >>> import matroidopt as mo
    >>> m = mo.PartitionMatroid(["a", "a", "b", "b", "b"], {"a": 1, "b": 2})
    >>> m.rank(), m.is_independent([0, 2, 3]), m.is_independent([0, 1])
    (3, True, False)
    """

    def __init__(self, labels, capacities) -> None:
        labels_list = as_list_1d(labels, "labels",
                                 "a sequence with one hashable label per element")
        if any(isinstance(b, float) and b != b for b in labels_list):
            raise InvalidInputError("labels: NaN is not a valid label (it equals no label, "
                                    "itself included)")
        super().__init__(len(labels_list))
        try:
            distinct = set(labels_list)
        except TypeError:
            raise InvalidInputError(
                "labels: expected one hashable label (int, str, ...) per element, got a nested "
                "or unhashable entry"
            ) from None
        try:
            blocks = sorted(distinct)
        except TypeError:  # mixed label types: keep first-appearance order
            blocks = list(dict.fromkeys(labels_list))
        if isinstance(capacities, Mapping):
            missing = [b for b in blocks if b not in capacities]
            if missing:
                raise InvalidInputError(
                    f"capacities: no capacity given for label(s) {missing[:5]}; the mapping must "
                    f"cover every label in labels"
                )
            block_list = list(dict.fromkeys(list(blocks) + list(capacities.keys())))
            caps = [capacities[b] for b in block_list]
        else:
            caps = as_list_1d(capacities, "capacities", "a sequence of non-negative integers or "
                              "a mapping label -> capacity")
            if all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in blocks):
                # integer labels index the capacity sequence directly
                bad = [b for b in blocks if b < 0 or b >= len(caps)]
                if bad:
                    raise InvalidInputError(
                        f"labels: label {bad[0]} has no capacity; capacities has {len(caps)} "
                        f"entries, so integer labels must lie in range(0, {len(caps)})"
                    )
                block_list = list(range(len(caps)))
            else:
                if len(caps) != len(blocks):
                    raise InvalidInputError(
                        f"capacities: expected {len(blocks)} values (one per distinct label, in "
                        f"sorted label order), got {len(caps)}"
                    )
                block_list = list(blocks)
        caps_int = []
        for b, c in zip(block_list, caps, strict=True):
            if c is None:
                raise InvalidInputError(f"capacities: missing capacity for label {b!r}")
            if isinstance(c, bool):
                raise InvalidInputError(f"capacities[{b!r}]: expected an integer, got {c!r}")
            if isinstance(c, (float, np.floating)) and float(c).is_integer():
                c = int(c)
            # a capacity >= n means "no limit": stored as n (huge ints stay representable)
            caps_int.append(min(check_int(c, f"capacities[{b!r}]", minimum=0), self.n))
        self.blocks = tuple(block_list)
        index = {b: i for i, b in enumerate(block_list)}
        self.block_of = torch.tensor([index[b] for b in labels_list], dtype=torch.long)
        self.capacities = torch.tensor(caps_int, dtype=torch.long)
        self.labels = labels_list

    def __repr__(self) -> str:
        caps = dict(zip(self.blocks, self.capacities.tolist()))
        return f"PartitionMatroid(n={self.n}, capacities={caps})"

    def capacity(self, label) -> int:
        """The capacity of the block with this label."""
        try:
            return int(self.capacities[self.blocks.index(label)])
        except ValueError:
            raise InvalidInputError(f"label: {label!r} is not a block of this matroid") from None

    def _init_data(self):
        return torch.zeros(len(self.blocks), dtype=torch.long)

    def _can_add(self, state, candidates):
        b = self.block_of[candidates]
        return state.data[b] < self.capacities[b]

    def _add_data(self, state, j):
        counts = state.data.clone()
        counts[self.block_of[j]] += 1
        return counts

    def _rank(self, idx):
        if not len(idx):
            return 0
        counts = torch.bincount(self.block_of[list(idx)], minlength=len(self.blocks))
        return int(torch.minimum(counts, self.capacities).sum())

    def _max_feasible_size(self):
        counts = torch.bincount(self.block_of, minlength=len(self.blocks))
        return int(torch.minimum(counts, self.capacities).sum())

    def _laminar_family(self):
        block_of = self.block_of.numpy()
        return [(np.flatnonzero(block_of == b), int(c))
                for b, c in enumerate(self.capacities.tolist())]

    _cheap_max_weight = True

    def _greedy_extension(self, state, order):
        """Vectorised: keep the first ``capacity - count`` elements of each block in ``order``."""
        if order.numel() == 0:
            return order
        blocks = self.block_of[order]
        # position of each element among the elements of its block, in scan order
        by_block = torch.sort(blocks, stable=True)
        sorted_blocks = by_block.values
        starts = torch.searchsorted(sorted_blocks, sorted_blocks, right=False)
        rank_sorted = torch.arange(order.numel()) - starts
        rank = torch.empty_like(rank_sorted)
        rank[by_block.indices] = rank_sorted
        room = self.capacities - state.data
        return order[rank < room[blocks]]

    def _max_weight_sum(self, weights):
        w = weights.detach().to("cpu", torch.float64).clamp_min(0.0)
        order = torch.sort(w, descending=True, stable=True).indices
        order = order[w[order] > 0]
        return float(w[self._greedy_extension(self._init_state(), order)].sum())
