"""Combinators: new utilities from old ones, with derived (never assumed) properties.

* :class:`WeightedSum` — ``sum_k c_k f_k(S)`` (also ``f + g`` and ``c * f``);
* :class:`TruncatedUtility` — ``min(f(S), cap)`` (also ``f.truncate(cap)``);
* :class:`ConditionedUtility` — ``f(S ∪ A) - f(A)`` (also ``f.condition(A)``);
* :class:`RestrictedUtility` — ``f`` on a subset of its ground set, re-indexed
  (also ``f.restrict(R)``).

Each wraps the inner utilities' states, so it costs what its parts cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

from .._backend import as_index_tensor, check_real
from ..errors import InvalidInputError
from .base import Utility, UtilityState, check_utility

__all__ = ["WeightedSum", "TruncatedUtility", "ConditionedUtility", "RestrictedUtility"]


def _same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` and ``cuda:0`` (the current device) are the same device."""
    def index(d: torch.device) -> int | None:
        if d.index is None and d.type == "cuda" and torch.cuda.is_available():
            return torch.cuda.current_device()
        return d.index

    return a.type == b.type and index(a) == index(b)


class WeightedSum(Utility):
    """A mixture ``f(S) = sum_k c_k · f_k(S)`` of utilities over the same ground set.

    Declared properties, derived from the parts (parts with ``c_k = 0`` are dropped, nested
    sums are flattened):

    * submodular iff every part with ``c_k > 0`` is submodular and every part with
      ``c_k < 0`` is :class:`~matroidopt.utility.modular.Modular` (so ``f - λ·cost`` stays
      submodular);
    * monotone iff every part with ``c_k > 0`` is monotone and every part with ``c_k < 0`` is
      a ``Modular`` with non-positive weights;
    * normalized iff every part is; non-negative if every part is and every ``c_k > 0`` (or
      if monotone and normalized);
    * ``weak_submodularity`` is the smallest γ of the parts when every ``c_k > 0`` and every
      part is monotone with a declared γ, else ``None`` (1.0 when monotone submodular).

    Parameters
    ----------
    utilities : sequence of Utility
        Non-empty; all on the same ground set ``range(n)`` and device.
    weights : sequence of float
        One finite real coefficient per utility.

    Complexity
    ----------
    The sum of the parts' costs. State: ``UtilityState`` whose data is the tuple of the
    parts' states.

    References
    ----------
    Lin & Bilmes (2011), "A class of submodular functions for document summarization"
    (mixtures of coverage and diversity terms).

    Examples
    --------
    >>> from matroidopt.utility.modular import Modular
    >>> from matroidopt.utility.combinators import WeightedSum
    >>> f = WeightedSum([Modular([1.0, 2.0]), Modular([3.0, 0.0])], [1.0, 0.5])
    >>> f.evaluate([0, 1]), f.monotone, f.submodular
    (4.5, True, True)
    >>> WeightedSum([Modular([1.0, 2.0])], [-1.0]).monotone
    False
    """

    def __init__(self, utilities: Sequence[Utility], weights: Sequence[float]) -> None:
        if isinstance(utilities, Utility) or not isinstance(utilities, Iterable):
            raise InvalidInputError("utilities: expected a non-empty sequence of Utility objects")
        utilities = [check_utility(u, "utilities") for u in utilities]
        if not utilities:
            raise InvalidInputError("utilities: expected a non-empty sequence of Utility objects")
        try:
            weights = list(weights)
        except TypeError as exc:
            raise InvalidInputError("weights: expected a sequence of real numbers") from exc
        if len(weights) != len(utilities):
            raise InvalidInputError(f"weights: expected {len(utilities)} weights (one per "
                                    f"utility), got {len(weights)}")
        weights = [check_real(c, "weights") for c in weights]
        n, device = utilities[0].n, utilities[0].device
        for u in utilities:
            if u.n != n:
                raise InvalidInputError(f"utilities: expected the same ground-set size, got "
                                        f"n={n} and n={u.n}")
            if not _same_device(u.device, device):
                raise InvalidInputError(f"utilities: expected one device, got {device} and "
                                        f"{u.device}")
        parts: list[tuple[Utility, float]] = []
        for u, c in zip(utilities, weights, strict=True):
            inner = ([(u, 1.0)] if not isinstance(u, WeightedSum)
                     else list(zip(u.utilities, u.weights, strict=True)))
            parts.extend((v, c * d) for v, d in inner if c * d != 0.0)
        if not all(math.isfinite(c) for _, c in parts):  # nested weights multiplied out
            raise InvalidInputError(
                "weights: their products with the inner sums' weights overflow float64; "
                "rescale the weights")
        dtype = utilities[0].dtype
        for u in utilities[1:]:
            dtype = torch.promote_types(dtype, u.dtype)

        def modular_sign_ok(u: Utility, monotone: bool) -> bool:
            w = u._modular_weights()
            return w is not None and (not monotone or bool((w <= 0).all()))

        submodular = all(u.submodular if c > 0 else modular_sign_ok(u, False) for u, c in parts)
        monotone = all(u.monotone if c > 0 else modular_sign_ok(u, True) for u, c in parts)
        gammas = [u.weak_submodularity for u, _ in parts]
        gamma = None
        if parts and all(c > 0 and u.monotone for u, c in parts) and None not in gammas:
            gamma = min(gammas)
        normalized = all(u.normalized for u, _ in parts)
        nonnegative = all(c > 0 and u.nonnegative for u, c in parts) or (monotone and normalized)
        super().__init__(n, monotone=monotone, submodular=submodular, normalized=normalized,
                         weak_submodularity=gamma, nonnegative=nonnegative, device=device,
                         dtype=dtype,
                         torch_input=any(u.torch_input for u in utilities))
        self.utilities: tuple[Utility, ...] = tuple(u for u, _ in parts)
        self.weights: tuple[float, ...] = tuple(c for _, c in parts)

    def _init_data(self) -> tuple[UtilityState, ...]:
        return tuple(u._init_state() for u in self.utilities)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        for u, c, s in zip(self.utilities, self.weights, state.data, strict=True):
            out += c * u._gains(s, candidates).to(self.dtype)
        return out

    def _add_data(self, state: UtilityState, j: int) -> tuple[UtilityState, ...]:
        return tuple(u._add(s, j) for u, s in zip(self.utilities, state.data, strict=True))

    def _gain_work(self) -> int | None:
        works = [u._gain_work() for u in self.utilities]
        return None if any(w is None for w in works) else max(1, sum(works))

    def _value(self, state: UtilityState) -> float:
        return sum(c * float(u._value(s))
                   for u, c, s in zip(self.utilities, self.weights, state.data, strict=True))

    def _evaluate(self, idx: torch.Tensor) -> float:
        return sum(c * float(u._evaluate(idx))
                   for u, c in zip(self.utilities, self.weights, strict=True))

    @property
    def _has_multilinear(self) -> bool:
        """``F`` is linear in ``f``: a closed form exactly when every part has one."""
        return all(u._has_multilinear for u in self.utilities)

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor] | None:
        """``sum_k c_k F_k(x)`` and ``sum_k c_k ∇F_k(x)`` from the parts' closed forms
        (None when a part has none)."""
        if not self._has_multilinear:
            return None
        value, grad = 0.0, torch.zeros(self.n, dtype=torch.float64)
        for u, c in zip(self.utilities, self.weights, strict=True):
            part = u._multilinear(x)
            if part is None:
                return None
            v, g = part
            value += c * float(v)
            grad += c * torch.as_tensor(g).detach().to("cpu", torch.float64).reshape(-1)
        return value, grad

    def __repr__(self) -> str:
        terms = " + ".join(f"{c:g}*{u!r}"
                           for u, c in zip(self.utilities, self.weights, strict=True))
        return f"WeightedSum({terms or '0'})"


