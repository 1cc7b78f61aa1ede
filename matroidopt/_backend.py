"""Boundary conversions: numpy / scipy.sparse / torch inputs to validated torch tensors.

Private helpers; every public constructor funnels its array arguments through here so that
bad input is rejected with an :class:`~matroidopt.errors.InvalidInputError` that names the
argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .errors import InvalidInputError

ArrayLike = Any  # numpy array, scipy.sparse matrix, torch tensor, nested sequence


def is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def resolve_device(device: str | torch.device | None, like: Any = None) -> torch.device:
    """The device to compute on: the explicit one, else the input tensor's, else CPU."""
    if device is not None:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InvalidInputError(f"device: not a valid torch device ({device!r})") from exc
        if dev.type == "cuda" and dev.index is None:
            if not torch.cuda.is_available():
                raise InvalidInputError("device: 'cuda' requested but no CUDA device is available")
            dev = torch.device("cuda", torch.cuda.current_device())  # compare equal to tensors'
        return dev
    if isinstance(like, torch.Tensor):
        return like.device
    return torch.device("cpu")


def resolve_dtype(dtype: torch.dtype | str | None, like: Any = None) -> torch.dtype:
    """float64 for numpy/scipy/python input, the input's floating dtype for torch input."""
    if dtype is not None:
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            raise InvalidInputError(f"dtype: expected a torch floating dtype, got {dtype!r}")
        return dtype
    if isinstance(like, torch.Tensor) and like.is_floating_point():
        return like.dtype
    return torch.float64


def as_float_tensor(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    nonnegative: bool = False,
    finite: bool = True,
) -> torch.Tensor:
    """Validate and convert a dense numeric array to a float tensor.

    Raises
    ------
    InvalidInputError
        If ``x`` is not numeric, has the wrong number of dimensions, contains NaN/inf
        (when ``finite``) or negative entries (when ``nonnegative``).
    """
    if sp.issparse(x):
        x = x.toarray()
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists etc.
            raise InvalidInputError(f"{name}: expected a numeric array ({exc})") from exc
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise InvalidInputError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise InvalidInputError(f"{name}: complex values are not supported")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            raise InvalidInputError(
                f"{name}: expected {' or '.join(f'{a}-D' for a in allowed)} array, "
                f"got shape {tuple(t.shape)}"
            )
    dtype = resolve_dtype(dtype, x)
    device = resolve_device(device, x)
    t = t.to(device=device, dtype=dtype)
    if t.numel() and (finite or nonnegative):
        # one pass, no boolean copy: min/max propagate NaN and expose ±inf
        lo, hi = (float(v) for v in torch.aminmax(t))
        if finite and not (math.isfinite(lo) and math.isfinite(hi)):
            raise InvalidInputError(f"{name}: contains NaN or infinite values")
        if nonnegative and not lo >= 0:
            raise InvalidInputError(f"{name}: expected non-negative values, found {lo}")
    return t


def is_symmetric(K: torch.Tensor, tile: int = 512, rtol: float = 0.0) -> bool:
    """Symmetry test of a square matrix, tile by tile (cache-friendly transposes).

    Exact by default. With ``rtol > 0``, ``|K_ij - K_ji| <= rtol * s`` where ``s`` is the
    largest magnitude in the ``tile × tile`` block holding ``K_ji`` (the rounding noise of a
    blockwise product is relative to the entries' scale).
    """
    n = K.shape[0]
    for a in range(0, n, tile):
        for b in range(a, n, tile):
            A, B = K[a:a + tile, b:b + tile], K[b:b + tile, a:a + tile].T
            if rtol <= 0:
                if not torch.equal(A, B):
                    return False
                continue
            diff = torch.sub(A, B).abs_()
            lo, hi = torch.aminmax(B)
            if float(diff.max()) > rtol * max(abs(float(lo)), abs(float(hi))):
                return False
    return True


def as_index_tensor(
    idx: ArrayLike | Iterable[int] | None, n: int, name: str, *, device: torch.device | None = None,
    unique: bool = True,
) -> torch.Tensor:
    """Validate a collection of ground-set indices in ``range(n)`` and return a long tensor."""
    if idx is None:
        return torch.empty(0, dtype=torch.long, device=device)
    if isinstance(idx, torch.Tensor):
        t = idx.detach().reshape(-1)
    else:
        if isinstance(idx, (set, frozenset)):
            idx = sorted(idx)
        arr = np.asarray(list(idx) if not isinstance(idx, np.ndarray) else idx).reshape(-1)
        if arr.dtype == bool:
            raise InvalidInputError(f"{name}: expected integer indices, got a boolean mask "
                                    f"(use numpy.flatnonzero(mask))")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InvalidInputError(f"{name}: expected integer indices, got dtype {arr.dtype}")
        t = torch.from_numpy(arr.astype(np.int64, copy=False))
    if t.dtype == torch.bool:
        raise InvalidInputError(f"{name}: expected integer indices, got a boolean mask")
    if t.is_floating_point():
        raise InvalidInputError(f"{name}: expected integer indices, got dtype {t.dtype}")
    t = t.to(dtype=torch.long, device=device if device is not None else t.device)
    if t.numel():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise InvalidInputError(f"{name}: index {bad} outside the ground set range(0, {n})")
        if unique and torch.unique(t).numel() != t.numel():
            raise InvalidInputError(f"{name}: indices must be distinct")
    return t


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """An integer argument, optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
            value = int(value)
        else:
            raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{name}: expected an integer >= {minimum}, got {value}")
    return value


def check_element(j: Any, n: int, name: str = "j") -> int:
    """A single ground-set index in ``range(n)``."""
    j = check_int(j, name, minimum=0)
    if j >= n:
        raise InvalidInputError(f"{name}: index {j} outside the ground set range(0, {n})")
    return j


def check_real(value: Any, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False) -> float:
    """A finite real argument inside an (optionally open) interval."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected a real number, got {value!r}") from exc
    if not np.isfinite(v):
        raise InvalidInputError(f"{name}: expected a finite number, got {v}")
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if not (lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        rng = f"{lb}{'-inf' if low is None else low}, {'inf' if high is None else high}{rb}"
        raise InvalidInputError(f"{name}: expected a value in {rng}, got {v}")
    return v


def to_output(indices: Sequence[int], like_torch: bool, device: torch.device | None = None):
    """Selection indices as numpy int64, or a torch long tensor when the input was torch."""
    if like_torch:
        return torch.as_tensor(list(indices), dtype=torch.long, device=device)
    return np.asarray(list(indices), dtype=np.int64)
