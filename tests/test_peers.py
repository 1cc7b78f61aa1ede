"""Facility location: matroidopt selects what apricot-select and submodlib-py select.

Instance: ``sklearn.datasets.load_digits`` (1797 x 64) with the shared euclidean kernel
``s(i, j) = exp(-||x_i - x_j|| / d)`` in float64 (``scipy.spatial.distance.cdist``, exactly
symmetric). Every selection is scored by OUR float64 evaluation (``FacilityLocation.evaluate``),
whatever precision the peer computed in (submodlib's dense binding is float32-only).

Sequences must agree element by element. A mismatch is accepted only where it is shown to be
a tie: at the first differing step both picks must have the same float64 marginal gain at the
common prefix within the rounding tolerance of the peer's precision, and from there on every
pick of the peer must still be a greedy pick (within that tolerance) at the peer's own prefix.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from peer_support import assert_same_greedy

import matroidopt as mo

pytestmark = [
    pytest.mark.peers,
    # submodlib 0.0.3 touches the deprecated scipy.sparse.csr namespace
    pytest.mark.filterwarnings("ignore::DeprecationWarning:submodlib.*"),
]

KS = (10, 50)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Correctness, not speed: one intra-op thread keeps the module well under a minute even on
    a busy machine (OpenMP threads of several processes competing for two cores are slow)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    from scipy.spatial.distance import cdist

    X = datasets.load_digits().data.astype(np.float64)
    K = np.exp(-cdist(X, X) / X.shape[1])
    assert np.array_equal(K, K.T)
    return X, K


@pytest.fixture(scope="module")
def ours(digits):
    """Our lazy greedy on the dense kernel, per k (computed once)."""
    _, K = digits
    f = mo.FacilityLocation(K)
    return f, {k: mo.lazy_greedy(f, k) for k in KS}


# ------------------------------------------------------------------------ tie-aware comparison
def test_tie_check_accepts_ties_and_rejects_the_rest():
    """The comparison helper itself: a duplicated point makes an exact tie."""
    rng = np.random.default_rng(0)
    X0 = rng.normal(size=(20, 3))
    X = np.vstack([X0, X0])  # i and i + 20 are interchangeable
    K = np.exp(-np.linalg.norm(X[:, None] - X[None], axis=-1))
    f = mo.FacilityLocation(K)
    ref = [int(i) for i in mo.greedy(f, 6).indices]
    assert all(i < 20 for i in ref)  # ties go to the smallest index
    swapped = [ref[0], ref[1] + 20, *ref[2:]]
    assert assert_same_greedy(f, ref, ref, eps=2.0**-52, label="same") == "identical"
    assert assert_same_greedy(f, ref, swapped, eps=2.0**-52, label="tie").startswith("tie")
    worse = [*ref[:2], int(np.argmin(K.sum(0))), *ref[3:]]
    with pytest.raises(AssertionError, match="no tie"):
        assert_same_greedy(f, ref, worse, eps=2.0**-52, label="worse")


# ------------------------------------------------------------------------ ours
@pytest.mark.parametrize("k", KS)
def test_greedy_equals_lazy_greedy(digits, ours, k):
    f, lazy = ours
    res = lazy[k]
    plain = mo.greedy(f, k)
    assert plain.indices.tolist() == res.indices.tolist()
    np.testing.assert_allclose(plain.gains, res.gains, rtol=1e-12)
    assert plain.value == pytest.approx(res.value, rel=1e-12)
    for r in (res, plain):
        assert r.upper_bound is not None
        assert r.upper_bound >= r.value
        assert len(set(r.indices.tolist())) == k
    assert res.oracle_calls < plain.oracle_calls


@pytest.mark.parametrize("k", KS)
def test_from_features_selects_as_dense(digits, ours, k):
    X, _ = digits
    f, lazy = ours
    g = mo.FacilityLocation.from_features(X, metric="euclidean")
    res = mo.lazy_greedy(g, k)
    assert_same_greedy(f, lazy[k].indices, res.indices, eps=2.0**-52, label="from_features")
    assert res.upper_bound >= res.value


# ------------------------------------------------------------------------ apricot-select
@pytest.mark.parametrize("optimizer", ["naive", "lazy"])
@pytest.mark.parametrize("k", KS)
def test_same_as_apricot(digits, ours, k, optimizer):
    apricot = pytest.importorskip("apricot")
    _, K = digits
    f, lazy = ours
    sel = apricot.FacilityLocationSelection(k, metric="precomputed", optimizer=optimizer,
                                            random_state=0)
    sel.fit(K)
    theirs = np.asarray(sel.ranking)
    assert_same_greedy(f, lazy[k].indices, theirs, eps=2.0**-52, label=f"apricot {optimizer}")
    assert f.evaluate(theirs) == pytest.approx(lazy[k].value, rel=1e-9)


@pytest.mark.parametrize("k", KS)
def test_modular_greedy_same_as_apricot_modular(digits, k):
    """apricot's ``optimizer="modular"``: the top k by gain at the empty set."""
    apricot = pytest.importorskip("apricot")
    _, K = digits
    f = mo.FacilityLocation(K)
    sel = apricot.FacilityLocationSelection(k, metric="precomputed", optimizer="modular",
                                            random_state=0)
    sel.fit(K)
    theirs = [int(i) for i in sel.ranking]
    ours = mo.modular_greedy(f, k)
    g0 = f.gains(f.init_state()).double().cpu().numpy()
    # the same top k (the order inside may differ only between equal singleton gains)
    assert sorted(np.asarray(ours.indices).tolist()) == sorted(theirs)
    assert np.all(np.diff(g0[np.asarray(ours.indices)]) <= 0)
    assert f.evaluate(theirs) == pytest.approx(ours.value, rel=1e-9)
    assert ours.oracle_calls == K.shape[0] + k


