"""Argument validation shared by the library and by applications built on it (public).

Every check raises :class:`~matroidopt.errors.InvalidInputError` (a ``ValueError``) whose
message starts with the argument's name and states the valid range, the convention the whole
library follows.

Examples
--------
>>> from matroidopt.validation import check_int, check_real
>>> check_int(3, "k", minimum=1)
3
>>> check_real(0.5, "ratio", low=0.0, high=1.0, low_open=True)
0.5
>>> check_int(0, "k", minimum=1)
Traceback (most recent call last):
...
matroidopt.errors.InvalidInputError: k: expected an integer >= 1, got 0
"""

from __future__ import annotations

from ._backend import (
    as_float_tensor,
    as_index_tensor,
    as_point,
    check_int,
    check_real,
    is_torch,
    resolve_device,
    resolve_dtype,
)

__all__ = ["as_float_tensor", "as_index_tensor", "as_point", "check_int", "check_real", "is_torch",
           "resolve_device", "resolve_dtype"]