class TruncatedUtility(Utility):
    """Truncation ``g(S) = min(f(S), cap)``.

    Declared properties: monotone iff ``f`` is; submodular iff ``f`` is monotone and
    submodular (the minimum of a monotone submodular function and a constant is submodular;
    for non-monotone ``f`` it need not be); normalized and non-negative iff ``f`` is
    (``cap >= 0``).

    Parameters
    ----------
    f : Utility
    cap : float
        A finite cap ``>= 0``.

    Complexity
    ----------
    That of ``f`` (plus one ``value`` per ``gains`` call). State: ``UtilityState`` whose data
    is ``f``'s state.

    References
    ----------
    Krause & Golovin (2014), "Submodular function maximization" (truncation preserves
    monotone submodularity); used for submodular cover (Wolsey 1982).

    Examples
    --------
    >>> from matroidopt.utility.modular import Modular
    >>> from matroidopt.utility.combinators import TruncatedUtility
    >>> g = TruncatedUtility(Modular([1.0, 2.0, 3.0]), cap=4.0)
    >>> g.evaluate([0, 1]), g.evaluate([1, 2]), g.submodular
    (3.0, 4.0, True)
    """

    def __init__(self, f: Utility, cap: float) -> None:
        f = check_utility(f, "f")
        cap = check_real(cap, "cap", low=0.0)
        super().__init__(f.n, monotone=f.monotone, submodular=f.monotone and f.submodular,
                         normalized=f.normalized, nonnegative=f.nonnegative, device=f.device,
                         dtype=f.dtype, torch_input=f.torch_input)
        self.f = f
        self.cap = cap

    def _init_data(self) -> UtilityState:
        return self.f._init_state()

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        v = float(self.f._value(state.data))
        g = self.f._gains(state.data, candidates).to(self.dtype)
        return (g + v).clamp_max(self.cap) - min(v, self.cap)

    def _add_data(self, state: UtilityState, j: int) -> UtilityState:
        return self.f._add(state.data, j)

    def _gain_work(self) -> int | None:
        return self.f._gain_work()

    def _value(self, state: UtilityState) -> float:
        return min(float(self.f._value(state.data)), self.cap)

    def _evaluate(self, idx: torch.Tensor) -> float:
        return min(float(self.f._evaluate(idx)), self.cap)

    def __repr__(self) -> str:
        return f"TruncatedUtility({self.f!r}, cap={self.cap:g})"


