"""Stochastic greedy, "lazier than lazy greedy" (Mirzasoleiman et al. 2015)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._backend import check_real
from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run, first_best, greedy_loop, tie_rtol
from .result import Result
from .spec import E, SolverSpec, guarantee_kind

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

    def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
        pos = first_best(g, rtol)
        best = float(g[pos])
        return None if not run.u.monotone and best <= 0.0 else (int(cand[pos]), best)

    greedy_loop(run, choose, candidates=_Sampler(run, s, rng), certify_each_step=False)
    run.certify_fresh()
    return run.result(sample_size=s)


class _Sampler:
    """A step's candidates: ``s`` feasible elements drawn uniformly without replacement (all
    of them when at most ``s`` are feasible), in increasing order, in ``O(s log n)``.

    Positions among the alive elements (those not chosen and not known infeasible) are drawn
    and mapped to elements through the sorted list of the others (:attr:`dead`), so the
    alive elements are never listed. If every drawn element is feasible, the sample is
    uniform over the feasible ones (a uniform sample of the alive elements that lies in the
    feasible set is a uniform sample of that set); if one is not, the step lists every
    feasible element (``O(n)``, :meth:`Run.feasible`, which also drops the infeasible ones
    for good) and draws from that list. Under a cardinality constraint every alive element
    stays feasible, so the list is never needed.
    """

    def __init__(self, run: Run, s: int, rng) -> None:
        self.run, self.s, self.rng = run, s, rng
        self.dead = np.empty(0, dtype=np.int64)   # sorted: chosen or known infeasible
        self._seen = 0                            # chosen elements already in `dead`
        self._shift = self.dead                   # dead[i] - i: alive elements before dead[i]

    def __call__(self, alive: torch.Tensor) -> torch.Tensor:
        chosen = self.run.selected[self._seen:]
        if chosen:
            self.dead = np.union1d(self.dead, np.asarray(chosen, dtype=np.int64))
            self._seen += len(chosen)
            self._shift = self.dead - np.arange(self.dead.size)
        alive_count = self.run.n - self.dead.size
        if alive_count > self.s:
            pos = np.sort(self.rng.choice(alive_count, size=self.s, replace=False))
            cand = torch.from_numpy(pos + np.searchsorted(self._shift, pos, side="right"))
            if bool(self.run.can_add(cand).all()):
                return cand
        cand = self.run.feasible(alive)   # every feasible element, the infeasible dropped
        self.dead = np.flatnonzero(~alive.numpy())
        self._seen = len(self.run.selected)
        self._shift = self.dead - np.arange(self.dead.size)
        if cand.numel() <= self.s:
            return cand
        pick = torch.from_numpy(self.rng.choice(cand.numel(), size=self.s, replace=False))
        return torch.sort(cand[pick]).values


def stochastic_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                                epsilon: float = 0.1, **options: Any
                                ) -> tuple[float | None, bool]:
    """``1 - 1/e - ε`` in expectation for monotone submodular ``f`` under cardinality."""
    if utility.monotone and utility.submodular and guarantee_kind(constraint) == "cardinality":
        return max(0.0, E - float(epsilon)), True
    return None, False


SPEC = SolverSpec.declare("stochastic_greedy", stochastic_greedy, stochastic_greedy_guarantee,
                          rows=(
    ("stochastic_greedy(ε)", "cardinality", "monotone submodular", "1 - 1/e - ε (expected)"),
))
stochastic_greedy = SPEC.fn  # the public function: admits once, runs the body
