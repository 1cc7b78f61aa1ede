"""The thread policy: one intra-op thread inside a solve, the user's setting restored after,
large gains blocks split across workers with the same results at any thread count."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import matroidopt as mo
from matroidopt import threads
from matroidopt.utility import _fused


@pytest.fixture
def user_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_solve_threads_runs_on_one_thread_and_restores_the_setting(user_threads):
    torch.set_num_threads(3)
    with threads.solve_threads():
        assert torch.get_num_threads() == 1
        assert threads.pool_size() == 3          # the user's setting bounds the workers
        with threads.solve_threads():            # re-entrant
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3
    assert threads.pool_size() == 1
    with pytest.raises(RuntimeError, match="inside"), threads.solve_threads():
        raise RuntimeError("inside a solve")
    assert torch.get_num_threads() == 3


def test_concurrent_solves_restore_the_user_setting(user_threads):
    torch.set_num_threads(2)
    f = mo.FacilityLocation(np.random.default_rng(0).random((300, 300)))
    barrier = threading.Barrier(3)
    seen = []

    def solve():
        barrier.wait()
        seen.append(mo.lazy_greedy(f, 20).indices.tolist())

    workers = [threading.Thread(target=solve) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(seen) == 3 and seen[0] == seen[1] == seen[2]
    assert torch.get_num_threads() == 2


def test_a_solver_runs_under_the_policy(user_threads):
    torch.set_num_threads(2)
    seen = []

    class Spy(mo.Modular):
        def _gains(self, state, candidates):
            seen.append(torch.get_num_threads())
            return super()._gains(state, candidates)

    mo.greedy(Spy(np.arange(5.0)), 2)
    mo.maximize(Spy(np.arange(5.0)), 2, solver="lazy_greedy")
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_policy_switched_off_leaves_torch_alone(user_threads, monkeypatch):
    torch.set_num_threads(2)
    monkeypatch.setattr(threads, "ENABLED", False)
    with threads.solve_threads():
        assert torch.get_num_threads() == 2 and threads.pool_size() == 1


def test_run_pieces_keeps_order_uses_workers_and_reraises():
    used = set()

    def square(x):
        used.add(threading.get_ident())
        threading.Event().wait(0.002)   # long enough for a helper to take pieces too
        return x * x

    assert threads.run_pieces(square, list(range(40)), 3) == [x * x for x in range(40)]
    assert len(used) >= 2

    def boom(x):
        if x == 7:
            raise ValueError("piece 7")
        return x

    with pytest.raises(ValueError, match="piece 7"):
        threads.run_pieces(boom, list(range(30)), 2)
    assert threads.run_pieces(boom, [1, 2], 1) == [1, 2]


class _Counting(mo.FacilityLocation):
    """Facility location that records which threads evaluated gains, and how many calls."""

    def _gains(self, state, candidates):
        self.calls.append((threading.get_ident(), int(candidates.numel())))
        return super()._gains(state, candidates)


def _counting(K):
    f = _Counting(K)
    f.calls = []
    return f


def test_split_gains_equal_unsplit_gains_exactly(user_threads, monkeypatch):
    rng = np.random.default_rng(1)
    f = _counting(rng.random((400, 400)).astype(np.float32))
    state = f._add(f._init_state(), 3)
    cand = torch.arange(400)
    direct = f._gains(state, cand)
    monkeypatch.setattr(threads, "MIN_BLOCK_WORK", 1)
    monkeypatch.setattr(threads, "PIECE_WORK", 400 * 37)    # pieces of 37 candidates
    torch.set_num_threads(2)
    f.calls.clear()
    with threads.solve_threads():
        split = threads.split_gains(lambda c: f._gains(state, c), cand, f._gain_work())
    assert torch.equal(split, direct)
    assert len(f.calls) == 11 and sum(c for _, c in f.calls) == 400   # ceil(400 / 37)
    assert torch.equal(threads.split_gains(lambda c: f._gains(state, c), cand, 400),
                       direct)     # outside a solve: one call
    # below the threshold a block stays in one call on the calling thread
    monkeypatch.setattr(threads, "MIN_BLOCK_WORK", 400 * 401)
    f.calls.clear()
    with threads.solve_threads():
        threads.split_gains(lambda c: f._gains(state, c), cand, f._gain_work())
    assert f.calls == [(threading.get_ident(), 400)]


def _kernels():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1500, 24)).astype(np.float32)
    dense = mo.FacilityLocation.from_features(X, metric="rbf").kernel_block(np.arange(1500))
    knn = np.where(dense.numpy() > np.quantile(dense.numpy(), 0.97), dense.numpy(), 0.0)
    return {
        "dense": lambda: mo.FacilityLocation(dense),
        "features": lambda: mo.FacilityLocation.from_features(X, metric="rbf"),
        "sparse": lambda: mo.FacilityLocation(sp.csr_matrix(knn)),
        "sum": lambda: mo.FacilityLocation(dense) + 0.5 * mo.FacilityLocation(dense.T),
    }


@pytest.mark.parametrize("compiled", [False, True], ids=["torch-gains", "compiled-gains"])
@pytest.mark.parametrize("kind", ["dense", "features", "sparse", "sum"])
def test_a_solve_is_identical_at_one_and_at_several_threads(kind, compiled, user_threads,
                                                            monkeypatch):
    if compiled and not _fused.available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(_fused, "ENABLED", compiled)
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 0)
    # small pieces so that even the per-step refreshes are split and workers interleave
    monkeypatch.setattr(threads, "MIN_BLOCK_WORK", 1 << 12)
    monkeypatch.setattr(threads, "PIECE_WORK", 1 << 13)
    make = _kernels()[kind]
    P = mo.PartitionMatroid(np.arange(1500) % 3, [10, 10, 10])

    def solves():
        f = make()
        return [mo.lazy_greedy(f, 30), mo.greedy(f, 12), mo.stochastic_greedy(f, 30, seed=4),
                mo.lazy_greedy(f, P)]

    torch.set_num_threads(1)
    one = solves()
    torch.set_num_threads(4)
    many = solves()
    for a, b in zip(one, many):
        assert a.indices.tolist() == b.indices.tolist()
        assert np.array_equal(a.gains, b.gains)          # bit for bit
        assert a.oracle_calls == b.oracle_calls
        assert a.upper_bound == b.upper_bound


def test_the_first_pass_is_split_into_pieces(user_threads, monkeypatch):
    n = 1200   # 1.44 M kernel entries: above MIN_BLOCK_WORK, cut into pieces of 436 rows
    monkeypatch.setattr(threads, "MIN_BLOCK_WORK", 1 << 20)
    monkeypatch.setattr(threads, "PIECE_WORK", 1 << 19)
    f = _counting(np.random.default_rng(3).random((n, n)).astype(np.float32))
    per_piece = threads.PIECE_WORK // n
    for workers in (2, 1):     # the same cut whatever the number of workers
        torch.set_num_threads(workers)
        f.calls.clear()
        r = mo.lazy_greedy(f, 5)
        assert [c for _, c in f.calls[:3]] == [per_piece, per_piece, n - 2 * per_piece]
        assert sum(c for _, c in f.calls) == r.oracle_calls
    f.calls.clear()
    mo.SOLVER_SPECS["lazy_greedy"].body(f, mo.UniformMatroid(n, 5))   # no policy: one call
    assert f.calls[0][1] == n


def test_user_metric_callable_is_never_split(user_threads):
    X = np.random.default_rng(4).normal(size=(900, 8))
    seen = set()

    def metric(A, B):
        seen.add(threading.get_ident())
        return torch.exp(-torch.cdist(A, B))

    f = mo.FacilityLocation.from_features(X, metric=metric)
    assert f._gain_work() is None
    torch.set_num_threads(4)
    mo.lazy_greedy(f, 5)
    assert seen == {threading.get_ident()}


def test_the_multilinear_form_is_split_and_identical_at_any_thread_count(user_threads,
                                                                         monkeypatch):
    from matroidopt.utility import _multilinear_forms

    monkeypatch.setattr(_multilinear_forms, "_BLOCK_ENTRIES", 400 * 7)   # 7 clients a block
    X = np.random.default_rng(5).normal(size=(400, 6))
    f = mo.FacilityLocation.from_features(X, metric="rbf")
    x = torch.as_tensor(np.random.default_rng(6).uniform(0, 1, 400))
    used = set()
    rows = f._kernel.client_rows()

    def spy(a, b):
        used.add(threading.get_ident())
        threading.Event().wait(0.001)
        return rows(a, b)

    out = {}
    for workers in (1, 4):
        torch.set_num_threads(workers)
        with threads.solve_threads():
            out[workers] = _multilinear_forms.best_of_form(spy, f.n_clients, x, f.device,
                                                           parallel=True)
    assert out[1][0] == out[4][0] and torch.equal(out[1][1], out[4][1])
    assert len(used) >= 2                                   # the blocks were shared
    # the same as the hook's sequential answer, up to rounding
    value, grad = f._multilinear(x)
    assert value == pytest.approx(out[1][0], rel=1e-12)
    assert torch.allclose(grad, out[1][1], rtol=1e-10, atol=1e-12)
    P = mo.PartitionMatroid(np.arange(400) % 4, [2, 2, 2, 2])
    torch.set_num_threads(1)
    a = mo.continuous_greedy(f, P, steps=8, seed=1)
    torch.set_num_threads(4)
    b = mo.continuous_greedy(f, P, steps=8, seed=1)
    assert a.indices.tolist() == b.indices.tolist() and a.value == b.value
