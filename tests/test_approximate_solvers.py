"""Approximate lazy greedy and sample greedy: what each step promises, the reference each
reduces to, and apricot's optimizers of the same names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from input_checks import names_the_argument

import matroidopt as mo

RNG = np.random.default_rng(41)


def _fl(n=120, d=5, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return mo.FacilityLocation(mo.similarity_kernel(X, metric="euclidean"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beta_one_is_lazy_greedy(seed):
    f = _fl(seed=seed)
    for constraint in (10, mo.PartitionMatroid(np.arange(120) % 4, [2, 3, 1, 2])):
        a = mo.approximate_lazy_greedy(f, constraint, beta=1.0)
        assert a.indices.tolist() == mo.greedy(f, constraint).indices.tolist()
        assert np.allclose(a.gains, mo.greedy(f, constraint).gains)


@pytest.mark.parametrize("beta", [0.3, 0.6, 0.9])
def test_every_step_is_a_beta_approximate_greedy_choice(beta):
    """The defining property: the gain taken at each step is at least beta times the best
    gain available there (computed afresh from the whole ground set)."""
    f = _fl(n=150, seed=3)
    r = mo.approximate_lazy_greedy(f, 15, beta=beta)
    state = f.init_state()
    slack = []
    for j, g in zip(r.indices.tolist(), r.gains, strict=True):
        all_gains = f.gains(state).double()
        best = float(all_gains.max())
        assert float(all_gains[j]) == pytest.approx(g, rel=1e-12)
        assert g >= beta * best - 1e-12
        slack.append(g / best)
        state = f.add(state, j)
    assert r.guarantee == pytest.approx(1 - np.exp(-beta))
    assert r.upper_bound >= mo.lazy_greedy(f, 15).value    # OPT >= greedy's value
    if beta <= 0.6:          # the looser acceptance is used: not every step is greedy's
        assert min(slack) < 1.0


def test_smaller_beta_needs_fewer_oracle_calls():
    f = _fl(n=400, d=8, seed=4)
    calls = [mo.approximate_lazy_greedy(f, 40, beta=b).oracle_calls for b in (1.0, 0.7, 0.4)]
    assert calls[0] >= calls[1] >= calls[2] and calls[2] < calls[0]


def test_sample_greedy_is_lazy_greedy_on_its_sample():
    f = _fl(n=200, seed=5)
    r = mo.sample_greedy(f, 12, epsilon=0.35, seed=7)
    m = int(200 * 0.35)
    assert r.info["sampled"] == m
    sample = np.sort(np.random.default_rng(7).choice(200, size=m, replace=False))
    ref = mo.lazy_greedy(f.restrict(sample.tolist()), 12)
    assert r.indices.tolist() == sample[ref.indices.tolist()].tolist()
    assert np.allclose(r.gains, ref.gains)
    assert r.value == pytest.approx(f.evaluate(r.indices))
    assert r.guarantee == pytest.approx(m / 200 * (1 - 1 / np.e)) and r.expected
    again = mo.sample_greedy(f, 12, epsilon=0.35, seed=7)
    assert again.indices.tolist() == r.indices.tolist()
    assert mo.sample_greedy(f, 12, epsilon=0.35, seed=8).indices.tolist() != r.indices.tolist()


def test_sample_greedy_certificate_bounds_the_full_problem():
    """The certificate uses fresh gains over the whole ground set: it bounds the optimum of
    the full problem, which the sample's own certificate would not."""
    f = _fl(n=60, seed=6)
    r = mo.sample_greedy(f, 5, epsilon=0.2, seed=1)
    full = mo.lazy_greedy(f, 5)
    assert r.upper_bound >= full.value       # OPT >= greedy's value on the full ground set
    assert mo.sample_greedy(f, 5, epsilon=0.2, seed=1, certificate=False).upper_bound is None


def test_sample_greedy_under_a_matroid():
    f = _fl(n=100, seed=8)
    m = mo.PartitionMatroid(np.arange(100) % 5, [1, 2, 1, 2, 1])
    r = mo.sample_greedy(f, m, epsilon=0.5, seed=3)
    assert m.is_independent(r.indices.tolist()) and len(r.indices) == 7
    assert r.guarantee == pytest.approx(0.5 * 0.5)


@pytest.mark.peers
@pytest.mark.parametrize("beta", [0.9, 0.5])
def test_approximate_lazy_same_as_apricot(beta):
    apricot = pytest.importorskip("apricot")
    datasets = pytest.importorskip("sklearn.datasets")
    X = datasets.load_digits().data[:400].astype(np.float64)
    K = mo.similarity_kernel(X, metric="euclidean", style="apricot")
    f = mo.FacilityLocation(K)
    mine = mo.approximate_lazy_greedy(f, 25, beta=beta)
    sel = apricot.FacilityLocationSelection(25, metric="euclidean",
                                            optimizer="approximate-lazy",
                                            optimizer_kwds={"beta": beta},
                                            verbose=False).fit(X)
    assert list(sel.ranking) == mine.indices.tolist()
    assert np.allclose(sel.gains, mine.gains, rtol=1e-9)


BAD = [
    (lambda: mo.approximate_lazy_greedy(_fl(20), 3, beta=0.0), "beta"),
    (lambda: mo.approximate_lazy_greedy(_fl(20), 3, beta=1.5), "beta"),
    (lambda: mo.approximate_lazy_greedy(mo.DisparitySum(distances=np.ones((3, 3))), 2),
     "utility"),
    (lambda: mo.approximate_lazy_greedy(_fl(20), mo.Knapsack(np.ones(20), 2.0)), "constraint"),
    (lambda: mo.sample_greedy(_fl(20), 3, epsilon=0.0), "epsilon"),
    (lambda: mo.sample_greedy(_fl(20), 3, epsilon=1.2), "epsilon"),
    (lambda: mo.sample_greedy(_fl(20), 3, inner="stochastic_greedy"), "inner"),
    (lambda: mo.sample_greedy(_fl(20), mo.Knapsack(np.ones(20), 2.0)), "constraint"),
    (lambda: mo.sample_greedy(_fl(20), 3, seed="x"), "seed"),
]


test_bad_input_names_the_argument = names_the_argument(BAD)


def test_torch_input_gives_torch_indices():
    X = torch.as_tensor(RNG.normal(size=(50, 3)))
    f = mo.FacilityLocation(X @ X.T)
    assert isinstance(mo.sample_greedy(f, 4, seed=0).indices, torch.Tensor)
    assert isinstance(mo.approximate_lazy_greedy(f, 4).indices, torch.Tensor)
