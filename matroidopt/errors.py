"""Exception and warning types raised by :mod:`matroidopt`."""

from __future__ import annotations

__all__ = ["InvalidInputError", "AssumptionWarning", "MatroidoptError", "warn_deprecated"]


class MatroidoptError(Exception):
    """Base class of every exception raised on purpose by matroidopt."""


class InvalidInputError(MatroidoptError, ValueError):
    """An argument is outside its valid range.

    The message always names the argument and states what would be valid, e.g.
    ``capacities: expected non-negative integers, got -1 at position 3``.
    """


class AssumptionWarning(UserWarning):
    """A solver is run on a utility or constraint that lacks a property its guarantee needs.

    The solve still runs; its :attr:`~matroidopt.Result.guarantee` is ``None``.
    """


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn (a :class:`DeprecationWarning`) that the public name ``old`` moved to ``new``;
    the old name keeps working until the next major version.

    Examples
    --------
    >>> import warnings
    >>> from matroidopt.errors import warn_deprecated
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_deprecated("mo.old_name", "mo.new_name")
    >>> str(caught[0].message)
    'mo.old_name is deprecated; use mo.new_name'
    """
    import warnings

    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)
