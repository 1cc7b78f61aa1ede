"""A step's bookkeeping without O(n) passes: stochastic greedy's sampler, lazy greedy's
working set and the certificate's schedule of prefixes on large ground sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import matroidopt as mo
import matroidopt.solver._run as run_module
import matroidopt.solver.stochastic as stochastic_module
from matroidopt.solver._run import Run


def _fl(n: int, seed: int = 0) -> mo.FacilityLocation:
    X = np.random.default_rng(seed).normal(size=(n, 6))
    return mo.FacilityLocation.from_features(X, metric="rbf")


def test_the_sampler_draws_uniformly_from_the_feasible_elements_only():
    n, s = 60, 10
    labels = np.arange(n) % 3
    P = mo.PartitionMatroid(labels, [1, 5, 5])
    run = Run("sampler", mo.Modular(np.ones(n)), P)
    sampler = stochastic_module._Sampler(run, s, np.random.default_rng(0))
    alive = torch.ones(n, dtype=torch.bool)
    run.add(0, 1.0)                # block 0 is full: its 19 other elements are infeasible
    alive[0] = False
    run.add(1, 1.0)
    alive[1] = False
    feasible = {j for j in range(n) if labels[j] != 0 and j != 1}
    counts = np.zeros(n)
    draws = 3000
    for _ in range(draws):
        cand = sampler(alive)
        picked = cand.tolist()
        assert picked == sorted(set(picked)) and len(picked) == s
        assert set(picked) <= feasible
        counts[picked] += 1
    p = s / len(feasible)
    sd = np.sqrt(draws * p * (1 - p))
    assert np.all(np.abs(counts[sorted(feasible)] - draws * p) < 6 * sd)
    # one more element chosen: it is never drawn again
    run.add(4, 1.0)
    alive[4] = False
    assert all(4 not in sampler(alive).tolist() for _ in range(200))


class _ListEverySample:
    """The textbook sampler: list the feasible elements, draw s of them."""

    def __init__(self, run, s, rng):
        self.run, self.s, self.rng = run, s, rng

    def __call__(self, alive):
        cand = self.run.feasible(alive)
        if cand.numel() <= self.s:
            return cand
        pick = torch.from_numpy(self.rng.choice(cand.numel(), size=self.s, replace=False))
        return torch.sort(cand[pick]).values


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_under_cardinality_the_sampler_is_the_textbook_one_without_listing(seed, monkeypatch):
    f = _fl(3000, seed)
    listed = []
    feasible = Run.feasible

    def counting(self, alive):
        listed.append(int(alive.sum()))
        return feasible(self, alive)

    monkeypatch.setattr(Run, "feasible", counting)
    fast = mo.stochastic_greedy(f, 40, seed=seed)
    # no step listed the n elements; only the call after the last step, which finds the
    # constraint full
    assert listed == [3000 - 40]
    monkeypatch.setattr(stochastic_module, "_Sampler", _ListEverySample)
    textbook = mo.stochastic_greedy(f, 40, seed=seed)
    assert len(listed) == 1 + 41
    assert fast.indices.tolist() == textbook.indices.tolist()
    assert np.array_equal(fast.gains, textbook.gains)
    assert fast.oracle_calls == textbook.oracle_calls


def test_under_a_partition_matroid_the_sampler_keeps_the_solve_feasible_and_sized():
    n = 2000
    P = mo.PartitionMatroid(np.arange(n) % 4, [2, 30, 30, 30])
    with pytest.warns(mo.AssumptionWarning, match="cardinality"):
        r = mo.stochastic_greedy(_fl(n), P, seed=3)
    assert len(r.indices) == 92 and P.is_feasible(r.indices)
    counts = np.bincount(np.asarray(r.indices) % 4, minlength=4)
    assert counts.tolist() == [2, 30, 30, 30]


def _offered_lengths(monkeypatch, threshold: int, k: int) -> tuple[list[int], mo.Result]:
    lengths: list[int] = []
    bound = run_module.certificate_bound

    def recording(value, gain_bounds, constraint, gamma=1.0):
        lengths.append(int((gain_bounds == 0).sum()))   # selected elements have bound 0
        return bound(value, gain_bounds, constraint, gamma)

    monkeypatch.setattr(run_module, "certificate_bound", recording)
    monkeypatch.setattr(run_module, "CERTIFY_EVERY_PREFIX_UP_TO", threshold)
    return lengths, mo.lazy_greedy(_fl(400, 5), k)


def test_the_certificate_schedule_on_large_ground_sets(monkeypatch):
    k = 120
    every, full = _offered_lengths(monkeypatch, 1 << 16, k)
    assert sorted(set(every)) == list(range(k + 1))
    sparse, thin = _offered_lengths(monkeypatch, 100, k)     # 400 > 100: the sparse schedule
    lengths = sorted(set(sparse))
    assert lengths[0] == 0 and lengths[-1] == k               # the final prefix is offered
    assert len(lengths) < k // 2
    gaps = np.diff(lengths[:-1])
    assert np.all(gaps <= np.maximum(1, np.asarray(lengths[:-2]) // 16))
    # fewer prefixes: a bound at least as large, still valid, the same selection
    assert thin.indices.tolist() == full.indices.tolist()
    assert full.value <= full.upper_bound <= thin.upper_bound
