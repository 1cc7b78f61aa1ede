"""Instances, independent oracles and checks of the guarantee suites (not a test module).

Everything a check compares against is computed here, independently of the library's own
constraint and certificate code: feasibility oracles written from each constraint's
definition (networkx for graphs and matchings, numpy ranks for linear matroids), the optimum
and the worst maximal feasible set by enumerating the feasible sets, and the submodularity
ratio of the regression utility by brute force.

An instance is **non-trivial** for a ratio ``g`` when a check of that ratio can fail on it:
``OPT > 0``, the largest feasible set has at least 2 elements, and some maximal feasible set
(one no element can be added to) — or, for a non-monotone utility, some feasible set — has
value below ``g · OPT``. A solver returning an arbitrary maximal feasible set fails there.
"""

from __future__ import annotations

import inspect
import math
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pytest

import matroidopt as mo
from matroidopt.matroid.graphic import GraphicMatroid
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.matroid.linear import LinearMatroid
from matroidopt.matroid.operations import truncate
from matroidopt.matroid.transversal import TransversalMatroid
from matroidopt.testing.utilities import _BUILDERS as UTILITY_BUILDERS

TOL = 1e-9
E = 1.0 - 1.0 / math.e

Oracle = Callable[[list], bool]


# --------------------------------------------------------------------------- constraints
# Each builder returns (constraint, independent feasibility oracle on a list of indices);
# parameters are drawn so that the largest feasible set usually has 2 or more elements.

