"""GreeDi / RandGreeDi: feasibility, the max step, one shard = centralised greedy, a real
Dask LocalCluster, data shipped by reference, and bad input."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
import torch

import matroidopt as mo
from matroidopt.errors import InvalidInputError


def _coverage_trap():
    """Part 0 holds A = {0..3} and B = {4..7} (together 8 items); part 1 holds
    C = {0, 1, 4, 5, 8} and D = {2, 6}. Greedy on the union takes C first, then one more set
    worth 2: 7 < 8, so the best local solution (part 0's {A, B}) must win."""
    sets = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 4, 5, 8], [2, 6]]
    incidence = np.zeros((4, 9))
    for j, s in enumerate(sets):
        incidence[j, s] = 1.0
    return mo.SetCover(incidence), [0, 0, 1, 1]


def test_the_best_local_solution_wins_when_the_merge_is_worse():
    f, labels = _coverage_trap()
    r = mo.greedi(f, 2, partition=labels, shard_solver="greedy", client="synchronous")
    assert r.info["merged_value"] == pytest.approx(7.0)
    assert r.info["winner"] == 0 and sorted(r.indices.tolist()) == [0, 1]
    assert r.value == pytest.approx(8.0)
    assert r.info["partition"] == "given" and r.info["union_size"] == 4
    assert r.guarantee == pytest.approx((1 - 1 / np.e) ** 2 / 2) and not r.expected


