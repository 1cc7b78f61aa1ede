"""The protocol hooks that replace type ladders: ``Matroid._laminar_family`` (compact polytope,
pipage rounding), ``Utility._modular_weights`` / ``Utility.modular`` (a weighted sum's
properties) and the seed layer."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

import matroidopt as mo
from matroidopt.errors import InvalidInputError
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.seeds import make_rng


def _as_sets(family):
    return [(sorted(int(i) for i in members), cap) for members, cap in family]


def test_laminar_families_of_the_matroids_that_are_one():
    assert _as_sets(mo.UniformMatroid(4, 2)._laminar_family()) == [([0, 1, 2, 3], 2)]
    m = mo.PartitionMatroid(["b", "a", "b", "c"], {"a": 1, "b": 2, "c": 0})
    assert _as_sets(m._laminar_family()) == [([1], 1), ([0, 2], 2), ([3], 0)]
    lam = LaminarMatroid(4, [[0, 1, 2, 3], [0, 1], [2]], [3, 1, 1])
    family = _as_sets(lam._laminar_family())
    assert sorted(family) == sorted([([0, 1, 2, 3], 3), ([0, 1], 1), ([2], 1)])
    assert family[-1] == ([0, 1, 2, 3], 3)  # children before the sets containing them
    for m in (mo.LinearMatroid(np.eye(3)), mo.GraphicMatroid(nx.Graph([(0, 1), (1, 2)]))):
        assert m._laminar_family() is None and not mo.pipage_supported(m)


def test_a_family_hook_decides_pipage_and_the_compact_polytope():
    class Opaque(mo.PartitionMatroid):  # the same matroid, without its laminar description
        def _laminar_family(self):
            return None

    plain, opaque = mo.PartitionMatroid([0, 0, 1, 1], [1, 1]), Opaque([0, 0, 1, 1], [1, 1])
    assert mo.pipage_supported(plain) and not mo.pipage_supported(opaque)
    x = np.array([0.5, 0.5, 0.25, 0.75])
    assert len(mo.pipage_rounding(plain, x, seed=0)) == 2
    with pytest.raises(InvalidInputError, match=r"^matroid: pipage rounding needs"):
        mo.pipage_rounding(opaque, x, seed=0)
    # both descriptions of the polytope agree on membership
    for point in (x, np.array([1.0, 0.5, 0.0, 1.0]), np.array([0.9, 0.2, 0.5, 0.5])):
        assert (mo.MatroidPolytope(plain).contains(point)
                == mo.MatroidPolytope(opaque).contains(point))


def test_modular_is_declared_by_a_hook():
    assert mo.Modular([1.0, -2.0]).modular
    assert not mo.FacilityLocation(np.eye(2)).modular
    f = mo.FacilityLocation(np.eye(3))
    # f - λ·cost stays submodular only because the subtracted part declares itself modular
    assert mo.WeightedSum([f, mo.Modular([1.0, 1.0, 1.0])], [1.0, -0.5]).submodular
    assert not mo.WeightedSum([f, mo.FacilityLocation(np.eye(3))], [1.0, -0.5]).submodular


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, [1]])
def test_make_rng_names_a_bad_seed(bad):
    with pytest.raises(InvalidInputError, match=r"^seed:"):
        make_rng(bad)


def test_make_rng_is_reproducible_and_passes_generators_through():
    assert make_rng(7).integers(10**9) == make_rng(7).integers(10**9)
    g = np.random.default_rng(1)
    assert make_rng(g) is g
    assert make_rng(np.random.SeedSequence(5)).integers(10**9) == \
        np.random.default_rng(np.random.SeedSequence(5)).integers(10**9)


def test_a_registered_solver_declares_its_guarantee():
    def best_single(utility, constraint, *, seed=None):
        return mo.greedy(utility, 1)

    def half(utility, constraint, **options):
        return (0.5, False) if utility.monotone else (None, False)

    try:
        mo.register_solver("best_single", best_single, guarantee=half,
                           rows=(("best_single", "any", "monotone", "1/2"),))
        assert mo.guarantee("best_single", mo.Modular([1.0]), mo.UniformMatroid(1, 1)) == \
            (0.5, False)
        assert mo.SOLVER_SPECS["best_single"].rows[0][0] == "best_single"
        mo.register_solver("no_claim", best_single)
        assert mo.guarantee("no_claim", mo.Modular([1.0]), mo.UniformMatroid(1, 1)) == \
            (None, False)
    finally:
        for name in ("best_single", "no_claim"):
            if name in mo.SOLVERS:
                mo.unregister_solver(name)
    assert "best_single" not in mo.SOLVER_SPECS
    with pytest.raises(InvalidInputError, match=r"^solver: unknown solver 'best_single'"):
        mo.unregister_solver("best_single")
    mo.register_solver("stale", best_single, guarantee=half)
    del mo.SOLVERS["stale"]  # deleted by hand: no guarantee is answered for it any more
    assert mo.guarantee("stale", mo.Modular([1.0]), mo.UniformMatroid(1, 1)) == (None, False)
    mo.SOLVER_SPECS.pop("stale")
    with pytest.raises(InvalidInputError, match=r"^guarantee:"):
        mo.register_solver("bad", best_single, guarantee=3)


def test_every_built_in_solver_reports_through_its_spec():
    f, m = mo.Modular([1.0, 2.0, 3.0]), mo.PartitionMatroid([0, 0, 1], [1, 1])
    for name in ("greedy", "lazy_greedy", "residual_random_greedy", "continuous_greedy"):
        res = mo.maximize(f, m, solver=name, seed=0)
        options = {"steps": res.info["steps"]} if name == "continuous_greedy" else {}
        assert (res.guarantee, res.expected) == \
            mo.SOLVER_SPECS[name].guarantee(f, m, **options)
    assert mo.GUARANTEES == tuple(r for s in mo.SOLVER_SPECS.values() for r in s.rows)


def test_the_documented_names_keep_working():
    """``mo.guarantee`` and ``mo.GUARANTEES`` (the documented spellings) read the specs now."""
    assert mo.guarantee("greedy", mo.Modular([1.0, 2.0]), mo.UniformMatroid(2, 1)) == \
        (1 - 1 / np.e, False)
    assert mo.GUARANTEES[1] == ("greedy, lazy_greedy", "any matroid", "monotone submodular",
                                "1/2")
    assert mo.guarantee("no_such_solver", mo.Modular([1.0]), 1) == (None, False)


def test_a_truncation_composes_its_matroids_laminar_family():
    """truncate(M, k) of a partition or laminar matroid is laminar again: pipage rounding and
    the compact polytope apply, and agree with the matroid's own independence oracle."""
    import itertools

    rng = np.random.default_rng(4)
    for base in (mo.PartitionMatroid([0, 0, 1, 1, 2, 2], [2, 1, 2]),
                 mo.UniformMatroid(6, 4),
                 LaminarMatroid(6, [[0, 1, 2], [0, 1], [3, 4, 5]], [2, 1, 2])):
        m = mo.truncate(base, 3)
        family = m._laminar_family()
        assert family is not None and mo.pipage_supported(m)
        for r in range(7):  # the family's capacities define exactly m's independent sets
            for S in itertools.combinations(range(6), r):
                by_family = all(len(set(S) & set(members.tolist())) <= cap
                                for members, cap in family)
                assert by_family == m.is_independent(list(S)), (base, S)
        x = np.full(6, 0.4)  # inside every polytope here (each capacity holds)
        P = mo.MatroidPolytope(m)
        assert P.contains(x) and not P.contains(np.full(6, 0.6))
        for seed in range(5):
            S = np.asarray(mo.pipage_rounding(m, x, seed=int(rng.integers(100)) + seed))
            assert m.is_independent(S.tolist()) and len(S) >= 2
    assert mo.truncate(mo.LinearMatroid(np.eye(3)), 2)._laminar_family() is None


