"""The :class:`Constraint` protocol that solvers use, and the two non-matroid constraints:
:class:`Knapsack` and :class:`Intersection` of matroids.

A constraint is a down-closed family of feasible subsets of ``range(n)``, queried through an
incremental state::

    state = c.init_state()
    mask = c.can_add(state, candidates)   # bool tensor: S + j feasible?
    state = c.add(state, j)               # a new state (raises if S + j is infeasible)

Every constraint here is *down-closed* and *monotone in its infeasibility*: once ``S + j`` is
infeasible, ``T + j`` is infeasible for every feasible ``T ⊇ S``. Solvers rely on this to drop
candidates for good.
"""

from __future__ import annotations

import abc
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._backend import (
    MAX_N,
    as_float_tensor,
    as_index_tensor,
    check_element,
    check_int,
    check_real,
    check_state_owner,
)
from .errors import InvalidInputError

__all__ = ["Constraint", "ConstraintState", "Knapsack", "Intersection"]


@dataclass(frozen=True)
class ConstraintState:
    """Selected elements (in order) plus the constraint's own bookkeeping (block counts, a
    union–find, an orthogonal basis, ...). A value: :meth:`Constraint.add` returns a new one.

    ``owner`` is the constraint that made the state; the public methods reject a state made
    by another constraint (its ``data`` would be misread)."""

    selected: tuple[int, ...]
    data: Any
    owner: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.selected)


class Constraint(abc.ABC):
    """A down-closed family of feasible subsets of ``range(n)``.

    Subclasses implement ``_init_data``, ``_can_add`` (vectorised over a long tensor of
    unselected candidates) and ``_add_data``; feasibility of whole sets, and the certificate
    helper :meth:`_max_weight_sum`, are derived.
    """

    #: "cardinality", "matroid", "intersection" or "knapsack": the row of the guarantee table.
    kind: str = "constraint"
    #: True for matroids (exchange axiom holds).
    is_matroid: bool = False

    def __init__(self, n: int) -> None:
        self.n = check_int(n, "n", minimum=0, maximum=MAX_N)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"

    # ----------------------------------------------------------------- hooks
    @abc.abstractmethod
    def _init_data(self) -> Any: ...

    @abc.abstractmethod
    def _can_add(self, state: ConstraintState, candidates: torch.Tensor) -> torch.Tensor: ...

    @abc.abstractmethod
    def _add_data(self, state: ConstraintState, j: int) -> Any: ...

    # ----------------------------------------------------------------- private fast path
    def _init_state(self) -> ConstraintState:
        return ConstraintState((), self._init_data(), self)

    def _add(self, state: ConstraintState, j: int) -> ConstraintState:
        return ConstraintState(state.selected + (j,), self._add_data(state, j), self)

    def _all(self) -> torch.Tensor:
        return torch.arange(self.n)

    def _unselected(self, state: ConstraintState) -> torch.Tensor:
        mask = torch.ones(self.n, dtype=torch.bool)
        if state.selected:
            mask[list(state.selected)] = False
        return torch.nonzero(mask).flatten()

    def _is_feasible(self, idx: Sequence[int]) -> bool:
        state = self._init_state()
        for j in idx:
            if not bool(self._can_add(state, torch.tensor([j]))[0]):
                return False
            state = self._add(state, j)
        return True

    def _max_feasible_size(self) -> int:
        """An upper bound on the size of any feasible set (the rank for matroids)."""
        return self.n

    def _greedy_extension(self, state: ConstraintState, order: torch.Tensor) -> torch.Tensor:
        """Scan the unselected elements ``order`` (a long tensor) and keep each one that stays
        feasible together with those kept before: the matroid greedy started from ``state``.

        Returns the kept elements in scan order. For a matroid, scanning by decreasing weight
        gives a maximum-weight basis of the contraction ``M / S`` (restricted to ``order``).
        Subclasses override this with vectorised versions.
        """
        kept = []
        for j in order.tolist():
            if bool(self._can_add(state, torch.tensor([j]))[0]):
                state = self._add(state, j)
                kept.append(j)
        return torch.tensor(kept, dtype=torch.long)

    def _max_weight_sum(self, weights: torch.Tensor) -> float:
        """An upper bound on ``max_{I feasible} sum_{j in I} max(w_j, 0)``.

        Exact for matroids (the matroid greedy, Rado–Edmonds); :class:`Knapsack` uses its LP
        relaxation and :class:`Intersection` the least of its matroids' maxima. Used by the
        certificate.
        """
        w = weights.detach().to("cpu", torch.float64).clamp_min(0.0)
        order = _order_desc(w)
        order = order[w[order] > 0]
        if order.numel() == 0:
            return 0.0
        return float(w[self._greedy_extension(self._init_state(), order)].sum())

    def _linear_rows(self, name: str = "constraint"
                     ) -> tuple[np.ndarray, np.ndarray, str] | None:
        """Hook: the constraint's linear description ``(A, b, description)``.

        With the box ``0 <= x <= 1``, the inequalities ``A x <= b`` describe a down-closed
        polytope that contains the indicator vector of every feasible set (for a matroid,
        exactly their convex hull), ``description`` saying which one in words. None (the
        default) when the constraint has no linear description; an
        :class:`~matroidopt.errors.InvalidInputError` naming ``name`` when it has one too
        large to build. :func:`matroidopt.polytope_of` reads it.
        """
        return None

    #: True when :meth:`_max_weight_sum` is a cheap vectorised call (the certificate is then
    #: refreshed after every step rather than on a geometric schedule).
    _cheap_max_weight: bool = False

    # ----------------------------------------------------------------- public API
    def init_state(self) -> ConstraintState:
        """The state of the empty set."""
        return self._init_state()

    def can_add(self, state: ConstraintState, candidates: Iterable[int] | None = None
                ) -> torch.Tensor:
        """Boolean mask: is ``S + j`` feasible, for each ``j`` in ``candidates`` (default all)?

        Elements already in ``S`` get ``False``.
        """
        self._check_state(state)
        cand = (self._all() if candidates is None
                else as_index_tensor(candidates, self.n, "candidates", unique=False).cpu())
        out = torch.zeros(cand.numel(), dtype=torch.bool)
        if cand.numel() == 0:
            return out
        sel = torch.as_tensor(state.selected, dtype=torch.long)
        fresh = ~torch.isin(cand, sel) if sel.numel() else torch.ones_like(cand, dtype=torch.bool)
        if bool(fresh.any()):
            out[fresh] = self._can_add(state, cand[fresh])
        return out

    def add(self, state: ConstraintState, j: int) -> ConstraintState:
        """A new state with ``j`` added; raises :class:`InvalidInputError` if infeasible."""
        self._check_state(state)
        j = check_element(j, self.n)
        if j in state.selected:
            return state
        if not bool(self._can_add(state, torch.tensor([j]))[0]):
            raise InvalidInputError(
                f"j: adding element {j} to {list(state.selected)} is infeasible")
        return self._add(state, j)

    def is_feasible(self, S: Iterable[int]) -> bool:
        """Whether the set ``S`` is feasible (duplicates are an error)."""
        idx = as_index_tensor(S, self.n, "S").tolist()
        return self._is_feasible(idx)

    def _check_state(self, state: Any) -> None:
        check_state_owner(state, ConstraintState, self, "constraint")


