"""Sparse k-nearest-neighbour similarity kernels from features, built by a nearest-neighbour
library (scikit-learn or faiss exactly, faiss's inverted-file index or pynndescent
approximately); no ``n × n`` array.

Row ``i`` (a client) holds the similarities to its ``k`` nearest points (itself included), so
``FacilityLocation(knn_kernel(X, k))`` is facility location on a kNN graph, as apricot's and
submodlib's sparse modes build it.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from .._backend import check_int, check_real
from ..errors import InvalidInputError
from .kernels import KERNEL_STYLES

__all__ = ["KNN_BACKENDS", "knn_kernel"]

#: The nearest-neighbour libraries :func:`knn_kernel` can use.
KNN_BACKENDS = ("sklearn", "pynndescent", "faiss", "faiss-ivf")

#: Above this many points ``backend="auto"`` takes faiss's inverted-file index: an exact
#: search costs ``O(n^2 d)`` (34 s at n = 100 000, d = 128 on 2 cores; about an hour at
#: 1 000 000).
AUTO_APPROXIMATE_ABOVE = 200_000

_METRICS = ("cosine", "euclidean", "rbf")
_QUERY_BLOCK = 16_384      # queries per search call (the progress bar's unit)
_PAIR_ELEMENTS = 1 << 22   # feature entries gathered per block of neighbour similarities


def knn_kernel(X, k: int, *, metric: str = "cosine", gamma: float | None = None,
               backend: str = "auto", seed: int = 0, n_jobs: int | None = None,
               nprobe: int | None = None, progress: bool = False,
               style: str = "submodlib") -> sp.csr_matrix:
    """The ``n × n`` sparse kernel of each point's ``k`` nearest neighbours.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Features (float64 for the similarities; faiss and pynndescent search in float32).
    k : int
        Neighbours per point, itself included (``1 <= k <= n``).
    metric : {"cosine", "euclidean", "rbf"}
        Neighbours by cosine or euclidean distance; the stored similarity is
        ``<x, y> / (|x| |y|)`` (cosine), ``exp(-gamma·|x - y|)`` (euclidean, submodlib's) or
        ``exp(-gamma·|x - y|^2)`` (rbf), with ``gamma = 1/d`` by default, as
        :meth:`FacilityLocation.from_features <matroidopt.FacilityLocation.from_features>`.
    backend : {"auto", "sklearn", "pynndescent", "faiss", "faiss-ivf"}
        ``"auto"``: faiss when it is installed (the ``knn`` extra), exact up to
        :data:`AUTO_APPROXIMATE_ABOVE` points and ``"faiss-ivf"`` above; else scikit-learn.
        ``"sklearn"``: exact (:class:`sklearn.neighbors.NearestNeighbors`), ``O(n^2 d)`` for
        high ``d``; ``"faiss"``: exact inner-product / L2 search (``faiss-cpu``);
        ``"faiss-ivf"``: approximate, faiss's inverted-file index (``IndexIVFFlat``, about
        ``4 sqrt(n)`` k-means cells trained on a sample, ``nprobe`` cells searched per
        query), ``O(n d (nlist + n·nprobe/nlist))``; ``"pynndescent"``: approximate
        nearest-neighbour descent. Measured on d = 128, k = 10, 2 cores
        (``benchmarks/knn.py``): at n = 20 000 faiss 2.1 s, the inverted file 1.2 s,
        scikit-learn 21 s; at n = 100 000 faiss 34 s, the inverted file 6.9 s, scikit-learn
        over 150 s. The inverted file's recall is 1.000 on clustered features and only
        0.34 / 0.24 on structureless Gaussian ones, where no cell holds the neighbours
        (pynndescent: 0.23 / 0.15 there).
    seed : int
        For the approximate backends (pynndescent's graph, the inverted file's training
        sample).
    n_jobs : int, optional
        Threads for the search (the backend's default when None).
    nprobe : int, optional
        ``"faiss-ivf"`` only: cells searched per query (default 16, at most the number of
        cells, where the search is exact; more is slower and finds more of the true
        neighbours).
    progress : bool
        A tqdm progress bar (with an ETA) over the queries of the faiss backends.
    style : {"submodlib", "apricot"}
        ``"submodlib"`` (the default): the similarities above, row ``i`` holding client
        ``i``'s neighbours, as submodlib's ``create_kernel(mode="sparse", num_neigh=k)``.
        ``"apricot"``: apricot-select's sparse mode, built by scikit-learn's
        ``KNeighborsTransformer`` with ``n_neighbors = k - 1`` (apricot's ``n_neighbors``
        does not count the point itself): similarities ``max(d) - d`` over the stored
        distances (euclidean, not squared, or another scikit-learn metric; for ``"cosine"``
        and ``"correlation"`` the transformed distance ``1 - (1 - d)^2``, which also ranks the
        neighbours; that one is computed densely, ``O(n^2)`` memory, as apricot does), and
        transposed so that column ``j`` holds what candidate ``j`` covers, as apricot reads
        its rows; ``backend``, ``gamma`` and ``nprobe`` do not apply.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n × n``, at most ``n·k`` stored entries (exactly ``n·k`` unless an approximate
        search found fewer than ``k`` points for some query); row ``i``: client ``i``'s
        neighbours, itself always among them.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> K = mo.knn_kernel(X, 10, metric="rbf")
    >>> K.shape, K.nnz, bool((K.diagonal() == 1.0).all())
    ((200, 200), 2000, True)
    >>> f = mo.FacilityLocation(K)
    >>> len(mo.lazy_greedy(f, 5).indices)
    5
    """
    try:
        A = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"X: expected a real (n, d) array ({exc})") from None
    if A.ndim != 2 or A.shape[0] == 0:
        raise InvalidInputError(f"X: expected a non-empty (n, d) array, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise InvalidInputError("X: features must be finite (found NaN or infinity)")
    n, d = A.shape
    k = check_int(k, "k", minimum=1, maximum=n)
    if style not in KERNEL_STYLES:
        raise InvalidInputError(f"style: expected one of {KERNEL_STYLES}, got {style!r}")
    if style == "apricot":
        if k < 2:
            raise InvalidInputError("k: the apricot style needs k >= 2 (apricot's "
                                    "n_neighbors = k - 1 >= 1)")
        if gamma is not None or nprobe is not None or backend not in ("auto", "sklearn"):
            raise InvalidInputError(
                "style: the apricot style is scikit-learn's KNeighborsTransformer; gamma, "
                "nprobe and other backends do not apply")
        return _apricot_knn(A, k, metric, n_jobs)
    if metric not in _METRICS:
        raise InvalidInputError(f"metric: expected one of {_METRICS}, got {metric!r}")
    if backend != "auto" and backend not in KNN_BACKENDS:
        raise InvalidInputError(
            f"backend: expected 'auto' or one of {KNN_BACKENDS}, got {backend!r}")
    if nprobe is not None:
        nprobe = check_int(nprobe, "nprobe", minimum=1)
    if backend == "auto":
        if importlib.util.find_spec("faiss") is None:
            backend = "sklearn"
        else:
            backend = "faiss" if n <= AUTO_APPROXIMATE_ABOVE else "faiss-ivf"
    gamma = 1.0 / max(d, 1) if gamma is None else check_real(gamma, "gamma", low=0.0,
                                                             low_open=True)
    if metric == "cosine":
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        A = A / np.maximum(norms, np.finfo(np.float64).tiny)   # not the caller's array
    idx = _self_first(_search(A, k, metric, backend, seed, n_jobs, nprobe, progress), k)
    return _kernel_from_neighbours(A, idx, metric, gamma)


def _apricot_knn(A: np.ndarray, k: int, metric: str, n_jobs: int | None) -> sp.csr_matrix:
    """apricot-select's sparse kernel: scikit-learn's ``KNeighborsTransformer`` distances of
    each point's ``k - 1`` neighbours (and itself, at distance 0), transformed to
    similarities, transposed to clients × candidates."""
    try:
        from sklearn.metrics import pairwise_distances
        from sklearn.neighbors import KNeighborsTransformer
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the dev / peers extras
        raise InvalidInputError("style: the apricot style needs scikit-learn "
                                "(pip install scikit-learn)") from exc
    if metric in ("cosine", "correlation"):
        # ranked by the transformed distance 1 - (1 - d)^2, as apricot ranks them
        D = 1.0 - (1.0 - pairwise_distances(A, metric=metric)) ** 2
        source, used = D, "precomputed"
    else:
        source, used = A, metric
    try:
        G = KNeighborsTransformer(n_neighbors=max(k - 1, 0), metric=used,
                                  n_jobs=n_jobs).fit_transform(source)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"metric: scikit-learn refused {metric!r} ({exc})") from None
    G = sp.csr_matrix(G, dtype=np.float64)
    if G.nnz:   # apricot: max(d) - d over the stored distances (also the transformed cosine)
        G.data = G.data.max() - G.data
    K = G.T.tocsr()
    K.sort_indices()
    return K


def _kernel_from_neighbours(A: np.ndarray, idx: np.ndarray, metric: str,
                            gamma: float) -> sp.csr_matrix:
    """The CSR kernel of the neighbour lists ``idx`` (``-1``: none found), its similarities
    computed in blocks of rows (never ``n·k × d`` at once)."""
    n, k = idx.shape
    vals = np.empty((n, k))
    rows = max(1, _PAIR_ELEMENTS // max(k * A.shape[1], 1))
    for a in range(0, n, rows):
        b = min(n, a + rows)
        nb = A[np.maximum(idx[a:b], 0)]                       # (rows, k, d)
        if metric == "cosine":
            vals[a:b] = np.einsum("rkd,rd->rk", nb, A[a:b])
        else:
            d2 = np.maximum(((nb - A[a:b, None, :]) ** 2).sum(2), 0.0)
            vals[a:b] = np.exp(-gamma * d2) if metric == "rbf" else np.exp(
                -gamma * np.sqrt(d2))
    found = idx >= 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(found.sum(1), out=indptr[1:])
    K = sp.csr_matrix((vals[found], idx[found], indptr), shape=(n, n))
    K.sort_indices()
    return K


def _search(A: np.ndarray, k: int, metric: str, backend: str, seed: int,
            n_jobs: int | None, nprobe: int | None, progress: bool) -> np.ndarray:
    """Indices ``(n, k)`` of each row's ``k`` nearest rows (``-1`` where an approximate
    search found fewer). ``A`` is unit-normalised for cosine."""
    space = "cosine" if metric == "cosine" else "euclidean"
    if backend == "sklearn":
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=k, metric=space, n_jobs=n_jobs).fit(A)
        return nn.kneighbors(A, return_distance=False)
    if backend == "pynndescent":
        try:
            from pynndescent import NNDescent
        except ImportError as exc:
            raise InvalidInputError(
                "backend: 'pynndescent' is not installed (pip install pynndescent)") from exc
        index = NNDescent(A.astype(np.float32), n_neighbors=max(k, 2), metric=space,
                          random_state=seed, n_jobs=n_jobs, compressed=True)
        idx, _ = index.neighbor_graph
        return np.asarray(idx)[:, :k]
    try:
        import faiss
    except ImportError as exc:
        raise InvalidInputError(
            f"backend: {backend!r} needs faiss, which is not installed "
            "(pip install faiss-cpu)") from exc
    if n_jobs is not None:
        faiss.omp_set_num_threads(int(n_jobs))
    B = np.ascontiguousarray(A, dtype=np.float32)
    n, d = B.shape
    flat = faiss.IndexFlatIP(d) if space == "cosine" else faiss.IndexFlatL2(d)
    if backend == "faiss":
        index = flat
    else:
        nlist = max(1, min(n // 39, int(4 * math.sqrt(n))))
        kind = faiss.METRIC_INNER_PRODUCT if space == "cosine" else faiss.METRIC_L2
        index = faiss.IndexIVFFlat(flat, d, nlist, kind)
        index.cp.niter = 10
        sample = min(n, 40 * nlist)
        rng = np.random.default_rng(seed)
        train = B if sample == n else B[np.sort(rng.choice(n, sample, replace=False))]
        index.train(train)
        index.nprobe = min(nlist, 16 if nprobe is None else nprobe)
    index.add(B)
    out = np.empty((n, k), dtype=np.int64)
    with tqdm(total=n, desc=f"knn ({backend})", unit="pt", disable=not progress,
              leave=False) as bar:
        for a in range(0, n, _QUERY_BLOCK):
            b = min(n, a + _QUERY_BLOCK)
            _, out[a:b] = index.search(B[a:b], k)
            bar.update(b - a)
    return out


def _self_first(idx: np.ndarray, k: int) -> np.ndarray:
    """Each row's neighbour list with the row itself included (replacing its last entry
    when an approximate search missed it)."""
    n = idx.shape[0]
    own = np.arange(n)
    has = (idx == own[:, None]).any(1)
    out = idx.copy()
    out[~has, k - 1] = own[~has]
    return out
