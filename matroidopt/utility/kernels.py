"""Dense similarity kernels from features, in submodlib's or apricot's conventions.

``similarity_kernel(X, metric=...)`` returns the ``(m, n)`` matrix of clients (rows, ``Y``,
default ``X``) × candidates (columns, ``X``) that :class:`~matroidopt.FacilityLocation`,
:class:`~matroidopt.GraphCut` and the other kernel families read; its sparse counterpart is
:func:`~matroidopt.knn_kernel`.

Two conventions (``style``):

* ``"submodlib"`` (the default, also matroidopt's own, as in
  :meth:`FacilityLocation.from_features <matroidopt.FacilityLocation.from_features>`):
  ``"cosine"`` ``<x, y> / (|x| |y|)`` (0 for a zero vector), ``"euclidean"``
  ``exp(-gamma·|x - y|)``, ``"rbf"`` ``exp(-gamma·|x - y|^2)`` (``gamma = 1/d`` by default),
  ``"dot"`` ``<x, y>``;
* ``"apricot"``: apricot-select's transforms of scikit-learn's pairwise distances:
  ``"euclidean"`` ``max(D^2) - D^2`` (squared distances), ``"cosine"`` and ``"correlation"``
  the squared similarity ``(1 - D)^2``, any other scikit-learn metric ``max(D) - D``.
"""

from __future__ import annotations

import numpy as np

from .._backend import check_real
from ..errors import InvalidInputError

__all__ = ["similarity_kernel", "KERNEL_STYLES", "SUBMODLIB_METRICS"]

#: The conventions of :func:`similarity_kernel` and :func:`~matroidopt.knn_kernel`.
KERNEL_STYLES = ("submodlib", "apricot")

#: The metrics of the ``"submodlib"`` style.
SUBMODLIB_METRICS = ("cosine", "euclidean", "rbf", "dot")


def _features(X, name: str) -> np.ndarray:
    try:
        A = np.asarray(X.detach().cpu().numpy() if hasattr(X, "detach") else X,
                       dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected a real (n, d) array ({exc})") from None
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise InvalidInputError(f"{name}: expected a non-empty (n, d) array with d >= 1, got "
                                f"shape {A.shape}")
    if not np.isfinite(A).all():
        raise InvalidInputError(f"{name}: features must be finite (found NaN or infinity)")
    return A


def _unit(A: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, norms, out=np.zeros_like(A), where=norms > 0)


def submodlib_similarities(A: np.ndarray, B: np.ndarray, metric: str,
                           gamma: float) -> np.ndarray:
    """``s(b, a)`` for rows ``b`` of ``B`` (clients) and ``a`` of ``A`` (candidates), shape
    ``(len(B), len(A))``, in the submodlib convention."""
    from scipy.spatial.distance import cdist

    if metric == "cosine":
        return _unit(B) @ _unit(A).T
    if metric == "dot":
        return B @ A.T
    D = cdist(B, A, "sqeuclidean" if metric == "rbf" else "euclidean")
    return np.exp(-gamma * D)


def apricot_transform(D: np.ndarray, metric: str) -> np.ndarray:
    """apricot's similarity from scikit-learn distances ``D`` (euclidean: not squared yet)."""
    if metric in ("cosine", "correlation"):
        return (1.0 - D) ** 2
    if metric == "euclidean":
        D = D ** 2
    return D.max() - D if D.size else D


def similarity_kernel(X, Y=None, *, metric: str = "cosine", style: str = "submodlib",
                      gamma: float | None = None) -> np.ndarray:
    """The dense ``(m, n)`` similarity kernel of clients ``Y`` (default ``X``) to
    candidates ``X``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Candidate features (numpy, torch or a sequence).
    Y : array-like of shape (m, d), optional
        Client features (default: ``X``, a square kernel).
    metric : str
        ``"submodlib"`` style: ``"cosine"``, ``"euclidean"``, ``"rbf"`` or ``"dot"``;
        ``"apricot"`` style: ``"euclidean"``, ``"cosine"``, ``"correlation"`` or any metric
        of :func:`sklearn.metrics.pairwise_distances` (``"manhattan"``, ...).
    style : {"submodlib", "apricot"}
        The convention (see the module).
    gamma : float, optional
        ``"euclidean"`` / ``"rbf"`` scale of the submodlib style (default ``1/d``).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(m, n)``.

    Complexity
    ----------
    ``O(m·n·d)`` time and ``O(m·n)`` memory (for large ``n`` use
    :meth:`FacilityLocation.from_features <matroidopt.FacilityLocation.from_features>`,
    which never stores it, or the sparse :func:`~matroidopt.knn_kernel`).

    References
    ----------
    Iyer et al., submodlib (2022), ``helper.create_kernel``; Schreiber, Bilmes, Noble (2020),
    apricot, ``_calculate_pairwise_distances``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> mo.similarity_kernel(X, metric="cosine").round(3)
    array([[1.   , 0.   , 0.707],
           [0.   , 1.   , 0.707],
           [0.707, 0.707, 1.   ]])
    >>> mo.similarity_kernel(X, metric="euclidean", style="apricot")   # max(D²) - D²
    array([[2., 0., 1.],
           [0., 2., 1.],
           [1., 1., 2.]])
    """
    A = _features(X, "X")
    B = A if Y is None else _features(Y, "Y")
    if B.shape[1] != A.shape[1]:
        raise InvalidInputError(f"Y: expected {A.shape[1]} feature columns like X, got "
                                f"{B.shape[1]}")
    if style not in KERNEL_STYLES:
        raise InvalidInputError(f"style: expected one of {KERNEL_STYLES}, got {style!r}")
    if style == "submodlib":
        if metric not in SUBMODLIB_METRICS:
            raise InvalidInputError(f"metric: expected one of {SUBMODLIB_METRICS} for the "
                                    f"submodlib style, got {metric!r}")
        g = 1.0 / A.shape[1] if gamma is None else check_real(gamma, "gamma", low=0.0,
                                                              low_open=True)
        return submodlib_similarities(A, B, metric, g)
    if gamma is not None:
        raise InvalidInputError("gamma: the apricot style has no scale parameter")
    try:
        from sklearn.metrics import pairwise_distances
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the dev / peers extras
        raise InvalidInputError("style: the apricot style needs scikit-learn "
                                "(pip install scikit-learn)") from exc
    try:
        D = pairwise_distances(B, A, metric=metric)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"metric: scikit-learn's pairwise_distances refused "
                                f"{metric!r} ({exc})") from None
    return apricot_transform(D, metric)
