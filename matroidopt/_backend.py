"""Boundary conversions: numpy / scipy.sparse / torch inputs to validated torch tensors.

Private helpers; every public constructor funnels its array arguments through here so that
bad input is rejected with an :class:`~matroidopt.errors.InvalidInputError` that names the
argument.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .errors import InvalidInputError

ArrayLike = Any  # numpy array, scipy.sparse matrix, torch tensor, nested sequence

#: Largest ground-set size: indices are int64.
MAX_N = 2**63 - 1


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


#: Storage dtypes too coarse to compute in: their sums overflow at 65504 (float16) and their
#: 8- or 11-bit significands round gains and ties away; inputs in them are computed in float32.
HALF_DTYPES = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the library computes in for the requested ``dtype``: ``float32`` for half
    precision (``float16`` / ``bfloat16``), else ``dtype`` itself."""
    return torch.float32 if dtype in HALF_DTYPES else dtype


def scale_to_unit_max(t: torch.Tensor, dim: int) -> torch.Tensor:
    """``t`` scaled along ``dim`` by powers of two so that each slice's largest magnitude lies
    in ``[0.5, 1)`` (zero slices stay zero).

    Exact (a power-of-two scaling changes only exponents), so norms and residuals computed
    from the result neither overflow nor underflow whatever the input's scale, and agree
    bit for bit with the unscaled computation wherever that one did not overflow.
    """
    if t.numel() == 0:
        return t.clone()
    peak = t.abs().amax(dim=dim, keepdim=True)
    return torch.ldexp(t, -torch.frexp(peak).exponent)


