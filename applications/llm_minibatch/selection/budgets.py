"""Per-domain budget rules: how many of the ``b`` minibatch slots each domain of a pool gets.

The quotas ``k_d`` define the partition matroid of PartitionSel (at most ``k_d`` selected
examples of domain ``d``; see ``PARTITIONSEL.md`` step 1). They are recomputed for every pool.
Every rule returns a dict ``{domain: k_d}`` over the domains *present* in the pool (count
``n_d >= 1``), in the deterministic domain order below, with the invariants

* ``sum(k_d) == b`` and
* ``0 <= k_d <= n_d``.

Rules
-----
``proportional`` (default)
    ``k_d = floor(b·n_d/N)``, then the ``b - Σ k_d`` leftover units one each, in the order of
    (``k_d`` ascending, domain id ascending) fixed once before handing out.
``uniform``
    ``b`` split as evenly as possible (water-filling under the caps ``n_d``).
``mixture``
    Like ``proportional`` with target proportions instead of pool proportions.
``explicit``
    Caller-given quotas, checked.

Any rule can be combined with ``keep_all``: the listed domains keep every pool example
(``k_d = n_d``) and the rule shares the rest of the budget among the other domains.

Domain order
------------
The fixed order of :mod:`llm_minibatch.selection.domains` (sorted by value, mixed types by
type name first); ``domains`` may be a :class:`~llm_minibatch.selection.domains.PoolDomains`
built once for the step.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .domains import PoolDomains, check_label, domain_order

__all__ = ["RULES", "compute_quotas", "explicit", "mixture", "proportional", "uniform"]

RULES = ("proportional", "uniform", "mixture", "explicit")


# --------------------------------------------------------------------------- helpers
def _check_counts(counts: Any) -> dict:
    """``counts`` as a dict over present domains (count >= 1), in domain order."""
    if not isinstance(counts, Mapping):
        raise InvalidInputError(
            f"counts: expected a mapping domain -> pool count, got {type(counts).__name__}"
        )
    out = {}
    for d, n_d in counts.items():
        d = check_label(d, "counts")
        n_d = check_int(n_d, "counts", minimum=0)
        if d in out:
            raise InvalidInputError(f"counts: domain {d!r} appears twice")
        if n_d > 0:
            out[d] = n_d
    return {d: out[d] for d in domain_order(out)}


def _check_b(b: Any, N: int) -> int:
    b = check_int(b, "b", minimum=0)
    if b > N:
        raise InvalidInputError(f"b: expected an integer in [0, N={N}] (the pool size), got {b}")
    return b


def _rank(domains: Sequence[Hashable]) -> dict:
    return {d: i for i, d in enumerate(domain_order(domains))}


def _hand_out(k: dict, counts: dict, leftover: int, order: list) -> dict:
    """Give ``leftover`` units one each to the domains of ``order`` (fixed, not re-sorted),
    skipping domains already at their cap ``counts[d]``, round-robin until none is left."""
    k = dict(k)
    while leftover > 0:
        progressed = False
        for d in order:
            if leftover == 0:
                break
            if k[d] < counts[d]:
                k[d] += 1
                leftover -= 1
                progressed = True
        if not progressed:  # unreachable for b <= N: the caps sum to N
            raise InvalidInputError(
                f"b: {leftover} budget units cannot be placed; every domain is at its pool count"
            )
    return k


def _leftover_order(k: dict, rank: dict, first: Iterable[Hashable] | None = None) -> list:
    """Domains by (k_d ascending, domain id ascending); ``first`` (if given) restricts the
    head of the order to those domains, the others follow in the same order."""
    ds = sorted(k, key=lambda d: (k[d], rank[d]))
    if first is None:
        return ds
    first = set(first)
    return [d for d in ds if d in first] + [d for d in ds if d not in first]


# --------------------------------------------------------------------------- rules
def proportional(counts: Mapping[Hashable, int], b: int) -> dict:
    """Quotas proportional to the pool counts (PARTITIONSEL.md step 1).

    ``k_d = floor(b·n_d/N)`` for every present domain (``N = Σ n_d``); then the domains are
    ordered once by (``k_d`` ascending, domain id ascending) and the ``b - Σ k_d`` leftover
    units go one each to the first domains of that order (never above ``n_d``: a domain at its
    count is skipped; the order is walked round-robin while units remain). The order is not
    re-sorted while units are handed out. For ``b < N`` no floor reaches ``n_d`` and fewer
    than ``D`` (number of domains) units are left over, so each domain gets at most one.

    Example: floors ``[0, 1, 1]`` with 2 leftover units become ``[1, 2, 1]`` (the order is
    domain 0 (k=0), domain 1 (k=1, smaller id), domain 2).

    Parameters
    ----------
    counts : mapping domain -> int
        Pool count ``n_d`` of each domain (domains with count 0 are ignored).
    b : int
        Budget, ``0 <= b <= N``.

    Returns
    -------
    dict
        ``{domain: k_d}`` over the present domains, in domain order.

    Examples
    --------
    >>> from llm_minibatch.selection.budgets import proportional
    >>> proportional({0: 1, 1: 2, 2: 2}, 4)   # floors [0, 1, 1], 2 leftover units
    {0: 1, 1: 2, 2: 1}
    >>> proportional({"math": 190, "code": 45, "chem": 21}, 32)   # floors 23, 5, 2
    {'chem': 3, 'code': 6, 'math': 23}
    """
    counts = _check_counts(counts)
    N = sum(counts.values())
    b = _check_b(b, N)
    if not counts:
        return {}
    k = {d: (b * n_d) // N for d, n_d in counts.items()}
    leftover = b - sum(k.values())
    return _hand_out(k, counts, leftover, _leftover_order(k, _rank(list(counts))))


def uniform(counts: Mapping[Hashable, int], b: int) -> dict:
    """Quotas as equal as possible over the present domains, capped at the pool counts.

    Water-filling: ``k_d = min(n_d, t)`` for the largest level ``t`` with ``Σ min(n_d, t) <= b``;
    the remaining units (fewer than the number of domains with ``n_d > t``) go one each to the
    uncapped domains in the order (``k_d`` ascending, domain id ascending) — the same leftover
    rule as :func:`proportional`.

    Examples
    --------
    >>> from llm_minibatch.selection.budgets import uniform
    >>> uniform({"a": 10, "b": 10, "c": 10}, 8)
    {'a': 3, 'b': 3, 'c': 2}
    >>> uniform({"a": 1, "b": 10, "c": 10}, 8)   # a is capped, its share is redistributed
    {'a': 1, 'b': 4, 'c': 3}
    """
    counts = _check_counts(counts)
    N = sum(counts.values())
    b = _check_b(b, N)
    if not counts:
        return {}
    # largest level t with sum(min(n_d, t)) <= b (binary search over [0, max n_d])
    lo, hi = 0, max(counts.values())
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in counts.values()) <= b:
            lo = mid
        else:
            hi = mid - 1
    k = {d: min(n_d, lo) for d, n_d in counts.items()}
    leftover = b - sum(k.values())
    return _hand_out(k, counts, leftover, _leftover_order(k, _rank(list(counts))))


def _check_proportions(target_proportions: Any, counts: dict) -> dict:
    if target_proportions is None:
        raise InvalidInputError(
            "target_proportions: rule 'mixture' needs a mapping domain -> non-negative weight"
        )
    if not isinstance(target_proportions, Mapping):
        raise InvalidInputError(
            "target_proportions: expected a mapping domain -> non-negative weight, got "
            f"{type(target_proportions).__name__}"
        )
    props = {}
    for d, w in target_proportions.items():
        d = check_label(d, "target_proportions")
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"target_proportions: weight of domain {d!r} is not a real number ({w!r})"
            ) from None
        if not np.isfinite(w) or w < 0:
            raise InvalidInputError(
                f"target_proportions: expected finite non-negative weights, got {w} for domain "
                f"{d!r}"
            )
        props[d] = w
    present = {d: props.get(d, 0.0) for d in counts}
    if counts and sum(present.values()) <= 0.0:
        raise InvalidInputError(
            "target_proportions: the weights of the domains present in the pool "
            f"({list(counts)[:8]}) are all zero"
        )
    return present


def mixture(counts: Mapping[Hashable, int], b: int,
            target_proportions: Mapping[Hashable, float]) -> dict:
    """Quotas following a target domain mixture instead of the pool's proportions.

    The weights are renormalised over the domains present in the pool (absent domains get
    nothing; present domains missing from ``target_proportions`` have weight 0). Domains whose
    ideal share ``b·π_d`` reaches their count ``n_d`` are capped at ``n_d`` and the rest of the
    budget is re-shared, in proportion, among the others (repeated until no share exceeds its
    cap). Then ``k_d = floor(share_d)`` and the leftover units are handed out exactly as in
    :func:`proportional`: one each in the fixed order (``k_d`` ascending, domain id ascending),
    positive-weight domains first. Zero-weight domains receive units only when every
    positive-weight domain is at its count (then by :func:`uniform` among them). Arithmetic is
    exact (fractions), so ``mixture(counts, b, counts) == proportional(counts, b)``.

    Parameters
    ----------
    target_proportions : mapping domain -> float
        Non-negative finite weights (need not sum to 1), not all zero over present domains.

    Examples
    --------
    >>> from llm_minibatch.selection.budgets import mixture
    >>> mixture({"a": 50, "b": 50, "c": 50}, 10, {"a": 0.5, "b": 0.3, "c": 0.2})
    {'a': 5, 'b': 3, 'c': 2}
    >>> mixture({"a": 2, "b": 50}, 10, {"a": 0.5, "b": 0.5, "zz": 1.0})   # a capped at 2
    {'a': 2, 'b': 8}
    """
    counts = _check_counts(counts)
    N = sum(counts.values())
    b = _check_b(b, N)
    props = _check_proportions(target_proportions, counts)
    if not counts:
        return {}
    rank = _rank(list(counts))
    # exact arithmetic; floats as the decimals they print as (0.3 -> 3/10)
    w = {d: Fraction(repr(float(p))) for d, p in props.items()}
    k = {d: 0 for d in counts}
    active = [d for d in counts if w[d] > 0]
    budget = b
    while active:
        total = sum(w[d] for d in active)
        share = {d: budget * w[d] / total for d in active}
        capped = [d for d in active if share[d] >= counts[d]]
        if not capped:
            break
        for d in capped:
            k[d] = counts[d]
            budget -= counts[d]
        active = [d for d in active if d not in capped]
    if active:
        for d in active:
            k[d] = int(share[d])  # floor of a non-negative fraction
        leftover = b - sum(k.values())
        order = _leftover_order(k, rank, first=[d for d in counts if w[d] > 0])
        return _hand_out(k, counts, leftover, order)
    # every positive-weight domain holds its whole pool count: spread the rest uniformly
    rest = {d: counts[d] for d in counts if w[d] == 0}
    if budget and rest:
        k.update(uniform(rest, budget))
    return {d: k[d] for d in counts}


def explicit(counts: Mapping[Hashable, int], b: int, quotas: Mapping[Hashable, int]) -> dict:
    """Caller-given quotas, checked: non-negative integers, ``k_d <= n_d``, summing to ``b``.

    Present domains missing from ``quotas`` get 0; a quota of 0 for a domain absent from the
    pool is ignored, a positive one is an error.

    Examples
    --------
    >>> from llm_minibatch.selection.budgets import explicit
    >>> explicit({"a": 5, "b": 5}, 6, {"a": 4, "b": 2})
    {'a': 4, 'b': 2}
    >>> explicit({"a": 5, "b": 5}, 6, {"a": 6})
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: quotas: domain 'a' has quota 6 > its pool count 5
    """
    counts = _check_counts(counts)
    N = sum(counts.values())
    b = _check_b(b, N)
    q = _check_quotas(quotas, counts)
    total = sum(q.values())
    if total != b:
        raise InvalidInputError(f"quotas: expected quotas summing to b={b}, got sum {total}")
    return q


def _check_quotas(quotas: Any, counts: dict) -> dict:
    if quotas is None:
        raise InvalidInputError("quotas: rule 'explicit' needs a mapping domain -> int")
    if not isinstance(quotas, Mapping):
        raise InvalidInputError(
            f"quotas: expected a mapping domain -> non-negative int, got {type(quotas).__name__}"
        )
    q = {d: 0 for d in counts}
    for d, k_d in quotas.items():
        d = check_label(d, "quotas")
        k_d = check_int(k_d, "quotas", minimum=0)
        if d not in counts:
            if k_d > 0:
                raise InvalidInputError(
                    f"quotas: domain {d!r} has quota {k_d} but no items in the pool "
                    f"(present domains: {list(counts)[:8]})"
                )
            continue
        if k_d > counts[d]:
            raise InvalidInputError(
                f"quotas: domain {d!r} has quota {k_d} > its pool count {counts[d]}"
            )
        q[d] = k_d
    return q


# --------------------------------------------------------------------------- entry point
def compute_quotas(
    domains: Sequence[Hashable],
    b: int,
    rule: str = "proportional",
    *,
    target_proportions: Mapping[Hashable, float] | None = None,
    quotas: Mapping[Hashable, int] | None = None,
    keep_all: Iterable[Hashable] = (),
) -> dict:
    """Per-domain quotas ``{domain: k_d}`` for a pool, by the chosen rule.

    Parameters
    ----------
    domains : sequence of N hashable labels (list, numpy array or torch tensor)
        The domain of each pool example.
    b : int
        Minibatch size, ``0 <= b <= N``.
    rule : {"proportional", "uniform", "mixture", "explicit"}
        See :func:`proportional`, :func:`uniform`, :func:`mixture`, :func:`explicit`.
    target_proportions : mapping, optional
        Domain weights for ``rule="mixture"`` (required there, rejected otherwise).
    quotas : mapping, optional
        The quotas for ``rule="explicit"`` (required there, rejected otherwise). With
        ``keep_all``, they cover the other domains and must sum to ``b`` minus the kept
        examples (a quota given for a kept domain must equal its count).
    keep_all : iterable of domains
        Domains that keep every pool example (``k_d = n_d``); listed domains absent from this
        pool are ignored. Their total count must not exceed ``b``. The rule then allocates the
        rest of the budget over the other domains.

    Returns
    -------
    dict
        ``{domain: k_d}`` over the domains present in the pool, in domain order, with
        ``Σ k_d = b`` and ``0 <= k_d <= n_d``.

    Raises
    ------
    InvalidInputError
        ``b`` outside ``[0, N]``; unknown ``rule``; bad ``target_proportions`` (negative, NaN,
        all zero over the pool, missing for "mixture"); bad ``quotas`` (sum != b, above a
        count, positive for a domain with no items in the pool, missing for "explicit");
        ``keep_all`` domains holding more than ``b`` examples.

    Examples
    --------
    >>> from llm_minibatch.selection.budgets import compute_quotas
    >>> domains = ["math"] * 5 + ["code"] * 3 + ["chem"] * 2
    >>> compute_quotas(domains, 4)
    {'chem': 1, 'code': 1, 'math': 2}
    >>> compute_quotas(domains, 4, "uniform")
    {'chem': 2, 'code': 1, 'math': 1}
    >>> compute_quotas(domains, 5, keep_all=["chem"])
    {'chem': 2, 'code': 2, 'math': 1}
    >>> compute_quotas(domains, 4, "mixture", target_proportions={"code": 1.0})
    {'chem': 1, 'code': 3, 'math': 0}
    """
    pool = PoolDomains.of(domains)
    N = len(pool)
    b = _check_b(b, N)
    if not isinstance(rule, str) or rule not in RULES:
        raise InvalidInputError(f"rule: unknown budget rule {rule!r}; expected one of {RULES}")
    if target_proportions is not None and rule != "mixture":
        raise InvalidInputError(
            f"target_proportions: only used by rule='mixture', got rule={rule!r}"
        )
    if quotas is not None and rule != "explicit":
        raise InvalidInputError(f"quotas: only used by rule='explicit', got rule={rule!r}")
    counts = dict(pool.counts)  # in domain order

    if isinstance(keep_all, (str, bytes)) or not isinstance(keep_all, Iterable):
        raise InvalidInputError(
            f"keep_all: expected an iterable of domain labels, got {type(keep_all).__name__}"
        )
    kept = {}
    for d in keep_all:
        d = check_label(d, "keep_all")
        if d in counts:
            kept[d] = counts[d]
    n_kept = sum(kept.values())
    if n_kept > b:
        raise InvalidInputError(
            f"keep_all: the kept domains {list(kept)} hold {n_kept} pool examples, more than "
            f"the budget b={b}"
        )
    rest = {d: n for d, n in counts.items() if d not in kept}
    b_rest = b - n_kept

    if rule == "proportional":
        k = proportional(rest, b_rest)
    elif rule == "uniform":
        k = uniform(rest, b_rest)
    elif rule == "mixture":
        k = mixture(rest, b_rest, target_proportions)
    else:
        q = _check_quotas(quotas, counts)
        given = {check_label(d, "quotas") for d in quotas}
        for d, n_d in kept.items():
            if d in given and q[d] != n_d:
                raise InvalidInputError(
                    f"quotas: domain {d!r} is in keep_all (k_d = {n_d}) but its quota is {q[d]}"
                )
        k = explicit(rest, b_rest, {d: q[d] for d in rest})
    k.update(kept)
    return {d: k[d] for d in counts}
