"""Seeds: one way to turn a user's ``seed`` into a random generator (the bottom layer).

Every randomised piece of the library (solvers, rounding, sampled multilinear extensions)
takes ``seed`` as ``None`` (fresh entropy), a non-negative int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator` (used as it is, so a
caller can thread one generator through several calls), and gets its generator here: the
same seed gives the same result everywhere.

Examples
--------
>>> from matroidopt.seeds import make_rng
>>> make_rng(3).integers(100) == make_rng(3).integers(100)
np.True_
>>> g = make_rng(0)
>>> make_rng(g) is g
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["make_rng"]


def make_rng(seed: Any) -> np.random.Generator:
    """A numpy generator for ``seed`` (see the module docstring).

    Raises
    ------
    InvalidInputError
        A negative int or anything else than the accepted kinds, naming ``seed``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or seed is not None and not isinstance(
            seed, (int, np.integer, np.random.SeedSequence)):
        raise InvalidInputError(f"seed: expected None, an int or a numpy Generator, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise InvalidInputError(f"seed: expected a non-negative int, got {seed}")
    return np.random.default_rng(seed)
