"""The linear (vector) matroid of a real matrix: linearly independent sets of columns."""

from __future__ import annotations

import math

import torch

from .._backend import ArrayLike, as_float_tensor, check_real, scale_to_unit_max
from .base import Matroid

__all__ = ["LinearMatroid"]


class LinearMatroid(Matroid):
    """Columns of a ``d × n`` real matrix; a set is independent iff its columns are linearly
    independent (numerically, up to ``tol``).

    Zero columns are loops; parallel (proportional) columns are parallel elements. The
    tests are scale-invariant: scaling any column by any non-zero factor (``1e-170`` or
    ``1e155`` included) changes nothing.

    Parameters
    ----------
    matrix : array-like of shape (d, n)
        Finite real matrix (numpy, scipy.sparse or torch; a torch input keeps its floating
        dtype and device, anything else becomes float64 on CPU). A copy is kept.
    tol : float, optional
        Relative tolerance in ``[0, 1)``: column ``x`` is independent of a span with
        orthonormal basis ``Q`` iff ``||x - Q Qᵀ x|| > tol · ||x||``. Default
        ``100 · sqrt(d) · eps`` with ``eps`` the machine epsilon of the dtype (about
        ``2e-14 · sqrt(d)`` in float64, ``1e-5 · sqrt(d)`` in float32): well above the
        round-off of the orthogonalisation and well below the angle between genuinely
        independent columns of moderate condition number.

    Notes
    -----
    The incremental state is an orthonormal basis ``Q`` (``d × r``) of the span of the
    selected columns. ``can_add`` projects all candidates at once (twice, for stability):
    O(d · r) per candidate. ``add`` is one Gram–Schmidt step with re-orthogonalisation
    ("twice is enough"), O(d · r). ``rank(S)`` is ``torch.linalg.matrix_rank`` of the
    column-normalised submatrix with absolute singular-value threshold ``tol``; it agrees
    with the incremental test except on matrices whose numerical rank is itself ambiguous
    at that tolerance. Exact for small integer matrices.

    References
    ----------
    L. Giraud, J. Langou, M. Rozložník, "The loss of orthogonality in the Gram–Schmidt
    orthogonalization process", Comput. Math. Appl. 50 (2005) (twice is enough).

    Examples
    --------
    >>> from matroidopt.matroid.linear import LinearMatroid
    >>> m = LinearMatroid([[1, 0, 1, 0], [0, 1, 1, 0]])
    >>> m.rank(), m.is_independent([0, 1]), m.is_independent([0, 1, 2]), m.is_independent([3])
    (2, True, False, False)
    """

    def __init__(self, matrix: ArrayLike, tol: float | None = None) -> None:
        A = as_float_tensor(matrix, "matrix", ndim=2).clone()
        if A.dtype in (torch.float16, torch.bfloat16):  # too coarse for rank decisions
            A = A.float()
        super().__init__(A.shape[1])
        self.matrix = A
        self.d = A.shape[0]
        if tol is None:
            tol = 100.0 * math.sqrt(max(self.d, 1)) * torch.finfo(A.dtype).eps
        self.tol = check_real(tol, "tol", low=0.0, high=1.0, high_open=True)
        # every test runs on the columns scaled exactly (by powers of two) to a largest entry
        # in [0.5, 1): independence is scale-invariant, and norms of columns of any magnitude
        # (1e155, 1e-170, float32 1e20) neither overflow nor underflow
        self._cols = scale_to_unit_max(A, 0)
        self._norms = torch.linalg.vector_norm(self._cols, dim=0)

    def __repr__(self) -> str:
        return f"LinearMatroid(d={self.d}, n={self.n}, tol={self.tol:.3g})"

    def _init_data(self) -> torch.Tensor:
        return self._cols.new_zeros((self.d, 0))

    @staticmethod
    def _residual(Q: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        R = X - Q @ (Q.T @ X)
        return R - Q @ (Q.T @ R)

    def _can_add(self, state, candidates):
        c = candidates.to(self._cols.device)
        R = self._residual(state.data, self._cols[:, c])
        ok = torch.linalg.vector_norm(R, dim=0) > self.tol * self._norms[c]
        return ok.cpu()

    def _add_data(self, state, j):
        Q = state.data
        r = self._residual(Q, self._cols[:, j:j + 1])
        return torch.cat([Q, r / torch.linalg.vector_norm(r)], dim=1)

    def _rank(self, idx):
        c = torch.as_tensor(list(idx), dtype=torch.long, device=self._cols.device)
        c = c[self._norms[c] > 0]
        if c.numel() == 0:
            return 0
        A = self._cols[:, c] / self._norms[c]
        return int(torch.linalg.matrix_rank(A, atol=self.tol, rtol=0.0))
