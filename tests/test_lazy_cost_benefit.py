"""Lazy cost-benefit greedy selects exactly what the exhaustive one selects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.testing import brute_force_maximum
from matroidopt.testing.utilities import utilities


def _costs(rng, n, kind):
    if kind == "ties":
        return np.ones(n)
    c = rng.uniform(0.2, 2.0, n)
    if kind == "free":
        c[rng.permutation(n)[: max(1, n // 4)]] = 0.0
    return c


@settings(max_examples=60, deadline=None)
@given(f=utilities(st.integers(1, 10), submodular=True), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["random", "ties", "free"]), fill=st.booleans())
def test_lazy_equals_exhaustive(f, seed, kind, fill):
    rng = np.random.default_rng(seed)
    costs = _costs(rng, f.n, kind)
    knapsack = mo.Knapsack(costs, budget=float(rng.uniform(0.5, max(1.0, costs.sum() / 2))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mo.AssumptionWarning)
        lazy = mo.cost_benefit_greedy(f, knapsack, fill=fill)
        full = mo.cost_benefit_greedy(f, knapsack, fill=fill, lazy=False)
    assert lazy.indices.tolist() == full.indices.tolist()
    assert np.allclose(lazy.gains, full.gains, rtol=1e-9, atol=1e-12)
    assert lazy.info["chose"] == full.info["chose"]
    assert lazy.oracle_calls <= full.oracle_calls
    if full.upper_bound is not None:   # the stale bounds certify too: at least the optimum
        assert lazy.upper_bound is not None
        opt = brute_force_maximum(f, knapsack).value
        assert lazy.upper_bound >= opt - 1e-9 * max(1.0, abs(opt))


def test_duplicates_tie_to_the_smallest_index():
    """Duplicated items have equal ratios: both variants take the first copy."""
    X = np.random.default_rng(0).normal(size=(30, 3))
    X = np.vstack([X, X])
    f = mo.FacilityLocation(mo.similarity_kernel(X, metric="euclidean"))
    knapsack = mo.Knapsack(np.ones(60), budget=6.0)
    lazy, full = (mo.cost_benefit_greedy(f, knapsack, lazy=b) for b in (True, False))
    assert lazy.indices.tolist() == full.indices.tolist()
    assert all(i < 30 for i in lazy.indices.tolist())


def test_lazy_saves_oracle_calls():
    X = np.random.default_rng(1).normal(size=(500, 6))
    f = mo.FacilityLocation(mo.similarity_kernel(X, metric="euclidean"))
    knapsack = mo.Knapsack(np.random.default_rng(2).uniform(0.5, 2.0, 500), budget=40.0)
    lazy, full = (mo.cost_benefit_greedy(f, knapsack, lazy=b) for b in (True, False))
    assert lazy.indices.tolist() == full.indices.tolist()
    assert lazy.oracle_calls * 5 < full.oracle_calls, (lazy.oracle_calls, full.oracle_calls)


@pytest.mark.parametrize("bad, name", [({"lazy": "yes"}, "lazy"), ({"batch": 0}, "batch")])
def test_bad_options(bad, name):
    f = mo.Modular([1.0, 2.0])
    with pytest.raises(mo.InvalidInputError, match=rf"^{name}:"):
        mo.cost_benefit_greedy(f, mo.Knapsack([1.0, 1.0], 1.0), **bad)


def test_ratios_within_the_tie_band_go_to_the_smallest_index():
    """As greedy's ties: ratios within float64's tie band (1e-9 relative) are equal, so the
    first item wins in both variants (an exact argmax would take the 1e-12 larger one)."""
    f = mo.Modular([1.0, 1.0 + 1e-12, 0.5])
    knapsack = mo.Knapsack([1.0, 1.0, 1.0], budget=1.0)
    for lazy in (True, False):
        assert mo.cost_benefit_greedy(f, knapsack, lazy=lazy).indices.tolist() == [0]
    assert mo.greedy(f, 1).indices.tolist() == [0]
