"""The :class:`Matroid` base class: one incremental independence oracle, everything else derived.

A subclass implements the incremental oracle of :class:`~matroidopt.Constraint`
(``_init_data`` / ``_can_add`` / ``_add_data``): "is ``S + j`` independent, given that ``S``
is?". Because independent sets of a matroid are exactly the sets all of whose insertion
orders pass that test, independence, rank, bases and the maximum-weight basis (the matroid
greedy, exact by Rado–Edmonds) follow for free. Subclasses may override ``_rank`` or
``_max_weight_sum`` with faster closed forms (SageMath style: public methods validate,
private ``_`` methods assume valid input).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from .._backend import as_float_tensor, as_index_tensor, check_element
from ..constraint import Constraint, ConstraintState, _order_desc
from ..errors import InvalidInputError

__all__ = ["Matroid", "MAX_RANK_INEQUALITY_N"]

#: Largest ground set for which a matroid without a laminar family is described by its ``2^n``
#: rank inequalities (its polytope for LPs and projections).
MAX_RANK_INEQUALITY_N = 12


def check_matroid(matroid: Any, name: str = "matroid") -> Matroid:
    """``matroid`` if it is a :class:`Matroid`, else an :class:`InvalidInputError` naming
    ``name``."""
    if not isinstance(matroid, Matroid):
        raise InvalidInputError(
            f"{name}: expected a matroidopt Matroid, got {type(matroid).__name__}")
    return matroid


class Matroid(Constraint):
    """A matroid over the ground set ``range(n)``.

    Axioms (checked for every kind by :func:`matroidopt.testing.check_matroid`):
    ``∅`` is independent; subsets of independent sets are independent; if ``|I| < |J|`` are
    independent there is ``j ∈ J \\ I`` with ``I + j`` independent.
    """

    kind = "matroid"
    is_matroid = True

    # ----------------------------------------------------------------- private derived
    def _greedy_independent_subset(self, order: Sequence[int],
                                   state: ConstraintState | None = None) -> ConstraintState:
        """Scan ``order`` and keep each element that stays independent (the matroid greedy)."""
        state = self._init_state() if state is None else state
        chosen = set(state.selected)
        for j in order:
            if j in chosen:
                continue
            if bool(self._can_add(state, torch.tensor([j]))[0]):
                state = self._add(state, j)
                chosen.add(j)
        return state

    def _rank(self, idx: Sequence[int]) -> int:
        return len(self._greedy_independent_subset(list(idx)).selected)

    def _max_feasible_size(self) -> int:
        if not hasattr(self, "_full_rank"):
            self._full_rank = self._rank(range(self.n))
        return self._full_rank

    def _laminar_family(self) -> list[tuple[np.ndarray, int]] | None:
        """Hook: the matroid as capacities on a laminar family of sets — ``[(elements,
        capacity), ...]`` with every set listed after the sets it contains — when it is one
        (uniform, partition and laminar matroids), else None. Its independent sets are those
        meeting every capacity; it gives the compact polytope description and pipage
        rounding."""
        return None

    def _rank_inequalities(self) -> tuple[np.ndarray, np.ndarray]:
        """All ``x(S) <= r(S)`` with ``r(S) < |S|`` (the others follow from ``x <= 1``), by
        brute force over the ``2^n`` subsets (call only for ``n <= MAX_RANK_INEQUALITY_N``);
        cached on the matroid."""
        cache = getattr(self, "_rank_inequality_cache", None)
        if cache is not None:
            return cache
        n = self.n
        rows, rhs = [], []
        for mask in range(1, 1 << n):
            S = [j for j in range(n) if mask >> j & 1]
            r = self._rank(S)
            if r < len(S):
                row = np.zeros(n)
                row[S] = 1.0
                rows.append(row)
                rhs.append(float(r))
        out = (np.array(rows).reshape(len(rows), n), np.array(rhs))
        self._rank_inequality_cache = out
        return out

    def _linear_rows(self, name: str = "constraint"
                     ) -> tuple[np.ndarray, np.ndarray, str]:
        """The matroid polytope ``P(M)``: one row ``x(A) <= capacity(A)`` per set of the
        laminar family when there is one (its complete description, any ``n``), else the
        rank inequalities (``n <= MAX_RANK_INEQUALITY_N``; larger ones raise naming
        ``name``)."""
        family = self._laminar_family()
        if family is not None:
            A = np.zeros((len(family), self.n))
            for i, (S, _cap) in enumerate(family):
                A[i, S] = 1.0
            return (A, np.array([float(c) for _S, c in family]),
                    f"P({self!r}) by compact")
        if self.n > MAX_RANK_INEQUALITY_N:
            raise InvalidInputError(
                f"{name}: the polytope of a {type(self).__name__} is described here by its 2^n "
                f"rank inequalities, only for n <= {MAX_RANK_INEQUALITY_N} (got n = {self.n}); "
                f"uniform, partition and laminar matroids, their truncations, restrictions, "
                f"contractions and direct sums have compact descriptions for any n")
        A, b = self._rank_inequalities()
        return A, b, f"P({self!r}) by rank inequalities"

    # ----------------------------------------------------------------- public derived
    def is_independent(self, S: Iterable[int]) -> bool:
        """Whether ``S`` is independent (same as :meth:`is_feasible`)."""
        return self.is_feasible(S)

    def rank(self, S: Iterable[int] | None = None) -> int:
        """The rank of ``S`` (default: of the whole ground set): the size of a largest
        independent subset of ``S``."""
        if S is None:
            return self._max_feasible_size()
        idx = as_index_tensor(S, self.n, "S", unique=False)
        return self._rank(torch.unique(idx).tolist())

    def is_basis(self, S: Iterable[int]) -> bool:
        """Whether ``S`` is a maximal independent set (independent, of full rank)."""
        idx = as_index_tensor(S, self.n, "S").tolist()
        return self._is_feasible(idx) and len(idx) == self._max_feasible_size()

    def max_weight_basis(self, weights) -> np.ndarray:
        """A basis of maximum total weight (the matroid greedy, exact).

        Elements are scanned by weight descending, ties by index ascending; each is kept if it
        stays independent. Returns the indices in the order they were taken.

        Complexity: one sort plus ``n`` incremental oracle calls.

        Examples
        --------
        >>> import matroidopt as mo
        >>> m = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
        >>> m.max_weight_basis([0.1, 0.9, 0.5, 0.2]).tolist()
        [1, 2]
        """
        w = self._check_weights(weights)
        return self._greedy_extension(self._init_state(), _order_desc(w)).numpy()

    def max_weight_independent(self, weights) -> np.ndarray:
        """An independent set of maximum total weight: the greedy over positive weights only."""
        w = self._check_weights(weights)
        order = _order_desc(w)
        return self._greedy_extension(self._init_state(), order[w[order] > 0]).numpy()

    def strong_exchange(self, B1: Iterable[int], B2: Iterable[int], x: int) -> int:
        """For bases ``B1, B2`` and ``x ∈ B1 \\ B2``, an element ``y ∈ B2 \\ B1`` such that
        ``B1 - x + y`` and ``B2 - y + x`` are both bases (the strong basis exchange property;
        the smallest such ``y``). Swap rounding merges bases with it.

        Complexity: at most ``2·|B2 \\ B1|`` independence tests.

        Examples
        --------
        >>> import matroidopt as mo
        >>> m = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
        >>> m.strong_exchange([0, 2], [1, 3], 0)
        1
        """
        b1 = as_index_tensor(B1, self.n, "B1").tolist()
        b2 = as_index_tensor(B2, self.n, "B2").tolist()
        for name, b in (("B1", b1), ("B2", b2)):
            if not self.is_basis(b):
                raise InvalidInputError(f"{name}: {sorted(b)} is not a basis of {self!r}")
        x = check_element(x, self.n, "x")
        if x not in b1 or x in b2:
            raise InvalidInputError(f"x: expected an element of B1 \\ B2, got {x}")
        return self._strong_exchange(b1, b2, x)

    def _strong_exchange(self, b1: Sequence[int], b2: Sequence[int], x: int) -> int:
        s1, s2 = set(b1), set(b2)
        rest1 = [e for e in b1 if e != x]
        for y in sorted(s2 - s1):
            if self._is_feasible(rest1 + [y]) and \
                    self._is_feasible([e for e in b2 if e != y] + [x]):
                return y
        raise InvalidInputError(
            f"matroid: no strong basis exchange for {x} between {sorted(b1)} and {sorted(b2)}; "
            f"{self!r} violates the matroid axioms")

    # ----------------------------------------------------------------- operations
    def truncate(self, k: int) -> Matroid:
        """The truncation to rank ``k``; see :func:`matroidopt.truncate`."""
        from .operations import truncate

        return truncate(self, k)

    def restrict(self, elements: Iterable[int]) -> Matroid:
        """The restriction ``M | elements`` (re-indexed); see :func:`matroidopt.restrict`."""
        from .operations import restrict

        return restrict(self, elements)

    def contract(self, S: Iterable[int]) -> Matroid:
        """The contraction ``M / S`` (re-indexed); see :func:`matroidopt.contract`."""
        from .operations import contract

        return contract(self, S)

    def direct_sum(self, *others: Matroid) -> Matroid:
        """``M ⊕ others``; see :func:`matroidopt.direct_sum`."""
        from .operations import direct_sum

        return direct_sum(self, *others)

    def _check_weights(self, weights) -> torch.Tensor:
        w = as_float_tensor(weights, "weights", ndim=1, device="cpu", dtype=torch.float64)
        if w.numel() != self.n:
            raise InvalidInputError(f"weights: expected length {self.n}, got {w.numel()}")
        return w
