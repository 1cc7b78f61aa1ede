"""Sparse k-nearest-neighbour similarity kernels from features, built by a nearest-neighbour
library (scikit-learn or faiss exactly, pynndescent approximately); no ``n × n`` array.

Row ``i`` (a client) holds the similarities to its ``k`` nearest points (itself included), so
``FacilityLocation(knn_kernel(X, k))`` is facility location on a kNN graph, as apricot's and
submodlib's sparse modes build it.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse as sp

from .._backend import check_int, check_real
from ..errors import InvalidInputError

__all__ = ["KNN_BACKENDS", "knn_kernel"]

#: The nearest-neighbour libraries :func:`knn_kernel` can use.
KNN_BACKENDS = ("sklearn", "pynndescent", "faiss")

_METRICS = ("cosine", "euclidean", "rbf")


def knn_kernel(X, k: int, *, metric: str = "cosine", gamma: float | None = None,
               backend: str = "auto", seed: int = 0, n_jobs: int | None = None
               ) -> sp.csr_matrix:
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
    backend : {"auto", "sklearn", "pynndescent", "faiss"}
        ``"auto"``: faiss when it is installed (the ``knn`` extra), else scikit-learn.
        ``"sklearn"``: exact (:class:`sklearn.neighbors.NearestNeighbors`), ``O(n^2 d)`` for
        high ``d``; ``"pynndescent"``: approximate nearest-neighbour descent; ``"faiss"``:
        exact inner-product / L2 search in blocks (``faiss-cpu``). Measured on random
        Gaussian features, d = 128, k = 10, 2 cores (``benchmarks/knn.py``): at n = 20 000
        faiss 6.0 s, scikit-learn 20.4 s, pynndescent 86 s (its first call compiles with
        numba); at n = 100 000 faiss 121 s, scikit-learn 387 s, pynndescent 55 s but with a
        recall of only 0.15 on such structureless data (0.9 and more at d = 16).
    seed : int
        For the approximate backend.
    n_jobs : int, optional
        Threads for the search (the backend's default when None).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n × n``, ``n·k`` stored entries; row ``i``: client ``i``'s neighbours.

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
    if metric not in _METRICS:
        raise InvalidInputError(f"metric: expected one of {_METRICS}, got {metric!r}")
    if backend != "auto" and backend not in KNN_BACKENDS:
        raise InvalidInputError(
            f"backend: expected 'auto' or one of {KNN_BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "faiss" if importlib.util.find_spec("faiss") is not None else "sklearn"
    gamma = 1.0 / max(d, 1) if gamma is None else check_real(gamma, "gamma", low=0.0,
                                                             low_open=True)
    if metric == "cosine":
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        A = A / np.maximum(norms, np.finfo(np.float64).tiny)
    idx = _search(A, k, metric, backend, seed, n_jobs)
    rows = np.repeat(np.arange(n), k)
    cols = idx.reshape(-1)
    if metric == "cosine":
        vals = np.einsum("ij,ij->i", A[rows], A[cols])
    else:
        d2 = np.maximum(((A[rows] - A[cols]) ** 2).sum(1), 0.0)
        vals = np.exp(-gamma * d2) if metric == "rbf" else np.exp(-gamma * np.sqrt(d2))
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _search(A: np.ndarray, k: int, metric: str, backend: str, seed: int,
            n_jobs: int | None) -> np.ndarray:
    """Indices ``(n, k)`` of each row's ``k`` nearest rows (itself first where distances
    tie at 0). ``A`` is unit-normalised for cosine."""
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
        return _self_first(np.asarray(idx)[:, :k], k)
    try:
        import faiss
    except ImportError as exc:
        raise InvalidInputError(
            "backend: 'faiss' is not installed (pip install faiss-cpu)") from exc
    if n_jobs is not None:
        faiss.omp_set_num_threads(int(n_jobs))
    B = np.ascontiguousarray(A, dtype=np.float32)
    index = faiss.IndexFlatIP(B.shape[1]) if space == "cosine" else faiss.IndexFlatL2(B.shape[1])
    index.add(B)
    _, idx = index.search(B, k)
    return _self_first(idx, k)


def _self_first(idx: np.ndarray, k: int) -> np.ndarray:
    """Each row's neighbour list with the row itself included (replacing its last entry
    when an approximate search missed it)."""
    n = idx.shape[0]
    own = np.arange(n)
    has = (idx == own[:, None]).any(1)
    out = idx.copy()
    out[~has, k - 1] = own[~has]
    return out
