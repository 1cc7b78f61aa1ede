"""The :class:`Utility` protocol: a set function over ``range(n)`` with an incremental oracle.

A utility is immutable after construction. Solvers drive it through an explicit state (optax
style), so a solve is resumable and inspectable::

    state = f.init_state()
    g = f.gains(state, candidates)   # marginal gains f(S + j) - f(S), one vectorised call
    state = f.add(state, j)          # a new state; the old one stays valid
    f.value(state)                   # f(S)

Subclasses implement the private hooks ``_init_data``, ``_gains``, ``_add_data`` and ``_value``
(they may assume valid input); the public methods validate and delegate. Optional hooks describe
structure the solvers exploit: ``_evaluate`` (a direct formula), ``_modular_weights`` (modular
utilities), ``_multilinear`` with ``_has_multilinear`` (a closed-form multilinear extension,
read by :mod:`matroidopt.multilinear`) and ``_gain_work`` (the cost of one candidate's gain,
read by the thread policy of :mod:`matroidopt.threads`).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._backend import (
    MAX_N,
    as_index_tensor,
    check_element,
    check_int,
    check_state_owner,
    compute_dtype,
    resolve_device,
    resolve_dtype,
)
from ..errors import InvalidInputError

__all__ = ["Utility", "UtilityState", "CallableUtility"]


@dataclass(frozen=True)
class UtilityState:
    """The state of an incremental evaluation: the selected elements (in order) and the
    family-specific cached data (e.g. each client's best similarity for facility location).

    States are values: :meth:`Utility.add` returns a new state and never mutates its input.
    ``owner`` is the utility whose :meth:`~Utility.init_state` / :meth:`~Utility.add` made
    the state; the public methods reject a state made by another utility (its ``data`` would
    be read as this utility's, giving wrong gains or an internal error).
    """

    selected: tuple[int, ...]
    data: Any
    owner: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.selected)


class Utility(abc.ABC):
    """A set function ``f: 2^{range(n)} -> R`` with declared mathematical properties.

    Attributes
    ----------
    n : int
        Ground-set size; elements are ``0, ..., n - 1``.
    monotone : bool
        Declared ``f(S) <= f(T)`` whenever ``S ⊆ T``.
    submodular : bool
        Declared diminishing returns ``f(S + j) - f(S) >= f(T + j) - f(T)`` for ``S ⊆ T``.
    normalized : bool
        Declared ``f(∅) = 0``.
    nonnegative : bool
        Declared ``f(S) >= 0`` for all ``S`` (default: ``monotone and normalized``); the
        ``1/e`` guarantee of :func:`~matroidopt.random_greedy` needs it.
    weak_submodularity : float or None
        A declared lower bound γ on the submodularity ratio (``1.0`` when submodular).
    gains_are_exact : bool
        ``False`` for utilities whose :meth:`gains` are a proxy (e.g. gradient-matching
        utilities with a refit), in which case lazy evaluation is not used.
    device, dtype
        Where and in which precision the utility computes. Half precision (``float16``,
        ``bfloat16``) is computed in ``float32``: its sums overflow at 65504 and its rounding
        swamps marginal gains.
    """

    n: int
    monotone: bool = False
    submodular: bool = False
    normalized: bool = True
    gains_are_exact: bool = True

    def __init__(
        self,
        n: int,
        *,
        monotone: bool,
        submodular: bool,
        normalized: bool = True,
        weak_submodularity: float | None = None,
        nonnegative: bool | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        torch_input: bool = False,
    ) -> None:
        self.n = check_int(n, "n", minimum=0, maximum=MAX_N)
        self.monotone = bool(monotone)
        self.submodular = bool(submodular)
        self.normalized = bool(normalized)
        if weak_submodularity is not None:
            weak_submodularity = float(weak_submodularity)
            if not (0.0 < weak_submodularity <= 1.0):
                raise InvalidInputError(
                    f"weak_submodularity: expected a value in (0, 1], got {weak_submodularity}"
                )
        self._gamma = weak_submodularity
        self._nonnegative = nonnegative
        self.device = resolve_device(device)
        self.dtype = compute_dtype(resolve_dtype(dtype))
        self.torch_input = bool(torch_input)

    # ------------------------------------------------------------------ properties
    @property
    def nonnegative(self) -> bool:
        """Declared ``f(S) >= 0`` for every ``S`` (implied by normalized and monotone)."""
        if self._nonnegative is not None:
            return bool(self._nonnegative)
        return self.monotone and self.normalized

    @property
    def weak_submodularity(self) -> float | None:
        """The declared submodularity-ratio lower bound γ (1.0 for submodular utilities)."""
        if self.submodular and self.monotone:
            return 1.0
        return self._gamma

    def __repr__(self) -> str:
        props = [p for p in ("monotone", "submodular") if getattr(self, p)]
        return f"{type(self).__name__}(n={self.n}{', ' if props else ''}{', '.join(props)})"

    # ------------------------------------------------------------------ hooks
    @abc.abstractmethod
    def _init_data(self) -> Any:
        """The cached data of the empty set."""

    @abc.abstractmethod
    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        """Marginal gains of ``candidates`` (a long tensor of unselected elements)."""

    @abc.abstractmethod
    def _add_data(self, state: UtilityState, j: int) -> Any:
        """The cached data after adding the unselected element ``j``."""

    @abc.abstractmethod
    def _value(self, state: UtilityState) -> float:
        """``f(state.selected)``."""

    def _evaluate(self, idx: torch.Tensor) -> float:
        """``f`` of a set of distinct indices, from scratch. Subclasses may override with a
        direct formula; the default replays the incremental oracle."""
        state = self._init_state()
        for j in idx.tolist():
            state = self._add(state, j)
        return self._value(state)

    @property
    def modular(self) -> bool:
        """Whether ``f(S) = f(∅) + Σ_{j ∈ S} w_j`` for fixed weights ``w`` (declared through
        the :meth:`_modular_weights` hook; :class:`~matroidopt.Modular` answers yes)."""
        return self._modular_weights() is not None

    def _modular_weights(self) -> torch.Tensor | None:
        """Hook: the weights ``w`` of a modular utility, else None (the default)."""
        return None

    def _dispersion(self) -> Any:
        """Hook: a :class:`~matroidopt.utility.dispersion.Dispersion` (the kind, ``"sum"`` or
        ``"min"``, the distance matrix and whether it is a metric) for a dispersion utility,
        read by :func:`~matroidopt.dispersion_greedy`; None (the default) for every other
        utility."""
        return None

    def _gain_work(self) -> int | None:
        """Hook: about how many kernel entries (or like units of memory-bound work) one
        candidate's gain reads, for a utility whose ``_gains`` may be called concurrently
        from several threads on disjoint candidate blocks of the same state; None (the
        default) keeps every gains call on the calling thread.

        :mod:`matroidopt.threads` splits a solve's large gains blocks across workers by this
        count; a utility returns a number only when its ``_gains`` reads the state and its
        own data without modifying them (no lazily filled caches).
        """
        return None

    @property
    def _has_multilinear(self) -> bool:
        """Hook: whether :meth:`_multilinear` gives the multilinear extension in closed form,
        decided without computing it (read by :func:`~matroidopt.has_closed_form`).

        The default is true when a subclass overrides :meth:`_multilinear`, or defines the
        public pair ``multilinear(x) -> float`` and ``multilinear_grad(x) -> tensor``; a family
        whose closed form depends on its parts (e.g. :class:`~matroidopt.WeightedSum`)
        overrides it.
        """
        return (type(self)._multilinear is not Utility._multilinear
                or _has_public_multilinear(self))

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor] | None:
        """Hook: the multilinear extension ``F(x) = E_{R ~ x}[f(R)]`` and its gradient
        ``∂F/∂x_j = E_{R ~ x}[f(R + j) - f(R - j)]``, exactly (no sampling).

        Parameters
        ----------
        x : torch.Tensor
            A validated float64 CPU tensor of shape ``(n,)`` with entries in ``[0, 1]``.

        Returns
        -------
        (float, torch.Tensor) or None
            ``(F(x), ∇F(x))`` with the gradient a float64 CPU tensor of shape ``(n,)``; None
            (the default) when there is no closed form, and :mod:`matroidopt.multilinear`
            samples instead. A subclass that overrides this hook is taken to have a closed
            form (see :attr:`_has_multilinear`). The default also serves utilities that define
            the public pair ``multilinear(x)`` / ``multilinear_grad(x)`` (called with ``x``
            on :attr:`device` in :attr:`dtype`).
        """
        if not _has_public_multilinear(self):
            return None
        xd = x.to(device=self.device, dtype=self.dtype)
        g = torch.as_tensor(self.multilinear_grad(xd)).detach().to("cpu", torch.float64)
        return float(self.multilinear(xd)), g.reshape(-1)

    # ------------------------------------------------------------------ private fast path
    def _init_state(self) -> UtilityState:
        return UtilityState((), self._init_data(), self)

    def _add(self, state: UtilityState, j: int) -> UtilityState:
        return UtilityState(state.selected + (j,), self._add_data(state, j), self)

    def _all(self) -> torch.Tensor:
        return torch.arange(self.n, device=self.device)

    # ------------------------------------------------------------------ public API
    def init_state(self) -> UtilityState:
        """The state of the empty set."""
        return self._init_state()

    def gains(self, state: UtilityState, candidates: Iterable[int] | None = None) -> torch.Tensor:
        """Marginal gains ``f(S + j) - f(S)`` for every ``j`` in ``candidates`` (default: all).

        Elements already in ``S`` have gain exactly 0. Returns a 1-D tensor on
        :attr:`device` in :attr:`dtype`.

        Raises
        ------
        InvalidInputError
            If ``state`` was not made by this utility, or a gain is NaN or infinite (an
            overflow, or NaN from user code), naming the elements.
        """
        self._check_state(state)
        cand = self._candidates(candidates)
        out = torch.zeros(cand.numel(), device=self.device, dtype=self.dtype)
        if cand.numel() == 0:
            return out
        sel = torch.as_tensor(state.selected, dtype=torch.long, device=self.device)
        fresh = ~torch.isin(cand, sel) if sel.numel() else torch.ones_like(cand, dtype=torch.bool)
        if bool(fresh.any()):
            out[fresh] = self._gains(state, cand[fresh]).to(self.dtype)
        check_finite_gains(self, out, cand, len(state.selected))
        return out

    def add(self, state: UtilityState, j: int) -> UtilityState:
        """A new state with element ``j`` added (adding a selected element is a no-op)."""
        self._check_state(state)
        j = check_element(j, self.n)
        if j in state.selected:
            return state
        return self._add(state, j)

    def value(self, state: UtilityState) -> float:
        """``f(S)`` for the state's selected set ``S`` (NaN is an error, as for
        :meth:`evaluate`)."""
        self._check_state(state)
        return check_value(self, float(self._value(state)), state.selected)

    def evaluate(self, S: Iterable[int] | torch.Tensor | np.ndarray) -> float:
        """``f(S)`` computed from scratch (duplicates in ``S`` are ignored).

        ``S`` is a 1-D collection of integer indices in ``range(n)``. A NaN value raises
        :class:`InvalidInputError` (``utility: ...``): it is never a valid answer.
        """
        idx = as_index_tensor(S, self.n, "S", device=self.device, unique=False)
        if idx.numel():
            idx = torch.unique(idx)
        return check_value(self, float(self._evaluate(idx)), idx)

    def __call__(self, S: Iterable[int] | torch.Tensor | np.ndarray) -> float:
        return self.evaluate(S)

    def _candidates(self, candidates: Iterable[int] | None) -> torch.Tensor:
        if candidates is None:
            return self._all()
        return as_index_tensor(candidates, self.n, "candidates", device=self.device, unique=False)

    def _check_state(self, state: Any) -> None:
        check_state_owner(state, UtilityState, self, "utility")

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def from_callable(
        fn: Callable[[list[int]], float],
        n: int,
        *,
        monotone: bool = False,
        submodular: bool = False,
        normalized: bool | None = None,
        weak_submodularity: float | None = None,
        nonnegative: bool | None = None,
    ) -> CallableUtility:
        """Wrap a plain Python set function ``fn(list_of_indices) -> float``.

        ``normalized`` defaults to whether ``fn([]) == 0``. The declared properties are
        trusted (verify them with
        :func:`matroidopt.testing.check_submodular`). Each gain costs two calls of ``fn``.

        Examples
        --------
        >>> import matroidopt as mo
        >>> f = mo.Utility.from_callable(lambda S: len({i % 3 for i in S}), 9,
        ...                               monotone=True, submodular=True)
        >>> f.evaluate([0, 3, 4])
        2.0
        """
        return CallableUtility(
            fn, n, monotone=monotone, submodular=submodular, normalized=normalized,
            weak_submodularity=weak_submodularity, nonnegative=nonnegative,
        )

    # ------------------------------------------------------------------ combinators
    def __add__(self, other: Utility) -> Utility:
        from .combinators import WeightedSum

        if not isinstance(other, Utility):
            return NotImplemented
        return WeightedSum([self, other], [1.0, 1.0])

    def __sub__(self, other: Utility) -> Utility:
        from .combinators import WeightedSum

        if not isinstance(other, Utility):
            return NotImplemented
        return WeightedSum([self, other], [1.0, -1.0])

    def __neg__(self) -> Utility:
        return self * -1.0

    def __mul__(self, c: float) -> Utility:
        from .combinators import WeightedSum

        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
            return NotImplemented
        return WeightedSum([self], [float(c)])

    __rmul__ = __mul__

    def truncate(self, cap: float) -> Utility:
        """``min(f(S), cap)``; see :class:`~matroidopt.TruncatedUtility`."""
        from .combinators import TruncatedUtility

        return TruncatedUtility(self, cap)

    def condition(self, given: Iterable[int]) -> Utility:
        """``f(S | A) = f(S ∪ A) - f(A)``; see :class:`~matroidopt.ConditionedUtility`."""
        from .combinators import ConditionedUtility

        return ConditionedUtility(self, given)

    def _shard(self, elements: torch.Tensor) -> Utility:
        """Hook: ``f`` on the ground set ``elements`` (a long tensor of distinct indices,
        re-indexed), holding only the data its candidates need: what a distributed solver
        (:func:`~matroidopt.greedi`) ships to a worker. Its gains must equal ``f``'s gains of
        ``elements[j]`` at the corresponding states.

        The default, :meth:`restrict`, holds all of ``f``; a utility backed by per-candidate
        data (a kernel's columns, a feature matrix's rows) returns a compact copy.
        """
        return self.restrict(elements)

    def restrict(self, elements: Sequence[int]) -> Utility:
        """``f`` on the ground set ``elements`` (re-indexed); see
        :class:`~matroidopt.RestrictedUtility`."""
        from .combinators import RestrictedUtility

        return RestrictedUtility(self, elements)


def _has_public_multilinear(f: Utility) -> bool:
    """Whether ``f`` brings the public closed-form pair ``multilinear`` / ``multilinear_grad``."""
    return (callable(getattr(f, "multilinear", None))
            and callable(getattr(f, "multilinear_grad", None)))


def check_utility(f: Any, name: str = "utility") -> Utility:
    """``f`` if it is a :class:`Utility`, else an :class:`InvalidInputError` naming
    ``name``."""
    if not isinstance(f, Utility):
        raise InvalidInputError(
            f"{name}: expected a matroidopt.Utility, got {type(f).__name__} "
            "(wrap plain functions with Utility.from_callable)")
    return f


def check_finite_gains(utility: Utility, gains: torch.Tensor, candidates: torch.Tensor,
                       step: int | None = None) -> None:
    """Raise :class:`InvalidInputError` naming ``utility`` if a marginal gain is NaN or
    infinite (an overflow, or NaN from user code): a solver would silently skip such elements
    and certify a wrong answer. ``step`` is the size of the current set (``None``: expected
    gains at a fractional point)."""
    finite = torch.isfinite(gains)
    if bool(finite.all()):
        return
    bad = torch.nonzero(~finite).flatten()
    kinds = sorted({"NaN" if math.isnan(v) else "inf" for v in gains[bad].tolist()})
    elems = candidates[bad.to(candidates.device)].tolist()
    shown = ", ".join(map(str, elems[:8])) + (", ..." if len(elems) > 8 else "")
    raise InvalidInputError(
        f"utility: marginal gains are not finite ({'/'.join(kinds)}) for elements [{shown}] "
        f"{'at a fractional point' if step is None else f'at step {step}'} of {utility!r}; "
        f"check its inputs for values that overflow "
        f"{utility.dtype} or for NaN from user code (a metric or set-function callable)"
    )


def check_value(utility: Utility, value: float, S: Sequence[int] | torch.Tensor) -> float:
    """``value`` if it is not NaN; else raise :class:`InvalidInputError` naming ``utility``.
    (``+inf`` is left to the utility: some, e.g. an unbounded fit, report it on purpose.)"""
    if math.isnan(value):
        shown = (S.tolist() if isinstance(S, torch.Tensor) else list(S))[:8]
        raise InvalidInputError(
            f"utility: f(S) is NaN for S={shown}{'...' if len(S) > 8 else ''} of {utility!r}; "
            "check its inputs for NaN from user code or overflow"
        )
    return value


class CallableUtility(Utility):
    """A utility defined by a user's Python function of a list of indices.

    Built by :meth:`Utility.from_callable`. Not vectorised: each gain costs two calls of the
    function, so it suits small ground sets and testing.
    """

    def __init__(self, fn, n, *, monotone, submodular, normalized=None, weak_submodularity=None,
                 nonnegative=None):
        if not callable(fn):
            raise InvalidInputError(f"fn: expected a callable of a list of indices, got {fn!r}")
        super().__init__(n, monotone=monotone, submodular=submodular,
                         normalized=True if normalized is None else normalized,
                         weak_submodularity=weak_submodularity, nonnegative=nonnegative)
        self.fn = fn
        f0 = self._call([])
        if normalized is None:
            self.normalized = f0 == 0.0
        self._f_empty = f0

    def _call(self, S: list[int]) -> float:
        v = self.fn(list(S))
        try:
            v = float(v)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"fn: must return a real number, returned {v!r}") from exc
        if not math.isfinite(v):
            raise InvalidInputError(f"fn: returned a non-finite value {v} for S={list(S)}")
        return v

    def _init_data(self) -> float:
        return self._f_empty

    def _gains(self, state, candidates):
        base = state.data
        S = list(state.selected)
        vals = [self._call(S + [c]) - base for c in candidates.tolist()]
        return torch.tensor(vals, dtype=self.dtype, device=self.device)

    def _add_data(self, state, j):
        return self._call(list(state.selected) + [j])

    def _value(self, state):
        return state.data

    def _evaluate(self, idx):
        return self._call(sorted(idx.tolist()))
