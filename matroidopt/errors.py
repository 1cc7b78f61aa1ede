"""Exception and warning types raised by :mod:`matroidopt`."""

from __future__ import annotations

__all__ = ["InvalidInputError", "AssumptionWarning", "MatroidoptError"]


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
