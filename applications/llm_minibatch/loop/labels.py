"""Domain labels: which labels a selector accepts (those JSON round-trips exactly) and their
JSON form in saved state."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int


def _label_kind(d: Any) -> Any:
    """The type signature of a domain label (tuples: recursively), to spot labels that are
    equal as dict keys but of different types (``True == 1 == 1.0``)."""
    if isinstance(d, tuple):
        return ("tuple", tuple(_label_kind(x) for x in d))
    return type(d).__name__


def _check_label(d: Any, name: str, i: int) -> Any:
    """A domain label that survives the JSON checkpoint exactly, else an error naming ``name``.

    Allowed: ``str``, ``int``, ``bool``, finite ``float`` and tuples of these (numpy scalars
    are unwrapped first). Everything else (bytes, None, NaN, frozensets, objects, ...) is
    rejected here, at the first selection, rather than at the first checkpoint.
    """
    if isinstance(d, np.generic):
        d = d.item()
    if isinstance(d, (str, bool, int)):
        return d
    if isinstance(d, float):
        if not math.isfinite(d):
            raise InvalidInputError(
                f"{name}: label {i} is {d!r}; a float domain label must be finite (NaN is not "
                "equal to itself, so it cannot name a domain)")
        return d
    if isinstance(d, tuple):
        return tuple(_check_label(x, name, i) for x in d)
    raise InvalidInputError(
        f"{name}: label {i} is {d!r} of type {type(d).__name__}; domain labels must be str, "
        "int, bool, finite float or tuples of these (they are stored in JSON checkpoints), "
        "e.g. decode bytes to str")


def _check_labels(labels: list, name: str) -> list:
    """Every label checked by :func:`_check_label`; labels that are equal but of different
    types (``1``, ``1.0``, ``True``; ``(1,)`` and ``(True,)``) are rejected, because a dict
    (quotas, counts) merges them into one domain under whichever type came first."""
    out = [_check_label(d, name, i) for i, d in enumerate(labels)]
    first: dict = {}
    for i, d in enumerate(out):
        j = first.setdefault(d, i)
        if j != i and _label_kind(out[j]) != _label_kind(d):
            raise InvalidInputError(
                f"{name}: labels {j} ({out[j]!r}) and {i} ({d!r}) are equal but of different "
                "types, so they would be one domain; use labels of one type")
    return out


def _domain_list(domains: Any, name: str = "domains") -> list:
    if isinstance(domains, torch.Tensor):
        return _check_labels(domains.detach().cpu().reshape(-1).tolist(), name)
    if isinstance(domains, np.ndarray):
        if domains.ndim != 1:
            raise InvalidInputError(f"{name}: expected a 1-D sequence of labels, got shape "
                                    f"{domains.shape}")
        return _check_labels(domains.tolist(), name)
    if isinstance(domains, (str, bytes)) or not isinstance(domains, Iterable):
        raise InvalidInputError(
            f"{name}: expected a sequence with one domain label per example, got "
            f"{type(domains).__name__}")
    return _check_labels(list(domains), name)


def _json_label(d: Any) -> Any:
    if isinstance(d, np.generic):
        return d.item()
    if isinstance(d, tuple):
        return [_json_label(x) for x in d]
    return d


def _label_from_json(d: Any, where: str = "label") -> Any:
    """Decode a label written by :func:`_json_label` (lists back to tuples), checked."""
    if isinstance(d, list):
        return tuple(_label_from_json(x, where) for x in d)
    if isinstance(d, float) and not math.isfinite(d):
        raise InvalidInputError(f"{where}: expected a finite domain label, got {d!r}")
    if not isinstance(d, (str, int, float)):  # bool is an int
        raise InvalidInputError(
            f"{where}: expected a domain label (str, int, bool, float or a list of these), "
            f"got {d!r}")
    return d


def _pairs(counts: Mapping) -> list:
    return [[_json_label(d), int(c)] for d, c in counts.items()]


def _unpairs(pairs: Any, where: str = "domain_counts") -> dict:
    """``[[label, count], ...]`` (or a mapping label -> count) back to a dict, checked: counts
    are non-negative integers, labels valid and distinct."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    if not isinstance(pairs, (Mapping, list)):
        raise InvalidInputError(
            f"{where}: expected a list of [label, count] pairs, got {type(pairs).__name__}")
    out: dict = {}
    for k, pair in enumerate(items):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidInputError(
                f"{where}[{k}]: expected a [label, count] pair, got {pair!r}")
        d = _label_from_json(pair[0], f"{where}[{k}][0]")
        c = check_int(pair[1], f"{where}[{k}][1]", minimum=0)
        if d in out:
            raise InvalidInputError(f"{where}[{k}]: label {d!r} appears twice")
        out[d] = c
    return out
