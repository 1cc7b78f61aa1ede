"""PoolDomains: the pool's labels checked, ordered and counted once per step, equal to the
per-row definitions, and really built only once per selection step."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from llm_minibatch.selection import compute_quotas, select_from_features, stratified_indices
from llm_minibatch.selection import domains as domains_module
from llm_minibatch.selection.domains import PoolDomains, domain_order
from matroidopt.errors import InvalidInputError

LABELS = st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "zz", "B"])),
                  min_size=1, max_size=40)


@given(LABELS)
def test_order_ids_counts_and_positions_match_the_row_definitions(labels):
    pool = PoolDomains(labels)
    assert pool.order == domain_order(set(labels))
    assert len(set(pool.order)) == len(pool.order) == len(set(labels))
    assert pool.counts == {d: Counter(labels)[d] for d in pool.order}
    assert list(pool.counts) == pool.order
    assert [pool.order[i] for i in pool.ids] == labels
    for d, rows in pool.positions.items():
        assert rows.tolist() == [i for i, x in enumerate(labels) if x == d]
    same = pool.same_domain(torch.zeros(1, dtype=torch.float64))
    brute = torch.tensor([[float(x == y) for y in labels] for x in labels], dtype=torch.float64)
    assert torch.equal(same, brute)
    assert list(pool) == labels and len(pool) == len(labels) and pool[0] == labels[0]


@given(LABELS, st.integers(0, 40), st.sampled_from(["proportional", "uniform"]))
def test_quotas_and_stratified_draws_are_the_same_from_labels_or_a_built_pool(labels, b, rule):
    b = min(b, len(labels))
    pool = PoolDomains(labels)
    quotas = compute_quotas(labels, b, rule)
    assert compute_quotas(pool, b, rule) == quotas
    assert stratified_indices(pool, quotas, 7) == stratified_indices(labels, quotas, 7)


def test_partition_matroid_caps_each_domain_at_its_quota():
    pool = PoolDomains(["x", "y", "x", "x", "y"])
    m = pool.partition_matroid({"x": 2, "y": 1})
    assert m.is_independent([0, 2, 1]) and not m.is_independent([0, 2, 3])
    assert not m.is_independent([1, 4])
    assert m.rank() == 3


def test_numpy_and_tensor_labels_are_python_scalars():
    assert PoolDomains(np.array([3, 1, 3])).labels == [3, 1, 3]
    assert type(PoolDomains(np.array([3, 1])).labels[0]) is int
    assert PoolDomains(torch.tensor([2, 0])).order == [0, 2]


@pytest.mark.parametrize("bad, match", [
    ([["a"], "b"], r"^domains: label 0 \(\['a'\]\) is unhashable"),
    (["a", float("nan")], "^domains: label 1 is NaN"),
    (np.zeros((2, 2)), "^domains: expected a 1-D"),
    (torch.zeros(2, 2), "^domains: expected a 1-D"),
    ("ab", "^domains: expected a sequence"),
])
def test_bad_labels_are_named(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        PoolDomains(bad)


def test_a_built_pool_of_the_wrong_size_is_named():
    pool = PoolDomains(["a"] * 5)
    with pytest.raises(InvalidInputError, match=r"^domains: expected one label per pool example "
                                               r"\(6\), got 5"):
        select_from_features(np.eye(6), pool, np.ones(6), 2, seed=0)


def _count_orders(monkeypatch) -> list:
    calls = []
    real = domains_module.domain_order

    def counting(domains):
        calls.append(1)
        return real(domains)

    monkeypatch.setattr(domains_module, "domain_order", counting)
    return calls


@pytest.mark.parametrize("method", ["partitionsel", "iwd", "per_domain", "facility_location",
                                    "stratified"])
def test_select_from_features_sorts_the_domains_once(monkeypatch, method):
    rng = np.random.default_rng(0)
    G = rng.normal(size=(24, 5))
    labels = ["c", "a", "b"] * 8
    calls = _count_orders(monkeypatch)
    sel = select_from_features(G, labels, G[:4], 6, method, seed=1)
    assert len(calls) == 1
    assert sum(sel.domain_counts.values()) == 6


def test_a_partitionsel_step_builds_the_domains_once(monkeypatch):
    from llm_minibatch.loop import AnchorSampler, PartitionSel
    from llm_minibatch.models import add_lora, tiny_llama

    model = add_lora(tiny_llama(vocab_size=40, hidden_size=16, layers=2, seed=0), r=2,
                     alpha=4, target_modules=("q_proj", "v_proj"), seed=0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 40, (12, 6), generator=g)
    anchors = AnchorSampler({"input_ids": ids[:4], "labels": ids[:4]}, n_anchors=4, seed=0)
    selector = PartitionSel(model, anchors=anchors, minibatch_size=4, seed=0, lr=1e-3)
    calls = _count_orders(monkeypatch)
    built = []
    real_init = PoolDomains.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(PoolDomains, "__init__", counting_init)
    record = selector.select({"input_ids": ids, "labels": ids}, ["x", "y", "z"] * 4)
    assert len(built) == 1 and len(calls) == 1
    assert sum(record.domain_counts.values()) == 4
