"""Log-determinant: ``f(S) = log det(I + scale · L_S)`` with an incremental Cholesky state."""

from __future__ import annotations

import numpy as np
import torch

from .._backend import as_float_tensor, check_real, is_torch
from ..errors import InvalidInputError
from .base import Utility, UtilityState
from .graph_cut import check_symmetric

__all__ = ["LogDeterminant"]


def _input_eps(x) -> float:
    """Machine epsilon of the input's own floating dtype (0 for integer or other input): a
    half-precision kernel is only PSD up to its own rounding, whatever dtype computes."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return 0.0
    if isinstance(dt, torch.dtype):
        return torch.finfo(dt).eps if dt.is_floating_point else 0.0
    try:
        return float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else 0.0
    except TypeError:
        return 0.0


def _check_psd(L: torch.Tensor, name: str, input_eps: float = 0.0) -> None:
    """Reject ``L`` unless its smallest eigenvalue is ``>= -tol``, with
    ``tol = 100 · n · eps · max(1, max |L_ij| · n)`` (``eps`` that of the compute dtype or of
    the input's, the coarser); one Cholesky of ``L + tol·I``."""
    n = L.shape[0]
    if n == 0:
        return
    eps = max(torch.finfo(L.dtype).eps, input_eps)
    tol = 100.0 * n * eps * max(1.0, float(L.abs().max()) * n)
    work = L if L.dtype in (torch.float32, torch.float64) else L.float()
    shifted = work + tol * torch.eye(n, device=L.device, dtype=work.dtype)
    _, info = torch.linalg.cholesky_ex(shifted)
    if int(info) != 0:
        try:
            lam_min = float(torch.linalg.eigvalsh(work.double()).min())
        except RuntimeError as exc:  # torch.linalg.LinAlgError: no convergence
            raise InvalidInputError(f"{name}: expected a positive semidefinite matrix; its "
                                    f"eigenvalues could not be computed ({exc})") from None
        raise InvalidInputError(f"{name}: expected a positive semidefinite matrix (smallest "
                                f"eigenvalue >= {-tol:.3g}), smallest eigenvalue is {lam_min:.3g}")


class LogDeterminant(Utility):
    """Log-determinant ``f(S) = log det(I + scale · L_S)``, ``L_S`` the principal submatrix.

    ``f`` is the log-likelihood (up to a constant) of ``S`` under the DPP with kernel
    ``scale · L``; it rewards quality (large diagonal) and diversity (small similarity).

    Declared properties: monotone, submodular and normalized, always (for a symmetric PSD
    ``L`` and ``scale > 0``, ``I + scale · L`` has every Schur complement ``>= 1``, so every
    gain is ``>= 0``; asymmetric or indefinite kernels are rejected).

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        Symmetric positive semidefinite ``L`` (smallest eigenvalue ``>= -tol``; tiny negative
        residuals are clamped), with ``scale · max|L_ij| <= max_float / (100 n²)`` (else the
        computation overflows). ``scipy.sparse`` input is densified.
    scale : float, default 1.0
        Positive multiplier of ``L``.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    The state is the incremental Cholesky factor of ``(I + scale·L)_S``, as in fast greedy MAP
    inference for DPPs: rows ``C`` of shape ``(|S|, n)`` and the residual diagonal ``d2`` of
    shape ``(n,)``, with ``gain_j = log d2_j``. ``gains`` is one gather and a log, ``O(B)``;
    ``add`` costs ``O(|S|·n)``; memory is ``O(|S|·n)``. Construction validates PSD with one
    Cholesky, ``O(n^3)``.

    References
    ----------
    Kulesza & Taskar (2012), "Determinantal point processes for machine learning";
    Chen, Zhang, Zhou (2018), "Fast greedy MAP inference for determinantal point process to
    improve recommendation diversity"; Iyer et al., submodlib (2022),
    ``LogDeterminantFunction``.

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.utility.log_determinant import LogDeterminant
    >>> L = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0]])
    >>> f = LogDeterminant(L)
    >>> round(f.evaluate([2]), 6), round(f.evaluate([0, 1]), 6)  # log 4, log(2*2 - 0.25)
    (1.386294, 1.321756)
    >>> s = f.add(f.init_state(), 0)
    >>> round(float(f.gains(s, [1])[0]), 6)  # log(2 - 0.25 / 2)
    0.628609
    """

    def __init__(self, kernel, scale: float = 1.0, *, device=None, dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a symmetric PSD (n, n) matrix, got None")
        scale = check_real(scale, "scale", low=0.0, low_open=True)
        L = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype)
        L = check_symmetric(L, "kernel").contiguous()
        n = L.shape[0]
        if n:
            # the Cholesky state's entries, and the PSD check's shift, reach
            # 100·n²·scale·max|L_ij|: keep them finite
            peak = scale * float(L.abs().max())
            limit = torch.finfo(L.dtype).max / (100.0 * n * n)
            if not peak <= limit:
                raise InvalidInputError(
                    f"kernel: entries up to {peak:.3g} (times scale) overflow the "
                    f"log-determinant computation in {L.dtype}; expected "
                    f"scale · max|L_ij| <= {limit:.3g} for n = {n}; rescale the kernel")
        _check_psd(L, "kernel", _input_eps(kernel))
        super().__init__(L.shape[0], monotone=True, submodular=True, device=L.device,
                         dtype=L.dtype, torch_input=is_torch(kernel))
        self.kernel = L
        self.scale = scale

    def _init_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        C = torch.zeros(0, self.n, device=self.device, dtype=self.dtype)
        return C, 1.0 + self.scale * torch.diagonal(self.kernel)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        return torch.log(state.data[1][candidates])

    def _add_data(self, state: UtilityState, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        C, d2 = state.data
        dj = torch.sqrt(d2[j])
        row = self.scale * self.kernel[j]
        row[j] += 1.0  # row j of I + scale·L (``row`` is a fresh tensor)
        e = (row - C[:, j] @ C) / dj
        # exact Schur complements are >= 1; clamp the rounding error (and the new pivot, now 0)
        return torch.cat([C, e[None]]), (d2 - e * e).clamp_min(1.0)

    def _value(self, state: UtilityState) -> float:
        if not state.selected:
            return 0.0
        C = state.data[0]
        sel = torch.as_tensor(state.selected, dtype=torch.long, device=self.device)
        pivots = C[torch.arange(len(state.selected), device=self.device), sel]
        return float(2.0 * torch.log(pivots).sum())

    def _evaluate(self, idx: torch.Tensor) -> float:
        if idx.numel() == 0:
            return 0.0
        sub = self.kernel[idx][:, idx]
        work = sub if sub.dtype in (torch.float32, torch.float64) else sub.double()
        lam = torch.linalg.eigvalsh(work).clamp_min(0.0)
        return float(torch.log1p(self.scale * lam).sum())

    def __repr__(self) -> str:
        return f"LogDeterminant(n={self.n}, scale={self.scale}, monotone, submodular)"
