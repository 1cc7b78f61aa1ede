"""Facility-location gains in one pass over the kernel, compiled with numba when installed.

A gain ``sum_i max(0, K[j, i] - cur_i)`` run through torch is three operators per block of
rows (subtract, clamp, sum), each a pass over the block; on a CPU that is three times the
arithmetic per kernel entry a solve reads, and the solve runs at a fraction of the memory
bandwidth (``benchmarks/roofline.py``). The loops here do the subtraction, the clamp and the
sum in one vectorised pass per candidate (numba's ``njit`` with reassociation allowed, so the
sum is split over SIMD lanes as torch's is), releasing the GIL so the thread policy's workers
run them side by side.

They serve CPU float32 / float64 kernels holding at least :data:`MIN_ENTRIES` entries
(smaller ones gain too little to repay numba's import and first compile) when numba imports
and :data:`ENABLED` is true (the ``MATROIDOPT_NUMBA=0`` environment variable turns it off);
otherwise the kernels keep their torch operators. Each candidate's gain is the same loop
whichever worker computes it, so solves stay identical at 1 and ``N`` threads. Compiled code
is cached on disk (numba's ``cache=True``) after the first use.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch

__all__ = ["ENABLED", "MIN_ENTRIES", "available", "dense_gains", "sparse_gains", "wanted",
           "warm_up"]

#: Use the compiled loops (when numba imports); ``MATROIDOPT_NUMBA=0`` sets it false.
ENABLED = os.environ.get("MATROIDOPT_NUMBA", "1").strip().lower() not in {"0", "false", "no"}

#: Smallest kernel (stored entries) that takes the compiled loops.
MIN_ENTRIES = 1 << 20

_DTYPES = (torch.float32, torch.float64)
# reassociation lets the sum vectorise; no "nnan"/"ninf", so infinities stay defined
_FASTMATH = {"reassoc", "nsz", "contract"}


@functools.lru_cache(maxsize=1)
def _loops():
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(fastmath=_FASTMATH, nogil=True, cache=True)
    def dense(K, cur, cand, out):  # pragma: no cover - compiled
        zero = K.dtype.type(0)
        for t in range(cand.shape[0]):
            row = K[cand[t]]
            s = zero
            for i in range(row.shape[0]):
                s += max(row[i] - cur[i], zero)
            out[t] = s

    @numba.njit(fastmath=_FASTMATH, nogil=True, cache=True)
    def sparse(indptr, row_ids, vals, cur, cand, out):  # pragma: no cover - compiled
        zero = vals.dtype.type(0)
        for t in range(cand.shape[0]):
            j = cand[t]
            s = zero
            for p in range(indptr[j], indptr[j + 1]):
                s += max(vals[p] - cur[row_ids[p]], zero)
            out[t] = s

    return dense, sparse


def available() -> bool:
    """Whether the compiled loops can run (numba imports and :data:`ENABLED`)."""
    return ENABLED and _loops() is not None


def wanted(entries: int, *tensors: torch.Tensor) -> bool:
    """Whether a kernel of ``entries`` stored entries held in ``tensors`` (its values first)
    takes the compiled loops: CPU, float32 / float64, contiguous, large enough, and
    :func:`available`."""
    values = tensors[0]
    return (entries >= MIN_ENTRIES and values.dtype in _DTYPES
            and all(t.device.type == "cpu" and t.is_contiguous() for t in tensors)
            and available())


def warm_up() -> bool:
    """Compile (or load from numba's disk cache) the loops for float32 and float64 now, so
    that a timed solve does not include it; returns :func:`available`."""
    if not available():
        return False
    for dtype in _DTYPES:
        K = torch.zeros((2, 2), dtype=dtype)
        cand = torch.arange(2)
        dense_gains(K, K[0], cand)
        sparse_gains(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), K[0], K[0], cand)
    return True


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def dense_gains(Kt: torch.Tensor, cur: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """``sum_i max(0, Kt[j, i] - cur_i)`` for each ``j`` in ``cand`` (a contiguous
    candidate-major kernel ``Kt``), in one pass per candidate."""
    out = np.empty(cand.numel(), dtype=_np(Kt).dtype)
    _loops()[0](_np(Kt), np.ascontiguousarray(_np(cur)), _np(cand.to(torch.int64)), out)
    return torch.from_numpy(out)


def sparse_gains(indptr: torch.Tensor, row_ids: torch.Tensor, vals: torch.Tensor,
                 cur: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """The same over a CSC kernel: candidate ``j``'s similarities ``vals[p]`` to clients
    ``row_ids[p]`` for ``p`` in ``indptr[j]:indptr[j + 1]``."""
    out = np.empty(cand.numel(), dtype=_np(vals).dtype)
    _loops()[1](_np(indptr), _np(row_ids), _np(vals), np.ascontiguousarray(_np(cur)),
                _np(cand.to(torch.int64)), out)
    return torch.from_numpy(out)
