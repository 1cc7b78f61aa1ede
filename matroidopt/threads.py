"""The thread policy of a solve: per-step vector work on one thread, large blocks of oracle
work split across a few worker threads.

Greedy-type solvers do two kinds of work. Each step does small vector work — gains
bookkeeping, masks, an argmax over ``n`` entries, refreshing a handful of stale candidates —
and some steps evaluate large blocks (the first pass over every candidate, a greedy step over
all of them, a stochastic sample). Run through torch's intra-op thread pool, the small work
gains nothing (each operator is a few microseconds) and the pool's threads synchronise at
every operator: when another process holds a core, one thread is descheduled and the others
spin at the barrier, so a solve beside one busy process can run ten to a hundred times slower
than on one thread.

So inside a solve (:func:`solve_threads`, entered by every built-in solver):

* torch runs on **one** intra-op thread; the user's ``torch.set_num_threads`` is restored
  when the solve returns;
* a gains call on a block of at least :data:`MIN_BLOCK_WORK` kernel entries (as the utility
  counts them, :meth:`Utility._gain_work <matroidopt.Utility._gain_work>`) is cut into
  pieces of about :data:`PIECE_WORK` entries that up to ``torch.get_num_threads()`` workers
  (the user's setting is the upper bound) take one at a time from a shared queue. A
  descheduled worker delays only the piece it holds, not every operator of every step.

Each candidate's gain is computed by the same operators on the same data whichever worker
takes its piece and however many workers there are, so a solve's selections and gains are
identical at 1 and at ``N`` threads.

Examples
--------
>>> import numpy as np, torch, matroidopt as mo
>>> X = np.random.default_rng(0).normal(size=(300, 16))
>>> f = mo.FacilityLocation.from_features(X, metric="cosine")
>>> before = torch.get_num_threads()
>>> with mo.threads.solve_threads():
...     inside = torch.get_num_threads()
>>> inside, torch.get_num_threads() == before
(1, True)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import torch

__all__ = ["ENABLED", "MIN_BLOCK_WORK", "PIECE_WORK", "pool_size", "run_pieces", "scratch",
           "solve_threads", "split_gains"]

T = TypeVar("T")

#: Smallest gains block (kernel entries read) split across workers; below it the block runs
#: on the calling thread. Measured on facility location, 2 cores (``benchmarks/threads.py
#: --threshold``): two workers are 1.4-1.5x faster than one from 2^22 entries and 1.6-1.9x
#: from 2^24, but no faster at 2^20, where handing pieces over costs what it saves.
MIN_BLOCK_WORK = 1 << 22

#: Kernel entries per piece of a split block: large enough that taking a piece costs little
#: (about 1-2 ms of work), small enough that a descheduled worker holds up little.
PIECE_WORK = 1 << 21

#: Switch the policy off (``False``): solves then run every operator on torch's own pool,
#: as set by ``torch.set_num_threads``, and never split a block (for comparisons).
ENABLED = True

_lock = threading.Lock()
_depth = 0            # solves in progress in this process (any thread)
_user_threads = 1     # torch.get_num_threads() when the outermost solve began
_executor: ThreadPoolExecutor | None = None
_executor_size = 0


@contextlib.contextmanager
def solve_threads() -> Iterator[None]:
    """Run the body on one torch intra-op thread and let :func:`run_pieces` use up to the
    caller's ``torch.get_num_threads()`` workers; restore that setting on exit.

    Re-entrant and safe across threads: the outermost solve in the process reads the setting
    and the last one to finish restores it.
    """
    global _depth, _user_threads
    if not ENABLED:
        yield
        return
    with _lock:
        if _depth == 0:
            _user_threads = torch.get_num_threads()
            if _user_threads > 1:
                torch.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _user_threads > 1:
                torch.set_num_threads(_user_threads)


def pool_size() -> int:
    """Workers :func:`run_pieces` may use: the user's thread setting inside a solve, else
    1 (outside a solve torch's own pool parallelises each operator)."""
    return _user_threads if _depth > 0 else 1


def _pool(workers: int) -> ThreadPoolExecutor:
    global _executor, _executor_size
    with _lock:
        if _executor is None or _executor_size < workers:
            old = _executor
            _executor = ThreadPoolExecutor(max_workers=workers,
                                           thread_name_prefix="matroidopt")
            _executor_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _executor


def run_pieces(fn: Callable[[Any], T], pieces: Sequence[Any], workers: int) -> list[T]:
    """``[fn(p) for p in pieces]``, with up to ``workers`` threads (the caller among them)
    taking pieces from a shared queue, in any order; results in the order of ``pieces``.

    The first exception raised by ``fn`` is re-raised after every worker has stopped (the
    others stop taking pieces once one has failed).
    """
    count = len(pieces)
    workers = max(1, min(int(workers), count))
    if workers == 1:
        return [fn(p) for p in pieces]
    out: list[Any] = [None] * count
    taken = iter(range(count))
    take_lock = threading.Lock()
    failed = threading.Event()

    def drain() -> None:
        while not failed.is_set():
            with take_lock:
                i = next(taken, None)
            if i is None:
                return
            try:
                out[i] = fn(pieces[i])
            except BaseException:
                failed.set()
                raise

    helpers = [_pool(workers - 1).submit(drain) for _ in range(workers - 1)]
    error: BaseException | None = None
    try:
        drain()
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the helpers stop
        error = exc
    for h in helpers:
        exc = h.exception()
        if error is None and exc is not None:
            error = exc
    if error is not None:
        raise error
    return out


_local = threading.local()


def scratch(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A buffer of ``shape`` owned by the calling thread and reused by its next call (the
    contents are undefined; use it before the next call on this thread).

    Blocks of kernel entries computed into it are not allocated afresh for every gains
    chunk: with two threads doing that, glibc's heap (its mmap threshold rises past a freed
    block's size) fragments, and a facility location from features at n = 30 000 peaked at
    1.3 GB resident against 0.28 GB on one thread (``tests/test_memory_bound.py``).
    """
    numel = 1
    for size in shape:
        numel *= int(size)
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    key = (dtype, torch.device(device))
    buf = bufs.get(key)
    if buf is None or buf.numel() < numel:
        buf = bufs[key] = torch.empty(numel, dtype=dtype, device=device)
    return buf[:numel].view(shape)


def split_gains(gains: Callable[[torch.Tensor], torch.Tensor], cand: torch.Tensor,
                work_per_candidate: int) -> torch.Tensor:
    """``gains(cand)``, cut into pieces of about :data:`PIECE_WORK` entries that
    :func:`run_pieces` hands to :func:`pool_size` workers, when a solve is in progress and the
    block is at least :data:`MIN_BLOCK_WORK` entries; else one call on the calling thread.

    The cut depends only on the block (never on the number of workers), so a kernel whose
    rounding depends on the block shape (a matrix product) gives the same gains at any
    thread count.
    """
    count = int(cand.numel())
    work = max(int(work_per_candidate), 1)
    if _depth == 0 or count < 2 or count * work < MIN_BLOCK_WORK:
        return gains(cand)
    pieces = list(torch.split(cand, max(1, PIECE_WORK // work)))
    return torch.cat(run_pieces(gains, pieces, pool_size()))