class ConditionedUtility(Utility):
    """Conditioning ``g(S) = f(S | A) = f(S ∪ A) - f(A)`` on a given set ``A``.

    Same ground set as ``f``; the elements of ``A`` have gain 0.

    Declared properties: monotone iff ``f`` is, submodular iff ``f`` is, normalized always
    (``g(∅) = 0``), non-negative when monotone; ``weak_submodularity`` is ``f``'s
    (conditioning only shrinks the sets the submodularity ratio ranges over).

    Parameters
    ----------
    f : Utility
    given : iterable of int
        The set ``A`` (duplicates ignored).

    Complexity
    ----------
    That of ``f``; construction adds ``A`` once. State: ``UtilityState`` whose data is ``f``'s
    state of ``S ∪ A``.

    References
    ----------
    Krause & Golovin (2014), "Submodular function maximization" (contraction / residual
    functions, as in the residual greedy of Chen, Feldman, Karbasi 2018).

    Examples
    --------
    >>> from matroidopt.utility.coverage import WeightedCoverage
    >>> from matroidopt.utility.combinators import ConditionedUtility
    >>> f = WeightedCoverage([[1, 1, 0], [0, 1, 1], [0, 0, 1]])
    >>> g = ConditionedUtility(f, given=[0])
    >>> g.evaluate([]), g.evaluate([1]), g.evaluate([0, 2])
    (0.0, 1.0, 1.0)
    """

    def __init__(self, f: Utility, given: Iterable[int]) -> None:
        f = check_utility(f, "f")
        if given is None:
            raise InvalidInputError("given: expected an iterable of indices, got None")
        A = as_index_tensor(given, f.n, "given", device=f.device, unique=False)
        order = list(dict.fromkeys(A.tolist()))
        super().__init__(f.n, monotone=f.monotone, submodular=f.submodular, normalized=True,
                         weak_submodularity=f.weak_submodularity, device=f.device,
                         dtype=f.dtype, torch_input=f.torch_input)
        self.f = f
        self.given: tuple[int, ...] = tuple(order)
        self._given_t = torch.as_tensor(sorted(order), dtype=torch.long, device=f.device)
        state = f._init_state()
        for j in order:
            state = f._add(state, j)
        self._state_A = state
        self._f_A = float(f._value(state))
        self._f_A_eval = float(f._evaluate(self._given_t))

    def _init_data(self) -> UtilityState:
        return self._state_A

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        fresh = ~torch.isin(candidates, self._given_t)
        if bool(fresh.any()):
            out[fresh] = self.f._gains(state.data, candidates[fresh]).to(self.dtype)
        return out

    def _add_data(self, state: UtilityState, j: int) -> UtilityState:
        if j in self.given:
            return state.data
        return self.f._add(state.data, j)

    def _gain_work(self) -> int | None:
        return self.f._gain_work()

    def _value(self, state: UtilityState) -> float:
        return float(self.f._value(state.data)) - self._f_A

    def _evaluate(self, idx: torch.Tensor) -> float:
        both = torch.unique(torch.cat([idx, self._given_t]))
        return float(self.f._evaluate(both)) - self._f_A_eval

    def __repr__(self) -> str:
        return f"ConditionedUtility({self.f!r}, given={list(self.given)})"


