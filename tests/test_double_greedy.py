"""Double greedy (unconstrained non-monotone submodular maximisation) against brute force:
1/2 in expectation (randomized), 1/3 on every run (deterministic), and broken variants the
checks catch."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
from contract_support import mutant_module

import matroidopt as mo
from matroidopt.errors import InvalidInputError

# the module (its name is also the solver function's, which the package exports)
dg_module = importlib.import_module("matroidopt.solver.double_greedy")

SEEDS = range(40)
Z = 4.0   # the mean may fall Z standard errors below the guarantee


def directed_cut(W: np.ndarray) -> mo.Utility:
    """``f(S) = sum_{i in S, j not in S} W_ij``: non-negative, submodular, not monotone."""
    W = np.asarray(W, dtype=float)

    def f(S):
        inside = np.zeros(len(W), dtype=bool)
        inside[list(S)] = True
        return float(W[inside][:, ~inside].sum())

    return mo.Utility.from_callable(f, len(W), submodular=True, monotone=False,
                                    nonnegative=True)


def opt(f: mo.Utility) -> float:
    return max(f.evaluate(list(S)) for r in range(f.n + 1)
               for S in itertools.combinations(range(f.n), r))


def instances():
    rng = np.random.default_rng(0)
    for _ in range(4):
        n = int(rng.integers(7, 11))
        W = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
        W = np.triu(W, 1)
        yield mo.GraphCut(W + W.T, lam=1.0)                        # undirected cut
        yield mo.GraphCut(W + W.T + np.diag(rng.random(n)), lam=float(rng.uniform(0.6, 1.0)))
        D = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
        np.fill_diagonal(D, 0.0)
        yield directed_cut(D)
    star = np.zeros((9, 9))
    star[0, 1:] = 1.0                                              # centre -> leaves
    yield directed_cut(star)                                       # OPT = {0}: 8


def check_guarantees() -> None:
    for f in instances():
        best = opt(f)
        assert best > 0
        det = mo.double_greedy(f, randomized=False)
        assert det.guarantee == pytest.approx(1 / 3) and not det.expected
        assert det.value >= best / 3 - 1e-9, (f, det.value, best)
        values = np.array([mo.double_greedy(f, seed=s).value for s in SEEDS])
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert values.mean() >= 0.5 * best - Z * se - 1e-9, (f, values.mean(), best)


def test_double_greedy_meets_its_guarantees_against_brute_force():
    check_guarantees()


def test_double_greedy_runs_and_certifies():
    f = mo.GraphCut(np.ones((6, 6)) - np.eye(6), lam=1.0)         # K6: max cut 9
    r = mo.double_greedy(f, seed=1)
    assert r.solver == "double_greedy" and r.guarantee == 0.5 and r.expected
    assert r.value == pytest.approx(f.evaluate(r.indices))
    assert r.upper_bound >= opt(f) - 1e-9                          # f(∅) + Σ max(0, f(j|∅))
    assert r.oracle_calls == 6 + 6 + 7       # singletons, gains at X, evaluations of Y
    again = mo.double_greedy(f, seed=1)
    assert again.indices.tolist() == r.indices.tolist()
    assert mo.double_greedy(f, mo.FreeMatroid(6), seed=1).indices.tolist() == \
        r.indices.tolist()


def test_double_greedy_is_what_maximize_picks_without_a_constraint():
    f = mo.GraphCut(np.ones((5, 5)) - np.eye(5), lam=1.0)
    assert mo.auto_solver(f, None) == "double_greedy"
    assert mo.maximize(f, None, seed=0).solver == "double_greedy"
    monotone = mo.FacilityLocation(np.eye(5))
    assert mo.auto_solver(monotone, None) == "lazy_greedy"
    r = mo.maximize(monotone, None)                   # no constraint: every positive gain
    assert sorted(r.indices.tolist()) == [0, 1, 2, 3, 4] and r.guarantee == pytest.approx(
        1 - 1 / np.e)


@pytest.mark.parametrize("constraint", [3, mo.UniformMatroid(5, 5),
                                        mo.PartitionMatroid([0, 0, 1, 1, 1], [1, 2])])
def test_double_greedy_refuses_a_constraint(constraint):
    f = mo.GraphCut(np.ones((5, 5)) - np.eye(5), lam=1.0)
    with pytest.raises(InvalidInputError, match="^constraint: double_greedy needs no "
                                                "constraint"):
        mo.double_greedy(f, constraint)


def test_the_guarantee_needs_a_non_negative_submodular_utility():
    W = np.ones((4, 4)) - np.eye(4)
    negative = mo.GraphCut(W, lam=3.0)                             # f(V) < 0
    assert not negative.nonnegative
    with pytest.warns(mo.AssumptionWarning, match="non-negative submodular"):
        r = mo.double_greedy(negative, seed=0)
    assert r.guarantee is None


BROKEN = {
    "a fair coin instead of a' / (a' + b')": [
        ("add = a_ + b_ == 0.0 or rng.random() < a_ / (a_ + b_)",
         "add = rng.random() < 0.5")],
    "f(Y) not updated when an element leaves Y": [
        ("        else:\n            f_y = f_without\n", "")],
    "the probabilities swapped": [
        ("rng.random() < a_ / (a_ + b_)", "rng.random() < b_ / (a_ + b_)")],
}


@pytest.mark.parametrize("variant", list(BROKEN))
def test_broken_variant_is_caught(variant, monkeypatch):
    mutant = mutant_module(dg_module, BROKEN[variant])
    monkeypatch.setattr(mo, "double_greedy", mutant.double_greedy)
    with pytest.raises(AssertionError):
        check_guarantees()
    monkeypatch.undo()
    check_guarantees()
