"""Selection from data by name: the utility a selector builds from the rows of ``X``, and
the constraint its ``n_samples``, ``labels``, ``capacities`` and ``costs`` describe.

The shared door of :class:`matroidopt.sklearn.SubmodularSelector` and the ``matroidopt
select`` command line: :func:`build_utility`, :func:`build_constraint` and
:func:`select_rows` (both, then :func:`matroidopt.maximize`). Every argument is validated
here, once, and a bad one raises :class:`~matroidopt.errors.InvalidInputError` naming it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .constraint import Constraint, Knapsack
from .errors import InvalidInputError
from .matroid import Matroid, PartitionMatroid, UniformMatroid, truncate
from .solver import SOLVERS, Result, maximize
from .utility import (
    DisparityMin,
    DisparitySum,
    FacilityLocation,
    FeatureBased,
    GraphCut,
    LogDeterminant,
    SaturatedCoverage,
    Utility,
    similarity_kernel,
)

__all__ = ["KERNEL_METRICS", "UTILITY_BUILDERS", "build_constraint", "build_utility",
           "select_rows"]

#: Similarity metrics the kernel-based utilities accept (``"precomputed"``: ``X`` is an
#: ``(n, n)`` similarity matrix).
KERNEL_METRICS = ("euclidean", "cosine", "rbf", "dot", "precomputed")


def _kernel(X, metric: str, options: dict) -> np.ndarray:
    if metric == "precomputed":
        K = X.toarray() if sp.issparse(X) else X
        if K.shape[0] != K.shape[1]:
            raise InvalidInputError(
                f"X: metric='precomputed' expects a square (n, n) similarity matrix, got shape "
                f"{tuple(K.shape)}")
        return K
    style = options.pop("kernel_style", "submodlib")
    return similarity_kernel(X.toarray() if sp.issparse(X) else X, metric=metric, style=style,
                             gamma=options.pop("gamma", None))


def _facility_location(X, metric, options, device):
    if metric == "precomputed" or options.get("kernel_style", "submodlib") != "submodlib":
        return FacilityLocation(_kernel(X, metric, options), device=device, **options)
    options.pop("kernel_style", None)   # the default, spelled out: kernel rows on the fly
    return FacilityLocation.from_features(X, metric=metric, device=device, **options)


def _feature_based(X, metric, options, device):
    if metric is not None:
        raise InvalidInputError(
            f"metric: the feature_based utility scores the (non-negative) features themselves; "
            f"pass metric=None, got {metric!r}")
    return FeatureBased(X, device=device, **options)


def _from_kernel(cls):
    def build(X, metric, options, device):
        return cls(_kernel(X, metric, options), device=device, **options)
    build.__name__ = f"_{cls.__name__}"
    return build


def _dispersion(cls):
    def build(X, metric, options, device):
        if metric == "precomputed":
            return cls(distances=X.toarray() if sp.issparse(X) else X, device=device, **options)
        return cls.from_features(X, metric=metric, device=device, **options)
    build.__name__ = f"_{cls.__name__}"
    return build


#: ``name -> build(X, metric, options, device) -> Utility``: the utilities a selector builds
#: from its data by name. ``metric=None`` means each one's default (``"euclidean"``).
UTILITY_BUILDERS: dict[str, Callable[..., Utility]] = {
    "facility_location": _facility_location,
    "feature_based": _feature_based,
    "graph_cut": _from_kernel(GraphCut),
    "saturated_coverage": _from_kernel(SaturatedCoverage),
    "log_determinant": _from_kernel(LogDeterminant),
    "disparity_sum": _dispersion(DisparitySum),
    "disparity_min": _dispersion(DisparityMin),
}


def _capacities_for(labels: np.ndarray, capacities) -> Any:
    """Capacities as :class:`PartitionMatroid` reads them: an int for every label, a mapping,
    or a sequence over the sorted distinct labels (its length checked here, by name)."""
    distinct = _distinct(labels)
    if isinstance(capacities, numbers.Integral) and not isinstance(capacities, bool):
        return dict.fromkeys(distinct.tolist(), int(capacities))
    if isinstance(capacities, Mapping):
        missing = [b for b in distinct.tolist() if b not in capacities]
        if missing:
            raise InvalidInputError(
                f"capacities: no capacity for label(s) {missing[:5]}; the labels are "
                f"{distinct.tolist()[:10]}")
        return dict(capacities)
    caps = np.asarray(capacities)
    if caps.ndim != 1 or len(caps) != len(distinct):
        raise InvalidInputError(
            f"capacities: expected one capacity per distinct label ({len(distinct)}: "
            f"{distinct.tolist()[:10]}), an int, or a mapping label -> capacity; got "
            f"{caps.size if caps.ndim else 'a scalar'} value(s)")
    return dict(zip(distinct.tolist(), caps.tolist()))   # the i-th sorted label: caps[i]


def _distinct(labels: np.ndarray) -> np.ndarray:
    """The sorted distinct labels; mixed kinds (``1`` and ``"a"``) or None are named."""
    if labels.dtype == object and any(v is None for v in labels.tolist()):
        raise InvalidInputError("labels: None is not a label (a missing group?)")
    try:
        return np.unique(labels)
    except TypeError as exc:
        raise InvalidInputError(
            f"labels: expected labels of one kind that sort (all ints or all strings), got "
            f"{sorted({type(v).__name__ for v in labels.tolist()})}") from exc


def _n_samples(n_samples, n: int, *, budget: bool, quotas: bool) -> int | float | None:
    k = n_samples
    if k is None:
        if not quotas:
            raise InvalidInputError(
                "n_samples: None is only valid with capacities (then the quotas' sum); "
                "expected an int >= 0 or a float in (0, 1]")
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise InvalidInputError(
            f"n_samples: expected an int >= 0 or a float in (0, 1], got {k!r}")
    if budget:
        if not k >= 0 or not np.isfinite(k):
            raise InvalidInputError(
                f"n_samples: the budget over costs must be a finite number >= 0, got {k!r}")
        return float(k)
    if isinstance(k, numbers.Integral):
        if k < 0:
            raise InvalidInputError(f"n_samples: expected an int >= 0, got {k}")
        return int(k)
    if not 0.0 < k <= 1.0:
        raise InvalidInputError(
            f"n_samples: a float is a fraction of the rows, in (0, 1]; got {k!r}")
    # exactly: 0.07 * 100 is 7.000000000000001 in floating point, whose ceiling is 8
    return math.ceil(Fraction(repr(float(k))) * n)


def build_utility(X, utility: str | Callable[[Any], Utility] = "facility_location",
                  metric: str | None = None, options: Mapping | None = None,
                  device=None) -> Utility:
    """The utility over the rows of ``X`` that ``utility`` names.

    Parameters
    ----------
    X : array-like of shape (n, d)
        numpy, scipy.sparse (densified) or torch (kept on its device); with
        ``metric="precomputed"`` the ``(n, n)`` similarity (dispersion: distance) matrix.
    utility : str or callable
        A name in :data:`UTILITY_BUILDERS`, or a callable ``X -> Utility``.
    metric : str or None
        One of :data:`KERNEL_METRICS` (None: ``"euclidean"``) for the kernel-based
        utilities; any scikit-learn metric name with ``options={"kernel_style":
        "apricot"}``; must be None for ``"feature_based"``.
    options : mapping, optional
        Keyword arguments of the utility's constructor.
    device : str or torch.device, optional
        Where it computes (default: ``X``'s device for a tensor, else CPU).

    Returns
    -------
    Utility

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.selection import build_utility
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> build_utility(X, "graph_cut", "rbf", {"lam": 0.2}).n
    20
    """
    options = dict(options or {})
    if callable(utility):
        f = utility(X)
        if not isinstance(f, Utility):
            raise InvalidInputError(
                f"utility: the callable must return a matroidopt.Utility, got {type(f).__name__}")
        if f.n != X.shape[0]:
            raise InvalidInputError(
                f"utility: the callable's utility has {f.n} elements but X has {X.shape[0]} rows")
        return f
    build = UTILITY_BUILDERS.get(utility) if isinstance(utility, str) else None
    if build is None:
        raise InvalidInputError(
            f"utility: expected one of {sorted(UTILITY_BUILDERS)} or a callable X -> Utility, "
            f"got {utility!r}")
    if utility != "feature_based":
        metric = "euclidean" if metric is None else metric
        apricot = options.get("kernel_style") == "apricot"   # any scikit-learn metric
        if not (metric in KERNEL_METRICS or (apricot and isinstance(metric, str))):
            raise InvalidInputError(
                f"metric: expected one of {list(KERNEL_METRICS)} or None (or a scikit-learn "
                f"metric name with kernel_style='apricot'), got {metric!r}")
    if isinstance(X, torch.Tensor):
        device = X.device if device is None else device
        if metric == "precomputed" or utility not in ("facility_location", "feature_based"):
            X = X.detach().cpu().numpy()   # dense kernels are built with numpy
    try:
        return build(X, metric, options, device)
    except TypeError as exc:   # an option the constructor does not take
        raise InvalidInputError(f"utility_options: {exc}") from exc
    except InvalidInputError as exc:
        if metric == "precomputed" or not str(exc).startswith("kernel:"):
            raise
        # the kernel is the metric's: say so (e.g. cosine similarities below 0 for graph cut)
        raise InvalidInputError(f"metric: the {metric!r} similarities do not suit {utility} "
                                f"({exc}); 'euclidean' and 'rbf' give values in (0, 1]") from exc


def build_constraint(n: int, n_samples: int | float | None = 10, *, labels=None,
                     capacities=None, costs=None) -> Constraint:
    """The constraint over ``n`` rows that the selection arguments describe.

    * only ``n_samples``: at most ``k`` rows (``UniformMatroid(n, min(k, n))``; a float in
      ``(0, 1]`` is the fraction ``ceil(n_samples · n)``);
    * ``labels`` and ``capacities``: at most ``capacities[b]`` rows of group ``b``
      (:class:`~matroidopt.PartitionMatroid`), truncated to ``n_samples`` when it is not None;
    * ``costs``: total cost at most ``n_samples`` (:class:`~matroidopt.Knapsack`).

    Examples
    --------
    >>> from matroidopt.selection import build_constraint
    >>> build_constraint(6, 4, labels=[0, 0, 0, 1, 1, 1], capacities=3)
    TruncatedMatroid(PartitionMatroid(n=6, capacities={0: 3, 1: 3}), k=4)
    >>> build_constraint(6, 0.5)
    UniformMatroid(n=6, k=3)
    """
    k = _n_samples(n_samples, n, budget=costs is not None, quotas=capacities is not None)
    if costs is not None:
        if capacities is not None or labels is not None:
            raise InvalidInputError("costs: a budget and quotas at once is an intersection of "
                                    "constraints; pass constraint= instead")
        costs = np.asarray(costs, dtype=np.float64)
        if costs.shape != (n,):
            raise InvalidInputError(
                f"costs: expected one cost per row of X ({n}), got shape {costs.shape}")
        return Knapsack(costs, k)
    if capacities is None:
        if labels is not None:
            raise InvalidInputError(
                "labels: quotas need capacities (an int, one per label, or a mapping)")
        return UniformMatroid(n, min(k, n))
    if labels is None:
        raise InvalidInputError("labels: capacities need a group per row: pass labels= or "
                                "fit(X, y)")
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise InvalidInputError(
            f"labels: expected one label per row of X ({n}), got shape {labels.shape}")
    m = PartitionMatroid(labels, _capacities_for(labels, capacities))
    return m if k is None else truncate(m, min(k, n))


def select_rows(X, n_samples: int | float | None = 10, *,
                utility: str | Callable[[Any], Utility] = "facility_location",
                metric: str | None = None, constraint: Constraint | None = None,
                labels=None, capacities=None, costs=None, solver: str = "auto",
                utility_options: Mapping | None = None, solver_options: Mapping | None = None,
                device=None, seed=None, progress: bool = False) -> Result:
    """Build the utility and the constraint from the arguments and solve.

    The arguments are those of :class:`matroidopt.sklearn.SubmodularSelector` (``seed`` is
    its ``random_state``); ``X`` is already a 2-D array, sparse matrix or tensor.

    Returns
    -------
    Result
        The solve's :class:`~matroidopt.Result` (indices are rows of ``X``).

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.selection import select_rows
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> r = select_rows(X, 5, labels=np.arange(40) % 2, capacities=[2, 3])
    >>> len(r.indices), r.guarantee
    (5, 0.5)
    """
    n = int(X.shape[0])
    if solver != "auto" and solver not in SOLVERS:
        raise InvalidInputError(
            f"solver: expected 'auto' or one of {sorted(SOLVERS)}, got {solver!r}")
    if constraint is not None:
        given = [name for name, v in (("labels", labels), ("capacities", capacities),
                                      ("costs", costs)) if v is not None]
        if given:
            raise InvalidInputError(
                f"constraint: a Constraint is used as given; leave {', '.join(given)} unset")
        if not isinstance(constraint, Constraint):
            raise InvalidInputError(
                f"constraint: expected a matroidopt Constraint or None, got "
                f"{type(constraint).__name__}")
        if constraint.n != n:
            raise InvalidInputError(
                f"constraint: its ground set has {constraint.n} elements but X has {n} rows")
        if n_samples is not None:   # at most n_samples rows of the given constraint
            if not isinstance(constraint, Matroid):
                raise InvalidInputError(
                    f"n_samples: caps a matroid constraint at k rows (its truncation); a "
                    f"{type(constraint).__name__} cannot be, so pass n_samples=None")
            k = _n_samples(n_samples, n, budget=False, quotas=False)
            constraint = truncate(constraint, min(k, n))
    else:
        constraint = build_constraint(n, n_samples, labels=labels, capacities=capacities,
                                      costs=costs)
    f = build_utility(X, utility, metric, utility_options, device)
    options = dict(solver_options or {})
    if progress:
        options["progress"] = True
    return maximize(f, constraint, solver=solver, seed=seed, **options)