def as_list_1d(x: Any, name: str, what: str) -> list:
    """A 1-D sequence (list, tuple, iterable, 1-D numpy array or tensor) as a Python list;
    ``None``, strings, mappings, scalars (0-D arrays included) and arrays of other shapes are
    rejected with an :class:`InvalidInputError` naming ``name`` (``what``: the expected
    content, e.g. "a sequence of non-negative integers")."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if x is None or isinstance(x, (str, bytes, Mapping)) or not (
            isinstance(x, np.ndarray) or isinstance(x, Iterable)):
        raise InvalidInputError(f"{name}: expected {what}, got {type(x).__name__}")
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise InvalidInputError(f"{name}: expected a 1-D sequence, got an array of shape "
                                    f"{x.shape}")
        return x.tolist()
    return list(x)


def check_state_owner(state: Any, state_type: type, owner: Any, what: str) -> None:
    """Reject a state that is not a ``state_type`` made by ``owner`` (``what``: "utility" or
    "constraint"): another object's state would be read as this one's, giving wrong gains or
    an internal error."""
    if not isinstance(state, state_type):
        raise InvalidInputError(
            f"state: expected a {state_type.__name__} from init_state()/add(), "
            f"got {type(state).__name__}")
    if state.owner is not owner:
        made_by = ("was not made by init_state()/add()" if state.owner is None
                   else f"was made by another {what}, {state.owner!r}")
        raise InvalidInputError(
            f"state: {made_by}; pass a state from this {what}'s ({owner!r}) init_state()/add()")


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

    The dtype is ``dtype`` if given, else the input's floating dtype for torch input, else
    float64. Half precision (``float16`` / ``bfloat16``, requested or the input's) becomes
    ``float32``: sums of half-precision values overflow at 65504 and their rounding swamps
    marginal gains, which gave silently wrong selections.

    Raises
    ------
    InvalidInputError
        If ``x`` is not numeric, has the wrong number of dimensions (a 0-D scalar is not a
        1-D array), contains NaN/inf (when ``finite``) or negative entries (when
        ``nonnegative``).
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
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise InvalidInputError(f"{name}: complex values are not supported")
        if arr.dtype.itemsize > 8 or not arr.dtype.isnative:  # long double, other byte order
            arr = arr.astype(np.float64)
        # np.ascontiguousarray would turn a 0-D array into a 1-D one (and pass a 1-D check)
        arr = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        if arr.flags.writeable:
            t = torch.from_numpy(arr)
        else:   # a read-only array (a memmap, a broadcast view): utilities never write to it
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The given NumPy array is not "
                                        "writable", category=UserWarning)
                t = torch.from_numpy(arr)
    if t.is_complex():
        raise InvalidInputError(f"{name}: complex values are not supported")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            raise InvalidInputError(
                f"{name}: expected a {' or '.join(f'{a}-D' for a in allowed)} array, "
                f"got shape {tuple(t.shape)}" + (" (a scalar)" if t.ndim == 0 else "")
            )
    dtype = compute_dtype(resolve_dtype(dtype, x))
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


def as_point(x: Any, n: int, name: str = "x", *, cube: bool = True) -> torch.Tensor:
    """``x`` as a new float64 CPU tensor of shape ``(n,)``; with ``cube`` (default) every entry
    must lie in ``[0, 1]`` (a fractional point for the multilinear extension, a polytope or
    a rounding scheme).

    Examples
    --------
    >>> from matroidopt.validation import as_point
    >>> as_point([0.5, 1.0], 2).tolist()
    [0.5, 1.0]
    >>> as_point([0.5, 1.5], 2)
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: x: expected a point of [0, 1]^n, found the entry 1.5
    """
    t = as_float_tensor(x, name, ndim=1, device="cpu", dtype=torch.float64).clone()
    if t.numel() != n:
        raise InvalidInputError(
            f"{name}: expected length {n} (the ground-set size), got {t.numel()}")
    if cube and t.numel():
        lo, hi = float(t.min()), float(t.max())
        if lo < 0.0 or hi > 1.0:
            bad = lo if lo < 0.0 else hi
            raise InvalidInputError(
                f"{name}: expected a point of [0, 1]^n, found the entry {bad}")
    return t


def as_sparse_2d(x, name: str, fmt: str):
    """A scipy.sparse input as a 2-D CSC or CSR matrix, rejecting other shapes (scipy's own
    errors name no argument)."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 2:
        raise InvalidInputError(f"{name}: expected a 2-D sparse matrix, got shape {shape}")
    if getattr(x, "dtype", None) is not None and not (
            np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise InvalidInputError(f"{name}: expected a numeric sparse matrix, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise InvalidInputError(f"{name}: complex values are not supported")
    try:
        return sp.csc_matrix(x) if fmt == "csc" else sp.csr_matrix(x)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: could not read the sparse matrix ({exc})") from None


def check_total(total: float, name: str, what: str, dtype: torch.dtype) -> None:
    """Reject an input whose ``what`` (a bound on every value and gain of the utility built
    from it, e.g. the sum of its absolute weights) overflows ``dtype``: every later sum
    would be infinite and a solver would select nothing, or anything."""
    if not abs(total) <= torch.finfo(dtype).max:  # also NaN
        raise InvalidInputError(f"{name}: {what} overflows {dtype} ({total}); rescale the "
                                f"input")


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
    """Validate a 1-D collection of ground-set indices in ``range(n)``; a long tensor.

    ``None`` means the empty set. Accepted: a sequence, set or iterator of integers, a 1-D
    integer numpy array or torch tensor (numpy floats that are whole numbers are accepted
    too). Rejected, with an :class:`InvalidInputError` naming ``name``: scalars, 2-D (or
    ragged) input, booleans (masks), fractional or non-finite numbers, strings, indices
    outside ``range(n)`` and, with ``unique``, repeated indices.
    """
    if idx is None:
        return torch.empty(0, dtype=torch.long, device=device)
    if isinstance(idx, torch.Tensor):
        t = idx.detach()
        if t.ndim != 1:
            raise InvalidInputError(f"{name}: expected a 1-D collection of indices, got a "
                                    f"tensor of shape {tuple(t.shape)}")
    else:
        if isinstance(idx, (set, frozenset)):
            try:
                idx = sorted(idx)
            except TypeError:
                raise InvalidInputError(
                    f"{name}: expected integer indices, got a set of mixed types") from None
        if isinstance(idx, (str, bytes)) or not (
                isinstance(idx, np.ndarray) or isinstance(idx, Iterable)):
            raise InvalidInputError(f"{name}: expected a 1-D collection of indices, got "
                                    f"{type(idx).__name__} {idx!r}"[:200])
        try:
            arr = np.asarray(idx if isinstance(idx, np.ndarray) else list(idx))
        except (TypeError, ValueError) as exc:  # ragged nesting, failing iterators
            raise InvalidInputError(f"{name}: expected a 1-D collection of indices "
                                    f"({exc})") from None
        if arr.ndim != 1:
            raise InvalidInputError(f"{name}: expected a 1-D collection of indices, got an "
                                    f"array of shape {arr.shape}")
        if arr.dtype == bool:
            raise InvalidInputError(f"{name}: expected integer indices, got a boolean mask "
                                    f"(use numpy.flatnonzero(mask))")
        if arr.dtype == object and arr.size and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                for v in arr.tolist()):
            bad = [v for v in arr.tolist() if not 0 <= v < n]  # e.g. ints beyond int64
            if bad:
                raise InvalidInputError(
                    f"{name}: index {bad[0]} outside the ground set range(0, {n})")
            arr = arr.astype(np.int64)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.isfinite(arr))) \
                    and bool(np.all(arr == np.round(arr))):
                if float(np.min(arr)) < 0 or float(np.max(arr)) >= n:
                    bad = float(np.min(arr)) if float(np.min(arr)) < 0 else float(np.max(arr))
                    raise InvalidInputError(
                        f"{name}: index {bad:g} outside the ground set range(0, {n})")
                arr = arr.astype(np.int64)
            else:
                raise InvalidInputError(f"{name}: expected integer indices, got dtype {arr.dtype}"
                                        + (" with non-integral or non-finite values"
                                           if np.issubdtype(arr.dtype, np.floating) else ""))
        if arr.size and arr.dtype == np.uint64 and int(arr.max()) >= n:
            raise InvalidInputError(
                f"{name}: index {int(arr.max())} outside the ground set range(0, {n})")
        t = torch.from_numpy(arr.astype(np.int64, copy=False))
    if t.dtype == torch.bool:
        raise InvalidInputError(f"{name}: expected integer indices, got a boolean mask")
    if t.is_floating_point() or t.is_complex():
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


def check_int(value: Any, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer argument, optionally bounded below and above (``maximum`` is for arguments
    whose cost grows with their value, e.g. a number of steps)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, torch.Tensor) and value.numel() == 1 \
                and not value.is_floating_point() and value.dtype != torch.bool:
            value = int(value)
        else:
            raise InvalidInputError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    low_ok = minimum is None or value >= minimum
    high_ok = maximum is None or value <= maximum
    if not (low_ok and high_ok):
        if maximum is None:
            rng = f">= {minimum}"
        elif minimum is None:
            rng = f"<= {maximum}"
        else:
            rng = f"in [{minimum}, {maximum}]"
        raise InvalidInputError(f"{name}: expected an integer {rng}, got {value}")
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
    if isinstance(value, (str, bytes)):
        raise InvalidInputError(f"{name}: expected a real number, got {value!r}")
    try:
        v = float(value)
    except OverflowError:
        raise InvalidInputError(f"{name}: expected a finite number, got an integer too large "
                                f"for a float ({str(value)[:20]}...)") from None
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