def _order_desc(w: torch.Tensor) -> torch.Tensor:
    """Indices sorted by weight descending, ties by index ascending (stable)."""
    return torch.sort(w, descending=True, stable=True).indices


class Knapsack(Constraint):
    """``sum_{j in S} costs[j] <= budget`` with non-negative costs.

    Not a matroid; solved by :func:`~matroidopt.cost_benefit_greedy` with ratio
    ``(1 - 1/e)/2`` for monotone submodular utilities (Khuller, Moss, Naor 1999;
    Leskovec et al. 2007).

    Parameters
    ----------
    costs : array-like of shape (n,)
        Non-negative, finite item costs (a 0-D scalar is rejected).
    budget : float
        Non-negative, finite budget. An integer beyond the largest float (no limit) is
        stored as that float.

    Examples
    --------
    >>> import matroidopt as mo
    >>> c = mo.Knapsack([1.0, 2.0, 3.0], budget=4.0)
    >>> c.is_feasible([0, 2]), c.is_feasible([1, 2])
    (True, False)
    """

    kind = "knapsack"

    def __init__(self, costs, budget: float) -> None:
        self.costs = as_float_tensor(costs, "costs", ndim=1, device="cpu", dtype=torch.float64,
                                     nonnegative=True)
        super().__init__(self.costs.numel())
        if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool) \
                and budget > sys.float_info.max:
            budget = sys.float_info.max  # beyond every float: no limit (any finite costs fit)
        self.budget = check_real(budget, "budget", low=0.0)
        # tolerance for sums of floats that land exactly on the budget
        self._tol = 1e-12 * max(1.0, self.budget)

    def __repr__(self) -> str:
        return f"Knapsack(n={self.n}, budget={self.budget:g})"

    def _init_data(self) -> float:
        return 0.0

    def _can_add(self, state, candidates):
        return self.costs[candidates] <= (self.budget - state.data) + self._tol

    def _add_data(self, state, j):
        return state.data + float(self.costs[j])

    def _linear_rows(self, name: str = "constraint"):
        return (self.costs.numpy().astype(np.float64)[None, :], np.array([self.budget]),
                repr(self))

    def _max_weight_sum(self, weights):
        """Fractional-knapsack (LP relaxation) bound: greedy by weight/cost, last item split."""
        w = weights.detach().to("cpu", torch.float64).clamp_min(0.0)
        c = self.costs
        free = (c <= 0) & (w > 0)
        total = float(w[free].sum())
        rest = (~free) & (w > 0) & (c <= self.budget + self._tol)
        idx = torch.nonzero(rest).flatten()
        if idx.numel() == 0:
            return total
        ratio = w[idx] / c[idx]
        order = idx[torch.argsort(ratio, descending=True)]
        left = self.budget
        for j in order.tolist():
            cj = float(c[j])
            if cj <= left:
                total += float(w[j])
                left -= cj
            else:
                total += float(w[j]) * left / cj
                break
        return total


