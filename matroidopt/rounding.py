"""Matroid-aware randomized rounding of fractional points of the matroid polytope.

A point ``x`` of the matroid polytope ``P(M)`` (e.g. the output of continuous greedy) is turned
into an independent set ``S`` with ``P(j ∈ S) = x_j`` and, for submodular ``f``,
``E[f(S)] >= F(x)`` (``F`` the multilinear extension, :mod:`matroidopt.multilinear`):

* :func:`swap_rounding` (Chekuri, Vondrák, Zenklusen 2010) merges a convex combination of
  bases two at a time by strong basis exchanges; it works for every matroid and returns a
  basis;
* :func:`pipage_rounding` (Ageev & Sviridenko 2004; Calinescu, Chekuri, Pál, Vondrák 2011)
  moves ``x`` along directions ``e_i - e_j`` inside the tight sets until it is integral; here
  for uniform, partition and laminar matroids, whose tight sets are the sets of the family.

Both never leave the independent sets: the result is checked with the matroid's own oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._backend import as_float_tensor, as_index_tensor, as_point
from .errors import InvalidInputError
from .matroid.base import Matroid, check_matroid
from .seeds import make_rng

__all__ = ["swap_rounding", "pipage_rounding", "pipage_supported"]

_SNAP = 1e-9  # coordinates this close to 0 or 1 count as integral
_TOL = 1e-9   # slack on x(A) <= capacity(A) when checking x ∈ P(M)


def _rng(seed: Any) -> np.random.Generator:
    return make_rng(seed)


# ====================================================================== swap rounding
def swap_rounding(matroid: Matroid, bases, weights=None, seed: Any = None) -> np.ndarray:
    """Round the convex combination ``x = sum_i weights[i] · 1_{bases[i]}`` to one basis.

    Chekuri, Vondrák, Zenklusen (2010): ``C_1 = B_1``; then ``C_{k+1}`` merges ``C_k``
    (weight ``β_1 + ... + β_k``) with ``B_{k+1}`` (weight ``β_{k+1}``): while they differ,
    take ``i ∈ C \\ B`` and its strong exchange partner ``j ∈ B \\ C``
    (:meth:`Matroid.strong_exchange`); with probability proportional to ``C``'s weight replace
    ``j`` by ``i`` in ``B``, otherwise ``i`` by ``j`` in ``C``. Identical bases are merged
    first (their weights add up).

    Parameters
    ----------
    matroid : Matroid
    bases : sequence of collections of int
        Bases of ``matroid`` (each checked with :meth:`Matroid.is_basis`).
    weights : array-like of shape (len(bases),), optional
        Non-negative convex coefficients summing to 1 (within ``1e-6``); default uniform.
    seed : None, int or numpy Generator
        Same seed, same result.

    Returns
    -------
    numpy.ndarray
        The sorted indices of a basis of ``matroid``.

    Guarantee
    ---------
    ``P(j ∈ S) = x_j`` for every ``j``, and ``E[f(S)] >= F(x)`` for every submodular ``f``
    (the rounding is negatively correlated and each merge step moves along a direction in which
    ``F`` is convex).

    Complexity
    ----------
    ``K - 1`` merges for ``K`` distinct bases, each at most ``r`` exchange steps of at most
    ``2r`` independence tests (``r`` the rank): ``O(K·r²)`` tests.

    Examples
    --------
    >>> import matroidopt as mo
    >>> m = mo.PartitionMatroid([0, 0, 1, 1], [1, 1])
    >>> S = mo.swap_rounding(m, [[0, 2], [1, 3]], [0.25, 0.75], seed=0)
    >>> m.is_basis(S), len(S)
    (True, 2)
    """
    m = check_matroid(matroid)
    if isinstance(bases, (str, bytes)) or not hasattr(bases, "__iter__"):
        raise InvalidInputError("bases: expected a sequence of bases (collections of indices)")
    bases = [_as_basis(m, b, f"bases[{i}]") for i, b in enumerate(bases)]
    if not bases:
        raise InvalidInputError("bases: expected at least one basis")
    if weights is None:
        w = np.full(len(bases), 1.0 / len(bases))
    else:
        w = as_float_tensor(weights, "weights", ndim=1, device="cpu", dtype=torch.float64,
                            nonnegative=True).numpy()
        if w.size != len(bases):
            raise InvalidInputError(f"weights: expected {len(bases)} values (one per basis), "
                                    f"got {w.size}")
        if abs(float(w.sum()) - 1.0) > 1e-6:
            raise InvalidInputError(f"weights: expected convex coefficients summing to 1, got a "
                                    f"sum of {float(w.sum())}")
    S = _swap_round(m, bases, w.tolist(), _rng(seed))
    return np.asarray(sorted(S), dtype=np.int64)


def _as_basis(m: Matroid, b: Any, name: str) -> list[int]:
    if isinstance(b, (int, np.integer)):
        raise InvalidInputError(f"{name}: expected a collection of indices, got {b!r}")
    idx = as_index_tensor(b, m.n, name).tolist()
    if not m.is_basis(idx):
        raise InvalidInputError(f"{name}: {sorted(idx)} is not a basis of {m!r}")
    return idx


def _swap_round(m: Matroid, bases: list[list[int]], weights: list[float],
                rng: np.random.Generator) -> list[int]:
    """Swap rounding on validated bases; returns the chosen basis (sorted list)."""
    merged: dict[frozenset, float] = {}
    for b, w in zip(bases, weights, strict=True):
        if w > 0:
            key = frozenset(b)
            merged[key] = merged.get(key, 0.0) + w
    items = list(merged.items())
    if not items:  # all weights zero cannot pass validation; keep a basis anyway
        items = [(frozenset(bases[0]), 1.0)]
    C, wc = set(items[0][0]), items[0][1]
    for key, wb in items[1:]:
        B = set(key)
        while True:
            diff = sorted(C - B)
            if not diff:
                break
            i = diff[0]
            j = m._strong_exchange(sorted(C), sorted(B), i)
            if rng.random() * (wc + wb) < wc:
                B.discard(j)
                B.add(i)
            else:
                C.discard(i)
                C.add(j)
        wc += wb
    out = sorted(C)
    if not m._is_feasible(out):  # pragma: no cover - a matroid never gets here
        raise InvalidInputError(f"matroid: swap rounding produced a dependent set {out} under "
                                f"{m!r}; it violates the matroid axioms")
    return out


# ====================================================================== pipage rounding
def pipage_supported(matroid: Matroid) -> bool:
    """Whether :func:`pipage_rounding` handles this matroid: it is capacities on a laminar
    family (uniform, partition and laminar matroids and the operations on them that compose
    the family: truncation, restriction, contraction, direct sum; the
    :meth:`Matroid._laminar_family` hook).

    Examples
    --------
    >>> import matroidopt as mo
    >>> mo.pipage_supported(mo.UniformMatroid(4, 2)), mo.pipage_supported(mo.LinearMatroid([[1.0]]))
    (True, False)
    """
    return isinstance(matroid, Matroid) and matroid._laminar_family() is not None


def _laminar_family(m: Matroid) -> list[tuple[np.ndarray, int]]:
    """The capacity sets of a matroid that is one on a laminar family, children first."""
    family = m._laminar_family() if isinstance(m, Matroid) else None
    if family is None:
        raise InvalidInputError(
            f"matroid: pipage rounding needs a matroid given by capacities on a laminar family "
            f"(uniform, partition, laminar, and their truncations, restrictions, contractions "
            f"and direct sums), got {type(m).__name__}; use swap rounding for other matroids")
    return family


def _fractional(v: float) -> bool:
    return _SNAP < v < 1.0 - _SNAP


def _snap(x: np.ndarray, idx) -> None:
    for k in idx:
        if x[k] <= _SNAP:
            x[k] = 0.0
        elif x[k] >= 1.0 - _SNAP:
            x[k] = 1.0


def _pipage_step(x: np.ndarray, i: int, j: int, rng: np.random.Generator) -> None:
    """Move ``x`` along ``e_i - e_j`` or ``e_j - e_i`` to the first boundary, with the
    probabilities that keep ``E[x]``; at least one of ``x_i, x_j`` becomes integral."""
    up = min(1.0 - x[i], x[j])     # x_i up, x_j down
    down = min(x[i], 1.0 - x[j])   # x_i down, x_j up
    if rng.random() * (up + down) < down:
        if 1.0 - x[i] <= x[j]:
            x[j] -= 1.0 - x[i]
            x[i] = 1.0
        else:
            x[i] += x[j]
            x[j] = 0.0
    else:
        if x[i] <= 1.0 - x[j]:
            x[j] += x[i]
            x[i] = 0.0
        else:
            x[i] -= 1.0 - x[j]
            x[j] = 1.0
    _snap(x, (i, j))


def pipage_rounding(matroid: Matroid, x, seed: Any = None) -> np.ndarray:
    """Round a point ``x`` of the polytope of a uniform, partition or laminar matroid to an
    independent set.

    The sets of the family are processed children first. Inside each set, while two
    coordinates ``x_i, x_j`` are fractional, ``x`` moves along ``e_i - e_j`` (this keeps the
    sum over every set containing both) to the nearest boundary in one direction or the other,
    with the probabilities that keep ``E[x]`` unchanged (Ageev & Sviridenko 2004). Afterwards
    every set holds at most one fractional coordinate, each of which is rounded up with
    probability ``x_j`` independently: a set whose only fractional coordinate is ``x_j > 0``
    has room for it, since its integral part is at most ``capacity - 1``.

    Parameters
    ----------
    matroid : Matroid with a laminar family (see :func:`pipage_supported`)
        Other matroids raise :class:`~matroidopt.errors.InvalidInputError` (use
        :func:`swap_rounding`).
    x : array-like of shape (n,)
        A point of the matroid polytope: ``0 <= x <= 1`` and ``x(A) <= capacity(A)`` for every
        set ``A`` of the family (within ``1e-9``).
    seed : None, int or numpy Generator
        Same seed, same result.

    Returns
    -------
    numpy.ndarray
        The sorted indices of an independent set.

    Guarantee
    ---------
    ``P(j ∈ S) = x_j`` for every ``j``, and ``E[f(S)] >= F(x)`` for every submodular ``f``
    (``F`` is convex along ``e_i - e_j`` and linear in each coordinate).

    Complexity
    ----------
    At most ``n`` pipage steps per level of the laminar family, ``O(n · depth)`` in all, plus
    one independence test of the result.

    Examples
    --------
    >>> import matroidopt as mo
    >>> m = mo.PartitionMatroid([0, 0, 0, 1, 1], [1, 1])
    >>> S = mo.pipage_rounding(m, [0.5, 0.25, 0.25, 0.5, 0.5], seed=0)
    >>> m.is_independent(S), len(S)
    (True, 2)
    """
    m = check_matroid(matroid)
    family = _laminar_family(m)
    xv = as_point(x, m.n, "x").numpy()
    for A, cap in family:
        total = float(xv[A].sum())
        if total > cap + _TOL:
            raise InvalidInputError(
                f"x: not in the matroid polytope: the sum over the set {A.tolist()} is {total}, "
                f"above its capacity {cap}")
    return np.asarray(_pipage_round(m, family, xv, _rng(seed)), dtype=np.int64)


def _pipage_round(m: Matroid, family: list[tuple[np.ndarray, int]], x: np.ndarray,
                  rng: np.random.Generator) -> list[int]:
    """Pipage rounding of the validated point ``x`` (modified in place)."""
    _snap(x, range(x.size))
    for A, _cap in family:
        frac = [int(j) for j in A if _fractional(x[j])]
        while len(frac) >= 2:
            j, i = frac.pop(), frac.pop()  # in place: O(1) per step
            _pipage_step(x, i, j, rng)
            frac.extend(k for k in (i, j) if _fractional(x[k]))
    ones = np.flatnonzero(x >= 1.0).tolist()
    if not m._is_feasible(ones):  # pragma: no cover - excluded by the polytope check
        raise InvalidInputError(f"x: pipage rounding reached the dependent set {ones}; is x in "
                                f"the matroid polytope of {m!r}?")
    # every set now holds at most one fractional coordinate, with room for it: round each
    # independently (the oracle test only guards against floating-point slack)
    state = m._greedy_independent_subset(ones)
    for j in range(x.size):
        if _fractional(x[j]) and rng.random() < x[j]:
            if bool(m._can_add(state, torch.tensor([j]))[0]):
                state = m._add(state, j)
    return sorted(state.selected)
