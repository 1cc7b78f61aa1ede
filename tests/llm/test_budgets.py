"""Per-domain budget rules: invariants over random pools (hypothesis), the exact leftover order
of the proportional rule against an independent re-implementation and hand examples, the other
rules, keep_all, and bad input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from llm_minibatch.selection.budgets import (
    compute_quotas,
    explicit,
    mixture,
    proportional,
    uniform,
)
from matroidopt.errors import InvalidInputError

# --------------------------------------------------------------------------- strategies
int_labels = st.integers(0, 6)
str_labels = st.text(alphabet="abcde", min_size=1, max_size=2)
label_kinds = st.sampled_from(["int", "str", "mixed"])


@st.composite
def pools(draw):
    kind = draw(label_kinds)
    labels = {"int": int_labels, "str": str_labels,
              "mixed": st.one_of(int_labels, str_labels)}[kind]
    domains = draw(st.lists(labels, min_size=1, max_size=60))
    b = draw(st.integers(0, len(domains)))
    return domains, b


def pool_counts(domains):
    out = {}
    for d in domains:
        out[d] = out.get(d, 0) + 1
    return out


def domain_key(d):
    """Independent statement of the documented order: ints before strings (type names
    'int' < 'str'), then by value."""
    return (0, d, "") if isinstance(d, int) else (1, 0, d)


def ref_proportional(counts, b):
    """PARTITIONSEL.md step 1, written out independently."""
    N = sum(counts.values())
    ids = sorted(counts, key=domain_key)
    k = [b * counts[d] // N for d in ids]
    left = b - sum(k)
    order = sorted(range(len(ids)), key=lambda i: (k[i], i))  # fixed once
    pos = 0
    while left:
        i = order[pos % len(order)]
        if k[i] < counts[ids[i]]:
            k[i] += 1
            left -= 1
        pos += 1
    return dict(zip(ids, k))


def check_invariants(q, counts, b):
    assert set(q) == set(counts)  # only (and every) present domain
    assert sum(q.values()) == b
    for d, k in q.items():
        assert isinstance(k, int) and 0 <= k <= counts[d]


# --------------------------------------------------------------------------- properties
@given(pools())
def test_proportional_invariants_and_exact_order(pool):
    domains, b = pool
    counts = pool_counts(domains)
    q = compute_quotas(domains, b)
    check_invariants(q, counts, b)
    assert q == ref_proportional(counts, b)
    assert proportional(counts, b) == q
    assert list(q) == sorted(counts, key=domain_key)  # returned in domain order
    N = len(domains)
    for d, k in q.items():  # floor, or floor + 1
        assert b * counts[d] // N <= k <= b * counts[d] // N + 1


@given(pools())
def test_uniform_is_max_min_fair(pool):
    domains, b = pool
    counts = pool_counts(domains)
    q = compute_quotas(domains, b, "uniform")
    check_invariants(q, counts, b)
    # every domain below its count is within one unit of every other domain
    for d in q:
        if q[d] < counts[d]:
            assert all(q[e] <= q[d] + 1 for e in q)
    # reference: one unit at a time to the smallest (k, id) domain below its count
    ref = {d: 0 for d in counts}
    ids = sorted(counts, key=domain_key)
    for _ in range(b):
        d = min((d for d in ids if ref[d] < counts[d]), key=lambda d: (ref[d], ids.index(d)))
        ref[d] += 1
    assert q == ref


@given(pools(), st.data())
def test_mixture_invariants(pool, data):
    domains, b = pool
    counts = pool_counts(domains)
    ids = sorted(counts, key=domain_key)
    weights = {d: data.draw(st.sampled_from([0.0, 0.1, 0.25, 1.0, 3.0])) for d in ids}
    weights["absent-domain"] = 5.0
    if sum(weights[d] for d in ids) == 0:
        weights[ids[0]] = 1.0
    q = compute_quotas(domains, b, "mixture", target_proportions=weights)
    check_invariants(q, counts, b)
    pos = [d for d in ids if weights[d] > 0]
    if any(q[d] < counts[d] for d in pos):  # zero-weight domains only absorb overflow
        assert all(q[d] == 0 for d in ids if weights[d] == 0)
    # pool proportions as the target mixture: exactly the proportional rule
    assert mixture(counts, b, counts) == proportional(counts, b)


@given(pools())
def test_explicit_round_trip_and_keep_all(pool):
    domains, b = pool
    counts = pool_counts(domains)
    q = compute_quotas(domains, b)
    assert compute_quotas(domains, b, "explicit", quotas=q) == q
    assert explicit(counts, b, q) == q
    ids = sorted(counts, key=domain_key)
    small = ids[-1]
    if counts[small] <= b:
        k = compute_quotas(domains, b, keep_all=[small, "not-in-pool"])
        check_invariants(k, counts, b)
        assert k[small] == counts[small]
        rest = {d: n for d, n in counts.items() if d != small}
        if rest:
            assert {d: k[d] for d in rest} == proportional(rest, b - counts[small])


# --------------------------------------------------------------------------- hand examples
def test_floors_0_1_1_with_two_leftovers():
    # b·n_d/N = 0.8, 1.6, 1.6: floors [0, 1, 1], 2 leftover units -> [1, 2, 1]
    assert proportional({0: 1, 1: 2, 2: 2}, 4) == {0: 1, 1: 2, 2: 1}
    assert compute_quotas(["a", "b", "b", "c", "c"], 4) == {"a": 1, "b": 2, "c": 1}


def test_partitionsel_default_pool():
    # N = 256, b = 32, 8 domains. Floors 12, 7, 5, 2, 2, 1, 0, 0 (sum 29): the 3 leftover
    # units go to the smallest floors (d6, d7, then d5), not to the largest remainders.
    sizes = [100, 60, 40, 20, 16, 10, 6, 4]
    domains = np.repeat(np.arange(8), sizes)
    q = compute_quotas(domains, 32)
    assert list(q.values()) == [12, 7, 5, 2, 2, 2, 1, 1]
    assert list(q) == list(range(8)) and all(type(d) is int for d in q)


def test_leftover_order_fixed_not_resorted():
    # floors all 0 (b < number of domains): one unit each to the smallest ids
    assert compute_quotas(["x", "y", "z", "w"], 2) == {"w": 1, "x": 1, "y": 0, "z": 0}
    # ints before strings when mixed
    assert compute_quotas([3, "a", 1, "b"], 2) == {1: 1, 3: 1, "a": 0, "b": 0}


def test_uniform_and_mixture_examples():
    assert uniform({"a": 1, "b": 10, "c": 10}, 8) == {"a": 1, "b": 4, "c": 3}
    assert uniform({"a": 2, "b": 2}, 4) == {"a": 2, "b": 2}
    assert mixture({"a": 50, "b": 50, "c": 50}, 10, {"a": 0.5, "b": 0.3, "c": 0.2}) == \
        {"a": 5, "b": 3, "c": 2}
    # a capped at its count; its excess is re-shared in proportion (b: 2/3, c: 1/3 of 9)
    assert mixture({"a": 1, "b": 20, "c": 20}, 10, {"a": 8, "b": 2, "c": 1}) == \
        {"a": 1, "b": 6, "c": 3}
    # every positive-weight domain full: the rest goes uniformly to zero-weight ones
    assert mixture({"a": 2, "b": 5, "c": 5}, 6, {"a": 1}) == {"a": 2, "b": 2, "c": 2}
    # zero-weight domains are not fed leftovers while a positive-weight domain has room
    assert mixture({"a": 9, "b": 9, "c": 9}, 3, {"a": 1, "b": 1}) == {"a": 2, "b": 1, "c": 0}


def test_keep_all_and_explicit_examples():
    domains = ["big"] * 20 + ["mid"] * 8 + ["tiny"] * 2
    # 8 units over big/mid: floors 5 (5.71), 2 (2.29); the leftover goes to the smaller floor
    assert compute_quotas(domains, 10, keep_all=["tiny"]) == {"big": 5, "mid": 3, "tiny": 2}
    assert compute_quotas(domains, 10, "uniform", keep_all=["tiny"]) == \
        {"big": 4, "mid": 4, "tiny": 2}
    q = compute_quotas(domains, 10, "explicit", quotas={"big": 5, "mid": 3, "tiny": 2},
                       keep_all=["tiny"])
    assert q == {"big": 5, "mid": 3, "tiny": 2}
    assert compute_quotas(domains, 2, keep_all=["tiny"]) == {"big": 0, "mid": 0, "tiny": 2}
    assert compute_quotas(domains, 0) == {"big": 0, "mid": 0, "tiny": 0}
    assert compute_quotas(domains, 30) == {"big": 20, "mid": 8, "tiny": 2}
    # an absent domain with quota 0 is harmless
    assert explicit({"a": 3}, 2, {"a": 2, "gone": 0}) == {"a": 2}


def test_label_containers():
    q = compute_quotas(torch.tensor([0, 0, 1, 2, 2, 2]), 3)
    assert q == {0: 1, 1: 1, 2: 1} and all(type(d) is int for d in q)
    assert compute_quotas(np.array(["m", "m", "c"]), 2) == {"c": 1, "m": 1}
    assert compute_quotas((np.int64(4), 4, 5), 1) == {4: 1, 5: 0}


# --------------------------------------------------------------------------- bad input
DOMS = ["a"] * 4 + ["b"] * 3 + ["c"]


@pytest.mark.parametrize("kwargs, arg", [
    (dict(b=9), "b"),
    (dict(b=-1), "b"),
    (dict(b=2.5), "b"),
    (dict(rule="largest_remainder"), "rule"),
    (dict(rule="mixture"), "target_proportions"),
    (dict(rule="mixture", target_proportions={"a": -1.0, "b": 1.0}), "target_proportions"),
    (dict(rule="mixture", target_proportions={"a": math.nan}), "target_proportions"),
    (dict(rule="mixture", target_proportions={"a": 0.0, "zz": 1.0}), "target_proportions"),
    (dict(rule="mixture", target_proportions=[0.5, 0.5]), "target_proportions"),
    (dict(target_proportions={"a": 1.0}), "target_proportions"),
    (dict(rule="explicit"), "quotas"),
    (dict(rule="explicit", quotas={"a": 2, "b": 2}), "quotas"),
    (dict(rule="explicit", quotas={"a": 1, "b": 1, "c": 2}), "quotas"),
    (dict(rule="explicit", quotas={"a": 2, "b": 0, "zz": 1}), "quotas"),
    (dict(rule="explicit", quotas={"a": -1, "b": 4}), "quotas"),
    (dict(rule="explicit", quotas={"a": 2, "b": 1}, keep_all=["c"]), "quotas"),
    (dict(rule="explicit", quotas={"a": 1, "b": 1, "c": 0}, keep_all=["c"]), "quotas"),
    (dict(quotas={"a": 3}), "quotas"),
    (dict(b=2, keep_all=["b"]), "keep_all"),
    (dict(keep_all="abc"), "keep_all"),
    (dict(domains=[["a"], ["b"]], b=1), "domains"),
    (dict(domains="aab", b=1), "domains"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_bad_input(kwargs, arg):
    args = dict(domains=DOMS, b=3)
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=arg):
        compute_quotas(args.pop("domains"), args.pop("b"), **args)


def test_bad_input_rule_functions():
    with pytest.raises(InvalidInputError, match=r"^counts\b"):
        proportional([3, 4], 2)
    with pytest.raises(InvalidInputError, match=r"^counts\b"):
        uniform({"a": -2}, 0)
    with pytest.raises(InvalidInputError, match=r"^b\b"):
        uniform({"a": 2}, 3)
    with pytest.raises(InvalidInputError, match=r"^quotas\b"):
        explicit({"a": 2}, 2, {"a": 3})
    with pytest.raises(InvalidInputError, match=r"^target_proportions\b"):
        mixture({"a": 2}, 1, {"a": 0.0})
