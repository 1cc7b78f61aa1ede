"""Saturated coverage: ``f(S) = sum_i min(sum_{j in S} K[i, j], alpha · sum_{j in V} K[i, j])``."""

from __future__ import annotations

import torch

from .._backend import as_float_tensor, check_real, check_total, is_torch
from ..errors import InvalidInputError
from .base import Utility, UtilityState

__all__ = ["SaturatedCoverage"]

_BLOCK_ELEMENTS = 1 << 22


class SaturatedCoverage(Utility):
    """Saturated coverage ``f(S) = sum_{i=1}^{m} min(C_i(S), alpha · C_i(V))``,
    ``C_i(S) = sum_{j in S} K[i, j]``.

    Each client ``i`` (a row of ``K``) is covered by ``S`` up to a saturation level, a fraction
    ``alpha`` of what the whole ground set offers it; once saturated, a client contributes no
    more, which encourages ``S`` to cover many clients rather than a few very well.

    Declared properties: monotone, submodular and normalized, always (for a non-negative
    kernel and ``alpha`` in ``(0, 1]``; anything else is rejected).

    Parameters
    ----------
    kernel : array-like of shape (m, n)
        Non-negative similarity; rows are clients, columns the ground set, as in
        :class:`~matroidopt.utility.facility_location.FacilityLocation` (usually square and
        symmetric). ``scipy.sparse`` input is densified.
    alpha : float, default 0.1
        Saturation fraction in ``(0, 1]``; ``alpha = 1`` gives the modular column sums.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates costs ``O(B·m)`` in one vectorised op (chunked for large
    ``B·m``): ``gain_j = sum_i min(K[i, j], max(cap_i - C_i(S), 0))``; ``add`` costs ``O(m)``.
    State: the per-client sums ``C_i(S)``, shape ``(m,)``.

    References
    ----------
    Lin & Bilmes (2011), "A class of submodular functions for document summarization";
    Iyer et al., submodlib (2022).

    Examples
    --------
    >>> from matroidopt.utility.saturated_coverage import SaturatedCoverage
    >>> K = [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]     # 2 clients, 3 elements
    >>> f = SaturatedCoverage(K, alpha=0.5)         # each client saturates at 1.0
    >>> f.evaluate([0]), f.evaluate([0, 1]), f.evaluate([0, 1, 2])
    (1.0, 2.0, 2.0)
    """

    def __init__(self, kernel, alpha: float = 0.1, *, device=None, dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a non-negative (m, n) matrix, got None")
        alpha = check_real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
        K = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype,
                            nonnegative=True)
        m, n = K.shape
        check_total(float(K.sum()) if K.numel() else 0.0, "kernel",
                    "the sum of the kernel's entries", K.dtype)
        super().__init__(n, monotone=True, submodular=True, device=K.device, dtype=K.dtype,
                         torch_input=is_torch(kernel))
        self._Kt = K.T.contiguous()  # row j: what element j gives every client
        self.alpha = alpha
        self.n_clients = int(m)
        self.caps = alpha * K.sum(1)

    def _init_data(self) -> torch.Tensor:
        return torch.zeros(self.n_clients, device=self.device, dtype=self.dtype)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        room = (self.caps - state.data).clamp_min(0.0)
        step = max(1, _BLOCK_ELEMENTS // max(self.n_clients, 1))
        return torch.cat([torch.minimum(self._Kt[c], room).sum(1)
                          for c in candidates.split(step)])

    def _add_data(self, state: UtilityState, j: int) -> torch.Tensor:
        return state.data + self._Kt[j]

    def _value(self, state: UtilityState) -> float:
        return float(torch.minimum(state.data, self.caps).sum())

    def _evaluate(self, idx: torch.Tensor) -> float:
        return float(torch.minimum(self._Kt[idx].sum(0), self.caps).sum())

    def __repr__(self) -> str:
        return f"SaturatedCoverage(n={self.n}, clients={self.n_clients}, alpha={self.alpha})"