def uniform(rng, n):
    k = int(rng.integers(2, max(3, n // 2 + 1)))
    return mo.UniformMatroid(n, k), lambda S: len(S) <= k


def _partition_data(rng, n):
    blocks = int(rng.integers(2, 5))
    labels = rng.integers(0, blocks, n)
    caps = rng.integers(1, 3, blocks)
    return labels, caps


def partition(rng, n):
    labels, caps = _partition_data(rng, n)

    def oracle(S):
        counts = np.bincount(labels[list(S)], minlength=len(caps)) if S else 0
        return bool(np.all(counts <= caps))

    return mo.PartitionMatroid(labels, caps), oracle


def laminar(rng, n):
    labels = rng.integers(0, 3, n)
    sets = [np.flatnonzero(labels == b).tolist() for b in range(3)]
    sets.append(sorted(sets[0] + sets[1]))
    sets.append(list(range(n)))
    caps = [int(c) for c in rng.integers(1, 4, len(sets))]
    caps[-1] = int(rng.integers(2, 5))

    def oracle(S):
        return all(len(set(S) & set(A)) <= c for A, c in zip(sets, caps))

    return LaminarMatroid(n, sets, caps), oracle


def graphic(rng, n):
    nodes = int(rng.integers(3, 7))
    G = nx.MultiGraph()
    G.add_nodes_from(range(nodes))
    for _ in range(n):
        G.add_edge(int(rng.integers(nodes)), int(rng.integers(nodes)))
    edges = list(G.edges(keys=True))

    def oracle(S):
        H = nx.MultiGraph()
        H.add_nodes_from(range(nodes))
        H.add_edges_from(edges[i] for i in S)
        simple = nx.Graph(H)
        return (nx.number_of_selfloops(H) == 0
                and simple.number_of_edges() == H.number_of_edges()
                and nx.is_forest(simple))

    return GraphicMatroid(G), oracle


def transversal(rng, n):
    right = int(rng.integers(2, 6))
    G = nx.Graph()
    left_nodes = [("L", i) for i in range(n)]
    right_nodes = [("R", r) for r in range(right)]
    G.add_nodes_from(left_nodes, bipartite=0)
    G.add_nodes_from(right_nodes, bipartite=1)
    for i in range(n):
        for r in range(right):
            if rng.random() < 0.4:
                G.add_edge(("L", i), ("R", r))

    def oracle(S):
        H = G.subgraph([left_nodes[i] for i in S] + right_nodes)
        M = nx.bipartite.hopcroft_karp_matching(H, top_nodes=[left_nodes[i] for i in S])
        return len(M) // 2 == len(S)

    return TransversalMatroid(G, ground=left_nodes), oracle


def linear(rng, n):
    d = int(rng.integers(2, 5))
    A = rng.integers(-1, 2, size=(d, n)).astype(float)

    def oracle(S):
        return not S or np.linalg.matrix_rank(A[:, list(S)]) == len(S)

    return LinearMatroid(A), oracle


def truncated(rng, n):
    base, base_oracle = partition(rng, n)
    k = int(rng.integers(min(2, n), n + 1))
    return truncate(base, k), lambda S: len(S) <= k and base_oracle(S)


def knapsack(rng, n):
    costs = rng.uniform(0.1, 2.0, n).round(3)
    budget = float(rng.uniform(0.8, 3.0))
    return mo.Knapsack(costs, budget), lambda S: float(costs[list(S)].sum()) <= budget + 1e-9


def intersection(rng, n):
    m1, o1 = partition(rng, n)
    m2, o2 = graphic(rng, n) if rng.random() < 0.5 else partition(rng, n)
    return mo.Intersection(m1, m2), lambda S: o1(S) and o2(S)


def free(rng, n):
    return mo.FreeMatroid(n), lambda S: True


CONSTRAINTS = {"uniform": uniform, "partition": partition, "laminar": laminar,
               "graphic": graphic, "transversal": transversal, "linear": linear,
               "truncated": truncated, "knapsack": knapsack, "intersection": intersection,
               "free": free}
MATROIDS = ("uniform", "partition", "laminar", "graphic", "transversal", "linear", "truncated")
EXPENSIVE_ORACLES = {"graphic", "transversal", "linear", "intersection"}


# --------------------------------------------------------------------------- enumeration
@dataclass
class Instance:
    """A utility and a constraint with their brute-forced optimum."""

    utility: mo.Utility
    constraint: object
    oracle: Oracle
    n: int
    opt: float
    opt_set: tuple
    worst_maximal: float   # least value of a maximal feasible set
    worst_feasible: float  # least value of any feasible set
    rank: int              # the largest feasible size
    label: str = ""
    info: dict = field(default_factory=dict)

    def nontrivial(self, g: float) -> bool:
        """Whether a check of ratio ``g`` can fail here (see the module docstring)."""
        bad = self.worst_maximal if self.utility.monotone else self.worst_feasible
        return g > 0 and self.opt > TOL and self.rank >= 2 and bad < g * self.opt - 1e-6 * self.opt


def enumerate_feasible(oracle: Oracle, n: int) -> list[int]:
    """Bitmasks of every feasible set, by extending feasible sets only (down-closed)."""
    found = [0]
    frontier = [(0, -1)]
    while frontier:
        mask, last = frontier.pop()
        members = [i for i in range(n) if mask >> i & 1]
        for j in range(last + 1, n):
            if oracle(members + [j]):
                m = mask | 1 << j
                found.append(m)
                frontier.append((m, j))
    return found


def solve_exactly(utility, constraint, oracle, n, label="") -> Instance:
    masks = enumerate_feasible(oracle, n)
    feasible = set(masks)
    values = {m: float(utility.evaluate([i for i in range(n) if m >> i & 1])) for m in masks}
    best = max(masks, key=lambda m: (values[m], -m))
    maximal = [m for m in masks if all(m >> j & 1 or (m | 1 << j) not in feasible
                                      for j in range(n))]
    return Instance(utility, constraint, oracle, n, values[best],
                    tuple(i for i in range(n) if best >> i & 1),
                    min(values[m] for m in maximal), min(values.values()),
                    max(bin(m).count("1") for m in masks), label)


# --------------------------------------------------------------------------- utilities
def r_squared(rng, n) -> tuple[mo.Utility, float]:
    """R² of least squares on chosen columns of correlated features (monotone, normalised,
    γ-weakly submodular) and its submodularity ratio by brute force."""
    m = 3 * n
    base = rng.normal(size=(m, 2))
    X = base @ rng.normal(size=(2, n)) + rng.uniform(0.3, 1.0) * rng.normal(size=(m, n))
    y = X[:, :3] @ rng.normal(size=3) + 0.5 * rng.normal(size=m)
    X = X - X.mean(0)
    y = y - y.mean()
    yy = float(y @ y)

    def f(S):
        if not S:
            return 0.0
        XS = X[:, list(S)]
        coef, *_ = np.linalg.lstsq(XS, y, rcond=None)
        r = y - XS @ coef
        return max(0.0, 1.0 - float(r @ r) / yy)

    gamma = submodularity_ratio(f, n)
    return mo.Utility.from_callable(f, n, monotone=True, submodular=False,
                                    weak_submodularity=gamma, nonnegative=True), gamma


def submodularity_ratio(f, n) -> float:
    """``min Σ_{j∈S} f(j|L) / f(S|L)`` over disjoint ``L``, ``S`` with ``f(S|L) > 0``."""
    val = {m: f([i for i in range(n) if m >> i & 1]) for m in range(1 << n)}
    gamma = 1.0
    full = (1 << n) - 1
    for L in range(1 << n):
        rest = full & ~L
        singles = {j: val[L | 1 << j] - val[L] for j in range(n) if rest >> j & 1}
        S = rest
        while S:  # every non-empty subset of the complement
            joint = val[L | S] - val[L]
            if joint > 1e-12:
                gamma = min(gamma, sum(singles[j] for j in range(n) if S >> j & 1) / joint)
            S = (S - 1) & rest
    return max(gamma, 1e-6)


def draw_utility(rng, n, family: str, kind: tuple[bool, bool]):
    return UTILITY_BUILDERS[family](rng, n, kind)


def instances(kinds, families, *, monotone=True, submodular=True,
              ratio: Callable[[Instance], float], count: int, seed: int, n_range=(6, 12),
              max_tries: int | None = None) -> Iterator[Instance]:
    """Instances non-trivial for their ratio (``ratio(instance)``), round-robin over
    ``kinds × families`` (each family drawn with the declared ``(monotone, submodular)`` it
    can produce); an AssertionError when ``max_tries`` (default ``40 · count``) draws do not
    give ``count`` of them."""
    max_tries = 40 * count if max_tries is None else max_tries
    rng = np.random.default_rng(seed)
    cells = [(k, f) for k in kinds for f in families]
    made = tries = 0
    while made < count and tries < max_tries:
        kind, family = cells[tries % len(cells)]
        tries += 1
        hi = min(n_range[1], 9) if kind in EXPENSIVE_ORACLES else n_range[1]
        n = int(rng.integers(n_range[0], hi + 1))
        u = draw_utility(rng, n, family, (monotone, submodular))
        if (u.monotone, u.submodular) != (monotone, submodular):
            continue
        c, oracle = CONSTRAINTS[kind](rng, n)
        inst = solve_exactly(u, c, oracle, n, f"{family} under {kind}, n={n}")
        if inst.nontrivial(ratio(inst)):
            made += 1
            yield inst
    assert made >= count, f"only {made} non-trivial instances of {count} in {tries} tries"


# --------------------------------------------------------------------------- checks
def certificate_required(utility) -> bool:
    """Every solve of a monotone (weakly) submodular utility with exact gains certifies."""
    return bool(utility.monotone and utility.gains_are_exact
                and (utility.submodular or utility.weak_submodularity is not None))


def check_run(res, inst: Instance) -> list[int]:
    """Distinct, in range, feasible by the independent oracle, value recomputed, certificate
    present where required and never below OPT."""
    idx = np.asarray(res.indices.cpu() if hasattr(res.indices, "cpu") else res.indices).tolist()
    where = f"{res.solver} on {inst.label}"
    assert len(set(idx)) == len(idx), f"{where}: repeated indices {idx}"
    assert all(0 <= i < inst.n for i in idx), f"{where}: index out of range {idx}"
    assert inst.oracle(idx), f"{where}: infeasible {idx}"
    assert res.value == pytest.approx(float(inst.utility.evaluate(idx)), rel=1e-9, abs=1e-9), \
        f"{where}: value {res.value} != f(indices)"
    if certificate_required(inst.utility):
        assert res.upper_bound is not None, f"{where}: no certificate"
    if res.upper_bound is not None:
        assert res.upper_bound >= inst.opt - TOL * max(1.0, abs(inst.opt)), \
            f"{where}: certificate {res.upper_bound} < OPT {inst.opt}"
    return idx


def check_ratio(runs, inst: Instance, g: float, *, z: float = 4.0) -> float:
    """Every run (deterministic) or the mean over seeds (in expectation, ``z`` standard
    errors of slack) reaches ``g · OPT``; returns the measured ratio."""
    values = np.array([r.value for r in runs])
    scale = TOL * max(1.0, abs(inst.opt))
    if runs[0].expected:
        margin = z * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        assert values.mean() >= g * inst.opt - margin - scale, \
            (f"{runs[0].solver} on {inst.label}: mean {values.mean():.6g} over {len(values)} "
             f"seeds < {g:.4g} x OPT {inst.opt:.6g} - {margin:.3g}")
        return float(values.mean() / inst.opt)
    assert values.min() >= g * inst.opt - scale, \
        f"{runs[0].solver} on {inst.label}: {values.min():.6g} < {g:.4g} x OPT {inst.opt:.6g}"
    return float(values.min() / inst.opt)


# --------------------------------------------------------------------------- broken variants
def mutant_module(module: types.ModuleType, edits: list[tuple[str, str]]) -> types.ModuleType:
    """A copy of ``module`` with each ``old`` source text replaced by ``new`` (each ``old``
    must occur exactly once): a deliberately broken variant for the mutation tests."""
    src = inspect.getsource(module)
    for old, new in edits:
        assert src.count(old) == 1, f"{module.__name__}: {old!r} occurs {src.count(old)} times"
        src = src.replace(old, new)
    mutant = types.ModuleType(module.__name__)
    mutant.__dict__.update({"__package__": module.__package__, "__file__": module.__file__})
    exec(compile(src, f"<mutant of {module.__name__}>", "exec"), mutant.__dict__)
    return mutant
