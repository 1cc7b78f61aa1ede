"""Testing helpers for utilities: property checkers and hypothesis strategies.

* :func:`check_submodular` — diminishing returns (and monotonicity), exhaustively on small
  ground sets, by sampling on large ones, for a :class:`~matroidopt.utility.base.Utility` or a
  plain Python set function;
* :func:`check_oracle` — the incremental oracle (``gains`` / ``add`` / ``value``) agrees with
  ``evaluate``;
* :func:`utilities` — a hypothesis strategy of random small instances of every family and
  combinator; :func:`utility_families` lists the family names.

The strategies need ``hypothesis`` (a test dependency); the checkers need only numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np
import scipy.sparse as sp
import torch

from ..errors import InvalidInputError
from ..utility import information
from ..utility.base import Utility
from ..utility.clustered import ClusteredUtility
from ..utility.combinators import (
    ConditionedUtility,
    RestrictedUtility,
    TruncatedUtility,
    WeightedSum,
)
from ..utility.coverage import WeightedCoverage
from ..utility.dispersion import DisparityMin, DisparitySum
from ..utility.facility_location import FacilityLocation
from ..utility.feature_based import FeatureBased
from ..utility.graph_cut import GraphCut
from ..utility.log_determinant import LogDeterminant
from ..utility.modular import Modular
from ..utility.mutual_information import MutualInformation
from ..utility.probabilistic_coverage import ProbabilisticCoverage
from ..utility.saturated_coverage import SaturatedCoverage
from ..utility.sum_redundancy import SumRedundancy

try:  # hypothesis is a test dependency: only the strategies need it
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - exercised only without hypothesis
    st = None

__all__ = ["check_submodular", "check_oracle", "utilities", "utility_families"]

SetFunction = Callable[[list], float]

# ====================================================================== checkers


def _set_function(f, n: int | None) -> tuple[SetFunction, int, float, bool]:
    """``(fn(sorted list) -> float, n, rounding floor of the tolerance, declared monotone)``."""
    if isinstance(f, Utility):
        if n is not None and int(n) != f.n:
            raise InvalidInputError(f"n: expected the utility's ground-set size {f.n}, got {n}")
        floor = 64 * torch.finfo(f.dtype).eps
        return (lambda S: float(f.evaluate(S))), f.n, floor, f.monotone
    if not callable(f):
        raise InvalidInputError(f"f: expected a Utility or a callable of a list, got {f!r}")
    if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InvalidInputError(f"n: expected the ground-set size (an integer >= 0) for a "
                                f"callable f, got {n!r}")
    return (lambda S: float(f(list(S)))), int(n), 0.0, False


def _members(mask: int, n: int) -> list[int]:
    return [i for i in range(n) if mask >> i & 1]


def _close_floor(*values) -> np.ndarray:
    """The scale of the tolerance: ``max(1, |v|)`` over the values compared."""
    return np.maximum.reduce([np.ones_like(np.asarray(values[0], dtype=float))]
                             + [np.abs(np.asarray(v, dtype=float)) for v in values])


def check_submodular(
    f: Utility | SetFunction,
    n: int | None = None,
    *,
    monotone: bool | None = None,
    exhaustive_max_n: int = 10,
    samples: int = 2000,
    seed: int = 0,
    tol: float = 1e-9,
) -> None:
    """Check diminishing returns (and optionally monotonicity) of a set function.

    Submodularity, ``f(S + j) - f(S) >= f(T + j) - f(T)`` for all ``S ⊆ T``, ``j ∉ T``, is
    checked through the equivalent local condition
    ``f(S + i) + f(S + j) >= f(S + i + j) + f(S)`` for every ``S`` and ``i ≠ j ∉ S``:
    exhaustively (``2^n`` evaluations) when ``n <= exhaustive_max_n``, else on ``samples``
    random triples ``S ⊆ T``, ``j ∉ T``. Values are computed from scratch with ``evaluate``.

    Parameters
    ----------
    f : Utility or callable
        A utility, or a plain function of a sorted list of indices returning a float.
    n : int, optional
        The ground-set size; required for a callable.
    monotone : bool, optional
        Also check ``f(S + j) >= f(S)``. Default: the utility's declared ``monotone``, and
        ``False`` for a callable.
    exhaustive_max_n, samples, seed
        Exhaustive up to this size; otherwise this many random checks from this seed.
    tol : float
        Slack, relative to ``max(1, |values compared|)``; never finer than 64 rounding units
        of the utility's dtype.

    Raises
    ------
    AssertionError
        On a violation; the message names the witness sets and their values.

    Examples
    --------
    >>> from matroidopt.testing.utilities import check_submodular
    >>> check_submodular(lambda S: len({i % 3 for i in S}), 6, monotone=True)
    >>> check_submodular(lambda S: len(S) ** 2, 4)
    Traceback (most recent call last):
        ...
    AssertionError: not submodular: S=[], T=S+{0}=[0], j=1: f(S+j)-f(S)=1 < f(T+j)-f(T)=3 ...
    """
    fn, n, floor, declared = _set_function(f, n)
    check_monotone = declared if monotone is None else bool(monotone)
    tol = max(float(tol), floor)
    if n <= exhaustive_max_n:
        vals = np.array([fn(_members(mask, n)) for mask in range(1 << n)], dtype=float)
        _exhaustive_submodular(vals, n, tol)
        if check_monotone:
            _exhaustive_monotone(vals, n, tol)
    else:
        _sampled(fn, n, check_monotone, samples, seed, tol)


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _submodular_message(S, i, j, fS, fSi, fSj, fSij) -> str:
    T = sorted([*S, i])
    return (f"not submodular: S={sorted(S)}, T=S+{{{i}}}={T}, j={j}: "
            f"f(S+j)-f(S)={_fmt(fSj - fS)} < f(T+j)-f(T)={_fmt(fSij - fSi)} "
            f"(f(S)={_fmt(fS)}, f(S+j)={_fmt(fSj)}, f(T)={_fmt(fSi)}, f(T+j)={_fmt(fSij)})")


def _exhaustive_submodular(vals: np.ndarray, n: int, tol: float) -> None:
    masks = np.arange(1 << n)
    for i, j in combinations(range(n), 2):
        bi, bj = 1 << i, 1 << j
        S = masks[(masks & (bi | bj)) == 0]
        a, b, c, d = vals[S], vals[S | bi], vals[S | bj], vals[S | bi | bj]
        bad = b + c < a + d - tol * _close_floor(a, b, c, d)
        if bad.any():
            k = int(np.argmax(bad))
            raise AssertionError(_submodular_message(
                _members(int(S[k]), n), i, j, a[k], b[k], c[k], d[k]))


def _exhaustive_monotone(vals: np.ndarray, n: int, tol: float) -> None:
    masks = np.arange(1 << n)
    for j in range(n):
        S = masks[(masks >> j & 1) == 0]
        a, b = vals[S], vals[S | 1 << j]
        bad = b < a - tol * _close_floor(a, b)
        if bad.any():
            k = int(np.argmax(bad))
            raise AssertionError(f"not monotone: S={_members(int(S[k]), n)}, j={j}: "
                                 f"f(S+j)={_fmt(b[k])} < f(S)={_fmt(a[k])}")


def _sampled(fn: SetFunction, n: int, check_monotone: bool, samples: int, seed: int,
             tol: float) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(int(samples)):
        inT = rng.random(n) < rng.random()
        outside = np.flatnonzero(~inT)
        if outside.size == 0:
            inT[rng.integers(n)] = False
            outside = np.flatnonzero(~inT)
        j = int(rng.choice(outside))
        T = np.flatnonzero(inT)
        S = T[rng.random(T.size) < rng.random()]
        S, T = sorted(S.tolist()), sorted(T.tolist())
        fS, fSj, fT, fTj = fn(S), fn(sorted([*S, j])), fn(T), fn(sorted([*T, j]))
        scale = _close_floor(fS, fSj, fT, fTj)
        if fSj - fS < fTj - fT - tol * scale:
            raise AssertionError(
                f"not submodular: S={S}, T={T}, j={j}: f(S+j)-f(S)={_fmt(fSj - fS)} < "
                f"f(T+j)-f(T)={_fmt(fTj - fT)} (f(S)={_fmt(fS)}, f(S+j)={_fmt(fSj)}, "
                f"f(T)={_fmt(fT)}, f(T+j)={_fmt(fTj)})")
        if check_monotone:
            for A, fA, fAj in ((S, fS, fSj), (T, fT, fTj)):
                if fAj < fA - tol * scale:
                    raise AssertionError(f"not monotone: S={A}, j={j}: f(S+j)={_fmt(fAj)} < "
                                         f"f(S)={_fmt(fA)}")


def check_oracle(f: Utility, *, seed: int = 0, trials: int = 20, tol: float = 1e-9) -> None:
    """Check that the incremental oracle agrees with ``evaluate`` on random sequences.

    For ``trials`` random insertion orders it checks, at every prefix ``S``: ``value`` equals
    ``evaluate(S)``; ``gains(S)[j]`` equals ``evaluate(S + j) - evaluate(S)`` (every ``j`` for
    ``n <= 16``, else 16 random ones); selected elements have gain 0; ``gains`` of a subset
    of candidates equals the matching entries of ``gains`` of all; and ``add`` leaves the old
    state unchanged (states are values).

    Parameters
    ----------
    f : Utility
    seed, trials
        Random orders drawn from ``numpy.random.default_rng(seed)``.
    tol : float
        Slack, relative to ``max(1, |values compared|)``; never finer than 64 rounding units
        of the utility's dtype.

    Raises
    ------
    AssertionError
        On a disagreement; the message names the set, the element and both values.

    Examples
    --------
    >>> from matroidopt.testing.utilities import check_oracle
    >>> from matroidopt.utility.coverage import WeightedCoverage
    >>> check_oracle(WeightedCoverage([[1, 0, 1], [1, 1, 0], [0, 0, 1]]))
    """
    if not isinstance(f, Utility):
        raise InvalidInputError(f"f: expected a matroidopt Utility, got {type(f).__name__}")
    tol = max(float(tol), 64 * torch.finfo(f.dtype).eps)
    rng = np.random.default_rng(seed)
    n = f.n
    ev: dict[tuple[int, ...], float] = {}

    def evaluate(S) -> float:
        key = tuple(sorted(S))
        if key not in ev:
            ev[key] = float(f.evaluate(list(key)))
        return ev[key]

    def close(a: float, b: float, *scale: float) -> bool:
        return abs(a - b) <= tol * float(_close_floor(a, b, *scale))

    def gains_np(state, cand=None) -> np.ndarray:
        return f.gains(state, cand).detach().cpu().double().numpy()

    for _ in range(int(trials)):
        order = rng.permutation(n).tolist()
        length = int(rng.integers(0, n + 1))
        state = f.init_state()
        for t in range(length + 1):
            S = order[:t]
            fS, vS = evaluate(S), f.value(state)
            if not close(vS, fS):
                raise AssertionError(f"value(state)={_fmt(vS)} != evaluate(S)={_fmt(fS)} "
                                     f"for S={S} (added in this order)")
            if t == length:
                break
            g = gains_np(state)
            if S and np.abs(g[S]).max() > 0:
                raise AssertionError(f"gains of selected elements must be 0, got {g[S]} "
                                     f"for S={S}")
            rest = [c for c in range(n) if c not in S]
            check = rest if len(rest) <= 16 else rng.choice(rest, 16, replace=False).tolist()
            for c in check:
                want = evaluate([*S, c]) - fS
                if not close(g[c], want, fS, fS + want):
                    raise AssertionError(f"gains(S)[{c}]={_fmt(g[c])} != evaluate(S+{c}) - "
                                         f"evaluate(S)={_fmt(want)} for S={S}")
            sub = rng.permutation(n)[: int(rng.integers(1, n + 1))].tolist()
            g_sub = gains_np(state, sub)
            gscale = tol * max(1.0, float(np.abs(g).max()))
            if not np.allclose(g_sub, g[sub], rtol=0.0, atol=gscale):
                raise AssertionError(f"gains(S, {sub})={g_sub} differ from gains(S)[{sub}]="
                                     f"{g[sub]} for S={S}")
            j = order[t]
            new = f.add(state, j)
            if not close(f.value(state), vS) or not np.allclose(gains_np(state), g, rtol=0.0,
                                                                atol=gscale):
                raise AssertionError(f"add(state, {j}) changed the old state (S={S}): states "
                                     f"must be values")
            step = f.value(new) - vS
            if not close(step, g[j], vS, vS + step):
                raise AssertionError(f"value(add(S, {j})) - value(S)={_fmt(step)} != "
                                     f"gains(S)[{j}]={_fmt(g[j])} for S={S}")
            state = new


# ====================================================================== strategies

_BASE = ("modular", "facility_location", "weighted_coverage", "probabilistic_coverage",
         "graph_cut", "log_determinant", "feature_based", "saturated_coverage",
         "sum_redundancy", "information", "disparity_sum", "disparity_min")
_COMBINATORS = ("weighted_sum", "truncated", "conditioned", "restricted",
                "mutual_information", "clustered")

# (declared monotone, declared submodular) pairs each family can produce
_MS = {(True, True)}
_KINDS: dict[str, set[tuple[bool, bool]]] = {
    "modular": {(True, True), (False, True)},
    "facility_location": _MS,
    "weighted_coverage": _MS,
    "probabilistic_coverage": _MS,
    "graph_cut": {(True, True), (False, True)},
    "log_determinant": _MS,
    "feature_based": _MS,
    "saturated_coverage": _MS,
    "sum_redundancy": {(False, True)},
    "information": {(True, True), (False, True)},
    "disparity_sum": {(True, False)},
    "disparity_min": {(False, False)},
    "weighted_sum": {(True, True), (False, True), (False, False)},
    "truncated": {(True, True), (False, False)},
    "conditioned": {(True, True), (False, True)},
    "restricted": {(True, True), (False, True)},
    "mutual_information": {(True, False)},
    "clustered": {(True, True), (False, True)},
}


def utility_families() -> list[str]:
    """The family names :func:`utilities` draws from (base families, then combinators).

    Examples
    --------
    >>> from matroidopt.testing.utilities import utility_families
    >>> utility_families()[:3]
    ['modular', 'facility_location', 'weighted_coverage']
    """
    return [*_BASE, *_COMBINATORS]


def _rbf(X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    Y = X if Y is None else Y
    d2 = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / X.shape[1])


def _modular(rng, n, kind):
    if kind[0]:
        return Modular(rng.uniform(0.0, 5.0, n))
    w = rng.normal(0.0, 3.0, n)
    w[rng.integers(n)] = -rng.uniform(0.1, 3.0)
    return Modular(w)


def _facility_location(rng, n, kind):
    d = int(rng.integers(1, 5))
    X = rng.normal(size=(n, d))
    mode = rng.choice(["dense", "sparse", "features"])
    if mode == "features":
        return FacilityLocation.from_features(
            X, metric=str(rng.choice(["cosine", "rbf", "euclidean", "dot"])))
    m = n if rng.random() < 0.5 else int(rng.integers(1, n + 4))
    K = _rbf(rng.normal(size=(m, d)), X) if m != n else _rbf(X)
    if mode == "sparse":
        K[K < np.quantile(K, 0.5)] = 0.0
        return FacilityLocation(sp.csr_matrix(K))
    return FacilityLocation(K)


def _weighted_coverage(rng, n, kind):
    m = int(rng.integers(1, 2 * n + 2))
    inc = rng.random((n, m)) < rng.uniform(0.2, 0.6)
    w = None if rng.random() < 0.3 else rng.uniform(0.5, 3.0, m)
    return WeightedCoverage(sp.csr_matrix(inc) if rng.random() < 0.4 else inc, w)


def _probabilistic_coverage(rng, n, kind):
    m = int(rng.integers(1, 2 * n + 2))
    P = rng.random((n, m)) * (rng.random((n, m)) < 0.6)
    w = None if rng.random() < 0.3 else rng.uniform(0.5, 3.0, m)
    return ProbabilisticCoverage(P, w)


def _graph_cut(rng, n, kind):
    W = _rbf(rng.normal(size=(n, int(rng.integers(1, 4)))))
    if kind[0]:
        return GraphCut(W, lam=rng.uniform(0.0, 0.5))
    if n == 1:  # f({0}) = W_00 (1 - lam) < 0 needs lam > 1
        return GraphCut(W, lam=rng.uniform(1.1, 2.0))
    np.fill_diagonal(W, 0.0)
    return GraphCut(W, lam=rng.uniform(0.6, 1.0))


def _sum_redundancy(rng, n, kind):
    return SumRedundancy(_rbf(rng.normal(size=(n, int(rng.integers(1, 4))))))


def _log_determinant(rng, n, kind):
    d = int(rng.integers(1, n + 3))
    X = rng.normal(size=(n, d))
    return LogDeterminant(X @ X.T / d + 0.01 * np.eye(n), scale=rng.uniform(0.5, 2.0))


def _feature_based(rng, n, kind):
    m = int(rng.integers(1, 2 * n + 2))
    F = rng.uniform(0.0, 3.0, (n, m)) * (rng.random((n, m)) < 0.6)
    w = None if rng.random() < 0.3 else rng.uniform(0.5, 2.0, m)
    concave = str(rng.choice(["sqrt", "log", "inverse", "power"]))
    power = rng.uniform(0.2, 1.0) if concave == "power" else None
    return FeatureBased(F, w, concave, power=power)


def _saturated_coverage(rng, n, kind):
    d = int(rng.integers(1, 4))
    X = rng.normal(size=(n, d))
    K = _rbf(X) if rng.random() < 0.5 else _rbf(rng.normal(size=(int(rng.integers(1, n + 4)),
                                                                   d)), X)
    return SaturatedCoverage(K, alpha=rng.uniform(0.05, 1.0))


def _information(rng, n, kind):
    """One of the closed-form information measures of :mod:`..utility.information`, over
    random points ``V`` (the ground set), queries and private points."""
    d = int(rng.integers(1, 4))
    V = rng.normal(size=(n, d))
    Qp, Pp = (rng.normal(size=(int(rng.integers(1, 4)), d)) for _ in range(2))
    K, KQ, KP = _rbf(V), _rbf(V, Qp), _rbf(V, Pp)
    eta, nu = rng.uniform(0.3, 2.0), rng.uniform(0.3, 2.0)
    if not kind[0]:
        if rng.random() < 0.5:
            return information.graph_cut_conditional_gain(K, KP, lam=rng.uniform(0.6, 1.0),
                                                          nu=nu)
        X = rng.normal(size=(n + len(Pp), d + 2))
        L = X @ X.T / (d + 2)
        return information.log_determinant_conditional_gain(
            L[:n, :n], L[:n, n:], L[n:, n:], lam=rng.uniform(0.2, 0.8), nu=1.0)
    m = int(rng.integers(2, 2 * n + 3))
    inc = rng.random((n, m)) < 0.4
    probs = rng.random((n, m)) * (rng.random((n, m)) < 0.6)
    query = rng.permutation(m)[:int(rng.integers(1, m + 1))].tolist()
    private = rng.permutation(m)[:int(rng.integers(0, m))].tolist()
    w = None if rng.random() < 0.3 else rng.uniform(0.5, 3.0, m)
    choice = int(rng.integers(0, 11))
    build = [
        lambda: information.facility_location_mutual_information(K, KQ, eta=eta),
        lambda: information.facility_location_variant_mutual_information(KQ, eta=eta),
        lambda: information.facility_location_conditional_gain(
            sp.csr_matrix(K * (K > 0.3)) if rng.random() < 0.5 else K, KP, nu=nu),
        lambda: information.facility_location_conditional_mutual_information(
            K, KQ, KP, eta=eta, nu=nu),
        lambda: information.set_cover_mutual_information(inc, query, w),
        lambda: information.set_cover_conditional_gain(sp.csr_matrix(inc), private, w),
        lambda: information.set_cover_conditional_mutual_information(inc, query, private, w),
        lambda: information.probabilistic_coverage_mutual_information(probs, query, w),
        lambda: information.probabilistic_coverage_conditional_gain(probs, private, w),
        lambda: information.probabilistic_coverage_conditional_mutual_information(
            probs, query, private, w),
        lambda: information.concave_over_modular(
            KQ, eta=eta, concave=str(rng.choice(["log", "sqrt", "inverse"]))),
    ]
    return build[choice]()


def _dispersion(cls):
    def build(rng, n, kind):
        X = rng.normal(size=(n, int(rng.integers(1, 4))))
        how = rng.random()
        if how < 0.4:
            return cls.from_features(X, metric="euclidean")
        if how < 0.7:   # 1 - rbf similarity: the metric check decides
            return cls(kernel=_rbf(X))
        D = rng.uniform(0.0, 2.0, (n, n))
        return cls(distances=(D + D.T) / 2)
    return build


def _base(rng, n, kind):
    names = [f for f in _BASE if kind in _KINDS[f]]
    return _BUILDERS[str(rng.choice(names))](rng, n, kind)


def _weighted_sum(rng, n, kind):
    parts = [_base(rng, n, (True, True)) for _ in range(int(rng.integers(1, 3)))]
    weights = list(rng.uniform(0.2, 2.0, len(parts)))
    if kind == (False, True):
        if rng.random() < 0.5:  # f - λ·cost
            parts.append(Modular(rng.uniform(0.1, 1.0, n)))
            weights.append(-rng.uniform(0.2, 1.0))
        else:
            parts.append(_base(rng, n, (False, True)))
            weights.append(rng.uniform(0.2, 2.0))
    elif kind == (False, False):
        names = [f for f in _BASE if f != "modular" and (True, True) in _KINDS[f]]
        parts.append(_BUILDERS[str(rng.choice(names))](rng, n, (True, True)))
        weights.append(-rng.uniform(0.2, 1.0))
    return WeightedSum(parts, weights)


def _truncated(rng, n, kind):
    f = _base(rng, n, (True, True) if kind[0] else (False, True))
    top = max(f.evaluate(range(n)), 1.0)
    return TruncatedUtility(f, cap=rng.uniform(0.2, 1.0) * top)


def _conditioned(rng, n, kind):
    f = _base(rng, n, kind)
    given = rng.permutation(n)[: int(rng.integers(0, n // 2 + 1))]
    return ConditionedUtility(f, given.tolist())


def _restricted(rng, n, kind):
    N = n + int(rng.integers(0, 4))
    f = _base(rng, N, kind)
    return RestrictedUtility(f, rng.permutation(N)[:n].tolist())


def _mutual_information(rng, n, kind):
    q, p = int(rng.integers(1, 3)), int(rng.integers(0, 2))
    f = _base(rng, n + q + p, (True, True))
    order = rng.permutation(n + q + p).tolist()
    return MutualInformation(f, query=order[:q], private=order[q:q + p])


def _clustered(rng, n, kind):
    c = int(rng.integers(1, min(n, 3) + 1))
    labels = np.concatenate([np.arange(c), rng.integers(0, c, n - c)])
    rng.shuffle(labels)
    # one part of the drawn kind (the sum is non-monotone when one part is), the rest monotone
    odd = int(rng.integers(c))
    return ClusteredUtility.from_labels(labels, lambda idx: _base(
        rng, idx.size, kind if int(labels[idx[0]]) == odd else (True, True)))


_BUILDERS: dict[str, Callable[[np.random.Generator, int, tuple[bool, bool]], Utility]] = {
    "modular": _modular,
    "facility_location": _facility_location,
    "weighted_coverage": _weighted_coverage,
    "probabilistic_coverage": _probabilistic_coverage,
    "graph_cut": _graph_cut,
    "log_determinant": _log_determinant,
    "feature_based": _feature_based,
    "saturated_coverage": _saturated_coverage,
    "sum_redundancy": _sum_redundancy,
    "information": _information,
    "disparity_sum": _dispersion(DisparitySum),
    "disparity_min": _dispersion(DisparityMin),
    "weighted_sum": _weighted_sum,
    "truncated": _truncated,
    "conditioned": _conditioned,
    "restricted": _restricted,
    "mutual_information": _mutual_information,
    "clustered": _clustered,
}


def _kinds(family: str, monotone: bool | None, submodular: bool | None) -> list:
    return sorted(k for k in _KINDS[family]
                  if (monotone is None or k[0] == monotone)
                  and (submodular is None or k[1] == submodular))


def _draw_utility(draw, n, families, monotone, submodular) -> Utility:
    if not isinstance(n, int):
        n = draw(n)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidInputError(f"n: the strategy drew {n!r}, expected an integer >= 1")
    family = draw(st.sampled_from(families))
    kind = draw(st.sampled_from(_kinds(family, monotone, submodular)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    f = _BUILDERS[family](rng, n, kind)
    assume((f.monotone, f.submodular) == kind)
    return f


def utilities(
    n,
    families: Sequence[str] | None = None,
    monotone: bool | None = None,
    submodular: bool | None = None,
):
    """A hypothesis strategy of random small utilities on the ground set ``range(n)``.

    Every family is covered: modular, facility location (dense, ``scipy.sparse`` and
    ``from_features``), weighted coverage (dense and sparse), probabilistic coverage, graph cut,
    log-determinant, feature-based, saturated coverage, sum redundancy, and the combinators
    (weighted sum, truncation, conditioning, restriction) over them. Instances are well
    conditioned, with values of order 1 to 100; the random data come from a
    ``numpy.random.default_rng`` seeded by hypothesis, so examples are cheap and shrink to a
    seed.

    Parameters
    ----------
    n : int or strategy of int
        Ground-set size (``>= 1``).
    families : sequence of str, optional
        Keep only these (names from :func:`utility_families`).
    monotone, submodular : bool, optional
        Keep only instances whose declared ``monotone`` / ``submodular`` is this value.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from matroidopt.testing.utilities import check_submodular, utilities
    >>> @settings(max_examples=5, derandomize=True, deadline=None)
    ... @given(utilities(5, monotone=True))
    ... def test_diminishing_returns(f):
    ...     check_submodular(f)
    >>> test_diminishing_returns()
    """
    if st is None:  # pragma: no cover
        raise ImportError("matroidopt.testing.utilities.utilities needs hypothesis "
                          "(pip install hypothesis)")
    if isinstance(n, bool) or (not isinstance(n, st.SearchStrategy) and (
            not isinstance(n, (int, np.integer)) or n < 1)):
        raise InvalidInputError(f"n: expected an integer >= 1 or a strategy of them, got {n!r}")
    if not isinstance(n, st.SearchStrategy):
        n = int(n)
    names = utility_families() if families is None else list(families)
    unknown = [f for f in names if f not in _KINDS]
    if unknown or not names:
        raise InvalidInputError(f"families: expected names from {utility_families()}, got "
                                f"{unknown or names}")
    keep = tuple(f for f in names if _kinds(f, monotone, submodular))
    if not keep:
        raise InvalidInputError(f"families, monotone, submodular: no family in {names} makes "
                                f"instances with monotone={monotone}, submodular={submodular}")
    return st.composite(_draw_utility)(n, keep, monotone, submodular)
