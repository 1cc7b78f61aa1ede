"""Weighted coverage (set cover): ``f(S) = sum_u w_u [concept u is covered by some j in S]``.

The incidence matrix may be dense (numpy / torch, boolean or 0-1) or a ``scipy.sparse``
matrix; sparse incidences are kept in CSR form, so memory is ``O(nnz + m)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .._backend import (
    as_float_tensor,
    as_sparse_2d,
    check_total,
    compute_dtype,
    is_torch,
    resolve_device,
    resolve_dtype,
)
from ..errors import InvalidInputError
from ._multilinear_forms import uncovered_form
from .base import Utility, UtilityState

__all__ = ["WeightedCoverage", "SetCover"]

_BLOCK_ELEMENTS = 1 << 22  # entries of one gathered block of rows (~32 MB in float64)


def _concept_weights(weights, m: int, device, dtype) -> torch.Tensor:
    """Validated non-negative concept weights of shape ``(m,)`` (default: all ones)."""
    if weights is None:
        return torch.ones(m, device=device, dtype=dtype)
    w = as_float_tensor(weights, "weights", ndim=1, device=device, dtype=dtype, nonnegative=True)
    if w.numel() != m:
        raise InvalidInputError(f"weights: expected shape ({m},) (one per concept), "
                                f"got {tuple(w.shape)}")
    check_total(float(w.sum()) if w.numel() else 0.0, "weights", "the sum of the weights",
                w.dtype)
    return w


def _compute_dtype(dtype, primary, weights) -> torch.dtype:
    """Explicit dtype, else a floating torch ``weights``' dtype, else the primary input's."""
    if dtype is None and is_torch(weights) and weights.is_floating_point():
        return compute_dtype(weights.dtype)
    return compute_dtype(resolve_dtype(dtype, primary))


def _csr_positions(indptr: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For CSR rows ``rows``: (position of each stored entry's row in ``rows``, its index into
    the CSR data arrays). One vectorised gather, no Python loop."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    seg = torch.repeat_interleave(torch.arange(rows.numel(), device=rows.device), lens,
                                  output_size=total)
    offs = torch.arange(total, device=rows.device) - (torch.cumsum(lens, 0) - lens)[seg]
    return seg, starts[seg] + offs


def _rows_matvec(M: torch.Tensor, rows: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``M[rows] @ v``: one product with all of ``M`` when ``rows`` is a large share of it
    (no gathered copy), else gathered blocks of at most ``_BLOCK_ELEMENTS`` entries."""
    if 4 * rows.numel() >= M.shape[0]:
        return (M @ v)[rows]
    step = max(1, _BLOCK_ELEMENTS // max(M.shape[1], 1))
    return torch.cat([M[c] @ v for c in rows.split(step)])


class WeightedCoverage(Utility):
    """Weighted coverage ``f(S) = sum_{u=1}^{m} w_u · [exists j in S with incidence[j, u]]``.

    Element ``j`` covers the concepts ``{u : incidence[j, u] = 1}``; ``f(S)`` is the total
    weight of the concepts covered by ``S``. With unit weights this is the (maximum) set-cover
    objective, hence the alias :data:`SetCover`.

    Declared properties: monotone, submodular and normalized, always (they hold for every
    non-negative weight vector; negative weights are rejected).

    Parameters
    ----------
    incidence : array-like or scipy.sparse matrix of shape (n, m)
        Boolean or 0-1 incidence of elements (rows, the ground set) and concepts (columns).
    weights : array-like of shape (m,), optional
        Non-negative concept weights (default: all 1).
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates costs ``O(B·m)`` dense (one matrix-vector product, over all
    of ``incidence`` without a copy when ``B >= n/4``, else gathered in chunks) or
    ``O(nnz of their rows)`` sparse (one segment sum); ``add`` costs ``O(m)`` (dense) or
    ``O(m + nnz of the row)`` (sparse). State: the boolean covered mask of shape ``(m,)``.

    References
    ----------
    Nemhauser, Wolsey, Fisher (1978), "An analysis of approximations for maximizing submodular
    set functions"; Iyer et al., submodlib (2022), ``SetCoverFunction``.

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.utility.coverage import WeightedCoverage
    >>> incidence = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    >>> f = WeightedCoverage(incidence, weights=[1.0, 2.0, 3.0, 4.0])
    >>> f.evaluate([0]), f.evaluate([0, 1]), f.evaluate([0, 1, 2])
    (3.0, 6.0, 10.0)
    >>> f.gains(f.add(f.init_state(), 0)).tolist()
    [0.0, 3.0, 4.0]
    """

    def __init__(self, incidence, weights=None, *, device=None, dtype=None) -> None:
        if incidence is None:
            raise InvalidInputError("incidence: expected an (n, m) 0-1 matrix, got None")
        dtype = _compute_dtype(dtype, incidence, weights)
        dev = resolve_device(device, incidence if is_torch(incidence) else weights)
        self._sparse = sp.issparse(incidence)
        if self._sparse:
            csr = as_sparse_2d(incidence, "incidence", "csr")
            csr.sum_duplicates()
            csr.eliminate_zeros()
            data = as_float_tensor(csr.data, "incidence", ndim=1, dtype=torch.float64)
            if data.numel() and not bool((data == 1).all()):
                raise InvalidInputError("incidence: expected 0-1 (boolean) entries, found "
                                        f"{float(data[data != 1][0])}")
            n, m = csr.shape
            self._indptr = torch.as_tensor(csr.indptr.astype(np.int64), device=dev)
            self._cols = torch.as_tensor(csr.indices.astype(np.int64), device=dev)
        else:
            inc = as_float_tensor(incidence, "incidence", ndim=2, device=dev, dtype=dtype)
            if inc.numel() and not bool(((inc == 0) | (inc == 1)).all()):
                bad = inc[(inc != 0) & (inc != 1)][0]
                raise InvalidInputError(
                    f"incidence: expected 0-1 (boolean) entries, found {float(bad)}")
            n, m = inc.shape
            self._inc = inc.contiguous()
        w = _concept_weights(weights, m, dev, dtype)
        super().__init__(n, monotone=True, submodular=True, device=w.device, dtype=dtype,
                         torch_input=is_torch(incidence))
        self.weights = w
        self.n_concepts = int(m)

    # ----------------------------------------------------------------- oracle
    def _init_data(self) -> torch.Tensor:
        return torch.zeros(self.n_concepts, dtype=torch.bool, device=self.device)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        v = self.weights.masked_fill(state.data, 0.0)  # weight of each still-uncovered concept
        if self._sparse:
            seg, pos = _csr_positions(self._indptr, candidates)
            out = torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
            return out.index_add_(0, seg, v[self._cols[pos]])
        return _rows_matvec(self._inc, candidates, v)

    def _add_data(self, state: UtilityState, j: int) -> torch.Tensor:
        if self._sparse:
            new = state.data.clone()
            new[self._cols[int(self._indptr[j]):int(self._indptr[j + 1])]] = True
            return new
        return state.data | self._inc[j].bool()

    def _value(self, state: UtilityState) -> float:
        return float(self.weights[state.data].sum())

    def _evaluate(self, idx: torch.Tensor) -> float:
        if self._sparse:
            covered = self._init_data()
            _, pos = _csr_positions(self._indptr, idx)
            covered[self._cols[pos]] = True
        else:
            covered = self._inc[idx].bool().any(0)
        return float(self.weights[covered].sum())

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        """``F(x) = sum_u w_u (1 - prod_{j covers u}(1 - x_j))`` and its gradient, over the
        stored incidence pairs (``O(nnz)``; :func:`._multilinear_forms.uncovered_form`)."""
        if self._sparse:
            lens = self._indptr[1:] - self._indptr[:-1]
            rows = torch.repeat_interleave(torch.arange(self.n, device=self.device), lens)
            cols = self._cols
        else:
            rows, cols = torch.nonzero(self._inc, as_tuple=True)
        w = self.weights.detach().to("cpu", torch.float64)
        return uncovered_form(rows.cpu(), cols.cpu(), w, self.n_concepts, x)

    def __repr__(self) -> str:
        mode = "sparse" if self._sparse else "dense"
        return f"WeightedCoverage(n={self.n}, concepts={self.n_concepts}, mode={mode!r})"


#: Set cover: :class:`WeightedCoverage` (unit weights give the maximum-coverage objective).
SetCover = WeightedCoverage