def _brute_opt(f, independent, n):
    best = 0.0
    for size in range(n + 1):
        for S in itertools.combinations(range(n), size):
            if independent(S):
                best = max(best, f.evaluate(list(S)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_feasible_and_certified_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 10
    f = mo.FacilityLocation(np.abs(rng.normal(size=(12, n))))
    labels = rng.integers(0, 3, n)
    caps = [1, 2, 1]
    P = mo.PartitionMatroid(labels, caps)
    opt = _brute_opt(f, P.is_independent, n)
    for constraint in (3, P):
        for partition in ("random", rng.integers(0, 3, n)):
            r = mo.greedi(f, constraint, shards=3, partition=partition, seed=seed,
                          client="synchronous")
            S = r.indices.tolist()
            assert len(set(S)) == len(S)
            if constraint is P:
                assert P.is_independent(S)
            else:
                assert len(S) <= 3
            assert r.value == pytest.approx(f.evaluate(S))
            if constraint is P:
                assert r.upper_bound >= opt - 1e-9 and r.value <= opt + 1e-9
            assert np.allclose(np.cumsum(r.gains), [f.evaluate(S[:t + 1])
                                                    for t in range(len(S))])


def test_rand_greedi_mean_clears_half_the_greedy_ratio():
    """α/2 in expectation (α = 1 - 1/e): the mean over seeds on instances where a random
    feasible set of size k scores far below it."""
    rng = np.random.default_rng(7)
    ratios = []
    for _ in range(8):
        n = 12
        f = mo.FacilityLocation(rng.exponential(size=(15, n)) ** 3)
        opt = _brute_opt(f, lambda S: len(S) <= 3, n)
        runs = [mo.greedi(f, 3, shards=4, seed=s, client="synchronous").value
                for s in range(10)]
        ratios.append(np.mean(runs) / opt)
    assert min(ratios) >= (1 - 1 / np.e) / 2


@pytest.mark.parametrize("solver", ["greedy", "lazy_greedy"])
def test_one_shard_equals_the_centralised_solve(solver):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    P = mo.PartitionMatroid(np.arange(300) % 4, [3, 2, 4, 1])
    for constraint in (12, P):
        central = mo.maximize(f, constraint, solver=solver)
        for partition in ("random", np.zeros(300, dtype=int)):
            r = mo.greedi(f, constraint, shards=1, partition=partition, shard_solver=solver,
                          client="synchronous", seed=1)
            assert r.indices.tolist() == central.indices.tolist()
            assert np.allclose(r.gains, central.gains)
            assert r.guarantee == central.guarantee


def test_a_random_partition_is_reproducible_and_seeds_matter():
    X = np.random.default_rng(4).normal(size=(500, 4))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    a = mo.greedi(f, 8, shards=5, seed=11, client="synchronous",
                  shard_solver="stochastic_greedy")
    b = mo.greedi(f, 8, shards=5, seed=11, client="synchronous",
                  shard_solver="stochastic_greedy")
    assert a.indices.tolist() == b.indices.tolist()
    others = {tuple(mo.greedi(f, 8, shards=5, seed=s, client="synchronous").info[
        "shard_values"]) for s in range(4)}
    assert len(others) > 1


def test_bad_input_is_refused_naming_the_argument():
    f = mo.Modular(np.arange(6.0))
    cases = [({"shards": 0}, "shards"), ({"partition": "blocks"}, "partition"),
             ({"partition": [0, 1]}, "partition"), ({"partition": [0.5] * 6}, "partition"),
             ({"partition": [-1, 0, 0, 0, 0, 0]}, "partition"),
             ({"shard_solver": "nope"}, "shard_solver"),
             ({"shard_solver": "greedi"}, "shard_solver"),
             ({"client": "threads"}, "client"), ({"client": object()}, "client")]
    for options, arg in cases:
        with pytest.raises(InvalidInputError, match=rf"^{arg}:"):
            mo.greedi(f, 2, **({"client": "synchronous"} | options))
    with pytest.raises(InvalidInputError, match=r"^constraint:"):
        mo.greedi(f, mo.Knapsack(np.ones(6), 2.0), client="synchronous")


def test_facility_location_shards_hold_only_their_columns():
    rng = np.random.default_rng(5)
    K = rng.random((40, 40))
    f = mo.FacilityLocation(K)
    idx = torch.tensor([5, 0, 17, 39])
    g = f._shard(idx)
    assert g.n == 4 and g._kernel.Kt.shape == (4, 40)
    state = f._add(f._init_state(), 9)
    gstate = g._init_state()
    gstate = type(gstate)((), state.data, g)   # the same clients' state
    assert torch.equal(g._gains(gstate, torch.arange(4)), f._gains(state, idx))


# --------------------------------------------------------------------------- a real cluster
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as cl:
        yield cl


class _Recording:
    """A client that records what each task was submitted with."""

    def __init__(self, client):
        self.client, self.submitted, self.scattered = client, [], 0

    def scatter(self, data, **kw):
        self.scattered += 1
        return self.client.scatter(data, **kw)

    def submit(self, fn, *args, **kw):
        self.submitted.append(args)
        return self.client.submit(fn, *args, **kw)

    def gather(self, futures):
        return self.client.gather(futures)


def test_on_a_local_cluster_the_same_as_synchronous_and_data_by_reference(client):
    X = np.random.default_rng(6).normal(size=(3000, 8)).astype(np.float32)
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    rec = _Recording(client)
    on_cluster = mo.greedi(f, 20, shards=4, seed=2, client=rec)
    here = mo.greedi(f, 20, shards=4, seed=2, client="synchronous")
    assert on_cluster.indices.tolist() == here.indices.tolist()
    assert on_cluster.value == here.value
    assert rec.scattered == 4 and len(rec.submitted) == 4
    for args in rec.submitted:   # no utility or tensor travels inside the task graph
        assert isinstance(args[0], distributed.Future)
        assert not any(isinstance(a, (mo.Utility, torch.Tensor)) for a in args)
    central = mo.lazy_greedy(f, 20)
    assert on_cluster.value >= 0.95 * central.value


def test_a_factory_builds_each_part_on_its_worker(client, tmp_path):
    import cloudpickle

    X = np.random.default_rng(8).normal(size=(800, 6))
    path = tmp_path / "X.npy"
    np.save(path, X)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        factory = _RowsFromFile(str(path))
        f = mo.FacilityLocation.from_features(X, metric="rbf")
        r = mo.greedi(f, 10, shards=2, seed=0, client=client, utility_factory=factory)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    here = mo.greedi(f, 10, shards=2, seed=0, client="synchronous")
    assert r.indices.tolist() == here.indices.tolist()


class _RowsFromFile:
    """Facility location of a part: its candidates' rows from a memory-mapped file against
    every row as clients."""

    def __init__(self, path):
        self.path = path

    def __call__(self, elements):
        X = np.load(self.path, mmap_mode="r")
        f = mo.FacilityLocation.from_features(np.asarray(X), metric="rbf")
        return f._shard(torch.as_tensor(elements))


def test_without_a_client_a_local_cluster_is_started_and_closed():
    X = np.random.default_rng(9).normal(size=(400, 4))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    r = mo.greedi(f, 6, shards=2, seed=3)
    assert r.indices.tolist() == mo.greedi(f, 6, shards=2, seed=3,
                                           client="synchronous").indices.tolist()
