"""What one selection step did: :class:`StepRecord`, returned by :meth:`PartitionSel.select`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..selection import Selection

__all__ = ["StepRecord"]


@dataclass(frozen=True)
class StepRecord:
    """One selection step of :class:`~llm_minibatch.loop.PartitionSel`.

    Attributes
    ----------
    step : int
        The step whose seeds were used.
    method : str
    indices : torch.LongTensor
        The ``b`` selected rows of the (global) pool, on the CPU, in selection order.
    local_indices : torch.LongTensor
        This rank's share, ``indices[rank::world_size]`` (all of ``indices`` when not
        distributed): the rows :meth:`PartitionSel.select_batch` returns.
    pool_size, b : int
        Rows of the global pool, rows selected.
    lr : float or None
        η used (None for featureless methods).
    quotas : dict or None
        Per-domain quotas (None for domain-agnostic methods).
    domain_counts : dict
        Selected rows per domain.
    utility : float or None
        F(S) of the weighted gradient-matching utility (None for featureless methods).
    conflicting_pairs : int or None
        ``#{i < j in S : <g_i, g_j> < 0}`` (None for featureless methods).
    feature_seconds, selection_seconds : float
        Time of the feature pass (pool and anchors, gathers included) and of the selection.
    selection : Selection
        The full :class:`~llm_minibatch.selection.Selection` (solver result included).
    """

    step: int
    method: str
    indices: torch.Tensor
    local_indices: torch.Tensor
    pool_size: int
    b: int
    lr: float | None
    quotas: dict | None
    domain_counts: dict
    utility: float | None
    conflicting_pairs: int | None
    feature_seconds: float
    selection_seconds: float
    selection: Selection = field(repr=False)

    def __len__(self) -> int:
        return int(self.indices.numel())

    def tolist(self) -> list[int]:
        """The selected global rows as a list (``indices.tolist()``)."""
        return [int(i) for i in self.indices.tolist()]

    def as_log(self) -> dict[str, Any]:
        """The plain-data entry kept in :attr:`PartitionSel.history` and in checkpoints."""
        return {"step": self.step, "method": self.method, "pool_size": self.pool_size,
                "b": self.b, "lr": self.lr, "domain_counts": dict(self.domain_counts),
                "conflicting_pairs": self.conflicting_pairs, "utility": self.utility,
                "feature_seconds": self.feature_seconds,
                "selection_seconds": self.selection_seconds}
