"""Sieve-streaming: 1/2 - ε against brute force, the batched stream against an
element-at-a-time reference, and the streaming API's door."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matroidopt as mo
from matroidopt.errors import InvalidInputError
from matroidopt.testing.utilities import utilities


def opt(f: mo.Utility, k: int) -> float:
    return max(f.evaluate(list(S)) for r in range(min(k, f.n) + 1)
               for S in itertools.combinations(range(f.n), r))


def reference(f: mo.Utility, k: int, eps: float, order) -> tuple[float, list[int]]:
    """The algorithm as written in the paper, one element at a time, with evaluate()."""
    base = f.evaluate([])
    m, sets, best = 0.0, {}, (0.0, [])
    for e in order:
        m = max(m, f.evaluate([e]) - base)
        if m <= 0:
            continue
        lo = math.ceil(math.log(m) / math.log1p(eps) - 1e-9)
        hi = math.floor(math.log(2 * k * m) / math.log1p(eps) + 1e-9)
        for i in list(sets):
            if i < lo:                                   # the guess left the grid
                best = max(best, sets.pop(i), key=lambda t: t[0])
        for i in range(lo, hi + 1):
            value, S = sets.setdefault(i, (0.0, []))
            v = (1 + eps) ** i
            if len(S) < k:
                gain = f.evaluate(S + [e]) - f.evaluate(S)
                if gain >= (v / 2 - value) / (k - len(S)):
                    sets[i] = (value + gain, S + [e])
    for pair in sets.values():
        best = max(best, pair, key=lambda t: t[0])
    return best


def _fl(n, seed, d=3):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return mo.FacilityLocation.from_features(X, metric="rbf")


@settings(max_examples=60)
@given(f=utilities(st.integers(2, 8), monotone=True, submodular=True),
       k=st.integers(1, 4), eps=st.sampled_from([0.05, 0.2, 0.4]),
       seed=st.integers(0, 1000))
def test_sieve_streaming_meets_half_minus_epsilon(f, k, eps, seed):
    order = np.random.default_rng(seed).permutation(f.n)
    r = mo.sieve_streaming(f, k, epsilon=eps, order=order)
    best = opt(f, k)
    assert len(r.indices) <= k and len(set(r.indices.tolist())) == len(r.indices)
    assert r.value == pytest.approx(f.evaluate(r.indices), rel=1e-9, abs=1e-9)
    assert r.value >= (0.5 - eps) * best - 1e-9 * max(1.0, abs(best))
    assert r.guarantee == pytest.approx(0.5 - eps) and not r.expected
    assert r.upper_bound >= best - 1e-9 * max(1.0, abs(best))


@pytest.mark.parametrize("seed", range(6))
def test_batches_give_what_one_element_at_a_time_gives(seed):
    n, k, eps = 60, 6, 0.15
    f = _fl(n, seed)
    order = np.random.default_rng(seed).permutation(n)
    ref_value, ref_set = reference(f, k, eps, order)
    for batch in (1, 7, n):
        sieve = mo.SieveStreaming(f, k, epsilon=eps)
        for a in range(0, n, batch):
            sieve.partial_fit(order[a:a + batch])
        r = sieve.result()
        assert r.value == pytest.approx(ref_value + f.evaluate([]), rel=1e-9), batch
        assert f.evaluate(list(sieve.selected)) == pytest.approx(f.evaluate(ref_set), rel=1e-9)
    assert mo.sieve_streaming(f, k, epsilon=eps, order=order, batch=5).value == \
        pytest.approx(ref_value, rel=1e-9)


def test_a_growing_maximum_opens_new_guesses_mid_batch():
    # singletons grow along the stream by orders of magnitude: most guesses appear late
    w = np.geomspace(1e-3, 1e3, 25)
    f = mo.Modular(w)
    k = 3
    r = mo.sieve_streaming(f, k, epsilon=0.1, batch=25)
    ref_value, _ = reference(f, k, 0.1, range(25))
    assert r.value == pytest.approx(ref_value, rel=1e-12)
    assert r.value >= 0.4 * w[-3:].sum()


def test_singletons_near_the_largest_float_keep_finite_guesses():
    # 2 k m overflows a float: the grid is computed in logarithms and capped
    r = mo.sieve_streaming(mo.Modular([1e308, 1.0, 5e-324]), 2)
    assert r.value == 1e308 and sorted(r.indices.tolist())[0] == 0
    tiny = mo.sieve_streaming(mo.Modular([5e-324, 1e-320]), 1)    # subnormal singletons
    assert tiny.indices.tolist() == [1]


def test_the_stream_door():
    f = _fl(20, 0)
    sieve = mo.SieveStreaming(f, 3)
    sieve.partial_fit([0, 1, 2])
    with pytest.raises(InvalidInputError, match=r"^elements: each element may arrive once"):
        sieve.partial_fit([5, 2])
    with pytest.raises(InvalidInputError, match=r"^elements:"):
        sieve.partial_fit([20])
    with pytest.raises(InvalidInputError, match=r"^epsilon:"):
        mo.SieveStreaming(f, 3, epsilon=1.0)
    with pytest.raises(InvalidInputError, match=r"^k:"):
        mo.SieveStreaming(f, -1)
    with pytest.raises(InvalidInputError, match=r"^order:"):
        mo.sieve_streaming(f, 3, order=[0, 1])
    with pytest.raises(InvalidInputError, match=r"^constraint: sieve_streaming needs"):
        mo.sieve_streaming(f, mo.PartitionMatroid(np.arange(20) % 2, [1, 1]))
    assert len(mo.SieveStreaming(f, 0).partial_fit(range(20)).result().indices) == 0
    assert sieve.elements_seen == 3 and len(sieve.result().indices) <= 3