class _SizeCap(mo.Constraint):
    """At most ``cap`` elements of ``members``: not a built-in kind, linear by its hook."""

    def __init__(self, n, members, cap):
        super().__init__(n)
        self.members, self.cap = set(members), cap

    def _init_data(self):
        return 0

    def _can_add(self, state, candidates):
        inside = torch.tensor([int(j) in self.members for j in candidates.tolist()],
                              dtype=torch.bool)
        return ~inside | (state.data < self.cap)

    def _add_data(self, state, j):
        return state.data + (j in self.members)

    def _linear_rows(self, name="constraint"):
        row = np.zeros((1, self.n))
        row[0, sorted(self.members)] = 1.0
        return row, np.array([float(self.cap)]), f"at most {self.cap} of {sorted(self.members)}"


def test_a_constraint_joins_polytopes_through_its_linear_rows_hook():
    own = _SizeCap(4, [0, 1, 2], 1)
    P = mo.polytope_of(own, mo.Knapsack([1.0, 1.0, 1.0, 2.0], 2.5))
    assert "at most 1 of [0, 1, 2]" in P.description
    assert P.contains([0.5, 0.5, 0.0, 0.5]) and not P.contains([0.6, 0.5, 0.0, 0.0])
    # the LP step respects both: one unit on {0, 1, 2}, the knapsack fills the rest
    v = P.linear_maximize([1.0, 0.9, 0.8, 1.0])
    assert v[:3].sum() == pytest.approx(1.0, abs=1e-7) and v[0] == pytest.approx(1.0, abs=1e-7)
    assert v @ np.array([1.0, 1.0, 1.0, 2.0]) <= 2.5 + 1e-7

    class Opaque(_SizeCap):
        _linear_rows = mo.Constraint._linear_rows      # the default: no description

    with pytest.raises(InvalidInputError, match=r"^constraint: .*no linear description"):
        mo.polytope_of(Opaque(4, [0, 1, 2], 1))


