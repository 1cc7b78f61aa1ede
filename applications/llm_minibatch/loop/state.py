"""Selector state on disk: atomic writes, strict reads, and validation of loaded state."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from .labels import _unpairs

# --------------------------------------------------------------------------- state validation
#: Keys of every :attr:`PartitionSel.history` entry (and of its saved form).
_HISTORY_KEYS = ("step", "method", "pool_size", "b", "lr", "domain_counts",
                 "conflicting_pairs", "utility", "feature_seconds", "selection_seconds")


def _finite_or_none(v: Any) -> Any:
    """A non-finite float as None (strict JSON has no NaN); anything else unchanged."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _state_real(v: Any, name: str, **bounds: Any) -> float:
    """A finite real number of a saved state (bools and strings are not numbers here)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidInputError(f"{name}: expected a finite number, got {v!r}")
    return check_real(v, name, **bounds)


def _state_mapping(v: Any, name: str, required: Sequence[str] = ()) -> Mapping:
    if not isinstance(v, Mapping):
        raise InvalidInputError(f"{name}: expected a mapping, got {type(v).__name__}")
    missing = [k for k in required if k not in v]
    if missing:
        raise InvalidInputError(f"{name}: missing key(s) {missing}")
    return v


def _state_key(k: Any, name: str) -> str:
    if not isinstance(k, str):
        raise InvalidInputError(f"{name}: expected string keys, got {k!r}")
    return k


def _history_entry(e: Any, where: str) -> dict:
    """One saved history entry, validated and decoded (``domain_counts`` back to a dict)."""
    e = _state_mapping(e, where, _HISTORY_KEYS)
    out = {}
    for k, v in e.items():  # keys a later version adds are kept when they are plain scalars
        _state_key(k, where)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int, float))) \
                and k != "domain_counts":
            raise InvalidInputError(f"{where}[{k!r}]: expected a scalar, got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidInputError(f"{where}[{k!r}]: expected a finite number, got {v!r}")
        out[k] = v
    out["step"] = check_int(e["step"], f"{where}['step']", minimum=0)
    if not isinstance(e["method"], str):
        raise InvalidInputError(f"{where}['method']: expected a method name, got "
                                f"{e['method']!r}")
    for k in ("pool_size", "b"):
        out[k] = check_int(e[k], f"{where}[{k!r}]", minimum=0)
    out["lr"] = (None if e["lr"] is None
                 else _state_real(e["lr"], f"{where}['lr']", low=0.0, low_open=True))
    out["conflicting_pairs"] = (None if e["conflicting_pairs"] is None else check_int(
        e["conflicting_pairs"], f"{where}['conflicting_pairs']", minimum=0))
    out["utility"] = (None if e["utility"] is None
                      else _state_real(e["utility"], f"{where}['utility']"))
    for k in ("feature_seconds", "selection_seconds"):
        out[k] = _state_real(e[k], f"{where}[{k!r}]", low=0.0)
    out["domain_counts"] = _unpairs(e["domain_counts"], f"{where}['domain_counts']")
    return out


# --------------------------------------------------------------------------- state files
def write_state_file(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write a JSON state (e.g. :meth:`PartitionSel.state_dict`) to ``path`` atomically.

    The state is serialised first (strict JSON: no NaN or infinity), then written to a
    temporary file in the same folder, flushed and ``fsync``-ed, and moved over ``path`` with
    :func:`os.replace`; the folder is ``fsync``-ed too where the platform allows it. A crash
    or an error at any point leaves either the previous file or the new one, complete —
    never a truncated or half-written ``path`` (a stray temporary ``.<name>.*.tmp`` file at
    worst, after a hard kill).

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)place; its folder must exist.
    state : mapping
        JSON-serialisable data with string keys.

    Raises
    ------
    InvalidInputError
        ``state`` is not a mapping, or holds something JSON cannot carry (nothing is written).
    OSError
        The file system refused the write (the previous file is untouched).

    Examples
    --------
    >>> import os, tempfile
    >>> from llm_minibatch.loop import read_state_file, write_state_file
    >>> path = os.path.join(tempfile.mkdtemp(), "selector.json")
    >>> write_state_file(path, {"step": 3, "seed": 0})
    >>> read_state_file(path)
    {'step': 3, 'seed': 0}
    """
    import json
    import tempfile

    if not isinstance(state, Mapping):
        raise InvalidInputError(
            f"state: expected a mapping (e.g. PartitionSel.state_dict()), got "
            f"{type(state).__name__}")
    try:
        data = json.dumps(state, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"state: cannot be stored as JSON ({exc})") from exc
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from the run's other users
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_state_file(path: str | os.PathLike) -> dict:
    """Read a state file written by :func:`write_state_file`, with errors that say what is wrong.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        The JSON object (pass it to :meth:`PartitionSel.load_state_dict`, which validates its
        content).

    Raises
    ------
    InvalidInputError
        Naming ``path``: not UTF-8, not JSON (truncated or corrupt; line and column given), NaN
        or infinity in it, or not a JSON object.
    OSError
        The file cannot be read (e.g. ``FileNotFoundError``).
    """
    import json

    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"path: the state file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start}); it is corrupt or not a state file") from exc

    def no_constant(name: str) -> Any:
        raise InvalidInputError(f"path: the state file {path} holds {name}, which a state "
                                "file never does; it is corrupt")

    try:
        state = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"path: the state file {path} is truncated or corrupt: not valid JSON ({exc.msg} "
            f"at line {exc.lineno} column {exc.colno}; the file has {len(raw)} bytes)"
        ) from exc
    if not isinstance(state, dict):
        raise InvalidInputError(
            f"path: the state file {path} holds a JSON {type(state).__name__}, expected an "
            "object")
    return state
