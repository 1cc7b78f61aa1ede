"""Seeds: one way to turn a user's ``seed`` into a random generator (the bottom layer).

Every randomised piece of the library (solvers, rounding, sampled multilinear extensions)
takes ``seed`` as ``None`` (fresh entropy), a non-negative int, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator` (used as it is, so a
caller can thread one generator through several calls), and gets its generator here: the
same seed gives the same result everywhere. :func:`spawn_rngs` derives several independent
generators from one seed (numpy's :class:`~numpy.random.SeedSequence` spawning), for work
split into parts that must not share a stream (e.g. one per partition of a distributed solve)
and must not depend on the order the parts run in.

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

from ._backend import check_int
from .errors import InvalidInputError

__all__ = ["make_rng", "spawn_rngs"]


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


def spawn_rngs(seed: Any, count: int) -> list[np.random.Generator]:
    """``count`` statistically independent generators derived from ``seed``.

    An int, None or :class:`~numpy.random.SeedSequence` seed is turned into a seed sequence
    whose ``count`` children seed the generators (``SeedSequence.spawn``); a
    :class:`~numpy.random.Generator` spawns children of its own bit generator (advancing its
    spawn counter, not its stream). The same int seed gives the same generators, and child
    ``i`` does not depend on ``count`` (the first children of a longer spawn are the same).

    Raises
    ------
    InvalidInputError
        ``seed`` as for :func:`make_rng`; ``count`` not a non-negative int.

    Examples
    --------
    >>> from matroidopt.seeds import spawn_rngs
    >>> a, b = spawn_rngs(7, 2)
    >>> int(a.integers(10**9)) == int(spawn_rngs(7, 5)[0].integers(10**9))
    True
    >>> int(a.integers(10**9)) != int(b.integers(10**9))
    True
    """
    count = check_int(count, "count", minimum=0)
    if isinstance(seed, np.random.Generator):
        return seed.spawn(count)
    make_rng(seed)  # the same checks and messages as everywhere
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(child) for child in sequence.spawn(count)]
