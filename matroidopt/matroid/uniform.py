"""The uniform matroid: every set of at most ``k`` elements (a cardinality constraint)."""

from __future__ import annotations

import numpy as np
import torch

from .._backend import check_int
from .base import Matroid

__all__ = ["FreeMatroid", "UniformMatroid"]


class UniformMatroid(Matroid):
    """``U(n, k)``: a set is independent iff it has at most ``k`` elements.

    ``maximize(f, k)`` with an int ``k`` means this matroid. ``k >= n`` is allowed (every set
    is independent) and stored as ``k = n``, so any Python int is fine.

    Parameters
    ----------
    n : int
        Ground-set size (>= 0).
    k : int
        The cardinality bound (>= 0; values above ``n`` are stored as ``n``).

    Examples
    --------
    >>> import matroidopt as mo
    >>> m = mo.UniformMatroid(5, 2)
    >>> m.rank(), m.is_independent([0, 4]), m.is_independent([0, 1, 2])
    (2, True, False)
    """

    kind = "cardinality"

    def __init__(self, n: int, k: int) -> None:
        super().__init__(n)
        self.k = min(check_int(k, "k", minimum=0), self.n)  # k >= n: no limit, stored as n

    def __repr__(self) -> str:
        return f"UniformMatroid(n={self.n}, k={self.k})"

    def _init_data(self):
        return None

    def _can_add(self, state, candidates):
        return torch.full((candidates.numel(),), len(state.selected) < self.k, dtype=torch.bool)

    def _add_data(self, state, j):
        return None

    def _rank(self, idx):
        return min(len(idx), self.k)

    def _max_feasible_size(self):
        return min(self.n, self.k)

    def _laminar_family(self):
        return [(np.arange(self.n), self.k)]

    _cheap_max_weight = True

    def _greedy_extension(self, state, order):
        return order[: max(0, self.k - len(state.selected))]

    def _max_weight_sum(self, weights):
        w = weights.detach().to("cpu", torch.float64).clamp_min(0.0)
        m = min(self.k, w.numel())
        return float(torch.topk(w, m).values.sum()) if m else 0.0


class FreeMatroid(UniformMatroid):
    """No constraint: every subset of the ``n`` elements is independent (``U(n, n)``).

    Its ``kind`` is ``"unconstrained"``: the solvers for unconstrained maximisation
    (:func:`~matroidopt.double_greedy`) accept it, and so does every solver that accepts a
    cardinality constraint. A solver given ``constraint=None`` uses it.

    Parameters
    ----------
    n : int
        Ground-set size (>= 0).

    Examples
    --------
    >>> import matroidopt as mo
    >>> m = mo.FreeMatroid(4)
    >>> m.kind, m.rank(), m.is_independent([0, 1, 2, 3])
    ('unconstrained', 4, True)
    """

    kind = "unconstrained"

    def __init__(self, n: int) -> None:
        super().__init__(n, check_int(n, "n", minimum=0))

    def __repr__(self) -> str:
        return f"FreeMatroid(n={self.n})"