class Intersection(Constraint):
    """Sets independent in every one of ``p`` matroids over the same ground set.

    Not a matroid for ``p >= 2``; greedy gives ``1/(p + 1)`` for monotone submodular
    utilities (Fisher, Nemhauser, Wolsey 1978).

    Examples
    --------
    >>> import matroidopt as mo
    >>> m1 = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
    >>> m2 = mo.PartitionMatroid([0, 1, 0, 1], [1, 1])
    >>> c = mo.Intersection(m1, m2)
    >>> c.is_feasible([0, 3]), c.is_feasible([0, 2])
    (True, False)
    """

    kind = "intersection"

    def __init__(self, *matroids) -> None:
        if len(matroids) == 1 and isinstance(matroids[0], (list, tuple)):
            matroids = tuple(matroids[0])
        if not matroids:
            raise InvalidInputError("matroids: expected at least one matroid")
        for i, m in enumerate(matroids):
            if not (isinstance(m, Constraint) and m.is_matroid):
                raise InvalidInputError(
                    f"matroids[{i}]: expected a Matroid, got {type(m).__name__}"
                )
        sizes = {m.n for m in matroids}
        if len(sizes) != 1:
            raise InvalidInputError(
                f"matroids: all must share one ground set size, got sizes {[m.n for m in matroids]}"
            )
        super().__init__(matroids[0].n)
        self.matroids = tuple(matroids)
        self.p = len(matroids)
        if self.p == 1:  # one matroid: it is a matroid, with that matroid's guarantee row
            self.kind = matroids[0].kind
            self.is_matroid = True

    def __repr__(self) -> str:
        return f"Intersection({', '.join(map(repr, self.matroids))})"

    def _init_data(self):
        return tuple(m._init_state() for m in self.matroids)

    def _can_add(self, state, candidates):
        mask = torch.ones(candidates.numel(), dtype=torch.bool)
        for m, s in zip(self.matroids, state.data):
            live = torch.nonzero(mask).flatten()
            if live.numel() == 0:
                break
            mask[live] = m._can_add(s, candidates[live])
        return mask

    def _add_data(self, state, j):
        return tuple(m._add(s, j) for m, s in zip(self.matroids, state.data))

    def _max_feasible_size(self) -> int:
        return min(m._max_feasible_size() for m in self.matroids)

    def _linear_rows(self, name: str = "constraint"):
        """The rows of every matroid stacked: the intersection of their polytopes."""
        parts = [m._linear_rows(name) for m in self.matroids]
        if any(p is None for p in parts):
            return None
        return (np.vstack([A for A, _b, _d in parts]), np.concatenate([b for _A, b, _d in parts]),
                " ∩ ".join(d for _A, _b, d in parts))

    def _max_weight_sum(self, weights):
        """Each matroid's max-weight independent set bounds the common one: take the least."""
        return min(m._max_weight_sum(weights) for m in self.matroids)
