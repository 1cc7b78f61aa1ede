"""Facility location: ``f(S) = sum_i max(0, max_{j in S} K[i, j])``.

Three storage modes share one incremental state (each client's best similarity so far):

* dense kernel (``FacilityLocation(kernel=K)``, numpy or torch);
* sparse kernel (``FacilityLocation(kernel=scipy.sparse matrix)``, e.g. a kNN graph; absent
  entries mean similarity 0);
* features (``FacilityLocation.from_features(X, metric=...)``): kernel blocks are computed on
  the fly, so the ``n × n`` kernel is never stored.

Each mode is a small kernel strategy (:class:`_DenseKernel`, :class:`_SparseKernel`,
:class:`_FeatureKernel`), chosen once by the constructor or :meth:`FacilityLocation.from_features`;
the oracle hooks and the closed-form multilinear extension delegate to it.

The ``max(0, ·)`` baseline (a phantom facility of similarity 0) makes ``f`` normalized,
monotone and submodular for any real kernel; for a non-negative kernel it is the usual
facility location of apricot and submodlib. A per-client ``baseline`` ``b >= 0`` (what each
client already has) gives ``sum_i max(b_i, max_{j in S} K[i, j]) - b_i``: the conditional
gains of :mod:`matroidopt.utility.information` are built on it.
"""

from __future__ import annotations

import abc
import functools
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
from ..threads import scratch
from . import _fused
from ._multilinear_forms import best_of_form
from .base import Utility

__all__ = ["FacilityLocation"]

