"""Stochastic greedy, "lazier than lazy greedy" (Mirzasoleiman et al. 2015)."""

from __future__ import annotations

import math
from typing import Any

import torch

from .._backend import check_real
from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run, first_best, greedy_loop, tie_rtol
from .result import Result
from .spec import E, SolverSpec

__all__ = ["SPEC", "stochastic_greedy", "stochastic_greedy_guarantee"]


def stochastic_greedy(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
                      epsilon: float = 0.1, progress: bool = False,
                      certificate: bool = True) -> Result:
    """Each step evaluates a uniform random sample of ``s = ceil(n/k · ln(1/ε))`` remaining
    feasible elements and adds the best of them (ties to the smallest index).

    Guarantee
    ---------
    ``1 - 1/e - ε`` in expectation for monotone submodular ``f`` under a cardinality
    constraint ``k`` (Mirzasoleiman, Badanidiyuru, Karbasi, Vondrák, Krause 2015). Under other
    constraints it runs (``k`` = the largest feasible size) without a guarantee.

    Complexity
    ----------
    ``O(n · ln(1/ε))`` oracle calls in all, independent of ``k``; plus ``n`` once when
    ``certificate=True``: the gains of every element at the final set ``S``, which bound
    ``OPT <= f(S) + Σ_{top k} f(e | S)`` (far tighter than the gains at ∅, which a sampled
    run never refreshes for most elements).

    Parameters
    ----------
    epsilon : float
        In (0, 1).
    seed : int, numpy Generator or None
        Same seed, same result.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> r = mo.stochastic_greedy(f, 10, epsilon=0.1, seed=0)
    >>> len(r.indices), r.expected, r.value <= r.upper_bound
    (10, True, True)
    """
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0, low_open=True, high_open=True)
    rng = make_rng(seed)
    run = Run("stochastic_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=stochastic_greedy_guarantee, epsilon=epsilon,
              needs="a monotone submodular utility under a cardinality constraint")
    n = run.n
    k = run.c._max_feasible_size()
    if n == 0 or k == 0:
        return run.result(sample_size=0)
    s = min(n, max(1, math.ceil(n / k * -math.log(epsilon))))  # 1/ε overflows for tiny ε
    rtol = tie_rtol(run.u.dtype)

    def sample(cand: torch.Tensor) -> torch.Tensor:
        if cand.numel() <= s:
            return cand
        pick = torch.from_numpy(rng.choice(cand.numel(), size=s, replace=False))
        return torch.sort(cand[pick]).values

    def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
        pos = first_best(g, rtol)
        best = float(g[pos])
        return None if not run.u.monotone and best <= 0.0 else (int(cand[pos]), best)

    greedy_loop(run, choose, narrow=sample, certify_each_step=False)
    run.certify_fresh()
    return run.result(sample_size=s)


def stochastic_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                                epsilon: float = 0.1, **options: Any
                                ) -> tuple[float | None, bool]:
    """``1 - 1/e - ε`` in expectation for monotone submodular ``f`` under cardinality."""
    if utility.monotone and utility.submodular and constraint.kind == "cardinality":
        return max(0.0, E - float(epsilon)), True
    return None, False


SPEC = SolverSpec.declare("stochastic_greedy", stochastic_greedy, stochastic_greedy_guarantee,
                          rows=(
    ("stochastic_greedy(ε)", "cardinality", "monotone submodular", "1 - 1/e - ε (expected)"),
))
stochastic_greedy = SPEC.fn  # the public function: admits once, runs the body
