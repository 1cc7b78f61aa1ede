"""Double greedy for unconstrained non-monotone submodular maximisation (Buchbinder, Feldman,
Naor, Schwartz 2012)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run
from .result import Result
from .spec import SolverSpec

__all__ = ["SPEC", "double_greedy", "double_greedy_guarantee"]


def double_greedy(utility: Utility, constraint: Constraint | None = None, *, seed: Any = None,
                  randomized: bool = True, progress: bool = False,
                  certificate: bool = True) -> Result:
    """Grow ``X`` from ``∅`` and shrink ``Y`` from the ground set together: element ``i``
    (in index order) is added to ``X`` or removed from ``Y`` by comparing
    ``a = f(X + i) - f(X)`` with ``b = f(Y - i) - f(Y)``; at the end ``X = Y``.

    ``randomized=True`` adds ``i`` with probability ``a' / (a' + b')`` where
    ``a' = max(a, 0)``, ``b' = max(b, 0)`` (1 when both are 0); ``randomized=False`` adds it
    when ``a >= b``.

    Guarantee
    ---------
    For a non-negative submodular ``f`` without a constraint: ``1/2`` in expectation
    (randomized; the best possible for a polynomial number of value queries, Feige, Mirrokni,
    Vondrák 2011) and ``1/3`` deterministically (Buchbinder, Feldman, Naor, Schwartz 2012).

    Complexity
    ----------
    ``n`` marginal gains at ``X`` and ``n + 1`` evaluations of ``f`` on ``Y`` (sets of up to
    ``n`` elements), all counted in ``oracle_calls``; ``n`` more gains, at ``∅``, for the
    certificate.

    Parameters
    ----------
    constraint : None or FreeMatroid
        None (no constraint) or, the same, a :class:`~matroidopt.FreeMatroid`; any other
        constraint is refused (for a cardinality constraint, :func:`random_greedy`).
    seed : int, numpy Generator or None
        The coin flips (randomized only); same seed, same result.
    randomized : bool
        The 1/2 (randomized) or the 1/3 (deterministic) variant.
    progress, certificate
        As for :func:`greedy`. The certificate, ``f(∅) + Σ_j max(0, f(j | ∅))``, holds for
        every submodular ``f``, monotone or not (it is loose).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> W = np.ones((4, 4)) - np.eye(4)                   # the cut function of K4
    >>> f = mo.GraphCut(W, lam=1.0)
    >>> r = mo.double_greedy(f, seed=0)
    >>> r.value, r.guarantee, r.expected                  # the max cut of K4: 2 + 2
    (4.0, 0.5, True)
    >>> mo.double_greedy(f, randomized=False).guarantee
    0.3333333333333333
    """
    rng = make_rng(seed)
    run = Run("double_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=double_greedy_guarantee,
              needs="a non-negative submodular utility without a constraint",
              randomized=randomized)
    u, n = run.u, run.n
    if n and certificate and u.submodular:
        singles = run.gains(torch.arange(n))
        run.best_bound = u.evaluate([]) + float(singles.clamp_min(0.0).sum())
    in_y = np.ones(n, dtype=bool)
    f_y = u.evaluate(np.arange(n))
    run.calls += 1
    for i in range(n):
        a = float(run.gains(torch.tensor([i]))[0])
        in_y[i] = False
        f_without = u.evaluate(np.flatnonzero(in_y))
        run.calls += 1
        b = f_without - f_y
        if randomized:
            a_, b_ = max(a, 0.0), max(b, 0.0)
            add = a_ + b_ == 0.0 or rng.random() < a_ / (a_ + b_)
        else:
            add = a >= b
        if add:
            in_y[i] = True
            run.add(i, a)
        else:
            f_y = f_without
    return run.result()


def double_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                            randomized: bool = True, **options: Any
                            ) -> tuple[float | None, bool]:
    """``1/2`` in expectation (randomized) or ``1/3`` for non-negative submodular ``f``
    without a constraint."""
    if utility.submodular and utility.nonnegative and constraint.kind == "unconstrained":
        return (0.5, True) if randomized else (1.0 / 3.0, False)
    return None, False


SPEC = SolverSpec.declare("double_greedy", double_greedy, double_greedy_guarantee,
                          accepts=("unconstrained",),
                          accepts_note="double greedy maximises without a constraint: pass "
                                       "None, or use random_greedy for a cardinality "
                                       "constraint", rows=(
    ("double_greedy", "unconstrained", "non-negative submodular", "1/2 (expected)"),
    ("double_greedy(randomized=False)", "unconstrained", "non-negative submodular", "1/3"),
))
double_greedy = SPEC.fn  # the public function: admits once, runs the body
