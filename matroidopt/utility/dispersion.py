"""Dispersion (diversity): disparity-sum ``sum_{i<j in S} d_ij`` and disparity-min
``min_{i != j in S} d_ij``.

Neither is submodular (disparity-sum is supermodular, disparity-min is not even monotone), so
the submodular guarantees do not apply. Their own greedy, :func:`~matroidopt.dispersion_greedy`
(farthest pair first, then the farthest point: largest sum, or largest minimum, of distances
to the chosen set), is a 1/2-approximation for both when ``d`` is a metric (Ravi,
Rosenkrantz, Tayi 1994; Birnbaum, Goldman 2009). A utility here tells the solver so through
the :meth:`~matroidopt.Utility._dispersion` hook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._backend import as_float_tensor, is_torch
from ..errors import InvalidInputError
from .base import Utility, UtilityState
from .graph_cut import check_symmetric

__all__ = ["DisparitySum", "DisparityMin", "Dispersion", "METRIC_CHECK_UP_TO"]

#: Ground-set size up to which the triangle inequality is checked (``O(n³)``) when the
#: distances are given without saying whether they are a metric.
METRIC_CHECK_UP_TO = 512

_FEATURE_METRICS = ("euclidean", "cosine")


@dataclass(frozen=True)
class Dispersion:
    """What a dispersion utility tells :func:`~matroidopt.dispersion_greedy`.

    Attributes
    ----------
    kind : {"sum", "min"}
        Max-sum (remote clique) or max-min (remote edge) dispersion.
    distances : torch.Tensor
        The symmetric ``(n, n)`` distances ``d`` (diagonal ignored).
    metric : bool
        Whether ``d`` satisfies the triangle inequality (checked, or declared by the user, or
        known from how it was built): the 1/2 guarantee needs it.
    """

    kind: str
    distances: torch.Tensor
    metric: bool


def _is_metric(D: torch.Tensor) -> bool:
    """Whether ``D_ij <= D_ik + D_kj`` for all ``i, j, k`` (to rounding), in blocks of rows."""
    n = D.shape[0]
    if n < 3:
        return True
    tol = 1e-9 * max(1.0, float(D.abs().max()))
    Dd = D.clone()
    Dd.fill_diagonal_(0.0)
    for a in range(0, n, 32):
        rows = Dd[a:a + 32]                                      # (b, n): d(i, k)
        via = (rows[:, :, None] + Dd[None, :, :]).amin(1)        # min_k d(i, k) + d(k, j)
        if bool((rows > via + tol).any()):
            return False
    return True


def _distances(kernel, distances, name_hint: str, device, dtype) -> tuple[torch.Tensor, str]:
    """The validated distance matrix from a similarity ``kernel`` (``d = 1 - s``, submodlib's
    convention) or ``distances``, and the name of the argument it came from."""
    if (kernel is None) == (distances is None):
        raise InvalidInputError(f"{name_hint}: pass exactly one of kernel (similarities, "
                                "d = 1 - s) or distances")
    name = "kernel" if kernel is not None else "distances"
    raw = kernel if kernel is not None else distances
    M = as_float_tensor(raw, name, ndim=2, device=device, dtype=dtype)
    M = check_symmetric(M, name)
    D = (1.0 - M) if kernel is not None else M.clone()
    D.fill_diagonal_(0.0)
    if D.numel() and bool((D < 0).any()):
        bad = float(D.min())
        what = "similarities above 1 give negative distances 1 - s" if kernel is not None \
            else "expected non-negative distances"
        raise InvalidInputError(f"{name}: {what} (found {bad:.3g} off the diagonal)")
    return D.contiguous(), name


def _metric_flag(D: torch.Tensor, metric: bool | None) -> bool:
    if metric is None:
        return D.shape[0] <= METRIC_CHECK_UP_TO and _is_metric(D)
    if not isinstance(metric, (bool, np.bool_)):
        raise InvalidInputError(f"metric: expected True, False or None, got {metric!r}")
    return bool(metric)


def _feature_distances(X, metric: str, device, dtype) -> tuple[torch.Tensor, bool]:
    if metric not in _FEATURE_METRICS:
        raise InvalidInputError(f"metric: expected one of {_FEATURE_METRICS}, got {metric!r}")
    Xt = as_float_tensor(X, "X", ndim=2, device=device, dtype=dtype)
    if metric == "euclidean":
        D = torch.cdist(Xt, Xt)
        return ((D + D.T) / 2).fill_diagonal_(0.0), True     # exactly symmetric
    norms = Xt.norm(dim=1, keepdim=True)
    U = Xt / norms.clamp_min(torch.finfo(Xt.dtype).tiny)
    D = (1.0 - U @ U.T).clamp_min(0.0)
    return ((D + D.T) / 2).fill_diagonal_(0.0), False   # 1 - cos is not a metric


class _Dispersion(Utility):
    """Shared construction of the two dispersion utilities."""

    _kind = ""

    def __init__(self, kernel=None, *, distances=None, metric: bool | None = None,
                 device=None, dtype=None) -> None:
        D, name = _distances(kernel, distances, "kernel, distances", device, dtype)
        self._setup(D, _metric_flag(D, metric),
                    is_torch(kernel if name == "kernel" else distances))

    def _setup(self, D: torch.Tensor, is_metric: bool, torch_input: bool) -> None:
        super().__init__(D.shape[0], monotone=self._kind == "sum", submodular=False,
                         nonnegative=True, device=D.device, dtype=D.dtype,
                         torch_input=torch_input)
        self.distances = D
        self.metric = is_metric

    @classmethod
    def from_features(cls, X, *, metric: str = "euclidean", device=None, dtype=None):
        """The utility over the rows of ``X`` with ``d = |x_i - x_j|`` (``"euclidean"``, a
        metric) or ``d = 1 - cos(x_i, x_j)`` (``"cosine"``, submodlib's disparity of the
        cosine kernel; not a metric, so no guarantee)."""
        D, is_metric = _feature_distances(X, metric, device, dtype)
        self = cls.__new__(cls)
        self._setup(D, is_metric, is_torch(X))
        return self

    def _dispersion(self) -> Dispersion:
        return Dispersion(self._kind, self.distances, self.metric)


class DisparitySum(_Dispersion):
    """Disparity-sum (max-sum dispersion, "remote clique") ``f(S) = sum_{i<j in S} d_ij``.

    The total pairwise distance of the selection: large for spread-out sets. With a
    similarity kernel ``s`` the distance is ``d = 1 - s`` (submodlib's
    ``DisparitySumFunction``; its value ``½ sum_{i,j in S} (1 - s_ij)`` counts ``½ (1 -
    s_ii)`` per element too, which is 0 for the usual unit diagonal).

    Declared properties: monotone, normalized, non-negative; **not submodular** (the gain
    ``sum_{i in S} d_ij`` grows with ``S``: supermodular). Maximise it with
    :func:`~matroidopt.dispersion_greedy`: a 1/2-approximation under a cardinality constraint
    when ``d`` is a metric.

    Parameters
    ----------
    kernel : array-like of shape (n, n), optional
        Symmetric similarities ``s <= 1`` (then ``d = 1 - s``).
    distances : array-like of shape (n, n), optional
        Symmetric non-negative distances (exactly one of ``kernel`` and ``distances``).
    metric : bool or None
        Whether ``d`` is a metric. None (default): checked (``O(n³)``) up to
        :data:`METRIC_CHECK_UP_TO` elements, else assumed not; True or False: trusted.

    Complexity
    ----------
    ``gains`` is one gather; ``add`` ``O(n)``. State: ``sum_{i in S} d_ij`` for every ``j``.

    References
    ----------
    Ravi, Rosenkrantz, Tayi (1994), "Heuristic and special case algorithms for dispersion
    problems"; Birnbaum, Goldman (2009), "An improved analysis for a greedy remote-clique
    algorithm using factor-revealing LPs"; Iyer et al., submodlib, ``DisparitySumFunction``.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.DisparitySum(distances=[[0, 1, 3], [1, 0, 2], [3, 2, 0]])
    >>> f.evaluate([0, 2]), f.evaluate([0, 1, 2]), f.metric, f.submodular
    (3.0, 6.0, True, False)
    """

    _kind = "sum"

    def _init_data(self) -> tuple[torch.Tensor, float]:
        return torch.zeros(self.n, device=self.device, dtype=self.dtype), 0.0

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        return state.data[0][candidates]

    def _add_data(self, state: UtilityState, j: int) -> tuple[torch.Tensor, float]:
        to_set, value = state.data
        return to_set + self.distances[j], value + float(to_set[j])

    def _value(self, state: UtilityState) -> float:
        return state.data[1]

    def _evaluate(self, idx: torch.Tensor) -> float:
        return float(self.distances[idx][:, idx].sum()) / 2.0

    def __repr__(self) -> str:
        return f"DisparitySum(n={self.n}{', metric' if self.metric else ''})"


class DisparityMin(_Dispersion):
    """Disparity-min (max-min dispersion, "remote edge") ``f(S) = min_{i != j in S} d_ij``
    for ``|S| >= 2``, and 0 for smaller sets.

    The distance of the closest pair: large when no two selected elements are alike. With a
    similarity kernel ``d = 1 - s`` (submodlib's ``DisparityMinFunction``, which also caps
    the value at 1).

    Declared properties: normalized, non-negative; **neither monotone nor submodular** (a
    new element can only shrink the minimum once ``|S| >= 2``). Its marginal gains do not
    say which element to add next: :func:`~matroidopt.dispersion_greedy` adds the element
    farthest from the chosen set (a 1/2-approximation when ``d`` is a metric, and the best
    possible unless P = NP).

    Parameters
    ----------
    kernel, distances, metric
        As for :class:`DisparitySum`.

    Complexity
    ----------
    ``gains`` is one gather; ``add`` ``O(n)``. State: ``min_{i in S} d_ij`` for every ``j``
    and the current value.

    References
    ----------
    Ravi, Rosenkrantz, Tayi (1994), "Heuristic and special case algorithms for dispersion
    problems"; Iyer et al., submodlib, ``DisparityMinFunction``.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.DisparityMin(distances=[[0, 1, 3], [1, 0, 2], [3, 2, 0]])
    >>> f.evaluate([0]), f.evaluate([0, 2]), f.evaluate([0, 1, 2]), f.monotone
    (0.0, 3.0, 1.0, False)
    """

    _kind = "min"

    def _init_data(self) -> tuple[torch.Tensor, float]:
        return torch.full((self.n,), math.inf, device=self.device, dtype=self.dtype), math.inf

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        to_set, current = state.data
        size = len(state.selected)
        if size == 0:
            return torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        near = to_set[candidates]
        if size == 1:
            return near
        return near.clamp_max(current) - current

    def _add_data(self, state: UtilityState, j: int) -> tuple[torch.Tensor, float]:
        to_set, current = state.data
        if state.selected:
            current = min(current, float(to_set[j]))
        return torch.minimum(to_set, self.distances[j]), current

    def _value(self, state: UtilityState) -> float:
        return 0.0 if len(state.selected) < 2 else state.data[1]

    def _evaluate(self, idx: torch.Tensor) -> float:
        if idx.numel() < 2:
            return 0.0
        sub = self.distances[idx][:, idx].clone()
        sub.fill_diagonal_(math.inf)
        return float(sub.min())

    def __repr__(self) -> str:
        return f"DisparityMin(n={self.n}{', metric' if self.metric else ''})"
