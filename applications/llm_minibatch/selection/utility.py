"""Gradient-matching utilities of PartitionSel as :class:`matroidopt.Utility` set functions.

Both utilities score a subset ``S`` of a pool of ``N`` examples by how well the examples'
gradients ``g_i`` (rows of ``features``, usually L2-normalised) match the validation gradient
``ḡ`` one SGD step of learning rate ``η`` ahead. With ``s = G ḡ`` and the Gram matrix
``K = G Gᵀ``:

* :class:`WeightedGradientMatching` (PartitionSel, ``PARTITIONSEL.md`` step 4):
  ``F(S) = max_{w >= 0, supp w ⊆ S} Σ_i w_i (η s_i + ½ η² K_ii) - ½ η² wᵀ K w``;
* :class:`GreatsUtility` (the GREATS baseline): ``F(S) = η Σ_{i∈S} s_i - η² Σ_{i<j∈S} K_ij``.

:func:`submodularity_ratio` brute-forces the submodularity ratio γ of a tiny instance.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from matroidopt import Utility, UtilityState
from matroidopt.errors import InvalidInputError
from matroidopt.validation import (
    as_float_tensor,
    as_index_tensor,
    check_int,
    check_real,
    is_torch,
    resolve_dtype,
)

from .qp import solve_nonnegative_qp

__all__ = [
    "GreatsUtility", "WeightedGradientMatching", "solve_nonnegative_qp", "submodularity_ratio",
]

LR_RANGE = (1e-8, 10.0)


# --------------------------------------------------------------------------- validation
def _resolve_dtype(dtype: Any, features: Any) -> torch.dtype:
    if dtype is None:
        if is_torch(features) and features.is_floating_point():
            return torch.float64 if features.dtype == torch.float64 else torch.float32
        return torch.float64
    dt = resolve_dtype(dtype)
    if dt not in (torch.float32, torch.float64):
        raise InvalidInputError(f"dtype: expected torch.float32 or torch.float64, got {dt}")
    return dt


def _prepare(features, target, lr, gram, dtype):
    """Validated ``(G, ḡ, η, K, dtype)`` on the features' device."""
    dt = _resolve_dtype(dtype, features)
    G = as_float_tensor(features, "features", ndim=2, dtype=dt)
    N, p = G.shape
    if N == 0 or p == 0:
        raise InvalidInputError(
            f"features: expected an (N, p) array with N >= 1 and p >= 1, got shape {(N, p)}"
        )
    T = as_float_tensor(target, "target", ndim=(1, 2), device=G.device, dtype=dt)
    if T.shape[-1] != p:
        raise InvalidInputError(
            f"target: expected a ({p},) vector or an (A, {p}) array of anchor gradients like "
            f"features (p={p}), got shape {tuple(T.shape)}"
        )
    if T.ndim == 2:
        if T.shape[0] == 0:
            raise InvalidInputError(f"target: expected at least one anchor row, got shape "
                                    f"{tuple(T.shape)}")
        T = T.mean(0)
    eta = check_real(lr, "lr", low=LR_RANGE[0], high=LR_RANGE[1])
    if gram is None:
        K = G @ G.T
    else:
        K = as_float_tensor(gram, "gram", ndim=2, device=G.device, dtype=dt)
        if tuple(K.shape) != (N, N):
            raise InvalidInputError(
                f"gram: expected the ({N}, {N}) Gram matrix of features, got shape "
                f"{tuple(K.shape)}"
            )
        scale = float(K.abs().max()) if N else 0.0
        asym = float((K - K.T).abs().max()) if N else 0.0
        if asym > 10.0 * math.sqrt(torch.finfo(dt).eps) * max(scale, 1e-300):
            raise InvalidInputError(
                f"gram: expected a symmetric (PSD) matrix, max |K - Kᵀ| = {asym:.3g}"
            )
        if asym > 0.0:
            K = 0.5 * (K + K.T)
        if bool((torch.diagonal(K) < 0).any()):
            raise InvalidInputError("gram: negative diagonal entries; a Gram matrix is PSD")
    return G, T, eta, K, dt


