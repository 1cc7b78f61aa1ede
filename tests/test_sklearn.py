"""The scikit-learn selector: scikit-learn's estimator checks (those that apply to a row
selector), agreement with the core solve and across input kinds, Pipelines, pickling,
apricot's selections, constraints, and bad input named at the door."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

pytest.importorskip("sklearn")
from input_checks import names_the_argument  # noqa: E402
from peer_support import assert_same_greedy  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import matroidopt as mo  # noqa: E402
from matroidopt.sklearn import SubmodularSelector  # noqa: E402

#: The checks of scikit-learn that assume a transformer maps every row to a new row. A
#: selector returns the chosen rows, so its output has fewer rows than its input, and its
#: selection names rows of the data it was fitted on. docs/sklearn.md lists them with the
#: same reasons.
NOT_FOR_A_SELECTOR = {
    "check_transformer_general":
        "asserts transform(X) has as many rows as X; a selector returns the k selected rows",
    "check_transformer_data_not_an_array":
        "the same row-count assertion as check_transformer_general, on list-like input",
    "check_methods_sample_order_invariance":
        "asserts transform(X[p]) == transform(X)[p] row by row; a selection is a set of rows "
        "of the data, not a per-row map",
    "check_methods_subset_invariance":
        "transforms a subset of the fitted rows; the selection names rows of the fitted data",
    "check_fit_idempotent":
        "transforms held-out rows; the selection names rows of the fitted data",
}


@parametrize_with_checks(
    [SubmodularSelector(),
     SubmodularSelector(5, solver="stochastic_greedy", random_state=0)],
    expected_failed_checks=lambda est: NOT_FOR_A_SELECTOR,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_listed_checks_really_fail_and_only_for_the_row_count():
    """Each documented exception fails on this estimator (so the list is not stale), and a
    selector that returns every row would pass the row-count ones (so that is the reason)."""
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(SubmodularSelector(), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == set(NOT_FOR_A_SELECTOR)
    everything = check_estimator(SubmodularSelector(n_samples=1.0), on_fail=None)
    failed_all = {r["check_name"] for r in everything if r["status"] == "failed"}
    assert "check_transformer_general" not in failed_all
    assert "check_transformer_data_not_an_array" not in failed_all


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(3).normal(size=(150, 6))


def test_same_selection_as_the_core_solve(X):
    sel = SubmodularSelector(15).fit(X)
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    res = mo.lazy_greedy(f, 15)
    assert sel.ranking_.tolist() == res.indices.tolist()
    np.testing.assert_allclose(sel.gains_, res.gains)
    assert sel.value_ == pytest.approx(f.evaluate(sel.ranking_))
    assert sel.upper_bound_ == pytest.approx(res.upper_bound)
    assert sel.certified_ratio_ == pytest.approx(sel.value_ / sel.upper_bound_)
    assert sel.guarantee_ == pytest.approx(1 - 1 / np.e)
    np.testing.assert_array_equal(sel.transform(X), X[res.indices])


@pytest.mark.parametrize("utility, options, data", [
    ("facility_location", {}, "X"),
    ("graph_cut", {"lam": 0.3}, "X"),
    ("saturated_coverage", {"alpha": 0.2}, "X"),
    ("log_determinant", {}, "X"),
    ("feature_based", {"concave": "log"}, "abs"),
    ("disparity_sum", {}, "X"),
])
def test_numpy_sparse_dataframe_and_torch_give_the_same_ranking(X, utility, options, data):
    Z = np.abs(X) if data == "abs" else X
    kinds = {"numpy": Z, "csr_matrix": sp.csr_matrix(Z), "csr_array": sp.csr_array(Z),
             "coo_array": sp.coo_array(Z), "csc_matrix": sp.csc_matrix(Z),
             "torch": torch.tensor(Z), "list": Z.tolist()}
    pd = pytest.importorskip("pandas")
    kinds["dataframe"] = pd.DataFrame(Z, columns=[f"c{i}" for i in range(Z.shape[1])])
    metric = None if utility == "feature_based" else "euclidean"
    ref = SubmodularSelector(12, utility=utility, metric=metric, utility_options=options).fit(Z)
    assert len(ref.ranking_) == 12 and len(set(ref.ranking_.tolist())) == 12
    for name, data_kind in kinds.items():
        sel = SubmodularSelector(12, utility=utility, metric=metric,
                                 utility_options=options).fit(data_kind)
        assert sel.ranking_.tolist() == ref.ranking_.tolist(), name
        np.testing.assert_allclose(sel.gains_, ref.gains_, rtol=1e-9, err_msg=name)
        out = sel.transform(data_kind)
        assert out.shape == (12, Z.shape[1]), name
        dense = (out.toarray() if sp.issparse(out) else out.to_numpy() if hasattr(out, "iloc")
                 else out.numpy() if isinstance(out, torch.Tensor) else np.asarray(out))
        np.testing.assert_array_equal(dense, Z[ref.ranking_], err_msg=name)
    assert isinstance(SubmodularSelector(3).fit(kinds["torch"]).transform(kinds["torch"]),
                      torch.Tensor)
    assert list(SubmodularSelector(3).fit(kinds["dataframe"]).transform(
        kinds["dataframe"]).index) == SubmodularSelector(3).fit(Z).ranking_.tolist()


def test_precomputed_equals_the_metric_it_came_from(X):
    K = mo.similarity_kernel(X, metric="rbf")
    a = SubmodularSelector(10, metric="rbf").fit(X)
    b = SubmodularSelector(10, metric="precomputed").fit(K)
    assert a.ranking_.tolist() == b.ranking_.tolist()
    np.testing.assert_allclose(a.gains_, b.gains_, rtol=1e-9)


def test_in_a_pipeline(X):
    pipe = make_pipeline(StandardScaler(), SubmodularSelector(20))
    out = pipe.fit_transform(X)
    scaled = StandardScaler().fit_transform(X)
    direct = SubmodularSelector(20).fit(scaled)
    np.testing.assert_allclose(out, scaled[direct.ranking_])
    # selection then an unsupervised step on the selected rows
    pipe = make_pipeline(StandardScaler(), SubmodularSelector(20),
                         KMeans(3, n_init=2, random_state=0))
    pipe.fit(X)
    assert pipe[-1].cluster_centers_.shape == (3, 6)
    assert pipe[-1].labels_.shape == (20,)
    assert clone(pipe[1]).get_params() == pipe[1].get_params()


def test_pickle_round_trip(X):
    sel = SubmodularSelector(10, solver="stochastic_greedy", random_state=1).fit(X)
    back = pickle.loads(pickle.dumps(sel))
    assert back.ranking_.tolist() == sel.ranking_.tolist()
    np.testing.assert_array_equal(back.transform(X), sel.transform(X))
    assert back.upper_bound_ == sel.upper_bound_ and back.result_.solver == "stochastic_greedy"
    refit = pickle.loads(pickle.dumps(SubmodularSelector(10, solver="stochastic_greedy",
                                                         random_state=1))).fit(X)
    assert refit.ranking_.tolist() == sel.ranking_.tolist()


def test_random_state_is_the_seed(X):
    def rank(rs):
        return SubmodularSelector(10, solver="stochastic_greedy",
                                  random_state=rs).fit(X).ranking_.tolist()
    assert rank(4) == rank(4)
    assert rank(4) == mo.stochastic_greedy(
        mo.FacilityLocation.from_features(X, metric="euclidean"), 10, seed=4).indices.tolist()
    seeds = {tuple(rank(s)) for s in range(6)}
    assert len(seeds) > 1          # the seed reaches the solver
    a = rank(np.random.RandomState(7))
    assert a == rank(np.random.RandomState(7))


def test_fraction_of_rows(X):
    assert len(SubmodularSelector(0.1).fit(X).ranking_) == 15      # ceil(0.1 * 150)
    assert len(SubmodularSelector(0.101).fit(X).ranking_) == 16
    assert len(SubmodularSelector(1.0).fit(X).ranking_) == 150
    assert len(SubmodularSelector(500).fit(X).ranking_) == 150      # at most k
    from matroidopt.selection import build_constraint

    # exact arithmetic: 0.07 * 100 is 7.000000000000001 in floating point
    assert [build_constraint(100, p / 100).k for p in range(1, 101)] == list(range(1, 101))
    assert build_constraint(150, 0.101).k == 16


def test_capacity_lists_follow_the_sorted_labels(X):
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    words = np.array(["b", "a", "c"])[np.arange(150) % 3]       # first seen: b, a, c
    sel = SubmodularSelector(None, labels=words, capacities=[1, 0, 2]).fit(X)
    assert sorted(words[sel.ranking_].tolist()) == ["a", "c", "c"]
    ints = np.array([10, 1, 2])[np.arange(150) % 3]
    sel = SubmodularSelector(None, labels=ints, capacities=[1, 0, 2]).fit(X)
    assert sorted(ints[sel.ranking_].tolist()) == [1, 10, 10]
    res = mo.lazy_greedy(f, mo.PartitionMatroid(ints, {1: 1, 2: 0, 10: 2}))
    assert sel.ranking_.tolist() == res.indices.tolist()


def test_a_matroid_constraint_is_capped_by_n_samples(X):
    m = mo.PartitionMatroid(np.arange(150) % 3, [4, 4, 4])
    assert len(SubmodularSelector(5, constraint=m).fit(X).ranking_) == 5
    assert len(SubmodularSelector(None, constraint=m).fit(X).ranking_) == 12
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    assert SubmodularSelector(5, constraint=m).fit(X).ranking_.tolist() == \
        mo.lazy_greedy(f, mo.truncate(m, 5)).indices.tolist()


def test_explicit_defaults_and_extreme_values(X):
    ref = SubmodularSelector(8).fit(X).ranking_.tolist()
    assert SubmodularSelector(8, utility_options={"kernel_style": "submodlib"}).fit(
        X).ranking_.tolist() == ref
    big = X * 1e39          # beyond float32: a float64 tensor is as valid as the array
    assert SubmodularSelector(8, metric="cosine").fit(torch.tensor(big)).ranking_.tolist() \
        == SubmodularSelector(8, metric="cosine").fit(big).ranking_.tolist()


def test_dataframe_rows_keep_their_index_and_pandas_output(X):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    index = [f"r{i}" for i in rng.permutation(150)]
    df = pd.DataFrame(X, columns=list("abcdef"), index=index)
    sel = SubmodularSelector(6).fit(df)
    out = sel.transform(df)
    assert list(out.index) == [index[i] for i in sel.ranking_]
    np.testing.assert_array_equal(out.to_numpy(), X[sel.ranking_])
    assert list(sel.feature_names_in_) == list("abcdef")
    pipe = make_pipeline(StandardScaler(), SubmodularSelector(6)).set_output(transform="pandas")
    framed = pipe.fit_transform(df)
    assert list(framed.columns) == list("abcdef")
    assert list(framed.index) == [index[i] for i in pipe[-1].ranking_]
    plain = SubmodularSelector(6).set_output(transform="pandas").fit_transform(X)
    assert list(plain.index) == sel.ranking_.tolist() and list(plain.columns)[0] == "x0"
    assert clone(SubmodularSelector().set_output(transform="pandas")) \
        ._sklearn_output_config == {"transform": "pandas"}


def test_quotas_from_labels_or_y(X):
    groups = np.arange(150) % 4
    sel = SubmodularSelector(None, labels=groups, capacities=[1, 2, 3, 4]).fit(X)
    assert np.bincount(groups[sel.ranking_], minlength=4).tolist() == [1, 2, 3, 4]
    assert sel.guarantee_ == 0.5
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    res = mo.lazy_greedy(f, mo.PartitionMatroid(groups, [1, 2, 3, 4]))
    assert sel.ranking_.tolist() == res.indices.tolist()
    by_y = SubmodularSelector(None, capacities={0: 1, 1: 2, 2: 3, 3: 4}).fit(X, groups)
    assert by_y.ranking_.tolist() == sel.ranking_.tolist()
    capped = SubmodularSelector(6, labels=groups, capacities=3).fit(X)
    counts = np.bincount(groups[capped.ranking_], minlength=4)
    assert len(capped.ranking_) == 6 and counts.max() <= 3
    res = mo.lazy_greedy(f, mo.truncate(mo.PartitionMatroid(groups, [3, 3, 3, 3]), 6))
    assert capped.ranking_.tolist() == res.indices.tolist()


def test_costs_make_a_knapsack(X):
    costs = np.random.default_rng(0).uniform(0.5, 2.0, size=150)
    sel = SubmodularSelector(6.0, costs=costs).fit(X)
    assert costs[sel.ranking_].sum() <= 6.0 + 1e-12
    assert sel.result_.solver == "cost_benefit_greedy"
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    assert sel.ranking_.tolist() == mo.cost_benefit_greedy(
        f, mo.Knapsack(costs, 6.0)).indices.tolist()


def test_a_constraint_object_and_a_callable_utility(X):
    m = mo.PartitionMatroid(np.arange(150) % 2, [2, 3])
    f = mo.FeatureBased(np.abs(X))
    sel = SubmodularSelector(constraint=m, n_samples=None,
                             utility=lambda data: mo.FeatureBased(np.abs(data))).fit(X)
    assert sel.ranking_.tolist() == mo.lazy_greedy(f, m).indices.tolist()


def test_same_selection_as_apricot(X):
    apricot = pytest.importorskip("apricot")
    for metric in ("euclidean", "cosine"):
        theirs = apricot.FacilityLocationSelection(15, metric=metric, optimizer="lazy").fit(X)
        ours = SubmodularSelector(15, metric=metric,
                                  utility_options={"kernel_style": "apricot"}).fit(X)
        f = mo.FacilityLocation(mo.similarity_kernel(X, metric=metric, style="apricot"))
        assert_same_greedy(f, theirs.ranking, ours.ranking_, eps=np.finfo(np.float32).eps,
                           label=f"apricot {metric}")
        np.testing.assert_allclose(ours.gains_, theirs.gains, rtol=1e-4)
        np.testing.assert_allclose(ours.transform(X), theirs.transform(X))


def _fit(**kw):
    data = kw.pop("X", np.random.default_rng(0).normal(size=(30, 3)))
    y = kw.pop("y", None)
    return lambda: SubmodularSelector(**kw).fit(data, y)


def _transform_other_rows():
    X = np.random.default_rng(0).normal(size=(30, 3))
    sel = SubmodularSelector(3).fit(X)
    return sel.transform(X[:20])


test_bad_input_names_the_argument = names_the_argument([
    (_fit(n_samples=-1), "n_samples"),
    (_fit(n_samples=1.5), "n_samples"),
    (_fit(n_samples=0.0), "n_samples"),
    (_fit(n_samples="5"), "n_samples"),
    (_fit(n_samples=True), "n_samples"),
    (_fit(n_samples=None), "n_samples"),
    (_fit(utility="nope"), "utility"),
    (_fit(utility=lambda X: 3), "utility"),
    (_fit(utility=lambda X: mo.FeatureBased(np.ones((5, 2)))), "utility"),
    (_fit(metric="nope"), "metric"),
    (_fit(utility="feature_based", metric="cosine"), "metric"),
    (_fit(solver="nope"), "solver"),
    (_fit(utility="graph_cut", metric="cosine"), "metric"),
    (_fit(capacities=2), "labels"),
    (_fit(labels=np.arange(30) % 2), "labels"),
    (_fit(labels=np.arange(29) % 2, capacities=2), "labels"),
    (_fit(labels=np.arange(30) % 3, capacities=[1, 2]), "capacities"),
    (_fit(labels=np.arange(30) % 3, capacities={0: 1, 1: 2}), "capacities"),
    (_fit(costs=np.ones(29)), "costs"),
    (_fit(costs=np.ones(30), n_samples=-2.0), "n_samples"),
    (_fit(costs=np.ones(30), capacities=1, labels=np.zeros(30)), "costs"),
    (_fit(costs=np.ones(30), labels=np.zeros(30)), "costs"),
    (_fit(labels=np.array(["a", 1] * 15, dtype=object), capacities=2), "labels"),
    (_fit(labels=np.array(["a", None] * 15, dtype=object), capacities=2), "labels"),
    (_fit(constraint=mo.Knapsack(np.ones(30), 3.0)), "n_samples"),
    (lambda: SubmodularSelector().set_output(transform="polars"), "transform"),
    (_fit(constraint=mo.UniformMatroid(10, 2)), "constraint"),
    (_fit(constraint=mo.UniformMatroid(30, 2), labels=np.zeros(30)), "constraint"),
    (_fit(constraint="cardinality"), "constraint"),
    (_fit(utility_options={"nope": 1}), "utility_options"),
    (_fit(metric="precomputed"), "X"),
    (_fit(X=torch.ones(3, 2, 2)), "X"),
    (_fit(X=torch.tensor([[1.0, float("nan")]])), "X"),
    (_transform_other_rows, "X"),
])
