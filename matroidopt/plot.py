"""Pictures of a solve (matplotlib, an optional dependency: ``pip install matroidopt[plot]``).

* :func:`gain_curve`: the value ``f(S_t)`` of each prefix of a solve, the gain of each pick,
  and the certificate's upper bound on ``OPT`` per prefix: where the two curves meet, the
  solve is certified optimal.
* :func:`selection`: the selected rows over their data in two dimensions (the first two
  principal components when ``d > 2``), in selection order.

Each draws into ``ax`` (a new figure when None) and returns the matplotlib ``Axes``; nothing
needs a display (save with ``ax.figure.savefig("gains.png")``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InvalidInputError
from .solver.result import Result

__all__ = ["gain_curve", "selection", "principal_components"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:   # pragma: no cover - matplotlib is in the dev extra
        raise ImportError("matroidopt.plot needs matplotlib: pip install 'matroidopt[plot]'"
                          ) from exc
    return plt


def _axes(ax, figsize):
    if ax is not None:
        return ax
    fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def gain_curve(result: Result, *, ax: Any = None, title: str | None = None,
               show_gains: bool = True) -> Any:
    """Draw a solve's value per step with the certificate's bound per step.

    The solid line is ``f(S_t)`` after each of the ``k`` picks (``t = 0 .. k``); the bars
    (right axis) are the marginal gains of the picks; the dashed steps are the best upper
    bound on ``OPT`` known at each prefix (the running minimum of ``Result.bound_trace``,
    marks where a certificate was computed; triangles on the top edge where it lies above
    the frame); the dotted line is ``Result.upper_bound``.
    ``value / upper_bound`` (the certified ratio) is in the legend.

    Parameters
    ----------
    result : Result
        A solve's result.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    title : str, optional
        The axes title (default: the solver's name and the certified ratio).
    show_gains : bool, default=True
        Draw the gains as bars on a second y axis.

    Returns
    -------
    matplotlib.axes.Axes
        The value / bound axes (the gains' twin, when drawn, is the figure's other axes).

    Complexity
    ----------
    ``O(k + m)`` for ``k`` picks and ``m`` recorded certificates.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> import matroidopt.plot as mplot
    >>> X = np.random.default_rng(0).normal(size=(300, 2))
    >>> res = mo.maximize(mo.FacilityLocation.from_features(X, metric="rbf"), 12)
    >>> ax = mplot.gain_curve(res)
    >>> bool(ax.get_lines()[0].get_ydata()[-1] == res.value)
    True
    >>> ax.figure.savefig("gains.png")   # doctest: +SKIP
    """
    if not isinstance(result, Result):
        raise InvalidInputError(f"result: expected a matroidopt Result, got "
                                f"{type(result).__name__}")
    gains = np.asarray(result.gains, dtype=np.float64)
    k = len(gains)
    # f(S_t): the gains add up to the final value (exactly for exact oracles)
    values = result.value - np.concatenate([[gains.sum()], gains.sum() - np.cumsum(gains)])
    steps = np.arange(k + 1)
    ax = _axes(ax, (6.4, 4.8))
    ax.plot(steps, values, color="C0", marker="o", markersize=3, label="value f(S_t)")
    top = max(float(values.max()), 0.0)
    t = b = np.empty(0)
    if result.upper_bound is not None:
        ub = float(result.upper_bound)
        trace = np.asarray(result.bound_trace, dtype=np.float64).reshape(-1, 2)
        if len(trace):
            order = np.argsort(trace[:, 0], kind="stable")
            t, b = trace[order, 0], np.minimum.accumulate(trace[order, 1])
            ax.step(t, b, where="post", color="C3", linestyle="--", marker=".",
                    label="best bound on OPT so far")
        ratio = result.certified_ratio
        ax.axhline(ub, color="C3", linestyle=":",
                   label=f"upper bound {ub:.4g} (value ≥ {ratio:.3f} × OPT)")
        top = max(top, ub)
    ceiling = top * 1.25 if top > 0 else 1.0
    ax.set_ylim(min(0.0, float(values.min())) * 1.05, ceiling)
    above = b > ceiling       # early bounds far above the frame: marked on its top edge
    if above.any():
        ax.scatter(t[above], np.full(int(above.sum()), ceiling), marker="^", color="C3",
                   clip_on=False, zorder=5, label="bound above the frame")
    ax.set_xlim(-0.5, k + 0.5)
    ax.set_xlabel("step t (elements selected)")
    ax.set_ylabel("f")
    if show_gains and k:
        gax = ax.twinx()
        gax.bar(steps[1:], gains, color="C2", alpha=0.35, width=0.8, label="gain of pick t")
        gax.set_ylabel("marginal gain", color="C2")
        gax.set_ylim(0, max(float(gains.max()), 1e-300) * 1.6)
        ax.set_zorder(gax.get_zorder() + 1)     # lines over bars
        ax.patch.set_visible(False)
        handles = ax.get_legend_handles_labels()
        extra = gax.get_legend_handles_labels()
        handles, labels = handles[0] + extra[0], handles[1] + extra[1]
    else:
        handles, labels = ax.get_legend_handles_labels()
    # below the axes, clear of the curves and bars (a new figure's layout makes room)
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
              fontsize="small", frameon=False)
    if title is None:
        title = f"{result.solver}: {k} elements, value {result.value:.4g}"
    ax.set_title(title)
    return ax


def principal_components(X, d: int = 2) -> np.ndarray:
    """The rows of ``X`` in their first ``d`` principal components (``X`` itself, centred,
    when it has ``d`` columns or fewer; padded with zeros up to ``d``).

    An SVD of the centred data, ``O(n · D · min(n, D))`` for ``n × D`` data; sparse input
    is densified. Signs follow the SVD (each component's largest loading positive).

    Examples
    --------
    >>> import numpy as np
    >>> from matroidopt.plot import principal_components
    >>> X = np.random.default_rng(0).normal(size=(50, 6))
    >>> principal_components(X).shape
    (50, 2)
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise InvalidInputError(f"d: expected an int >= 1, got {d!r}")
    A = X.toarray() if sp.issparse(X) else np.asarray(
        X.detach().cpu().numpy() if hasattr(X, "detach") else X, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise InvalidInputError(f"X: expected an (n, d) array with n, d >= 1, got shape "
                                f"{A.shape}")
    if not np.all(np.isfinite(A)):
        raise InvalidInputError("X: contains NaN or infinity")
    A = A - A.mean(axis=0)
    if A.shape[1] <= d:
        return np.pad(A, ((0, 0), (0, d - A.shape[1])))
    _, _, vt = np.linalg.svd(A, full_matrices=False)
    comps = vt[:d]
    signs = np.sign(comps[np.arange(d), np.abs(comps).argmax(axis=1)])
    return A @ (comps * signs[:, None]).T


def selection(X, indices, *, labels=None, ax: Any = None, annotate: int = 20,
              title: str | None = None) -> Any:
    """Draw the selected rows of ``X`` over all of its rows, in two dimensions.

    Every row is a small dot (coloured by ``labels`` when given); the selected rows are
    large marks, numbered in selection order (the first ``annotate`` of them). Data with
    more than two columns is shown in its first two principal components
    (:func:`principal_components`).

    Parameters
    ----------
    X : array-like of shape (n, d)
        The data (numpy, scipy.sparse, torch).
    indices : array-like of int, or Result
        The selected rows in selection order (a :class:`~matroidopt.Result`'s ``indices``).
    labels : array-like of shape (n,), optional
        A group per row (e.g. a partition matroid's labels), for colours and a legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    annotate : int, default=20
        Number the first ``annotate`` selected rows.
    title : str, optional
        The axes title.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> import matroidopt.plot as mplot
    >>> X = np.random.default_rng(0).normal(size=(300, 2))
    >>> res = mo.maximize(mo.FacilityLocation.from_features(X, metric="rbf"), 12)
    >>> ax = mplot.selection(X, res)
    >>> ax.collections[-1].get_offsets().shape     # the 12 selected points
    (12, 2)
    """
    idx = indices.indices if isinstance(indices, Result) else indices
    idx = np.asarray(idx.detach().cpu().numpy() if hasattr(idx, "detach") else idx)
    P = principal_components(X)
    n = P.shape[0]
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise InvalidInputError(f"indices: expected a 1-D array of row numbers, got "
                                f"{idx.dtype} of shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InvalidInputError(f"indices: row numbers must lie in [0, {n}), got "
                                f"{int(idx.min())}..{int(idx.max())}")
    ax = _axes(ax, (5.6, 5.0))
    if labels is None:
        ax.scatter(P[:, 0], P[:, 1], s=8, color="0.7", label="all rows", zorder=1)
    else:
        lab = np.asarray(labels)
        if lab.shape != (n,):
            raise InvalidInputError(f"labels: expected one label per row of X ({n}), got "
                                    f"shape {lab.shape}")
        try:
            groups = np.unique(lab)
        except TypeError as exc:
            raise InvalidInputError("labels: expected labels of one kind that sort (all ints "
                                    "or all strings)") from exc
        for i, b in enumerate(groups):
            mask = lab == b
            ax.scatter(P[mask, 0], P[mask, 1], s=8, color=f"C{i % 10}", alpha=0.45,
                       label=f"{b}", zorder=1)
    sel = P[idx]
    ax.scatter(sel[:, 0], sel[:, 1], s=70, facecolors="none", edgecolors="black",
               linewidths=1.4, label=f"selected ({len(idx)})", zorder=3)
    for rank, (x, y) in enumerate(sel[:annotate], start=1):
        ax.annotate(str(rank), (x, y), textcoords="offset points", xytext=(4, 4),
                    fontsize=7, zorder=4)
    projected = np.shape(X)[1] > 2
    ax.set_xlabel("principal component 1" if projected else "x₁")
    ax.set_ylabel("principal component 2" if projected else "x₂")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(title if title is not None else f"{len(idx)} of {n} rows selected")
    return ax