class RestrictedUtility(Utility):
    """Restriction ``g(S) = f({elements[i] : i in S})`` of ``f`` to the ground set ``elements``.

    The new ground set is ``range(len(elements))``; :attr:`elements` (a long tensor) maps
    its indices back to ``f``'s: ``g.elements[indices]``.

    Declared properties: those of ``f`` (monotonicity, submodularity, normalization,
    non-negativity and the submodularity ratio all survive restriction).

    Parameters
    ----------
    f : Utility
    elements : sequence of int
        Distinct indices of ``f``'s ground set.

    Complexity
    ----------
    That of ``f`` (plus one gather of the candidates). State: ``UtilityState`` whose data is
    ``f``'s state, in ``f``'s indices.

    References
    ----------
    Fujishige (2005), "Submodular functions and optimization" (restriction of a set function).

    Examples
    --------
    >>> from matroidopt.utility.modular import Modular
    >>> from matroidopt.utility.combinators import RestrictedUtility
    >>> g = RestrictedUtility(Modular([1.0, 2.0, 3.0, 4.0]), elements=[3, 1])
    >>> g.n, g.evaluate([0]), g.evaluate([0, 1]), g.elements.tolist()
    (2, 4.0, 6.0, [3, 1])
    """

    def __init__(self, f: Utility, elements: Sequence[int]) -> None:
        f = check_utility(f, "f")
        if elements is None:
            raise InvalidInputError("elements: expected a sequence of distinct indices, got None")
        E = as_index_tensor(elements, f.n, "elements", device=f.device, unique=True)
        super().__init__(E.numel(), monotone=f.monotone, submodular=f.submodular,
                         normalized=f.normalized, weak_submodularity=f.weak_submodularity,
                         nonnegative=f.nonnegative, device=f.device, dtype=f.dtype,
                         torch_input=f.torch_input)
        self.f = f
        self.elements = E

    def _init_data(self) -> UtilityState:
        return self.f._init_state()

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        return self.f._gains(state.data, self.elements[candidates]).to(self.dtype)

    def _add_data(self, state: UtilityState, j: int) -> UtilityState:
        return self.f._add(state.data, int(self.elements[j]))

    def _gain_work(self) -> int | None:
        return self.f._gain_work()

    def _value(self, state: UtilityState) -> float:
        return float(self.f._value(state.data))

    def _evaluate(self, idx: torch.Tensor) -> float:
        return float(self.f._evaluate(self.elements[idx]))

    def __repr__(self) -> str:
        return f"RestrictedUtility({self.f!r}, n={self.n})"