_SYMMETRY_RTOL = 16  # in units of the dtype's eps: K_ij vs K_ji differences treated as rounding
_BLOCK_ELEMENTS = 1 << 22  # ~32 MB of float64: largest kernel block ever materialised
_CHUNK_ELEMENTS = 1 << 18  # ~2 MB: kernel entries per fused gains chunk
_TILE_ROWS = 256           # from features: candidates per tile of the gains product
_TILE_CLIENTS = 2048       # from features: clients per tile (256 × 2048 entries: 4 MB f64)


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
    baseline : array-like of shape (m,), optional
        What each client already has, ``b_i >= 0`` (default: 0): ``f(S) = sum_i
        (max(b_i, max_{j in S} K[i, j]) - b_i)``, still monotone, submodular and normalized.
        ``b_i = max_{p in P} K[i, p]`` gives ``f(S | P)`` for facilities ``P`` outside the
        ground set.
    device, dtype : optional
        Where and in which precision to compute (default: a torch tensor's own; a numpy or
        scipy input is read as CPU float64, so a float32 numpy kernel is copied: pass
        ``dtype=torch.float32`` to use it in place, half the memory and bandwidth).

    Complexity
    ----------
    ``gains`` on ``B`` candidates costs ``O(B·m)`` (dense), ``O(nnz of their columns)``
    (sparse) or ``O(B·m·d)`` (features); ``add`` costs ``O(m)``. With numba installed (the
    ``fast`` extra), dense and sparse CPU kernels of at least ``2^20`` entries compute gains in
    one compiled pass per candidate (:mod:`matroidopt.utility._fused`; ``MATROIDOPT_NUMBA=0``
    turns it off).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.2, 0.0], [0.2, 1.0, 0.7], [0.0, 0.7, 1.0]])
    >>> f = mo.FacilityLocation(K)
    >>> f.evaluate([1]), f.evaluate([0, 2])
    (1.9, 2.7)
    """

    def __init__(self, kernel, *, baseline=None, device=None, dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a 2-D similarity matrix, got None")
        if sp.issparse(kernel):
            csc = as_sparse_2d(kernel, "kernel", "csc")
            m, n = csc.shape
            csc.sum_duplicates()
            vals = as_float_tensor(csc.data, "kernel", ndim=1, device=device, dtype=dtype)
            dev = vals.device
            # column j's clients: rows[indptr[j]:indptr[j+1]] (CSR of K^T)
            self._kernel: _Kernel = _SparseKernel(
                torch.as_tensor(csc.indptr.astype(np.int64), device=dev),
                torch.as_tensor(csc.indices.astype(np.int64), device=dev), vals, n, m)
            torch_input = False
        else:
            K = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype)
            m, n = K.shape
            dev = K.device
            # symmetric up to rounding (a blockwise BLAS product): K serves as its own
            # transpose, no n x n copy (the gains then differ by at most that rounding)
            if m == n and is_symmetric(K, rtol=_SYMMETRY_RTOL * torch.finfo(K.dtype).eps):
                Kt = K if K.is_contiguous() else K.contiguous()
            else:
                Kt = K.T.contiguous()
            self._kernel = _DenseKernel(Kt)
            vals = K
            torch_input = is_torch(kernel)
        super().__init__(n, monotone=True, submodular=True, device=dev, dtype=vals.dtype,
                         torch_input=torch_input)
        self.n_clients = int(m)
        self._block = max(1, _BLOCK_ELEMENTS // max(self.n_clients, 1))
        self._set_baseline(baseline)
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
        baseline=None,
        device=None,
        dtype=None,
    ) -> FacilityLocation:
        """Facility location with kernel blocks computed on the fly from features.

        Memory is ``O(block_size · m + m)``, never ``O(n · m)``.

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
        baseline : array-like of shape (m,), optional
            What each client already has (``>= 0``; see the class).

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
        self.n_clients = int(Yt.shape[0])
        if metric == "cosine":
            Xt = _unit_rows(Xt)
            Yt = Xt if clients is None else _unit_rows(Yt)
        own = torch.arange(n, device=Xt.device) if clients is None else None
        self._kernel = _FeatureKernel(Xt, Yt, metric, fn, gamma, own)
        if block_size is None:
            block_size = max(1, _BLOCK_ELEMENTS // max(self.n_clients, 1))
        self._block = check_int(block_size, "block_size", minimum=1)
        self._set_baseline(baseline)
        self._kernel.check_scale(clients is None)
        return self

    def _set_baseline(self, baseline) -> None:
        """Validate and store the clients' baseline (``None``: the 0 baseline)."""
        if baseline is None:
            self.baseline, self._baseline_total = None, 0.0
            return
        b = as_float_tensor(baseline, "baseline", ndim=1, device=self.device, dtype=self.dtype,
                            nonnegative=True)
        if b.numel() != self.n_clients:
            raise InvalidInputError(f"baseline: expected shape ({self.n_clients},) (one per "
                                    f"client), got {tuple(b.shape)}")
        total = float(b.sum()) if b.numel() else 0.0
        if not math.isfinite(total):
            raise InvalidInputError(f"baseline: its sum overflows {self.dtype}; rescale it")
        self.baseline, self._baseline_total = b.contiguous(), total

    # ----------------------------------------------------------------- kernel access
    def kernel_block(self, candidates) -> torch.Tensor:
        """Dense rows ``K[:, candidates].T`` (shape ``(len(candidates), m)``).

        ``candidates`` is a 1-D collection of integer indices in ``range(n)`` (repeats
        allowed); anything else raises :class:`InvalidInputError` naming ``candidates``.
        """
        cand = as_index_tensor(candidates, self.n, "candidates", device=self.device,
                               unique=False)
        return self._kernel.rows(cand)

    # ----------------------------------------------------------------- oracle
    def _init_data(self):
        if self.baseline is not None:
            return self.baseline.clone()
        return torch.zeros(self.n_clients, device=self.device, dtype=self.dtype)

    def _gains(self, state, candidates):
        # blocks of ~2^18 kernel entries keep the fused in-place chain in cache
        step = max(1, min(self._block, _CHUNK_ELEMENTS // max(self.n_clients, 1)))
        return self._kernel.gains(state.data, candidates, step)

    def _add_data(self, state, j):
        return self._kernel.add(state.data, j)

    def _gain_work(self):
        return self._kernel.work()

    def _shard(self, elements: torch.Tensor) -> FacilityLocation:
        """Facility location over the candidates ``elements`` against every client, holding
        only their kernel columns (dense, sparse) or feature rows (features)."""
        idx = elements.to(self.device)
        out = FacilityLocation.__new__(FacilityLocation)
        Utility.__init__(out, int(idx.numel()), monotone=True, submodular=True,
                         device=self.device, dtype=self.dtype, torch_input=self.torch_input)
        out.n_clients, out._block = self.n_clients, self._block
        out.baseline, out._baseline_total = self.baseline, self._baseline_total
        out._kernel = self._kernel.columns(idx)
        return out

    def _value(self, state):
        if self.baseline is None:
            return float(state.data.sum())
        return float((state.data - self.baseline).sum())   # no cancellation of two sums

    def _evaluate(self, idx):
        best = self._kernel.best(self._init_data(), idx, self._block)
        return float(best.sum() if self.baseline is None else (best - self.baseline).sum())

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Per client, the probability that candidate ``j`` is the best present one is
        ``x_j prod_{l better than j}(1 - x_l)``: ``O(m·n log n)``, clients in blocks of about
        1M kernel entries (:func:`._multilinear_forms.best_of_form`, shared among the thread
        policy's workers inside a solve), so the ``n × m`` kernel is never materialised."""
        rows = self._kernel.client_rows()
        if self.baseline is not None:   # max(b, M) - b = max(0, M - b): shift each client
            base, read = self.baseline, rows

            def rows(a: int, b: int) -> torch.Tensor:
                return read(a, b) - base[a:b, None]
        return best_of_form(rows, self.n_clients, x, self.device,
                            parallel=self._gain_work() is not None)

    def __repr__(self) -> str:
        based = "" if self.baseline is None else ", baseline"
        return (f"FacilityLocation(n={self.n}, clients={self.n_clients}, "
                f"mode={self._kernel.name!r}{based})")


# ===================================================================== kernel strategies
class _Kernel(abc.ABC):
    """How the kernel ``K`` (``m`` clients × ``n`` candidates) of a :class:`FacilityLocation`
    is stored, with the operations its hooks delegate to.

    The state is ``cur``, each client's best similarity so far (shape ``(m,)``, starting at
    the 0 baseline).

    Attributes
    ----------
    name : str
        The storage mode shown by ``repr`` (``"dense"``, ``"sparse"`` or ``"features"``).
    n, m : int
        Candidates and clients.
    device, dtype
        Where and in which precision the kernel is read.
    """

    name = ""

    def __init__(self, n: int, m: int, device: torch.device, dtype: torch.dtype) -> None:
        self.n, self.m, self.device, self.dtype = int(n), int(m), device, dtype

    @abc.abstractmethod
    def rows(self, cand: torch.Tensor) -> torch.Tensor:
        """Dense ``K[:, cand].T`` of shape ``(len(cand), m)``, a fresh tensor (the caller
        may overwrite it)."""

    def rows_into(self, cand: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:meth:`rows` written into ``out`` (shape ``(len(cand), m)``), returned; kernels
        that can compute a block in place override it (the default copies)."""
        return out.copy_(self.rows(cand))

    @abc.abstractmethod
    def columns(self, idx: torch.Tensor) -> _Kernel:
        """The kernel of the candidates ``idx`` only (a compact copy), against every
        client."""

    @abc.abstractmethod
    def client_rows(self) -> Callable[[int, int], torch.Tensor]:
        """A reader ``(a, b) -> K[a:b, :]`` (clients ``a..b-1`` against every candidate,
        shape ``(b - a, n)``, on :attr:`device`) for the multilinear extension; the
        reader may prepare (and keep) a client-major copy on its first call."""

    def work(self) -> int | None:
        """Kernel entries one candidate's gain reads (the ``m`` clients); None when gains
        must stay on one thread."""
        return self.m

    def gains(self, cur: torch.Tensor, cand: torch.Tensor, step: int) -> torch.Tensor:
        """``sum_i max(0, K[i, j] - cur_i)`` for each ``j`` in ``cand``, in fused in-place
        chunks of ``step`` candidates."""
        m = cand.numel()
        out = torch.empty(m, device=self.device, dtype=self.dtype)
        for s in range(0, m, step):
            part = cand[s:s + step]
            block = self.rows_into(part, scratch((part.numel(), self.m), self.dtype,
                                                 self.device)).sub_(cur)
            torch.sum(block.clamp_min_(0.0), 1, out=out[s:s + step])
        return out

    def add(self, cur: torch.Tensor, j: int) -> torch.Tensor:
        """A new ``cur`` after adding candidate ``j`` (the input is not modified)."""
        return torch.maximum(cur, self.rows(torch.tensor([j], device=self.device))[0])

    def best(self, cur: torch.Tensor, idx: torch.Tensor, step: int) -> torch.Tensor:
        """``cur`` raised to each client's best similarity over ``idx``, in blocks of
        ``step`` candidates (``cur`` may be modified in place)."""
        for s in range(0, idx.numel(), step):
            cur = torch.maximum(cur, self.rows(idx[s:s + step]).amax(0))
        return cur


class _DenseKernel(_Kernel):
    """A dense kernel stored candidate-major: ``Kt[j]`` is candidate ``j``'s row of
    similarities to the clients (``K`` itself when it is symmetric up to rounding)."""

    name = "dense"

    def __init__(self, Kt: torch.Tensor) -> None:
        super().__init__(Kt.shape[0], Kt.shape[1], Kt.device, Kt.dtype)
        self.Kt = Kt

    def rows(self, cand):
        return self.Kt[cand]

    def columns(self, idx):
        return _DenseKernel(self.Kt[idx])

    @functools.cached_property
    def _compiled(self) -> bool:
        return _fused.wanted(self.Kt.numel(), self.Kt)

    def gains(self, cur, cand, step):
        if self._compiled:
            return _fused.dense_gains(self.Kt, cur, cand)
        m = cand.numel()
        first = int(cand[0])
        # a run of consecutive rows is read in place (no gather copy)
        if not (int(cand[-1]) - first + 1 == m
                and (m == 1 or bool((cand[1:] > cand[:-1]).all()))):
            return super().gains(cur, cand, step)
        out = torch.empty(m, device=self.device, dtype=self.dtype)
        for s in range(0, m, step):
            rows = self.Kt[first + s:first + min(m, s + step)]
            block = torch.sub(rows, cur, out=scratch(rows.shape, self.dtype, self.device))
            torch.sum(block.clamp_min_(0.0), 1, out=out[s:s + step])
        return out

    def rows_into(self, cand, out):
        return torch.index_select(self.Kt, 0, cand, out=out)

    def client_rows(self):
        Kt = self.Kt
        return lambda a, b: Kt[:, a:b].T


class _SparseKernel(_Kernel):
    """A sparse kernel in CSC form (the CSR of ``K^T``): candidate ``j``'s clients are
    ``row_ids[indptr[j]:indptr[j + 1]]`` with similarities ``vals`` there; absent entries
    are 0."""

    name = "sparse"

    def __init__(self, indptr: torch.Tensor, row_ids: torch.Tensor, vals: torch.Tensor,
                 n: int, m: int) -> None:
        super().__init__(n, m, vals.device, vals.dtype)
        self.indptr, self.row_ids, self.vals = indptr, row_ids, vals

    def work(self):
        return max(1, self.vals.numel() // max(self.n, 1))   # stored entries per column

    def _column(self, j: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = int(self.indptr[j]), int(self.indptr[j + 1])
        return self.row_ids[a:b], self.vals[a:b]

    def rows(self, cand):
        # scatter the candidates' columns into a dense block
        out = torch.zeros(cand.numel(), self.m, device=self.device, dtype=self.dtype)
        for r, j in enumerate(cand.tolist()):
            rows, vals = self._column(j)
            out[r, rows] = vals
        return out

    def _positions(self, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For the stored entries of the columns ``cand``, in order: which of ``cand`` each
        belongs to, its position in ``row_ids``/``vals``, and the columns' lengths."""
        starts = self.indptr[cand]
        lens = self.indptr[cand + 1] - starts
        total = int(lens.sum())
        seg = torch.repeat_interleave(torch.arange(cand.numel(), device=self.device), lens,
                                      output_size=total)
        offs = torch.arange(total, device=self.device) - torch.repeat_interleave(
            torch.cumsum(lens, 0) - lens, lens, output_size=total)
        return seg, starts[seg] + offs, lens

    @functools.cached_property
    def _compiled(self) -> bool:
        return _fused.wanted(self.vals.numel(), self.vals, self.indptr, self.row_ids)

    def gains(self, cur, cand, step):
        if self._compiled:
            return _fused.sparse_gains(self.indptr, self.row_ids, self.vals, cur, cand)
        out = torch.zeros(cand.numel(), device=self.device, dtype=self.dtype)
        seg, pos, _ = self._positions(cand)
        if pos.numel() == 0:
            return out
        contrib = (self.vals[pos] - cur[self.row_ids[pos]]).clamp_min_(0.0)
        return out.index_add_(0, seg, contrib)

    def columns(self, idx):
        _, pos, lens = self._positions(idx)
        indptr = torch.zeros(idx.numel() + 1, dtype=self.indptr.dtype, device=self.device)
        torch.cumsum(lens, 0, out=indptr[1:])
        return _SparseKernel(indptr, self.row_ids[pos], self.vals[pos], idx.numel(), self.m)

    def add(self, cur, j):
        rows, vals = self._column(j)
        new = cur.clone()
        new[rows] = torch.maximum(cur[rows], vals)
        return new

    def best(self, cur, idx, step):
        for j in idx.tolist():
            rows, vals = self._column(j)
            cur[rows] = torch.maximum(cur[rows], vals)
        return cur

    def client_rows(self):
        csr = None

        def read(a: int, b: int) -> torch.Tensor:
            nonlocal csr
            if csr is None:   # client-major copy (row slices are cheap), once per reader
                csr = sp.csc_matrix((self.vals.detach().cpu().numpy(),
                                     self.row_ids.cpu().numpy(), self.indptr.cpu().numpy()),
                                    shape=(self.m, self.n)).tocsr()
            return torch.as_tensor(csr[a:b].toarray(), device=self.device, dtype=self.dtype)

        return read


class _FeatureKernel(_Kernel):
    """A kernel computed block by block from candidate features ``X`` (``n × d``) and client
    features ``Y`` (``m × d``; rows already unit-normalised for ``"cosine"``), never stored.

    Parameters
    ----------
    X, Y : torch.Tensor
        Candidate and client features (the same tensor when the clients are the
        candidates).
    metric : str or callable
        ``"cosine"``, ``"dot"``, ``"rbf"``, ``"euclidean"`` or the user's callable.
    metric_fn : callable or None
        The callable (``None`` for a named metric).
    gamma : float
        Scale of ``"rbf"`` and ``"euclidean"``.
    own : torch.Tensor or None
        Each candidate's own row among the clients (when the clients are the candidates):
        their squared distance is exactly 0, not the rounding of
        ``|y|^2 - 2 x·y + |x|^2``, so a point's similarity to itself is exactly 1.
    """

    name = "features"

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, metric, metric_fn, gamma: float,
                 own: torch.Tensor | None = None) -> None:
        super().__init__(X.shape[0], Y.shape[0], X.device, X.dtype)
        self.own = own
        self.X, self.Y = X, Y
        self.metric, self.metric_fn, self.gamma = metric, metric_fn, gamma
        self.Ysq = (Y * Y).sum(1)
        self.Xsq = (X * X).sum(1)

    def work(self):
        if self.metric_fn is not None:
            return None   # the user's callable may not be safe to call from several threads
        # kernel entries: a split piece of a large block then holds ~2^21 / m candidates,
        # enough rows for each product to run near the machine's peak (a piece of 3 rows,
        # when this counted d / 4 operations per entry, read the client features once per 3
        # candidates: lazy greedy at n = 20 000 took 202 s)
        return self.m

    def gains(self, cur, cand, step):
        """Gains in tiles of :data:`_TILE_ROWS` candidates × :data:`_TILE_CLIENTS` clients:
        each tile of client features is read once per tile of candidates, from cache."""
        if self.metric_fn is not None:
            return super().gains(cur, cand, step)
        count = cand.numel()
        out = torch.zeros(count, device=self.device, dtype=self.dtype)
        for s in range(0, count, _TILE_ROWS):
            part = cand[s:s + _TILE_ROWS]
            A, Asq, acc = self.X[part], self.Xsq[part], out[s:s + _TILE_ROWS]
            own = None if self.own is None else self.own[part]
            for a in range(0, self.m, _TILE_CLIENTS):
                b = min(self.m, a + _TILE_CLIENTS)
                block = self._tile(A, Asq, own, a, b,
                                   scratch((part.numel(), b - a), self.dtype, self.device))
                acc += block.sub_(cur[a:b]).clamp_min_(0.0).sum(1)
        return out

    def _tile(self, A, Asq, own, a, b, out):
        """Similarities (named metrics) of candidate rows ``A`` (squared norms ``Asq``, own
        client rows ``own`` or None) to clients ``a..b-1``, written into ``out``; a point's
        squared distance to itself is exactly 0. ``|a - y|^2 = |y|^2 - 2 a·y + |a|^2`` is
        fused in place, no temporaries of the tile's size."""
        Y = self.Y[a:b]
        if self.metric in ("cosine", "dot"):
            return torch.mm(A, Y.T, out=out)
        torch.addmm(self.Ysq[a:b].expand(A.shape[0], -1), A, Y.T, alpha=-2.0, out=out)
        out.add_(Asq[:, None]).clamp_min_(0.0)
        if own is not None:
            mine = torch.nonzero((own >= a) & (own < b)).flatten()
            out[mine, own[mine] - a] = 0.0
        return self._from_squared_distances(out)

    def check_scale(self, same: bool) -> None:
        """Reject features whose kernel (or its sums over the clients) would overflow, and a
        metric callable whose first block is malformed or not finite."""
        big = torch.finfo(self.dtype).max
        also = "" if same else " (with clients)"
        if self.metric in ("rbf", "euclidean") and self.n and self.m:
            # |a - y|^2 = |y|^2 - 2 a·y + |a|^2 must not overflow
            sq = float(self.Xsq.max()) + float(self.Ysq.max())
            if not 4.0 * sq <= big:
                raise InvalidInputError(
                    f"X: squared feature norms{also} up to {sq:.3g} overflow {self.dtype} in "
                    f"the {self.metric!r} kernel; rescale the features (and gamma)")
        if self.metric == "dot" and self.n and self.m:
            # |<x, y>| <= |x| |y|: f(V) <= m · max|x| · max|y| bounds every value and gain
            bound = math.sqrt(float(self.Xsq.max())) * math.sqrt(float(self.Ysq.max()))
            if not bound * self.m <= big:
                raise InvalidInputError(
                    f"X: dot-product similarities{also} (|x|·|y| up to {bound:.3g}) summed over "
                    f"{self.m} clients overflow {self.dtype}; rescale the features")
        if self.metric_fn is not None and self.n:
            self.rows(torch.zeros(1, dtype=torch.long, device=self.device))

    def columns(self, idx):
        return _FeatureKernel(self.X[idx], self.Y, self.metric, self.metric_fn, self.gamma,
                              None if self.own is None else self.own[idx])

    def rows(self, cand):
        if self.metric_fn is not None:
            return self._user_rows(cand, self.X[cand])
        out = torch.empty(cand.numel(), self.m, device=self.device, dtype=self.dtype)
        own = None if self.own is None else self.own[cand]
        return self._tile(self.X[cand], self.Xsq[cand], own, 0, self.m, out)

    def _from_squared_distances(self, D2: torch.Tensor) -> torch.Tensor:
        """``exp(-gamma·D2)`` (``"rbf"``) or ``exp(-gamma·sqrt(D2))`` (``"euclidean"``), in
        place."""
        if self.metric == "rbf":
            return D2.mul_(-self.gamma).exp_()
        return D2.sqrt_().mul_(-self.gamma).exp_()

    def _user_rows(self, cand: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        """The metric callable on a block of candidates, checked (shape, type, finiteness)."""
        try:
            raw = self.metric_fn(A, self.Y)
        except Exception as exc:  # noqa: BLE001 - any failure of user code
            raise InvalidInputError(
                f"metric: the callable failed on a ({cand.numel()}, d) block of X "
                f"against the clients ({type(exc).__name__}: {exc})") from exc
        try:
            out = torch.as_tensor(raw, device=self.device, dtype=self.dtype)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInputError(
                f"metric: the callable must return a real ({cand.numel()}, "
                f"{self.m}) tensor block, returned {type(raw).__name__} "
                f"({exc})") from None
        if out.shape != (cand.numel(), self.m):
            raise InvalidInputError(
                f"metric: callable returned shape {tuple(out.shape)}, expected "
                f"{(cand.numel(), self.m)}"
            )
        if out.numel() and not bool(torch.isfinite(out).all()):
            bad = cand[torch.nonzero(~torch.isfinite(out))[0, 0]].item()
            raise InvalidInputError(
                f"metric: the callable returned NaN or infinite similarities (for "
                f"candidate {bad}); the kernel must be finite")
        return out

    def client_rows(self):
        def read(a: int, b: int) -> torch.Tensor:
            Y, X = self.Y[a:b], self.X
            if self.metric_fn is not None:
                out = torch.as_tensor(self.metric_fn(X, Y), device=self.device,
                                      dtype=self.dtype)
                if out.shape != (self.n, b - a):
                    raise InvalidInputError(
                        f"metric: callable returned shape {tuple(out.shape)}, expected "
                        f"{(self.n, b - a)}")
                return out.T
            if self.metric in ("cosine", "dot"):
                return Y @ X.T
            D2 = torch.addmm(self.Xsq.expand(b - a, -1), Y, X.T, alpha=-2.0)
            D2.add_(self.Ysq[a:b][:, None]).clamp_min_(0.0)
            if self.own is not None:
                mine = torch.nonzero((self.own >= a) & (self.own < b)).flatten()
                D2[self.own[mine] - a, mine] = 0.0
            return self._from_squared_distances(D2)

        return read


def _unit_rows(X: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit norm (zero rows stay zero), without overflow or underflow in the
    norm: each row is first scaled exactly by a power of two to a largest entry in [0.5, 1)."""
    if X.shape[1] == 0:
        return X
    Xs = scale_to_unit_max(X, 1)
    return Xs / Xs.norm(dim=1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny)

