"""Lazy (accelerated) greedy (Minoux 1978), batched: the same output as :func:`greedy`."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from .._backend import check_int
from ..constraint import Constraint
from ..errors import AssumptionWarning
from ..utility.base import Utility
from ._run import Run, all_elements, tie_rtol, tie_threshold
from .greedy import SPEC as GREEDY
from .greedy import greedy_guarantee
from .result import Result
from .spec import SolverSpec

__all__ = ["SPEC", "WORKING_SET", "lazy_greedy", "lazy_greedy_guarantee"]

_NEG = -math.inf

#: Default ``working_set`` of :func:`lazy_greedy`: how many elements, those with the largest
#: gain bounds, a step looks at (the rest are bounded by the largest bound left out, so they
#: need a look only once it reaches the tie band).
WORKING_SET = 4096


class _WorkingSet:
    """The alive elements with the ``size`` largest bounds ``ub`` (:attr:`elements`) and the
    largest bound of any alive element left out (:attr:`outside`, ``-inf`` when none is).

    A lazy step reads only the working set: bounds outside it never change (only refreshed
    or chosen elements' do, and those are taken from the set), so :attr:`outside` stays an
    upper bound on every element left out, and a step's vector work is ``O(size)`` instead
    of ``O(n)``. A rebuild (``O(n)``) takes the largest bounds again, with a doubled size
    (kept for the rest of the solve) if the step already rebuilt, so a step always ends.
    """

    def __init__(self, ub: torch.Tensor, alive: torch.Tensor, size: int) -> None:
        self.ub, self.alive, self.size = ub, alive, int(size)
        self.elements, self.outside = self.ub[:0].long(), _NEG
        self._rebuilt = False
        self._take()

    def new_step(self) -> None:
        """A step begins: its first rebuild keeps the size."""
        self._rebuilt = False

    def rebuild(self) -> None:
        if self._rebuilt:
            self.size *= 2
        self._rebuilt = True
        self._take()

    def _take(self) -> None:
        live = torch.nonzero(self.alive).flatten()
        if live.numel() <= self.size:
            self.elements, self.outside = live, _NEG
            return
        vals, pos = torch.topk(self.ub[live], self.size + 1)
        self.elements, self.outside = live[pos[:-1]], float(vals[-1])


def lazy_greedy(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
                progress: bool = False, certificate: bool = True, batch: int = 16,
                fill: bool = False, working_set: int = WORKING_SET) -> Result:
    """Greedy with lazy evaluations: stale gains are upper bounds for a submodular utility,
    so only candidates whose bound could beat the best fresh gain are re-evaluated.

    Returns exactly what :func:`greedy` returns (same elements, same order, ties to the
    smallest index), with far fewer oracle calls. The stale bounds also give the certificate
    for free. Stale candidates are refreshed ``batch`` at a time (the batch doubles while a
    step keeps failing), so each refresh is one vectorised oracle call.

    Guarantee
    ---------
    Those of :func:`greedy`: ``1 - 1/e`` (cardinality), ``1/2`` (matroid), ``1/(p+1)``
    (intersection of ``p`` matroids) for monotone submodular ``f`` (Minoux 1978).

    Complexity
    ----------
    ``n`` oracle calls for the first step, then typically a few batches per step; worst case
    that of greedy. A step's vector work is ``O(working_set)``: it reads the elements with the
    largest stale bounds only, and takes them afresh from all ``n`` (``O(n)``) when the
    largest bound left out reaches the tie band, which happens every few steps.

    Parameters
    ----------
    utility, constraint, seed, progress, certificate, fill
        As for :func:`greedy`.
    batch : int
        Initial number of stale candidates re-evaluated together (>= 1).
    working_set : int
        Elements with the largest stale bounds a step looks at (>= 1); the result does not
        depend on it, only the time does.

    Notes
    -----
    Needs declared submodularity and exact gains; otherwise stale gains are not bounds, so it
    warns (:class:`~matroidopt.errors.AssumptionWarning`) and runs :func:`greedy`.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> a, b = mo.lazy_greedy(f, 10), mo.greedy(f, 10)
    >>> a.indices.tolist() == b.indices.tolist(), a.oracle_calls < b.oracle_calls
    (True, True)
    """
    batch = check_int(batch, "batch", minimum=1)
    working_set = check_int(working_set, "working_set", minimum=1)
    if not (utility.submodular and utility.gains_are_exact):
        warnings.warn(
            "lazy_greedy: stale gains bound fresh ones only for a submodular utility with exact "
            f"gains; running greedy instead on {utility!r}.", AssumptionWarning, stacklevel=2)
        return GREEDY.run(utility, constraint, progress=progress, certificate=certificate,
                          fill=fill)
    run = Run("lazy_greedy", utility, constraint, progress=progress, certificate=certificate,
              guarantee=lazy_greedy_guarantee,
              needs="a monotone submodular utility under a cardinality, matroid or "
                    "matroid-intersection constraint")
    n = run.n
    if n == 0:
        return run.result()
    ub = run.ub  # shared with the certificate: stale gains of every element
    run.gains(all_elements(n))
    rtol = tie_rtol(run.u.dtype)
    # unselected and not known infeasible (loops go now, so the first tie band is greedy's)
    alive = run.can_add(all_elements(n))
    fresh = torch.ones(n, dtype=torch.bool)    # ub is the exact gain at the current set
    checked = torch.ones(n, dtype=torch.bool)  # feasibility checked at the current set
    monotone = run.u.monotone
    work = _WorkingSet(ub, alive, working_set)
    while True:   # until nothing feasible is left (the inner loop finds none)
        run.certify_stale()
        size = batch
        chosen = -1
        work.new_step()
        while True:
            W = work.elements
            live = alive[W]
            fr = fresh[W]
            bounds = ub[W]
            fresh_b = torch.where(live & fr, bounds, _NEG)
            stale_b = torch.where(live & ~fr, bounds, _NEG)
            g = float(fresh_b.max()) if W.numel() else _NEG
            s = float(stale_b.max()) if W.numel() else _NEG
            band = tie_threshold(g, rtol) if g > _NEG else _NEG
            if g > _NEG and max(s, work.outside) < band:
                # no stale bound, in the working set or outside it, reaches the tie band of
                # g: greedy's choice is the smallest fresh index in the band
                j = int(W[fresh_b >= band].min())
                if not checked[j]:
                    checked[j] = True
                    if not bool(run.can_add(torch.tensor([j]))[0]):
                        alive[j] = False
                        continue
                chosen = j
                break
            if s == _NEG and work.outside == _NEG:
                break  # nothing left
            # refresh the stale candidates with the largest bounds: those whose bound reaches
            # the best fresh gain's tie band (all of them need a look), at most `size`
            reach = stale_b >= band if g > _NEG else stale_b > _NEG
            k = min(size, int(reach.sum()))
            top_b, pos = torch.topk(stale_b, k) if k else (stale_b[:0], W[:0])
            if k == 0 or float(top_b[-1]) < work.outside:
                # an element outside the working set may have a larger bound than the
                # refresh would take (or is all that reaches the band): take the largest
                # bounds of every element again
                work.rebuild()
                continue
            top = W[pos]
            feas = run.can_add(top)
            alive[top[~feas]] = False
            top = top[feas]
            checked[top] = True
            run.gains(top)
            fresh[top] = True
            size = min(2 * size, 4096)
        if chosen < 0:
            break
        gain = float(ub[chosen])
        if not (monotone or fill) and gain <= 0.0:
            break
        run.add(chosen, gain)
        alive[chosen] = False
        fresh.zero_()
        checked.zero_()
    run.certify_stale(final=True)
    return run.result()


def lazy_greedy_guarantee(utility: Utility, constraint: Constraint, **options: Any
                          ) -> tuple[float | None, bool]:
    """Greedy's rows for submodular ``f`` (a utility that is not submodular runs, and reports,
    :func:`greedy`)."""
    return greedy_guarantee(utility, constraint) if utility.submodular else (None, False)


SPEC = SolverSpec.declare("lazy_greedy", lazy_greedy, lazy_greedy_guarantee)  # rows: greedy's
lazy_greedy = SPEC.fn  # the public function: admits once, runs the body
