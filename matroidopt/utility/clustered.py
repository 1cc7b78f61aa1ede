"""Clustered utilities: ``f(S) = sum_c f_c(S ∩ C_c)``, one base function per cluster."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._backend import as_float_tensor, check_int
from ..errors import InvalidInputError
from .base import Utility, UtilityState, check_utility

__all__ = ["ClusteredUtility", "cluster_labels"]

#: The clustering methods of :func:`cluster_labels` (scikit-learn estimators).
CLUSTER_METHODS = ("kmeans", "birch")


def cluster_labels(X, n_clusters: int, *, method: str = "kmeans", seed: int = 0) -> np.ndarray:
    """Cluster labels ``0..n_clusters-1`` of the rows of ``X`` (scikit-learn).

    Parameters
    ----------
    X : array-like of shape (n, d)
    n_clusters : int
        ``1 <= n_clusters <= n``.
    method : {"kmeans", "birch"}, default "kmeans"
        ``sklearn.cluster.KMeans`` (``n_init=10``, seeded) or ``Birch`` (submodlib's choice).
    seed : int, default 0
        KMeans's random state.

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.utility.clustered import cluster_labels
    >>> X = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> labels = cluster_labels(X, 2)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """
    Xt = as_float_tensor(X, "X", ndim=2).cpu().numpy()
    n = Xt.shape[0]
    if n == 0:
        raise InvalidInputError("X: expected at least one point to cluster, got shape "
                                f"{Xt.shape}")
    n_clusters = check_int(n_clusters, "n_clusters", minimum=1, maximum=n)
    seed = check_int(seed, "seed", minimum=0)
    if method not in CLUSTER_METHODS:
        raise InvalidInputError(f"method: expected one of {CLUSTER_METHODS}, got {method!r}")
    try:
        from sklearn.cluster import Birch, KMeans
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the dev and peers extras
        raise InvalidInputError("method: computing clusters needs scikit-learn "
                                "(pip install scikit-learn), or pass labels") from exc
    if method == "kmeans":
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=int(seed))
    else:
        model = Birch(n_clusters=n_clusters)
    with warnings.catch_warnings():   # too few distinct clusters: raised below instead
        warnings.simplefilter("ignore")
        raw = model.fit_predict(Xt)
    found, labels = np.unique(raw, return_inverse=True)   # 0..c-1 without gaps
    if found.size != n_clusters:
        raise InvalidInputError(
            f"n_clusters: {method} found only {found.size} distinct clusters of the {n} points "
            f"where {n_clusters} were asked for (duplicate points, or Birch's threshold); "
            "ask for fewer, or pass labels")
    return labels.astype(np.int64)


class ClusteredUtility(Utility):
    """A sum over clusters ``f(S) = sum_c f_c(S ∩ C_c)``, each ``f_c`` a utility over its
    cluster ``C_c`` (re-indexed in increasing order of the elements).

    Selections in different clusters do not interact: a representative of one cluster does
    not represent another (submodlib's ``ClusteredFunction`` and facility location's
    "clustered" mode). With per-cluster facility location over the cluster's own kernel block
    it costs ``O(|C_c|)`` per gain instead of ``O(n)``.

    Declared properties: monotone, submodular, normalized, non-negative iff every part is
    (a direct sum of set functions keeps each); the submodularity ratio is the parts'
    smallest.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Each element's cluster, ``0..c-1`` (every label used).
    parts : sequence of Utility
        ``parts[c]`` over ``range(|C_c|)``, where ``C_c = sorted(j : labels[j] == c)``.

    Complexity
    ----------
    A gains call costs the parts' costs on their candidates (one call per cluster among the
    candidates); ``add`` that of one part. State: the tuple of the parts' states.

    References
    ----------
    Iyer et al. (2022), submodlib, ``ClusteredFunction``; Wei, Iyer, Bilmes (2015),
    "Submodularity in data subset selection and active learning" (clustered facility
    location).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> f = mo.ClusteredUtility.from_labels(
    ...     [0, 0, 1], lambda idx: mo.FacilityLocation(K[np.ix_(idx, idx)]))
    >>> round(f.evaluate([0]), 6), round(f.evaluate([0, 2]), 6), f.monotone
    (1.9, 2.9, True)
    """

    def __init__(self, labels, parts: Sequence[Utility]) -> None:
        lab = _labels(labels)
        if isinstance(parts, Utility) or not isinstance(parts, Sequence):
            raise InvalidInputError("parts: expected a sequence of Utility objects, one per "
                                    "cluster")
        parts = [check_utility(p, "parts") for p in parts]
        count = int(lab.max()) + 1 if lab.size else 0
        if len(parts) != count:
            raise InvalidInputError(f"parts: expected {count} utilities (labels 0..{count - 1}), "
                                    f"got {len(parts)}")
        members = [np.flatnonzero(lab == c) for c in range(count)]
        for c, (p, idx) in enumerate(zip(parts, members, strict=True)):
            if idx.size == 0:
                raise InvalidInputError(f"labels: expected every cluster 0..{count - 1} to be "
                                        f"used, cluster {c} is empty")
            if p.n != idx.size:
                raise InvalidInputError(f"parts: parts[{c}] has n={p.n}, expected {idx.size} "
                                        f"(the size of cluster {c})")
        device = parts[0].device if parts else torch.device("cpu")
        dtype = parts[0].dtype if parts else torch.float64
        for p in parts[1:]:
            if p.device != device:
                raise InvalidInputError(f"parts: expected one device, got {device} and "
                                        f"{p.device}")
            dtype = torch.promote_types(dtype, p.dtype)
        gammas = [p.weak_submodularity for p in parts]
        super().__init__(
            lab.size, monotone=all(p.monotone for p in parts),
            submodular=all(p.submodular for p in parts),
            normalized=all(p.normalized for p in parts),
            nonnegative=all(p.nonnegative for p in parts),
            weak_submodularity=None if None in gammas or not gammas else min(gammas),
            device=device, dtype=dtype, torch_input=any(p.torch_input for p in parts))
        self.gains_are_exact = all(p.gains_are_exact for p in parts)
        self.labels = torch.as_tensor(lab, device=device)
        self.parts: tuple[Utility, ...] = tuple(parts)
        self.clusters: tuple[torch.Tensor, ...] = tuple(
            torch.as_tensor(idx, device=device) for idx in members)
        local = np.zeros(lab.size, dtype=np.int64)
        for idx in members:
            local[idx] = np.arange(idx.size)
        self._local = torch.as_tensor(local, device=device)

    @classmethod
    def from_labels(cls, labels, make: Callable[[np.ndarray], Utility]) -> ClusteredUtility:
        """``make(members)`` for each cluster's sorted member indices (a numpy array), e.g.
        ``lambda idx: FacilityLocation(K[np.ix_(idx, idx)])`` for facility location within
        each cluster."""
        if not callable(make):
            raise InvalidInputError(f"make: expected a callable of the member indices, got "
                                    f"{make!r}")
        lab = _labels(labels)
        count = int(lab.max()) + 1 if lab.size else 0
        empty = sorted(set(range(count)) - set(lab.tolist()))
        if empty:
            raise InvalidInputError(f"labels: expected every cluster 0..{count - 1} to be "
                                    f"used, cluster {empty[0]} is empty")
        return cls(lab, [make(np.flatnonzero(lab == c)) for c in range(count)])

    # ----------------------------------------------------------------- oracle
    def _init_data(self) -> tuple[UtilityState, ...]:
        return tuple(p._init_state() for p in self.parts)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(candidates.numel(), device=self.device, dtype=self.dtype)
        lab = self.labels[candidates]
        for c in torch.unique(lab).tolist():
            at = torch.nonzero(lab == c).flatten()
            local = self._local[candidates[at]]
            out[at] = self.parts[c]._gains(state.data[c], local).to(self.dtype)
        return out

    def _add_data(self, state: UtilityState, j: int) -> tuple[UtilityState, ...]:
        c = int(self.labels[j])
        data = list(state.data)
        data[c] = self.parts[c]._add(data[c], int(self._local[j]))
        return tuple(data)

    def _value(self, state: UtilityState) -> float:
        return sum(float(p._value(s)) for p, s in zip(self.parts, state.data, strict=True))

    def _evaluate(self, idx: torch.Tensor) -> float:
        lab = self.labels[idx]
        total = 0.0
        for c, p in enumerate(self.parts):
            total += float(p._evaluate(self._local[idx[lab == c]]))
        return total

    @property
    def _has_multilinear(self) -> bool:
        return all(p._has_multilinear for p in self.parts)

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor] | None:
        """``sum_c F_c(x_{C_c})``, its gradient scattered back, from the parts' closed
        forms (None when a part has none)."""
        if not self._has_multilinear:
            return None
        value, grad = 0.0, torch.zeros(self.n, dtype=torch.float64)
        for p, idx in zip(self.parts, self.clusters, strict=True):
            part = p._multilinear(x[idx.cpu()])
            if part is None:
                return None
            value += float(part[0])
            grad[idx.cpu()] = torch.as_tensor(part[1]).detach().to("cpu", torch.float64)
        return value, grad

    def __repr__(self) -> str:
        return f"ClusteredUtility(n={self.n}, clusters={len(self.parts)})"


def _labels(labels) -> np.ndarray:
    if labels is None:
        raise InvalidInputError("labels: expected one non-negative integer cluster label per "
                                "element, got None")
    try:
        lab = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"labels: expected a 1-D array of integer cluster labels "
                                f"({exc})") from None
    if lab.ndim != 1 or (lab.size and not np.issubdtype(lab.dtype, np.integer)):
        raise InvalidInputError(f"labels: expected a 1-D array of integer cluster labels, got "
                                f"shape {lab.shape} and dtype {lab.dtype}")
    if lab.size and int(lab.min()) < 0:
        raise InvalidInputError(f"labels: expected labels >= 0, found {int(lab.min())}")
    return lab.astype(np.int64)
