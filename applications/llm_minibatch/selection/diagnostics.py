"""Diagnostics of a selected minibatch: conflicting gradient pairs and per-domain counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["conflicting_pairs", "domain_counts"]


def conflicting_pairs(gram: torch.Tensor, indices: Sequence[int] | torch.Tensor | np.ndarray
                      ) -> int:
    """``#{i < j in S : <g_i, g_j> < 0}``: pairs of selected examples whose gradients conflict.

    Parameters
    ----------
    gram : tensor of shape (N, N)
        The Gram matrix ``K = G Gᵀ`` of the pool's gradient features.
    indices : sequence of int
        The selection ``S``.

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.selection.diagnostics import conflicting_pairs
    >>> G = torch.tensor([[1.0, 0.0], [-1.0, 0.1], [0.0, 1.0]])
    >>> conflicting_pairs(G @ G.T, [0, 1, 2])
    1
    """
    idx = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor)
                          else indices, dtype=torch.long, device=gram.device)
    if idx.numel() < 2:
        return 0
    sub = gram[idx][:, idx]
    return int(torch.triu(sub < 0, diagonal=1).sum())


def domain_counts(domains: Sequence[Any], indices: Sequence[int]) -> dict[Any, int]:
    """How many selected examples come from each domain (domains with none are omitted).

    Examples
    --------
    >>> from llm_minibatch.selection.diagnostics import domain_counts
    >>> domain_counts(["a", "b", "a", "c"], [0, 2, 3])
    {'a': 2, 'c': 1}
    """
    return dict(sorted(Counter(domains[int(i)] for i in indices).items(),
                       key=lambda kv: str(kv[0])))
