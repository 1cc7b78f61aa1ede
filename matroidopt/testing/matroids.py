"""Brute-force checks of the matroid axioms and hypothesis strategies for random matroids.

Use them to verify a matroid of your own::

    from matroidopt.testing import check_matroid, matroids
    check_matroid(MyMatroid(...))            # raises AssertionError naming the broken axiom

    @given(matroids(max_n=6))
    def test_my_solver(m): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import hypothesis.strategies as st
import networkx as nx
import numpy as np
import torch

from matroidopt._backend import check_int
from matroidopt.errors import InvalidInputError
from matroidopt.matroid.base import Matroid
from matroidopt.matroid.graphic import GraphicMatroid
from matroidopt.matroid.laminar import LaminarMatroid
from matroidopt.matroid.linear import LinearMatroid
from matroidopt.matroid.operations import contract, direct_sum, restrict, truncate
from matroidopt.matroid.partition import PartitionMatroid
from matroidopt.matroid.transversal import TransversalMatroid
from matroidopt.matroid.uniform import UniformMatroid

__all__ = ["check_matroid", "matroids", "matroid_kinds"]


# --------------------------------------------------------------------------- brute force
def _members(mask: int, n: int) -> list[int]:
    return [j for j in range(n) if mask >> j & 1]


def check_matroid(matroid: Matroid, *, max_n: int = 12) -> None:
    """Check by brute force over all ``2**n`` subsets that ``matroid`` is a matroid and that
    its derived and incremental oracles agree.

    Checked: ``∅`` is independent; independence is hereditary; the augmentation axiom;
    ``rank(S)`` equals the size of a largest independent subset of ``S`` for every ``S``;
    the incremental ``can_add`` (on states built by ``add`` in decreasing index order) agrees
    with ``is_independent(S + j)``, and ``add`` leaves its input state unchanged;
    ``max_weight_basis`` returns a basis of maximum weight, the certificate helper
    ``_max_weight_sum`` the maximum weight of an independent set, and the (possibly
    vectorised) greedy hook ``_greedy_extension`` started from a random independent set what
    the sequential ``can_add``/``add`` greedy keeps, for a few seeded random weight vectors
    (with and without ties).

    Parameters
    ----------
    matroid : Matroid
        The matroid to check.
    max_n : int
        Refuse ground sets larger than this (the check costs ``O(2**n · n)`` oracle calls).

    Raises
    ------
    AssertionError
        Naming the violated property and the witness sets.
    InvalidInputError
        If ``matroid`` is not a :class:`Matroid` or has more than ``max_n`` elements.

    Examples
    --------
    >>> from matroidopt.matroid.uniform import UniformMatroid
    >>> from matroidopt.testing.matroids import check_matroid
    >>> check_matroid(UniformMatroid(4, 2))
    """
    if not isinstance(matroid, Matroid):
        raise InvalidInputError(f"matroid: expected a Matroid, got {type(matroid).__name__}")
    max_n = check_int(max_n, "max_n", minimum=0)
    n = matroid.n
    if n > max_n:
        raise InvalidInputError(
            f"matroid: has {n} elements, but brute force is limited to n <= max_n = {max_n}"
        )
    masks = np.arange(1 << n)
    bits = (masks[:, None] >> np.arange(n)) & 1 == 1
    size = bits.sum(1)
    indep = np.array([matroid.is_independent(_members(m, n)) for m in masks.tolist()])
    name = repr(matroid)

    if not indep[0]:
        raise AssertionError(f"{name}: the empty set must be independent")
    _check_hereditary(name, indep, n)
    best, arg = _largest_independent_subsets(indep, n)
    _check_augmentation(name, indep, best, arg, n)
    _check_rank(matroid, name, best, n)
    _check_incremental(matroid, name, indep, n)
    _check_weights(matroid, name, indep, bits, size, best[-1], n)


def _check_hereditary(name: str, indep: np.ndarray, n: int) -> None:
    masks = np.arange(indep.size)
    for j in range(n):
        has = (masks >> j & 1) == 1
        bad = np.flatnonzero(indep & has & ~indep[masks ^ (1 << j)])
        if bad.size:
            S = int(bad[0])
            raise AssertionError(
                f"{name}: hereditary axiom violated: {_members(S, n)} is independent but its "
                f"subset {_members(S ^ (1 << j), n)} is not"
            )


def _largest_independent_subsets(indep: np.ndarray, n: int) -> tuple[list[int], list[int]]:
    """best[X] = size of a largest independent subset of X, arg[X] = one such subset."""
    best = [0] * indep.size
    arg = [0] * indep.size
    for X in range(indep.size):
        if indep[X]:
            best[X], arg[X] = X.bit_count(), X
            continue
        for j in range(n):
            if X >> j & 1 and best[X ^ (1 << j)] > best[X]:
                best[X], arg[X] = best[X ^ (1 << j)], arg[X ^ (1 << j)]
    return best, arg


def _check_augmentation(name: str, indep: np.ndarray, best: list[int], arg: list[int],
                        n: int) -> None:
    # I fails augmentation iff some independent J with |J| > |I| avoids every j that
    # extends I, i.e. iff the largest independent subset of E \ ext(I) beats |I|.
    full = (1 << n) - 1
    for I in np.flatnonzero(indep).tolist():
        ext = sum(1 << j for j in range(n) if not I >> j & 1 and indep[I | 1 << j])
        X = full & ~ext
        if best[X] > I.bit_count():
            raise AssertionError(
                f"{name}: augmentation axiom violated: I={_members(I, n)} and "
                f"J={_members(arg[X], n)} are independent with |I| < |J|, but no j in J \\ I "
                f"keeps I + j independent"
            )


def _check_rank(matroid: Matroid, name: str, best: list[int], n: int) -> None:
    for X in range(len(best)):
        r = matroid.rank(_members(X, n))
        if r != best[X]:
            raise AssertionError(
                f"{name}: rank({_members(X, n)}) = {r}, but its largest independent subset "
                f"has {best[X]} elements"
            )
    if matroid.rank() != best[-1]:
        raise AssertionError(f"{name}: rank() = {matroid.rank()}, expected {best[-1]}")


def _check_incremental(matroid: Matroid, name: str, indep: np.ndarray, n: int) -> None:
    stack = [(0, matroid.init_state())]
    while stack:
        S, state = stack.pop()
        got = matroid.can_add(state).numpy()
        want = np.array([not S >> j & 1 and bool(indep[S | 1 << j]) for j in range(n)],
                        dtype=bool)
        if not np.array_equal(got, want):
            j = int(np.flatnonzero(got != want)[0])
            raise AssertionError(
                f"{name}: can_add disagrees with is_independent: state of "
                f"{list(state.selected)} (added in this order) says {bool(got[j])} for j={j}, "
                f"is_independent({sorted(_members(S, n) + [j])}) is {bool(want[j])}"
            )
        low = min(state.selected, default=n)
        for j in range(low):
            if not want[j]:
                continue
            try:
                child = matroid.add(state, j)
            except InvalidInputError as exc:
                raise AssertionError(
                    f"{name}: add({list(state.selected)}, {j}) refused although can_add "
                    f"allowed it ({exc})"
                ) from exc
            if set(child.selected) != set(state.selected) | {j}:
                raise AssertionError(
                    f"{name}: add({list(state.selected)}, {j}) selected {child.selected}"
                )
            if not np.array_equal(matroid.can_add(state).numpy(), got):
                raise AssertionError(
                    f"{name}: add mutated its input: can_add on the state of "
                    f"{list(state.selected)} changed after add(state, {j})"
                )
            stack.append((S | 1 << j, child))


def _check_weights(matroid: Matroid, name: str, indep: np.ndarray, bits: np.ndarray,
                   size: np.ndarray, rank: int, n: int) -> None:
    rng = np.random.default_rng(12345)
    trials = [rng.standard_normal(n), rng.integers(-2, 3, n).astype(float),
              rng.uniform(0.0, 1.0, n)]
    for w in trials:
        weight = bits @ w
        B = [int(j) for j in matroid.max_weight_basis(w)]
        mask = sum(1 << j for j in B)
        if len(set(B)) != len(B) or not indep[mask] or len(B) != rank:
            raise AssertionError(
                f"{name}: max_weight_basis({w.tolist()}) = {B} is not a basis (rank {rank})"
            )
        top = weight[indep & (size == rank)].max()
        if weight[mask] < top - 1e-9 * (1 + abs(top)):
            raise AssertionError(
                f"{name}: max_weight_basis({w.tolist()}) = {B} has weight {weight[mask]:.6g}, "
                f"but some basis has weight {top:.6g}"
            )
        _check_extension(matroid, name, indep, w, rng, n)
        best_pos = (bits @ np.maximum(w, 0.0))[indep].max()
        bound = matroid._max_weight_sum(torch.as_tensor(w))
        if abs(bound - best_pos) > 1e-9 * (1 + abs(best_pos)):
            raise AssertionError(
                f"{name}: _max_weight_sum({w.tolist()}) = {bound:.6g}, but the maximum "
                f"positive weight of an independent set is {best_pos:.6g}"
            )


def _check_extension(matroid: Matroid, name: str, indep: np.ndarray, w: np.ndarray,
                     rng: np.random.Generator, n: int) -> None:
    S = _members(int(rng.choice(np.flatnonzero(indep))), n)
    state = matroid.init_state()
    for j in rng.permutation(S).tolist():
        state = matroid.add(state, j)
    before = matroid.can_add(state)
    order = [j for j in np.argsort(-w, kind="stable").tolist() if j not in S]
    want, cur = [], state
    for j in order:
        if bool(matroid.can_add(cur, [j])[0]):
            cur = matroid.add(cur, j)
            want.append(j)
    got = matroid._greedy_extension(state, torch.tensor(order, dtype=torch.long)).tolist()
    if got != want:
        raise AssertionError(
            f"{name}: _greedy_extension from the state of {list(state.selected)} over the scan "
            f"order {order} kept {got}, but the sequential greedy keeps {want}"
        )
    if not torch.equal(matroid.can_add(state), before):
        raise AssertionError(f"{name}: _greedy_extension mutated the state it started from")


# --------------------------------------------------------------------------- strategies
_Draw = Callable[[st.SearchStrategy], object]


def _n(draw: _Draw, max_n: int) -> int:
    return draw(st.integers(0, max_n))


def _uniform(draw: _Draw, max_n: int) -> Matroid:
    n = _n(draw, max_n)
    return UniformMatroid(n, draw(st.integers(0, n + 1)))


def _partition(draw: _Draw, max_n: int) -> Matroid:
    n = _n(draw, max_n)
    b = draw(st.integers(1, 3))
    labels = draw(st.lists(st.integers(0, b - 1), min_size=n, max_size=n))
    caps = draw(st.lists(st.integers(0, 3), min_size=b, max_size=b))
    if draw(st.booleans()):  # string labels with a mapping
        return PartitionMatroid([f"g{x}" for x in labels], {f"g{i}": c for i, c in enumerate(caps)})
    return PartitionMatroid(labels, caps)


def _laminar_with(family: list[frozenset], s: frozenset) -> bool:
    return all(not (s & t) or s <= t or t <= s for t in family)


def _laminar(draw: _Draw, max_n: int) -> Matroid:
    n = _n(draw, max_n)
    subsets = st.frozensets(st.integers(0, n - 1)) if n else st.just(frozenset())
    family: list[frozenset] = []
    for s in draw(st.lists(subsets, max_size=5)):
        if _laminar_with(family, s):
            family.append(s)
    caps = draw(st.lists(st.integers(0, 3), min_size=len(family), max_size=len(family)))
    return LaminarMatroid(n, [sorted(s) for s in family], caps)


def _graphic(draw: _Draw, max_n: int) -> Matroid:
    n_nodes = draw(st.integers(1, 5))
    node = st.integers(0, n_nodes - 1)
    edges = draw(st.lists(st.tuples(node, node), max_size=max_n))
    G = nx.MultiGraph() if draw(st.booleans()) else nx.Graph()
    G.add_nodes_from(range(n_nodes))
    G.add_edges_from(edges)
    return GraphicMatroid(G)


def _transversal(draw: _Draw, max_n: int) -> Matroid:
    n = _n(draw, max_n)
    m = draw(st.integers(0, 4))
    nbrs = st.frozensets(st.integers(0, m - 1)) if m else st.just(frozenset())
    adj = draw(st.lists(nbrs, min_size=n, max_size=n))
    G = nx.Graph()
    G.add_nodes_from((("l", i) for i in range(n)), bipartite=0)
    G.add_nodes_from((("r", k) for k in range(m)), bipartite=1)
    G.add_edges_from((("l", i), ("r", k)) for i, ks in enumerate(adj) for k in ks)
    if draw(st.booleans()):  # explicit ground, in another order
        return TransversalMatroid(G, ground=[("l", i) for i in reversed(range(n))])
    return TransversalMatroid(G)


def _linear(draw: _Draw, max_n: int) -> Matroid:
    d = draw(st.integers(1, 4))
    n = _n(draw, max_n)
    A = np.zeros((d, n), dtype=np.int64)
    for c in range(n):
        mode = draw(st.sampled_from(["random", "zero", "combination"] if c else ["random"]))
        if mode == "random":
            A[:, c] = draw(st.lists(st.integers(-2, 2), min_size=d, max_size=d))
        elif mode == "combination":  # a dependent column
            i, j = draw(st.integers(0, c - 1)), draw(st.integers(0, c - 1))
            a, b = draw(st.integers(-1, 1)), draw(st.integers(-1, 1))
            A[:, c] = a * A[:, i] + b * A[:, j]
    matrix = torch.as_tensor(A, dtype=torch.float64) if draw(st.booleans()) else A
    return LinearMatroid(matrix)


_BASE: dict[str, Callable[[_Draw, int], Matroid]] = {
    "uniform": _uniform, "partition": _partition, "laminar": _laminar, "graphic": _graphic,
    "transversal": _transversal, "linear": _linear,
}


def _base(draw: _Draw, max_n: int) -> Matroid:
    return _BASE[draw(st.sampled_from(sorted(_BASE)))](draw, max_n)


def _truncation(draw: _Draw, max_n: int) -> Matroid:
    M = _base(draw, max_n)
    return truncate(M, draw(st.integers(0, M.n + 1)))


def _restriction(draw: _Draw, max_n: int) -> Matroid:
    M = _base(draw, max_n)
    order = draw(st.permutations(list(range(M.n))))
    return restrict(M, order[: draw(st.integers(M.n // 2, M.n))])


def _contraction(draw: _Draw, max_n: int) -> Matroid:
    M = _base(draw, max_n)
    S = draw(st.frozensets(st.integers(0, M.n - 1), max_size=M.n // 2)) if M.n else frozenset()
    return contract(M, sorted(S))


def _direct_sum(draw: _Draw, max_n: int) -> Matroid:
    k = draw(st.integers(1, 3))
    return direct_sum(*(_base(draw, max_n // k) for _ in range(k)))


_BUILDERS: dict[str, Callable[[_Draw, int], Matroid]] = {
    **_BASE, "truncation": _truncation, "restriction": _restriction,
    "contraction": _contraction, "direct_sum": _direct_sum,
}


def matroid_kinds() -> list[str]:
    """The kind names :func:`matroids` can produce (and its ``kinds`` filter accepts)."""
    return list(_BUILDERS)


@st.composite
def _matroids(draw: _Draw, max_n: int, kinds: tuple[str, ...]) -> Matroid:
    return _BUILDERS[draw(st.sampled_from(kinds))](draw, max_n)


def matroids(max_n: int = 8, kinds: Iterable[str] | None = None) -> st.SearchStrategy[Matroid]:
    """A hypothesis strategy for random small matroids of every kind.

    Kinds (see :func:`matroid_kinds`): uniform, partition (int or string labels), laminar,
    graphic (random multigraphs with loops and parallel edges), transversal, linear (small
    integer matrices, so the rank is exact, with zero and dependent columns), and truncation,
    restriction, contraction and direct sum of random base matroids.

    Parameters
    ----------
    max_n : int
        Largest ground set (>= 0).
    kinds : iterable of str, optional
        Only these kinds (default: all).

    Examples
    --------
    >>> from hypothesis import given
    >>> from matroidopt.testing.matroids import check_matroid, matroids
    >>> @given(matroids(max_n=4, kinds=["graphic", "linear"]))
    ... def test_axioms(m):
    ...     check_matroid(m)
    >>> test_axioms()
    """
    max_n = check_int(max_n, "max_n", minimum=0)
    if kinds is None:
        chosen = tuple(_BUILDERS)
    else:
        chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        unknown = [k for k in chosen if k not in _BUILDERS]
        if unknown or not chosen:
            raise InvalidInputError(
                f"kinds: expected a non-empty subset of {matroid_kinds()}, got {list(chosen)}"
            )
    return _matroids(max_n, chosen)
