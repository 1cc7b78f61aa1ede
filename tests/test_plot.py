"""The plots: they render to PNG without a display and draw what the Result says (values,
gains, the certificate per prefix, the selected rows in their principal components)."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from input_checks import names_the_argument  # noqa: E402

import matroidopt as mo  # noqa: E402
import matroidopt.plot as mplot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def solve():
    X = np.random.default_rng(2).normal(size=(200, 5))
    groups = np.arange(200) % 3
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    return X, groups, f, mo.maximize(f, mo.PartitionMatroid(groups, [3, 3, 3]))


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_gain_curve_draws_the_result_and_renders(solve, tmp_path):
    _, _, f, res = solve
    ax = mplot.gain_curve(res)
    value_line = ax.get_lines()[0]
    t, v = value_line.get_xdata(), value_line.get_ydata()
    assert t.tolist() == list(range(len(res.indices) + 1))
    # f(S_t) of every prefix, recomputed from scratch
    prefixes = [f.evaluate(res.indices[:i]) for i in range(len(res.indices) + 1)]
    np.testing.assert_allclose(v, prefixes, rtol=1e-9, atol=1e-9)
    bound_step = ax.get_lines()[1]
    trace = res.bound_trace
    assert len(trace) > 1
    np.testing.assert_allclose(bound_step.get_ydata(),
                               np.minimum.accumulate(trace[np.argsort(trace[:, 0]), 1]))
    assert bound_step.get_ydata()[-1] == pytest.approx(res.upper_bound)
    # every recorded bound is >= the value of that prefix (a certificate of OPT >= f(S_t))
    assert np.all(trace[:, 1] >= np.asarray(prefixes)[trace[:, 0].astype(int)] - 1e-9)
    ub_line = ax.get_lines()[2]
    assert ub_line.get_ydata()[0] == pytest.approx(res.upper_bound)
    gain_axes = [a for a in ax.figure.axes if a is not ax]
    assert len(gain_axes) == 1
    heights = [p.get_height() for p in gain_axes[0].patches]
    np.testing.assert_allclose(heights, res.gains)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"{res.certified_ratio:.3f}" in s for s in legend)
    path = tmp_path / "gains.png"
    ax.figure.savefig(path, dpi=80)
    w, h = _png_size(path)
    assert w > 200 and h > 150


def test_gain_curve_without_a_certificate_or_gains(tmp_path):
    f = mo.Utility.from_callable(lambda S: float(len(S) ** 0.5), 6, monotone=True,
                                 submodular=False)
    with pytest.warns(mo.AssumptionWarning):
        res = mo.greedy(f, 3)
    assert res.upper_bound is None
    ax = mplot.gain_curve(res, show_gains=False, title="no certificate")
    assert len(ax.get_lines()) == 1 and len(ax.figure.axes) == 1
    assert ax.get_title() == "no certificate"
    ax.figure.savefig(tmp_path / "g.png")
    empty = mo.greedy(mo.FacilityLocation(np.eye(4)), 0)
    mplot.gain_curve(empty).figure.savefig(tmp_path / "e.png")


def test_principal_components_match_scikit_learn(solve):
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    X = solve[0]
    ours = mplot.principal_components(X)
    theirs = sklearn_decomposition.PCA(2).fit_transform(X)
    for j in range(2):   # up to the sign of each component
        assert np.allclose(ours[:, j], theirs[:, j]) or np.allclose(ours[:, j], -theirs[:, j])
    two = np.random.default_rng(0).normal(size=(10, 2))
    np.testing.assert_allclose(mplot.principal_components(two), two - two.mean(axis=0))
    one = mplot.principal_components(np.arange(5.0)[:, None])
    assert one.shape == (5, 2) and np.all(one[:, 1] == 0)


def test_selection_draws_the_selected_rows(solve, tmp_path):
    X, groups, _, res = solve
    ax = mplot.selection(X, res, labels=groups, annotate=5)
    P = mplot.principal_components(X)
    selected = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(selected, P[res.indices])
    assert len(ax.collections) == 4       # three groups, then the selection
    assert [t.get_text() for t in ax.texts] == ["1", "2", "3", "4", "5"]
    assert ax.get_xlabel() == "principal component 1"
    path = tmp_path / "sel.png"
    ax.figure.savefig(path, dpi=80)
    assert _png_size(path)[0] > 200
    fig, (a1, a2) = plt.subplots(1, 2)
    assert mplot.selection(X[:, :2], res.indices.tolist(), ax=a2) is a2
    assert a2.get_xlabel() == "x₁"


test_bad_input_names_the_argument = names_the_argument([
    (lambda: mplot.gain_curve([1, 2]), "result"),
    (lambda: mplot.selection(np.zeros((5, 2)), [0, 5]), "indices"),
    (lambda: mplot.selection(np.zeros((5, 2)), [-1]), "indices"),
    (lambda: mplot.selection(np.zeros((5, 2)), [0.5]), "indices"),
    (lambda: mplot.selection(np.zeros((5, 2)), [0], labels=[0, 1]), "labels"),
    (lambda: mplot.selection(np.zeros(5), [0]), "X"),
    (lambda: mplot.selection(np.full((3, 2), np.nan), [0]), "X"),
])


def test_bounds_above_the_frame_are_marked_on_its_edge(solve):
    _, _, _, res = solve
    ax = mplot.gain_curve(res)
    top = ax.get_ylim()[1]
    trace = res.bound_trace
    best = np.minimum.accumulate(trace[np.argsort(trace[:, 0]), 1])
    off = np.sort(trace[:, 0])[best > top]
    marks = [c for c in ax.collections if c.get_offsets().shape[0] == len(off)]
    assert len(off) > 0            # the first prefixes' bounds are far above the value
    assert len(marks) == 1
    np.testing.assert_allclose(marks[0].get_offsets()[:, 0], off)
    np.testing.assert_allclose(marks[0].get_offsets()[:, 1], top)
