"""Random greedy for non-monotone submodular maximisation under a cardinality constraint
(Buchbinder, Feldman, Naor, Schwartz 2014)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run
from .result import Result
from .spec import E, SolverSpec, guarantee_kind

__all__ = ["SPEC", "random_greedy", "random_greedy_guarantee"]


def random_greedy(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
                  progress: bool = False, certificate: bool = True) -> Result:
    """``k`` rounds; each computes the ``k`` remaining elements of largest marginal gain,
    padded with dummy elements of gain 0 where fewer than ``k`` gains are positive, and picks
    one of the ``k`` uniformly at random (a dummy adds nothing).

    Guarantee
    ---------
    ``1/e`` in expectation for non-negative submodular ``f`` and ``1 - 1/e`` in expectation
    for monotone submodular ``f``, under a cardinality constraint ``k`` (Buchbinder, Feldman,
    Naor, Schwartz 2014).

    Complexity
    ----------
    ``k`` rounds of ``O(n)`` oracle calls plus one top-``k``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> f = mo.Utility.from_callable(lambda S: len(S) * (6 - len(S)), 6, submodular=True,
    ...                              nonnegative=True)
    >>> r = mo.random_greedy(f, 6, seed=0)
    >>> len(r.indices) <= 6, round(r.guarantee, 4), r.expected
    (True, 0.3679, True)
    """
    rng = make_rng(seed)
    run = Run("random_greedy", utility, constraint, progress=progress, certificate=certificate,
              guarantee=random_greedy_guarantee,
              needs="a non-negative submodular utility")
    n = run.n
    k = run.c._max_feasible_size()
    if n:
        run.gains(torch.arange(n))
    alive = torch.ones(n, dtype=torch.bool)
    skipped = 0
    for step in range(k):
        cand = torch.nonzero(alive).flatten()
        if cand.numel() == 0:
            break
        g = run.ub[cand] if step == 0 else run.gains(cand)
        run.certify_stale()
        m = min(k, cand.numel())
        top = torch.sort(g, descending=True, stable=True)  # ties to the smallest index
        top_values, top_indices = top.values[:m], top.indices[:m]
        positive = int((top_values > 0).sum())
        pos = int(rng.integers(k))  # k slots: `positive` real elements, the rest dummies
        if pos >= positive:
            skipped += 1
            continue
        j = int(cand[top_indices[pos]])
        run.add(j, float(top_values[pos]))
        alive[j] = False
    run.certify_stale(final=True)
    if n and not run.cert_stale_ok:
        run.certify_fresh()  # monotone γ-weakly submodular: fresh gains, divided by γ
    return run.result(dummy_picks=skipped)


def random_greedy_guarantee(utility: Utility, constraint: Constraint, **options: Any
                            ) -> tuple[float | None, bool]:
    """``1 - 1/e`` (monotone) or ``1/e`` (non-negative) in expectation for submodular ``f``
    under cardinality."""
    if utility.submodular and guarantee_kind(constraint) == "cardinality":
        if utility.monotone:
            return E, True
        if utility.nonnegative:
            return 1.0 / math.e, True
    return None, False


SPEC = SolverSpec.declare("random_greedy", random_greedy, random_greedy_guarantee,
                          accepts=("cardinality",), rows=(
    ("random_greedy", "cardinality", "non-negative submodular", "1/e (expected)"),
    ("random_greedy", "cardinality", "monotone submodular", "1 - 1/e (expected)"),
))
random_greedy = SPEC.fn  # the public function: admits once, runs the body