def test_matroid_rows_are_the_family_or_the_rank_inequalities():
    A, b, how = mo.PartitionMatroid([0, 0, 1], [1, 2])._linear_rows()
    assert A.tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]] and b.tolist() == [1.0, 2.0]
    assert how.endswith("by compact")
    tri = mo.GraphicMatroid(nx.cycle_graph(3))
    A, b, how = tri._linear_rows()
    assert A.tolist() == [[1.0, 1.0, 1.0]] and b.tolist() == [2.0] and "rank inequalities" in how
    big = mo.GraphicMatroid(nx.cycle_graph(mo.MAX_RANK_INEQUALITY_N + 1))
    with pytest.raises(InvalidInputError, match=r"^where: .*only for n <= 12"):
        big._linear_rows("where")


def test_spawned_generators_are_reproducible_independent_and_prefix_stable():
    from matroidopt.seeds import spawn_rngs

    draws = [g.integers(2**62, size=4).tolist() for g in spawn_rngs(11, 3)]
    assert draws == [g.integers(2**62, size=4).tolist() for g in spawn_rngs(11, 3)]
    assert len({tuple(d) for d in draws}) == 3                      # no two share a stream
    assert draws[:2] == [g.integers(2**62, size=4).tolist() for g in spawn_rngs(11, 2)]
    # not the naive seed + i derivation, nor the parent's own stream
    assert draws[0] != make_rng(11).integers(2**62, size=4).tolist()
    assert draws[1] != make_rng(12).integers(2**62, size=4).tolist()
    parent = make_rng(5)
    before = parent.bit_generator.state
    kids = spawn_rngs(parent, 2)
    assert parent.bit_generator.state == before and len(kids) == 2  # the parent's stream stays
    assert spawn_rngs(np.random.SeedSequence(3), 0) == []
    for bad, arg in ((-1, "seed"), ("x", "seed")):
        with pytest.raises(InvalidInputError, match=rf"^{arg}:"):
            spawn_rngs(bad, 2)
    with pytest.raises(InvalidInputError, match=r"^count:"):
        spawn_rngs(0, -1)


def test_the_docs_guarantee_table_has_a_row_for_every_declared_row():
    """Each spec row's solver appears in the docs' guarantee table under the same constraint
    (a new solver with rows and no documented row fails here)."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "index.md").read_text(encoding="utf-8")
    table = text[text.index("## Guarantees"):]
    lines = [ln for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln]
    for spec in mo.SOLVER_SPECS.values():
        for solvers, constraint, _utility, _ratio in spec.rows:
            first = solvers.split(",")[0].split("(")[0].strip()
            assert any(ln.split("|")[1].strip().startswith(first) and constraint in ln
                       for ln in lines), (first, constraint)
