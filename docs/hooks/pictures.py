"""An mkdocs hook: the site's pictures of a solve, drawn at build time.

A small fixed-seed facility-location solve under a partition matroid, drawn with
:mod:`matroidopt.plot` (matplotlib's Agg backend, no display) into two generated files that
pages reference like any other image:

* ``images/gain_curve.png``: ``plot.gain_curve`` (value, gain and certificate per step);
* ``images/selection.png``: ``plot.selection`` (the chosen points over the 2-D data).

The pictures exist only in the built site (``mkdocs build`` / ``mkdocs serve``), never in the
source tree, so they always show what the current code draws.
"""

from __future__ import annotations

import io
from typing import Any

SEED = 0
N_POINTS = 240
CAPACITIES = [4, 3, 3]

_cache: dict[str, bytes] = {}


def _solve() -> tuple[Any, Any, Any]:
    """Three Gaussian clusters in the plane, at most 4 / 3 / 3 representatives of each."""
    import numpy as np

    import matroidopt as mo

    rng = np.random.default_rng(SEED)
    centres = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]])
    labels = np.arange(N_POINTS) % len(centres)
    X = centres[labels] + rng.normal(scale=0.9, size=(N_POINTS, 2))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    m = mo.PartitionMatroid(labels, CAPACITIES)
    return X, labels, mo.maximize(f, m)


def _png(ax: Any) -> bytes:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    return buf.getvalue()


def pictures() -> dict[str, bytes]:
    """The generated images, by path under the site root (drawn once per process)."""
    if not _cache:
        import matplotlib

        matplotlib.use("Agg")
        from matroidopt import plot

        X, labels, res = _solve()
        _cache["images/gain_curve.png"] = _png(plot.gain_curve(res))
        _cache["images/selection.png"] = _png(
            plot.selection(X, res.indices, labels=[f"cluster {b}" for b in labels]))
    return _cache


def on_files(files: Any, config: Any) -> Any:
    """Add the pictures to the site's files (mkdocs >= 1.6: ``File.generated``)."""
    from mkdocs.structure.files import File

    for uri, content in pictures().items():
        files.append(File.generated(config, uri, content=content))
    return files
