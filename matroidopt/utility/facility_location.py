"""Facility location: ``f(S) = sum_i max(0, max_{j in S} K[i, j])``.

Three storage modes share one incremental state (each client's best similarity so far):

* dense kernel (``FacilityLocation(kernel=K)``, numpy or torch);
* sparse kernel (``FacilityLocation(kernel=scipy.sparse matrix)``, e.g. a kNN graph; absent
  entries mean similarity 0);
* features (``FacilityLocation.from_features(X, metric=...)``): kernel blocks are computed on
  the fly, so the ``n × n`` kernel is never stored.

The ``max(0, ·)`` baseline (a phantom facility of similarity 0) makes ``f`` normalized,
monotone and submodular for any real kernel; for a non-negative kernel it is the usual
facility location of apricot and submodlib.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

from .._backend import (
    as_float_tensor,
    as_index_tensor,
    as_sparse_2d,
    check_int,
    check_real,
    is_symmetric,
    is_torch,
    scale_to_unit_max,
)
from ..errors import InvalidInputError
from .base import Utility

__all__ = ["FacilityLocation"]

_SYMMETRY_RTOL = 16  # in units of the dtype's eps: K_ij vs K_ji differences treated as rounding
_BLOCK_ELEMENTS = 1 << 22  # ~32 MB of float64: largest kernel block ever materialised
_CHUNK_ELEMENTS = 1 << 18  # ~2 MB: kernel entries per fused gains chunk


class FacilityLocation(Utility):
    """Facility location ``f(S) = sum_{i=1}^{m} max(0, max_{j in S} K[i, j])``.

    Monotone, submodular and normalized for every real kernel ``K`` (Nemhauser, Wolsey,
    Fisher 1978; as in apricot and submodlib for non-negative kernels).

    Parameters
    ----------
    kernel : array-like of shape (m, n), scipy.sparse matrix, or torch tensor
        ``K[i, j]`` is the similarity of client ``i`` to candidate ``j``; the ground set is the
        ``n`` columns. Usually square and symmetric (``m = n``, clients = candidates).
        Sparse entries that are absent count as 0. A dense square kernel that equals its
        transpose up to 16 ulps of its largest entries (per 512 × 512 tile: the rounding of
        a kernel built blockwise, e.g. ``exp(-cdist(X, X))``) is read as its own transpose:
        no ``n × n`` copy is made, and values differ from the strict reading by at most that
        rounding.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates costs ``O(B·m)`` (dense), ``O(nnz of their columns)``
    (sparse) or ``O(B·m·d)`` (features); ``add`` costs ``O(m)``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.2, 0.0], [0.2, 1.0, 0.7], [0.0, 0.7, 1.0]])
    >>> f = mo.FacilityLocation(K)
    >>> f.evaluate([1]), f.evaluate([0, 2])
    (1.9, 2.7)
    """

    def __init__(self, kernel, *, device=None, dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a 2-D similarity matrix, got None")
        self._mode = "sparse" if sp.issparse(kernel) else "dense"
        if self._mode == "sparse":
            csc = as_sparse_2d(kernel, "kernel", "csc")
            m, n = csc.shape
            csc.sum_duplicates()
            vals = as_float_tensor(csc.data, "kernel", ndim=1, device=device, dtype=dtype)
            dev = vals.device
            # column j's clients: rows[indptr[j]:indptr[j+1]] (CSR of K^T)
            self._indptr = torch.as_tensor(csc.indptr.astype(np.int64), device=dev)
            self._rows = torch.as_tensor(csc.indices.astype(np.int64), device=dev)
            self._vals = vals
            torch_input = False
        else:
            K = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype)
            m, n = K.shape
            dev = K.device
            # symmetric up to rounding (a blockwise BLAS product): K serves as its own
            # transpose, no n x n copy (the gains then differ by at most that rounding)
            if m == n and is_symmetric(K, rtol=_SYMMETRY_RTOL * torch.finfo(K.dtype).eps):
                self._Kt = K if K.is_contiguous() else K.contiguous()
            else:
                self._Kt = K.T.contiguous()
            vals = K
            torch_input = is_torch(kernel)
        super().__init__(n, monotone=True, submodular=True, device=dev, dtype=vals.dtype,
                         torch_input=torch_input)
        self.n_clients = int(m)
        self._block = max(1, _BLOCK_ELEMENTS // max(self.n_clients, 1))
        if vals.numel() and n:
            top = max(0.0, float(vals.max()))
            if top * m > torch.finfo(vals.dtype).max / 2 and not math.isfinite(
                    self._evaluate(torch.arange(n, device=dev))):
                # f(V) bounds every value and gain; past it every sum overflows
                raise InvalidInputError(
                    f"kernel: f(V), the sum over the {m} clients of their best similarity "
                    f"(entries up to {top:.3g}), overflows {vals.dtype}; rescale the kernel")

    # ----------------------------------------------------------------- from features
    @classmethod
    def from_features(
        cls,
        X,
        *,
        metric: str | Callable = "cosine",
        clients=None,
        gamma: float | None = None,
        block_size: int | None = None,
        device=None,
        dtype=None,
    ) -> FacilityLocation:
        """Facility location with kernel blocks computed on the fly from features.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Candidate features (the ground set).
        metric : {"cosine", "euclidean", "rbf", "dot"} or callable
            ``"cosine"``: ``<x, y> / (|x| |y|)``; ``"euclidean"``: ``exp(-gamma·|x - y|)``
            with ``gamma = 1/d`` by default (submodlib's euclidean kernel);
            ``"rbf"``: ``exp(-gamma·|x - y|^2)`` with ``gamma = 1/d`` by default;
            ``"dot"``: ``<x, y>``; a callable ``(A, B) -> (len(A), len(B))`` tensor block.
        clients : array-like of shape (m, d), optional
            The points to represent (default: ``X`` itself).
        gamma : float, optional
            Kernel scale for ``"euclidean"`` and ``"rbf"``.
        block_size : int, optional
            Candidates per kernel block (default: about 4M kernel entries per block).

        Memory is ``O(block_size · m + m)``, never ``O(n · m)``.

        Examples
        --------
        >>> import numpy as np, matroidopt as mo
        >>> X = np.random.default_rng(0).normal(size=(50, 4))
        >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
        >>> g = mo.FacilityLocation(f.kernel_block(np.arange(50)).T)
        >>> bool(abs(f.evaluate([1, 7]) - g.evaluate([1, 7])) < 1e-9)
        True
        """
        self = cls.__new__(cls)
        Xt = as_float_tensor(X, "X", ndim=2, device=device, dtype=dtype)
        if clients is None:
            Yt = Xt
        else:
            Yt = as_float_tensor(clients, "clients", ndim=2, device=Xt.device, dtype=Xt.dtype)
            if Yt.shape[1] != Xt.shape[1]:
                raise InvalidInputError(
                    f"clients: expected {Xt.shape[1]} feature columns like X, got {Yt.shape[1]}"
                )
        n, d = Xt.shape
        if callable(metric):
            fn = metric
        elif metric in ("cosine", "euclidean", "rbf", "dot"):
            fn = None
        else:
            raise InvalidInputError(
                "metric: expected 'cosine', 'euclidean', 'rbf', 'dot' or a callable, "
                f"got {metric!r}"
            )
        if gamma is not None:
            gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
        else:
            gamma = 1.0 / max(d, 1)
        Utility.__init__(self, n, monotone=True, submodular=True, device=Xt.device,
                         dtype=Xt.dtype, torch_input=is_torch(X))
        self._mode = "features"
        self.n_clients = int(Yt.shape[0])
        self._metric, self._metric_fn, self._gamma_k = metric, fn, gamma
        if metric == "cosine":
            Xt = _unit_rows(Xt)
            Yt = Xt if clients is None else _unit_rows(Yt)
        self._X, self._Y = Xt, Yt
        self._Ysq = (Yt * Yt).sum(1)
        self._Xsq = (Xt * Xt).sum(1)
        if block_size is None:
            block_size = max(1, _BLOCK_ELEMENTS // max(self.n_clients, 1))
        self._block = check_int(block_size, "block_size", minimum=1)
        self._check_feature_scale(clients is None)
        return self

    def _check_feature_scale(self, same: bool) -> None:
        """Reject features whose kernel (or its sums over the clients) would overflow, and a
        metric callable whose first block is malformed or not finite."""
        big = torch.finfo(self.dtype).max
        also = "" if same else " (with clients)"
        if self._metric in ("rbf", "euclidean") and self.n and self.n_clients:
            # |a - y|^2 = |y|^2 - 2 a·y + |a|^2 must not overflow
            sq = float(self._Xsq.max()) + float(self._Ysq.max())
            if not 4.0 * sq <= big:
                raise InvalidInputError(
                    f"X: squared feature norms{also} up to {sq:.3g} overflow {self.dtype} in "
                    f"the {self._metric!r} kernel; rescale the features (and gamma)")
        if self._metric == "dot" and self.n and self.n_clients:
            # |<x, y>| <= |x| |y|: f(V) <= m · max|x| · max|y| bounds every value and gain
            bound = math.sqrt(float(self._Xsq.max())) * math.sqrt(float(self._Ysq.max()))
            if not bound * self.n_clients <= big:
                raise InvalidInputError(
                    f"X: dot-product similarities{also} (|x|·|y| up to {bound:.3g}) summed over "
                    f"{self.n_clients} clients overflow {self.dtype}; rescale the features")
        if self._metric_fn is not None and self.n:
            self._rows_block(torch.zeros(1, dtype=torch.long, device=self.device))

    # ----------------------------------------------------------------- kernel access
    def kernel_block(self, candidates) -> torch.Tensor:
        """Dense rows ``K[:, candidates].T`` (shape ``(len(candidates), m)``).

        ``candidates`` is a 1-D collection of integer indices in ``range(n)`` (repeats
        allowed); anything else raises :class:`InvalidInputError` naming ``candidates``.
        """
        cand = as_index_tensor(candidates, self.n, "candidates", device=self.device,
                               unique=False)
        return self._rows_block(cand)

    def _rows_block(self, cand: torch.Tensor) -> torch.Tensor:
        if self._mode == "dense":
            return self._Kt[cand]
        if self._mode == "features":
            A = self._X[cand]
            if self._metric_fn is not None:
                try:
                    raw = self._metric_fn(A, self._Y)
                except Exception as exc:  # noqa: BLE001 - any failure of user code
                    raise InvalidInputError(
                        f"metric: the callable failed on a ({cand.numel()}, d) block of X "
                        f"against the clients ({type(exc).__name__}: {exc})") from exc
                try:
                    out = torch.as_tensor(raw, device=self.device, dtype=self.dtype)
                except (TypeError, ValueError, RuntimeError) as exc:
                    raise InvalidInputError(
                        f"metric: the callable must return a real ({cand.numel()}, "
                        f"{self.n_clients}) tensor block, returned {type(raw).__name__} "
                        f"({exc})") from None
                if out.shape != (cand.numel(), self.n_clients):
                    raise InvalidInputError(
                        f"metric: callable returned shape {tuple(out.shape)}, expected "
                        f"{(cand.numel(), self.n_clients)}"
                    )
                if out.numel() and not bool(torch.isfinite(out).all()):
                    bad = cand[torch.nonzero(~torch.isfinite(out))[0, 0]].item()
                    raise InvalidInputError(
                        f"metric: the callable returned NaN or infinite similarities (for "
                        f"candidate {bad}); the kernel must be finite")
                return out
            if self._metric in ("cosine", "dot"):
                return A @ self._Y.T
            # |a - y|^2 = |y|^2 - 2 a·y + |a|^2, fused in place (no n×m temporaries)
            D2 = torch.addmm(self._Ysq.expand(cand.numel(), -1), A, self._Y.T, alpha=-2.0)
            D2.add_(self._Xsq[cand][:, None]).clamp_min_(0.0)
            if self._metric == "rbf":
                return D2.mul_(-self._gamma_k).exp_()
            return D2.sqrt_().mul_(-self._gamma_k).exp_()
        # sparse: scatter the candidates' columns into a dense block
        out = torch.zeros(cand.numel(), self.n_clients, device=self.device, dtype=self.dtype)
        for r, j in enumerate(cand.tolist()):
            a, b = int(self._indptr[j]), int(self._indptr[j + 1])
            out[r, self._rows[a:b]] = self._vals[a:b]
        return out

    # ----------------------------------------------------------------- oracle
    def _init_data(self):
        return torch.zeros(self.n_clients, device=self.device, dtype=self.dtype)

    def _gains(self, state, candidates):
        cur = state.data
        if self._mode == "sparse":
            return self._sparse_gains(cur, candidates)
        # blocks of ~2^18 kernel entries keep the fused in-place chain in cache
        step = max(1, min(self._block, _CHUNK_ELEMENTS // max(self.n_clients, 1)))
        m = candidates.numel()
        first = int(candidates[0])
        # a run of consecutive rows of a dense kernel is read in place (no gather copy)
        run = (self._mode == "dense" and int(candidates[-1]) - first + 1 == m
               and (m == 1 or bool((candidates[1:] > candidates[:-1]).all())))
        out = torch.empty(m, device=self.device, dtype=self.dtype)
        for s in range(0, m, step):
            if run:
                block = torch.sub(self._Kt[first + s:first + min(m, s + step)], cur)
            else:
                # every block from _rows_block is a fresh tensor (a gather or computed block)
                block = self._rows_block(candidates[s:s + step]).sub_(cur)
            out[s:s + step] = block.clamp_min_(0.0).sum(1)
        return out

    def _sparse_gains(self, cur, candidates):
        starts = self._indptr[candidates]
        lens = self._indptr[candidates + 1] - starts
        total = int(lens.sum())
        out = torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        if total == 0:
            return out
        seg = torch.repeat_interleave(torch.arange(candidates.numel(), device=self.device), lens,
                                      output_size=total)
        offs = torch.arange(total, device=self.device) - torch.repeat_interleave(
            torch.cumsum(lens, 0) - lens, lens, output_size=total)
        pos = starts[seg] + offs
        contrib = (self._vals[pos] - cur[self._rows[pos]]).clamp_min_(0.0)
        return out.index_add_(0, seg, contrib)

    def _add_data(self, state, j):
        cur = state.data
        if self._mode == "sparse":
            a, b = int(self._indptr[j]), int(self._indptr[j + 1])
            new = cur.clone()
            rows = self._rows[a:b]
            new[rows] = torch.maximum(cur[rows], self._vals[a:b])
            return new
        row = self._rows_block(torch.tensor([j], device=self.device))[0]
        return torch.maximum(cur, row)

    def _value(self, state):
        return float(state.data.sum())

    def _evaluate(self, idx):
        cur = self._init_data()
        step = self._block
        for s in range(0, idx.numel(), step):
            if self._mode == "sparse":
                for j in idx[s:s + step].tolist():
                    a, b = int(self._indptr[j]), int(self._indptr[j + 1])
                    rows = self._rows[a:b]
                    cur[rows] = torch.maximum(cur[rows], self._vals[a:b])
            else:
                cur = torch.maximum(cur, self._rows_block(idx[s:s + step]).amax(0))
        return float(cur.sum())

    def __repr__(self) -> str:
        return f"FacilityLocation(n={self.n}, clients={self.n_clients}, mode={self._mode!r})"


def _unit_rows(X: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit norm (zero rows stay zero), without overflow or underflow in the
    norm: each row is first scaled exactly by a power of two to a largest entry in [0.5, 1)."""
    if X.shape[1] == 0:
        return X
    Xs = scale_to_unit_max(X, 1)
    return Xs / Xs.norm(dim=1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny)

