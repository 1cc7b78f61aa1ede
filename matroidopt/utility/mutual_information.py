"""Submodular information measures of any utility: ``I_f(A; Q | P)``, from ``f``'s oracle.

For a set function ``f`` over a ground set ``Ω``, a query set ``Q ⊆ Ω`` and a private set
``P ⊆ Ω`` (Iyer, Khargonkar, Bilmes, Asnani 2021):

* mutual information ``I_f(A; Q) = f(A) + f(Q) - f(A ∪ Q)``;
* conditional gain ``f(A | P) = f(A ∪ P) - f(P)`` (:meth:`Utility.condition`);
* conditional mutual information ``I_f(A; Q | P) = f(A ∪ P) + f(Q ∪ P) - f(A ∪ Q ∪ P) - f(P)``.

:class:`MutualInformation` is the generic form over ``A ⊆ Ω \\ (Q ∪ P)``, two states of ``f``
per state. The closed forms with submodlib's parameters (``eta``, ``nu``, ...) over kernels
against separate query and private points are in :mod:`matroidopt.utility.information`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .._backend import as_index_tensor
from ..errors import InvalidInputError
from .base import Utility, UtilityState, check_utility

__all__ = ["MutualInformation"]


def _index_set(S: Iterable[int] | None, n: int, name: str, device) -> list[int]:
    if S is None:
        return []
    if isinstance(S, (str, bytes)):
        raise InvalidInputError(f"{name}: expected an iterable of indices in range({n})")
    return list(dict.fromkeys(as_index_tensor(S, n, name, device=device, unique=False).tolist()))


class MutualInformation(Utility):
    """The (conditional) mutual information ``g(A) = I_f(A; Q | P)`` of a utility ``f``.

    ``g(A) = f(A ∪ P) + f(Q ∪ P) - f(A ∪ Q ∪ P) - f(P)`` for ``A`` in the ground set
    ``Ω \\ (Q ∪ P)``, re-indexed: :attr:`elements` maps ``g``'s indices to ``f``'s
    (``g.elements[result.indices]``). With ``P = ∅`` it is ``I_f(A; Q) = f(A) + f(Q) -
    f(A ∪ Q)``: how much of what ``A`` is worth is shared with ``Q``.

    The gain of ``j`` is ``f(j | A ∪ P) - f(j | A ∪ Q ∪ P)``.

    Declared properties: normalized always; monotone and non-negative when ``f`` is
    submodular (the gain is then a difference of ``f``'s gains at nested sets). Not declared
    submodular: ``I_f(·; Q)`` is submodular only when ``f``'s third-order differences are
    non-positive (true of facility location and set cover, not of every ``f``). The closed
    forms of :mod:`matroidopt.utility.information` declare it where it holds.

    Parameters
    ----------
    f : Utility
        The base function over ``Ω = range(f.n)``.
    query : iterable of int
        ``Q``: the indices of ``f``'s ground set that the selection should be informative
        about (duplicates ignored).
    private : iterable of int, optional
        ``P``: indices whose information the selection should not repeat (default: none);
        disjoint from ``query``.

    Complexity
    ----------
    Twice ``f``'s cost per ``gains`` and ``add``; construction adds ``Q ∪ P`` once. State: the
    pair of ``f``'s states of ``A ∪ P`` and ``A ∪ Q ∪ P``.

    References
    ----------
    Iyer, Khargonkar, Bilmes, Asnani (2021), "Generalized submodular information measures:
    theoretical properties, examples, optimization algorithms, and applications" (IEEE Trans.
    Inf. Theory); Kothawade et al. (2022), "PRISM: a rich class of parameterized submodular
    information measures for guided data subset selection" (AAAI).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> cover = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [0, 1, 1, 0], [1, 0, 0, 0]])
    >>> f = mo.WeightedCoverage(cover)
    >>> g = mo.MutualInformation(f, query=[3])      # Q covers concept 0
    >>> g.elements.tolist(), g.evaluate([0]), g.evaluate([1]), g.evaluate([0, 1, 2])
    ([0, 1, 2], 1.0, 0.0, 1.0)
    """

    def __init__(self, f: Utility, query: Iterable[int], private: Iterable[int] | None = None
                 ) -> None:
        f = check_utility(f, "f")
        if query is None:
            raise InvalidInputError("query: expected an iterable of indices, got None")
        Q = _index_set(query, f.n, "query", f.device)
        P = _index_set(private, f.n, "private", f.device)
        overlap = sorted(set(Q) & set(P))
        if overlap:
            raise InvalidInputError(f"private: expected no element of query, got {overlap[:8]}")
        outside = set(Q) | set(P)
        elements = [e for e in range(f.n) if e not in outside]
        super().__init__(len(elements), monotone=f.submodular, submodular=False,
                         normalized=True, nonnegative=f.submodular, device=f.device,
                         dtype=f.dtype, torch_input=f.torch_input)
        self.f = f
        self.gains_are_exact = f.gains_are_exact
        self.query: tuple[int, ...] = tuple(Q)
        self.private: tuple[int, ...] = tuple(P)
        self.elements = torch.as_tensor(elements, dtype=torch.long, device=f.device)
        low = f._init_state()
        for e in P:
            low = f._add(low, e)
        high = low
        for e in Q:
            high = f._add(high, e)
        self._start = (low, high)
        self._f_P, self._f_QP = float(f._value(low)), float(f._value(high))
        self._P_t = torch.as_tensor(sorted(P), dtype=torch.long, device=f.device)
        self._QP_t = torch.as_tensor(sorted(outside), dtype=torch.long, device=f.device)
        # from scratch too, so that evaluate's terms cancel exactly at A = ∅
        self._f_P_eval = float(f._evaluate(self._P_t))
        self._f_QP_eval = float(f._evaluate(self._QP_t))

    def _init_data(self) -> tuple[UtilityState, UtilityState]:
        return self._start

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        low, high = state.data
        e = self.elements[candidates]
        return (self.f._gains(low, e).to(self.dtype) - self.f._gains(high, e).to(self.dtype))

    def _add_data(self, state: UtilityState, j: int) -> tuple[UtilityState, UtilityState]:
        low, high = state.data
        e = int(self.elements[j])
        return self.f._add(low, e), self.f._add(high, e)

    def _gain_work(self) -> int | None:
        w = self.f._gain_work()
        return None if w is None else 2 * w

    def _value(self, state: UtilityState) -> float:
        low, high = state.data
        return (float(self.f._value(low)) + self._f_QP - float(self.f._value(high))
                - self._f_P)

    def _evaluate(self, idx: torch.Tensor) -> float:
        if idx.numel() == 0:
            return 0.0
        A = self.elements[idx]
        f_AP = float(self.f._evaluate(torch.unique(torch.cat([A, self._P_t]))))
        f_AQP = float(self.f._evaluate(torch.unique(torch.cat([A, self._QP_t]))))
        return f_AP + self._f_QP_eval - f_AQP - self._f_P_eval

    def __repr__(self) -> str:
        given = f", private={list(self.private)[:8]}" if self.private else ""
        return f"MutualInformation({self.f!r}, query={list(self.query)[:8]}{given})"