# ------------------------------------------------------------------------ submodlib-py
@pytest.mark.parametrize("optimizer", ["NaiveGreedy", "LazyGreedy"])
@pytest.mark.parametrize("k", KS)
def test_same_as_submodlib(digits, ours, k, optimizer):
    submodlib = pytest.importorskip("submodlib")
    _, K = digits
    f, lazy = ours
    g = submodlib.FacilityLocationFunction(n=K.shape[0], mode="dense",
                                           sijs=K.astype(np.float32), separate_rep=False)
    out = g.maximize(budget=k, optimizer=optimizer, stopIfZeroGain=False,
                     stopIfNegativeGain=False, verbose=False, show_progress=False)
    theirs = np.asarray([int(i) for i, _ in out])
    # submodlib computed in float32: ties are judged at float32 rounding, the objective in
    # float64 by our evaluation
    assert_same_greedy(f, lazy[k].indices, theirs, eps=2.0**-23,
                       label=f"submodlib {optimizer}")
    assert f.evaluate(theirs) == pytest.approx(lazy[k].value, rel=1e-9)


# ------------------------------------------------------------------------ cost-sensitive greedy
@pytest.mark.filterwarnings("ignore::matroidopt.errors.AssumptionWarning")  # graph cut, λ = 1
@pytest.mark.parametrize("family, fill, budget", [("facility_location", False, 15.0),
                                                  ("graph_cut", True, 150.0)])
def test_cost_benefit_greedy_same_as_submodlib_cost_sensitive(digits, family, fill, budget):
    """submodlib's ``costSensitiveGreedy`` (gain per unit cost, items that no longer fit
    skipped; ``stopIfZeroGain=False, stopIfNegativeGain=False``) is our cost-benefit greedy
    path: for a monotone facility location (where our best-single-item comparison does not
    win here) and, with ``fill=True``, for a graph cut with ``λ = 1`` whose gains turn negative
    before the budget is spent (without ``fill`` we stop there)."""
    submodlib = pytest.importorskip("submodlib")
    X, _ = digits
    from scipy.spatial.distance import cdist

    X = X[:300]
    K = np.exp(-cdist(X, X) / X.shape[1])
    costs = np.random.default_rng(1).uniform(0.5, 2.0, size=300)
    if family == "facility_location":
        f = mo.FacilityLocation(K)
        theirs_fn = submodlib.FacilityLocationFunction(n=300, mode="dense",
                                                       sijs=K.astype(np.float32),
                                                       separate_rep=False)
    else:
        f = mo.GraphCut(K, lam=1.0)
        theirs_fn = submodlib.GraphCutFunction(n=300, mode="dense", lambdaVal=1.0,
                                               ggsijs=K.astype(np.float32), separate_rep=False)
    out = theirs_fn.maximize(budget=budget, optimizer="NaiveGreedy", stopIfZeroGain=False,
                             stopIfNegativeGain=False, verbose=False, show_progress=False,
                             costs=costs.tolist(), costSensitiveGreedy=True)
    theirs = [int(i) for i, _ in out]
    ours = mo.maximize(f, mo.Knapsack(costs, budget), fill=fill)
    assert ours.solver == "cost_benefit_greedy" and ours.info["chose"] == "greedy"
    # no near-ties on this data: the float32 and float64 paths agree to the letter
    assert np.asarray(ours.indices).tolist() == theirs
    assert len(theirs) > 20
    if fill:   # the filled path spends the budget; the plain one stopped at a negative gain
        plain = mo.maximize(f, mo.Knapsack(costs, budget))
        assert len(plain.indices) < len(theirs)
        assert np.asarray(plain.indices).tolist() == theirs[:len(plain.indices)]


# ------------------------------------------------------------------------ sum redundancy
@pytest.mark.filterwarnings("ignore::matroidopt.errors.AssumptionWarning")  # non-monotone
@pytest.mark.parametrize("optimizer", ["naive", "lazy"])
def test_sum_redundancy_same_as_apricot(digits, optimizer):
    """apricot's ``SumRedundancySelection`` takes k elements whatever the sign of the gains:
    ``fill=True``; its values carry the constant ``sum(K)``, its gains are ours."""
    apricot = pytest.importorskip("apricot")
    _, K = digits
    k = 25
    f = mo.SumRedundancy(K)
    ours = mo.greedy(f, k, fill=True)
    assert len(ours.indices) == k and np.all(ours.gains < 0)
    sel = apricot.SumRedundancySelection(k, metric="precomputed", optimizer=optimizer,
                                         random_state=0)
    sel.fit(K)
    theirs = np.asarray(sel.ranking)
    assert_same_greedy(f, ours.indices, theirs, eps=2.0**-52, label=f"apricot {optimizer}")
    np.testing.assert_allclose(np.asarray(sel.gains), ours.gains, rtol=1e-9)
    assert f.evaluate(theirs) == pytest.approx(ours.value, rel=1e-9)
