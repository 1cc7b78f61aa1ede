"""Restriction, contraction and direct sum compose their matroids' laminar family
(``Matroid._laminar_family``): the composed family describes exactly the operation's
independent sets (brute force over all subsets), so pipage rounding and the compact polytope
apply to them."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import matroidopt as mo
from matroidopt.matroid.laminar import LaminarMatroid

SEEDS = range(12)


# --------------------------------------------------------------------------- random matroids
def random_laminar_sets(rng: np.random.Generator, n: int, tries: int = 6) -> list[list[int]]:
    """A random laminar family over ``range(n)`` (some sets nested, some disjoint)."""
    family: list[frozenset] = []
    for _ in range(tries):
        s = frozenset(np.flatnonzero(rng.random(n) < rng.uniform(0.2, 0.9)).tolist())
        if all(not (s & t) or s <= t or t <= s for t in family):
            family.append(s)
    return [sorted(s) for s in family]


def random_base(rng: np.random.Generator, n: int) -> mo.Matroid:
    """A random uniform, partition or laminar matroid on ``n`` elements."""
    kind = rng.integers(3)
    if kind == 0:
        return mo.UniformMatroid(n, int(rng.integers(0, n + 1)))
    if kind == 1:
        b = int(rng.integers(1, 4))
        return mo.PartitionMatroid(rng.integers(0, b, size=n).tolist(),
                                   rng.integers(0, 3, size=b).tolist())
    sets = random_laminar_sets(rng, n)
    caps = [int(rng.integers(0, len(s) + 1)) for s in sets]
    return LaminarMatroid(n, sets, caps)


def random_subset(rng: np.random.Generator, n: int, low: int = 0) -> list[int]:
    """Distinct elements of ``range(n)`` in random order."""
    return rng.permutation(n)[: int(rng.integers(low, n + 1))].tolist()


# --------------------------------------------------------------------------- checks
def all_subsets(n: int) -> np.ndarray:
    """The ``2^n × n`` 0/1 matrix of every subset of ``range(n)``."""
    masks = np.arange(1 << n)
    return (masks[:, None] >> np.arange(n) & 1).astype(np.int64)


def check_family(m: mo.Matroid) -> None:
    """``m``'s family is laminar, contained sets first, and its capacities give exactly
    ``m``'s independent sets."""
    family = m._laminar_family()
    assert family is not None and mo.pipage_supported(m)
    sets = [frozenset(int(j) for j in members) for members, _cap in family]
    for members, cap in family:
        assert len(members) and np.all((members >= 0) & (members < m.n)) and cap >= 0
    for i, a in enumerate(sets):
        for b in sets[i + 1:]:
            assert not (a & b) or a <= b or b <= a, (m, a, b)  # laminar
            assert not b < a, (m, a, b)  # every set after the sets it contains
    bits = all_subsets(m.n)
    member = np.zeros((len(family), m.n), dtype=np.int64)
    for i, (members, _cap) in enumerate(family):
        member[i, members] = 1
    caps = np.array([cap for _members, cap in family], dtype=np.int64)
    by_family = np.all(bits @ member.T <= caps, axis=1)
    oracle = np.array([m.is_independent(np.flatnonzero(row).tolist()) for row in bits])
    bad = np.flatnonzero(by_family != oracle)
    assert bad.size == 0, (m, [np.flatnonzero(bits[k]).tolist() for k in bad[:3]])


# --------------------------------------------------------------------------- the families
@pytest.mark.parametrize("seed", SEEDS)
def test_a_restriction_composes_the_family(seed):
    rng = np.random.default_rng(seed)
    base = random_base(rng, int(rng.integers(6, 10)))
    m = mo.restrict(base, random_subset(rng, base.n, low=1))
    check_family(m)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_contraction_composes_the_family(seed):
    rng = np.random.default_rng(100 + seed)
    base = random_base(rng, int(rng.integers(6, 10)))
    S = random_subset(rng, base.n)[: base.n - 1]  # S may be dependent; keep one element
    m = mo.contract(base, S)
    check_family(m)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_direct_sum_composes_the_families(seed):
    rng = np.random.default_rng(200 + seed)
    n, parts = int(rng.integers(6, 10)), int(rng.integers(2, 4))
    cuts = np.sort(rng.choice(np.arange(1, n), size=parts - 1, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [n]])).tolist()  # parts - 1 cuts: n in all
    m = mo.direct_sum(*[random_base(rng, s) for s in sizes])
    assert m.n == n and m.offsets == tuple(np.concatenate([[0], cuts]).tolist())
    check_family(m)