@dataclass(frozen=True)
class _WGMData:
    v: np.ndarray          # float64 weights v = η·w of the selected elements, selection order
    kv: torch.Tensor       # (K v) over the whole pool, on the device, in the utility dtype
    value: float           # U(v*) (+inf when unbounded)


class WeightedGradientMatching(Utility):
    r"""PartitionSel's weighted gradient-matching utility (``PARTITIONSEL.md`` step 4).

    With ``s = G ḡ``, ``K = G Gᵀ`` and the learning rate ``η``,

    ``U(w) = Σ_i w_i (η s_i + ½ η² K_ii) - ½ η² wᵀ K w``,
    ``F(S) = max_{w >= 0, supp w ⊆ S} U(w)``.

    Up to constants, ``U`` is ``-½‖η Σ_i w_i g_i - ḡ‖²`` plus ``½ η² Σ_i w_i K_ii``: a
    non-negative weighted match of the validation gradient one SGD step ahead.

    **Scale convention.** Computation uses ``v = η w``, in which
    ``U(v) = Σ_i v_i (s_i + ½ η K_ii) - ½ vᵀ K v`` — *the same number* as ``U(w)`` (the
    substitution is exact, no factor of ``η``). So :meth:`value` and :meth:`evaluate` return
    ``F(S)`` in the w-scale and v-scale alike; it is ``O(1)`` for every ``η`` (``η``
    only enters through the small diagonal term), so ``η`` from ``1e-8`` to ``10`` neither
    overflows nor underflows. ``F(∅) = 0``, ``F >= 0`` and ``F`` is monotone (the feasible set
    grows with ``S``).

    **Proxy gains.** :meth:`gains` are not marginal gains but the gradient of ``U`` at the
    current optimum ``v*`` in the v-scale, ``c_j - (K v*)_j`` with ``c = s + ½ η diag K``
    (``gains_are_exact = False``). The w-scale gradient of ``PARTITIONSEL.md`` step 5 is
    ``η`` times this (same ranking). ``F(S + j) > F(S)`` iff this gradient is positive.

    **Refit.** :meth:`add` solves the non-negative QP on the new support exactly with
    :func:`solve_nonnegative_qp` (active set, warm-started from the previous ``v*``; one
    pivot typically), not a fixed number of FISTA iterations; :meth:`evaluate` and
    :meth:`refit` solve from scratch. The ``|S| × |S|`` QP runs in float64 on the CPU
    (a data-dependent pivoting loop is cheaper there than synchronising a GPU every pivot);
    ``s``, ``K``, the gains and ``K v`` stay on the features' device in ``dtype``.

    **Degenerate sets.** If a non-negative combination of the selected gradients is zero (e.g.
    two exactly opposite gradients, or ``|S|`` much larger than ``p``), ``U`` grows without
    bound along it (the ``½ η K_ii`` term) and ``F(S) = +inf``; the state then reports gain 0
    for everything. With ``K_SS`` positive definite (generic gradients and ``|S| <= p``) this
    cannot happen. The slope along such a ray is of order ``η``; when it is below the
    resolution of ``K`` (``sqrt(|S|·eps)`` relative, e.g. ``η <~ 1e-3`` in float32) the ray
    counts as flat and ``F(S)`` is finite but ill-determined (incremental and from-scratch
    values may then differ in the 4th digit). ``ridge > 0`` subtracts ``½·ridge·‖v‖²`` from
    ``U``, which keeps ``F`` finite everywhere.

    Guarantee context
    -----------------
    ``F`` is monotone, normalized and γ-weakly submodular (declared ``submodular=False``);
    PartitionSel states γ at least the smallest eigenvalue of ``K`` restricted to
    ``2b``-subsets (Elenberg, Khanna, Dimakis, Negahban 2018) for unit-norm gradients.
    Residual random greedy under a partition matroid then gives
    ``E[F(S)] >= (1 + 1/γ)^(-2) · OPT`` (Chen, Feldman, Karbasi 2018) when it ranks by exact
    marginal gains; PartitionSel ranks by the gradient proxy, for which that proof does not
    apply, so solvers report ``guarantee=None`` (the bound is checked empirically against
    brute force in the test suite). ``weak_submodularity`` declares a γ you trust (e.g. from
    :func:`submodularity_ratio` on tiny pools) for your own bookkeeping.

    Parameters
    ----------
    features : array or tensor of shape (N, p)
        Per-example gradients ``g_i`` as rows (L2-normalised by the caller, not required).
    target : array or tensor of shape (p,) or (A, p)
        The validation gradient ``ḡ``, or ``A`` anchor gradients whose mean is ``ḡ``.
    lr : float
        The learning rate ``η``, in ``[1e-8, 10]``.
    gram : array or tensor of shape (N, N), optional
        A precomputed ``K`` (symmetric, PSD; e.g. with cross-domain entries zeroed for the
        ``iwd`` baseline). Default ``G Gᵀ``.
    dtype : torch.float32 or torch.float64, optional
        Precision of ``s``, ``K`` and the gains. Default: the features' (float32 for torch
        float32/half/bfloat16 features, float64 for float64 tensors and numpy input).
    tol : float
        Relative KKT tolerance of the refit.
    ridge : float
        Optional ``½·ridge·‖v‖²`` penalty (default 0: the exact PartitionSel utility).
    weak_submodularity : float, optional
        A declared lower bound γ in ``(0, 1]`` (trusted, not checked).

    Complexity
    ----------
    Construction ``O(N² p)`` (the Gram matrix) unless ``gram`` is given. ``gains`` on ``B``
    candidates: ``O(B)``. ``add``: ``O(N |S|)`` for ``K v`` plus ``O(|S|³)`` per QP pivot.

    Examples
    --------
    >>> import numpy as np
    >>> from llm_minibatch.selection.utility import WeightedGradientMatching
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> f = WeightedGradientMatching(G, [1.0, 1.0], lr=0.1)
    >>> round(f.evaluate([2]), 6)   # c_2 = 1.4 + 0.05, v = c_2 / K_22, F = c_2² / 2
    1.05125
    >>> state = f.add(f.init_state(), 2)
    >>> f.gains(state, [0, 1]).numpy().round(3)   # c_j - (K v)_j
    array([ 0.18, -0.11])
    >>> state = f.add(state, 0)
    >>> bool(abs(f.value(state) - f.evaluate([0, 2])) < 1e-12), f.value(state) > 1.05125
    (True, True)
    >>> f.evaluate([0, 1, 2]) >= f.evaluate([0, 2])   # monotone
    True
    """

    gains_are_exact = False

    def __init__(self, features, target, lr, *, gram=None, dtype=None, tol: float = 1e-10,
                 ridge: float = 0.0, weak_submodularity: float | None = None) -> None:
        G, gbar, eta, K, dt = _prepare(features, target, lr, gram, dtype)
        tol = check_real(tol, "tol", low=0.0, high=1e-2, low_open=True)
        ridge = check_real(ridge, "ridge", low=0.0)
        super().__init__(G.shape[0], monotone=True, submodular=False, normalized=True,
                         weak_submodularity=weak_submodularity, nonnegative=True,
                         device=G.device, dtype=dt, torch_input=is_torch(features))
        self.lr = eta
        self.features = G
        self.target = gbar
        self.gram = K
        self.s = G @ gbar
        self.c = self.s + 0.5 * eta * torch.diagonal(K)
        self.tol = tol
        self.ridge = ridge
        self._c64 = self.c.detach().to("cpu", torch.float64).numpy()
        self._eps = float(torch.finfo(dt).eps)

    # ------------------------------------------------------------------ the refit
    def _solve(self, idx: list[int], v0: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        if not idx:
            return np.zeros(0), 0.0
        it = torch.as_tensor(idx, dtype=torch.long, device=self.device)
        Kss = self.gram[it][:, it].detach().to("cpu", torch.float64).numpy()
        return solve_nonnegative_qp(Kss, self._c64[idx], v0, tol=self.tol,
                                    rcond=len(idx) * self._eps, ridge=self.ridge)

    def refit(self, indices) -> tuple[Any, float]:
        """The optimal weights ``v* = η w*`` on ``indices`` and ``F(indices)``, from scratch.

        Returns ``(v, value)``: ``v`` in the order of ``indices`` (numpy float64, or a torch
        float64 tensor on :attr:`device` for torch input); ``w* = v / lr``.

        Examples
        --------
        >>> import numpy as np
        >>> from llm_minibatch.selection.utility import WeightedGradientMatching
        >>> f = WeightedGradientMatching(np.eye(2), [1.0, -1.0], lr=0.5)
        >>> v, val = f.refit([1, 0])   # element 1 matches -ḡ: weight 0
        >>> v.tolist(), val
        ([0.0, 1.25], 0.78125)
        """
        it = as_index_tensor(indices, self.n, "indices", device=self.device)
        v, val = self._solve(it.tolist())
        if self.torch_input:
            return torch.as_tensor(v, dtype=torch.float64, device=self.device), val
        return v, val

    # ------------------------------------------------------------------ oracle hooks
    def _init_data(self) -> _WGMData:
        return _WGMData(np.zeros(0), torch.zeros(self.n, device=self.device, dtype=self.dtype),
                        0.0)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        d = state.data
        if math.isinf(d.value):
            return torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        return self.c[candidates] - d.kv[candidates]

    def _add_data(self, state: UtilityState, j: int) -> _WGMData:
        d = state.data
        if math.isinf(d.value):
            return _WGMData(np.append(d.v, 0.0), d.kv, d.value)
        idx = [*state.selected, j]
        v, val = self._solve(idx, np.append(d.v, 0.0))
        kv = d.kv
        if not math.isinf(val):
            it = torch.as_tensor(idx, dtype=torch.long, device=self.device)
            kv = self.gram[:, it] @ torch.as_tensor(v, dtype=self.dtype, device=self.device)
        v.setflags(write=False)  # states are values
        return _WGMData(v, kv, val)

    def _value(self, state: UtilityState) -> float:
        return state.data.value

    def _evaluate(self, idx: torch.Tensor) -> float:
        return self._solve(idx.tolist())[1]

    def __repr__(self) -> str:
        return f"WeightedGradientMatching(n={self.n}, lr={self.lr:g}, monotone)"


class GreatsUtility(Utility):
    """The binary GREATS utility (the ``greats`` and ``per_domain`` baselines).

    ``F(S) = η Σ_{i∈S} s_i - η² Σ_{i<j∈S} K_ij`` with ``s = G ḡ`` and ``K = G Gᵀ``: the
    first-order validation-loss decrease of an SGD step on ``S`` (``η ḡ·Σ g_i``) minus the
    second-order interaction of the selected gradients. The marginal gains are exact:
    ``F(S + z) - F(S) = η s_z - η² Σ_{j∈S} K_zj``; the state keeps the running column sum
    ``Σ_{j∈S} K[:, j]``.

    Declared ``monotone=False``, ``submodular=False``, ``normalized=True``. ``F`` is in fact
    submodular iff ``K_ij >= 0`` for all ``i != j`` (the gain of ``z`` then only decreases as
    ``S`` grows; a negative ``K_ij`` makes it increase), and monotone iff every gain is
    non-negative, which fails for conflicting or anti-aligned examples. Greedy under a
    cardinality constraint is the GREATS selection rule; it carries no approximation
    guarantee here.

    Parameters
    ----------
    features, target, lr, gram, dtype
        As for :class:`WeightedGradientMatching`.

    Complexity
    ----------
    ``gains`` on ``B`` candidates: ``O(B)``; ``add``: ``O(N)``; ``evaluate``: ``O(|S|²)``.

    Examples
    --------
    >>> import numpy as np
    >>> from llm_minibatch.selection.utility import GreatsUtility
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> f = GreatsUtility(G, [1.0, 1.0], lr=0.5)
    >>> round(f.evaluate([0, 2]), 12)   # 0.5·(1 + 1.4) - 0.25·0.6
    1.05
    >>> f.gains(f.add(f.init_state(), 0), [1, 2]).numpy().round(6)
    array([0.5 , 0.55])
    """

    def __init__(self, features, target, lr, *, gram=None, dtype=None) -> None:
        G, gbar, eta, K, dt = _prepare(features, target, lr, gram, dtype)
        super().__init__(G.shape[0], monotone=False, submodular=False, normalized=True,
                         device=G.device, dtype=dt, torch_input=is_torch(features))
        self.lr = eta
        self.features = G
        self.target = gbar
        self.gram = K
        self.s = G @ gbar
        self._eta_s = eta * self.s
        self._eta2 = eta * eta

    def _init_data(self) -> tuple[torch.Tensor, float]:
        return torch.zeros(self.n, device=self.device, dtype=self.dtype), 0.0

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        colsum = state.data[0]
        return self._eta_s[candidates] - self._eta2 * colsum[candidates]

    def _add_data(self, state: UtilityState, j: int) -> tuple[torch.Tensor, float]:
        colsum, value = state.data
        gain = float(self._eta_s[j]) - self._eta2 * float(colsum[j])
        return colsum + self.gram[:, j], value + gain

    def _value(self, state: UtilityState) -> float:
        return state.data[1]

    def _evaluate(self, idx: torch.Tensor) -> float:
        if idx.numel() == 0:
            return 0.0
        Kss = self.gram[idx][:, idx]
        pairs = 0.5 * (float(Kss.sum()) - float(torch.diagonal(Kss).sum()))
        return float(self._eta_s[idx].sum()) - self._eta2 * pairs

    def __repr__(self) -> str:
        return f"GreatsUtility(n={self.n}, lr={self.lr:g})"


# --------------------------------------------------------------------------- diagnostics
def submodularity_ratio(utility_or_callable: Utility | Callable[[list[int]], float], n: int,
                        k: int | None = None, *, atol: float = 1e-12) -> float:
    """The submodularity ratio γ of a tiny set function, by brute force.

    ``γ = min over disjoint L, S with |L| <= k, |S| <= k of
    Σ_{j∈L} [F(S + j) - F(S)] / (F(S ∪ L) - F(S))``, skipping pairs whose denominator is
    within ``atol`` of 0 (or not finite); ``1.0`` when no pair is left. ``F`` is submodular
    iff γ >= 1 on all pairs (Das & Kempe 2011). Every subset is evaluated once with
    :meth:`Utility.evaluate` (or the callable), so this is ``O(2^n)`` evaluations and
    ``O(3^n)`` ratios: ``n <= 10``.

    Parameters
    ----------
    utility_or_callable : Utility or callable(list of int) -> float
    n : int
        Ground-set size (must equal ``utility.n`` for a utility), at most 10.
    k : int, optional
        The bound on ``|L|`` and ``|S|`` (default ``n``).

    Examples
    --------
    >>> from llm_minibatch.selection.utility import submodularity_ratio
    >>> submodularity_ratio(lambda S: len(S) ** 2, 3)   # supermodular: γ = 2/4 ... 3/9
    0.3333333333333333
    >>> submodularity_ratio(lambda S: min(len(S), 1), 3)
    1.0
    """
    n = check_int(n, "n", minimum=0)
    if n > 10:
        raise InvalidInputError(f"n: brute force needs n <= 10, got {n}")
    if isinstance(utility_or_callable, Utility):
        if utility_or_callable.n != n:
            raise InvalidInputError(f"n: the utility has n={utility_or_callable.n}, got n={n}")
        fn = utility_or_callable.evaluate
    elif callable(utility_or_callable):
        fn = utility_or_callable
    else:
        raise InvalidInputError("utility_or_callable: expected a Utility or a callable of a "
                                f"list of indices, got {type(utility_or_callable).__name__}")
    k = n if k is None else check_int(k, "k", minimum=0)
    vals = np.empty(1 << n)
    for mask in range(1 << n):
        vals[mask] = float(fn([i for i in range(n) if mask >> i & 1]))
    pop = [bin(m).count("1") for m in range(1 << n)]
    gamma = math.inf
    for S in range(1 << n):
        if pop[S] > k:
            continue
        fS = vals[S]
        single = {i: vals[S | 1 << i] - fS for i in range(n) if not S >> i & 1}
        rest = [i for i in range(n) if not S >> i & 1]
        for size in range(1, min(k, len(rest)) + 1):
            for L in itertools.combinations(rest, size):
                den = vals[S | sum(1 << i for i in L)] - fS
                if not math.isfinite(den) or abs(den) <= atol:
                    continue
                num = sum(single[i] for i in L)
                if not math.isfinite(num):
                    continue
                gamma = min(gamma, num / den)
    return 1.0 if math.isinf(gamma) else float(gamma)