def test_operations_nest():
    rng = np.random.default_rng(7)
    lam = LaminarMatroid(7, [[0, 1], [0, 1, 2, 3], [4, 5], [0, 1, 2, 3, 4, 5, 6]],
                         [1, 2, 1, 3])
    part = mo.PartitionMatroid([0, 1, 1, 0, 2], [1, 1, 2])
    for m in (mo.restrict(mo.truncate(lam, 2), [6, 0, 3, 4, 1]),
              mo.truncate(mo.restrict(lam, [5, 4, 3, 2, 1]), 2),
              mo.contract(mo.restrict(lam, [6, 0, 1, 2, 4, 5]), [1, 4]),
              mo.direct_sum(mo.restrict(part, [4, 0, 3]), mo.contract(lam, [0, 4]),
                            mo.UniformMatroid(1, 0)),
              mo.restrict(mo.direct_sum(part, mo.UniformMatroid(3, 1)),
                          rng.permutation(8)[:7].tolist())):
        check_family(m)


def test_restriction_intersects_and_merges_sets():
    lam = LaminarMatroid(6, [[0], [0, 1], [0, 1, 2], [3, 4], [5]], [1, 1, 2, 1, 0])
    m = mo.restrict(lam, [2, 1, 5])  # new 0, 1, 2 = old 2, 1, 5
    # {0} and {3, 4} vanish; {1} = {0, 1} ∩ R, once, with the smaller capacity
    assert sorted((A.tolist(), cap) for A, cap in m._laminar_family()) == \
        [([0, 1], 2), ([1], 1), ([2], 0)]
    c = mo.contract(lam, [0, 3])  # new 0..3 = old 1, 2, 4, 5; each capacity minus |A ∩ S|
    assert sorted((A.tolist(), cap) for A, cap in c._laminar_family()) == \
        [([0], 0), ([0, 1], 1), ([2], 0), ([3], 0)]
    check_family(m)
    check_family(c)


def test_no_family_without_one_in_every_part():
    graphic = mo.GraphicMatroid(nx.cycle_graph(4))
    uniform = mo.UniformMatroid(3, 2)
    for m in (mo.restrict(graphic, [0, 2, 3]), mo.contract(graphic, [1]),
              mo.direct_sum(uniform, graphic), mo.direct_sum(graphic, uniform),
              mo.restrict(mo.direct_sum(uniform, graphic), [0, 1])):
        assert m._laminar_family() is None and not mo.pipage_supported(m), m
    assert mo.pipage_supported(mo.direct_sum(uniform, mo.restrict(uniform, [2, 0])))


# --------------------------------------------------------------------------- consumers
def test_pipage_rounding_on_a_restriction_keeps_the_marginals():
    lam = LaminarMatroid(9, [[0, 1, 2], [3, 4], [0, 1, 2, 3, 4, 5], [6, 7, 8]],
                         [1, 1, 2, 2])
    m = mo.restrict(lam, [8, 0, 3, 1, 6, 4, 5, 7])
    rng = np.random.default_rng(3)
    x = np.zeros(m.n)  # a point of P(m): a convex combination of independent sets
    lam_weights = rng.dirichlet(np.ones(4))
    for c in lam_weights:
        x[m.max_weight_independent(rng.normal(size=m.n) + 0.5)] += c
    x = np.clip(x, 0.0, 1.0)
    assert np.any((x > 0.05) & (x < 0.95))
    runs = 400
    hits = np.zeros(m.n)
    for seed in range(runs):
        S = mo.pipage_rounding(m, x, seed=seed)
        assert m.is_independent(S.tolist()), (S, x)
        hits[S] += 1
    margin = 4.0 * np.sqrt(x * (1 - x) / runs) + 1e-9
    assert np.all(np.abs(hits / runs - x) <= margin), (hits / runs, x)


def test_a_large_restriction_of_a_laminar_matroid_has_the_compact_polytope():
    n = 30
    sets = [list(range(k, k + 5)) for k in range(0, n, 5)] + [list(range(15)), list(range(n))]
    lam = LaminarMatroid(n, sets, [2] * 6 + [4, 7])
    m = mo.restrict(lam, list(range(1, n, 2)) + [0, 2])  # n = 17 > MAX_RANK_INEQUALITY_N
    assert m.n > mo.matroid.base.MAX_RANK_INEQUALITY_N
    P = mo.polytope_of(m)
    assert P.A.shape[1] == m.n and P.A.shape[0] >= len(m._laminar_family())
    basis = m.max_weight_basis(np.arange(m.n, dtype=float))
    x = np.zeros(m.n)
    x[basis] = 1.0
    assert P.contains(x) and not P.contains(np.ones(m.n))
    s = mo.direct_sum(m, mo.UniformMatroid(5, 2))
    assert mo.polytope_of(s).A.shape[1] == s.n == 22
    with pytest.raises(mo.errors.InvalidInputError, match="n <= 12"):
        _ = mo.polytope_of(mo.restrict(mo.GraphicMatroid(nx.complete_graph(7)), range(14))).A
