"""Cost-benefit greedy for a knapsack constraint, with the best-single-item safeguard
(Khuller, Moss, Naor 1999; Leskovec et al. 2007)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._backend import check_int
from ..constraint import Constraint, Knapsack
from ..errors import InvalidInputError
from ..utility.base import Utility
from ._run import Run, all_elements, first_best, greedy_loop, tie_rtol, tie_threshold
from .result import Result
from .spec import E, SolverSpec

__all__ = ["SPEC", "cost_benefit_greedy", "cost_benefit_greedy_guarantee"]


def cost_benefit_greedy(utility: Utility, constraint: Knapsack, *, seed: Any = None,
                        progress: bool = False, certificate: bool = True,
                        fill: bool = False, lazy: bool = True, batch: int = 16) -> Result:
    """Greedy by gain per unit cost among the items that still fit, then the better of that
    set and the best single item that fits.

    Ties (ratios within the dtype's tie band, as :func:`greedy`'s) go to the smallest index.
    ``lazy=True`` (the default, for a submodular utility with exact gains) keeps each item's
    last ratio as a bound (gains only fall, costs are fixed) and re-evaluates only the items
    whose bound reaches the best fresh ratio's tie band, ``batch`` at a time (doubling while
    a step keeps failing): the same selection, far fewer oracle calls (Leskovec et al. 2007,
    "CELF").

    Items that no longer fit are skipped, not a reason to stop; zero-cost items are taken
    first (infinite ratio). Without the best-single-item comparison the ratio can be
    arbitrarily bad (one expensive valuable item), so the comparison is always made for a
    monotone utility. For a non-monotone one the scan stops when the best ratio's gain is not
    positive, unless ``fill=True``: then it keeps adding while any item fits and returns that
    path (submodlib's ``costSensitiveGreedy`` with ``stopIfZeroGain=False,
    stopIfNegativeGain=False``).

    Guarantee
    ---------
    ``(1 - 1/e)/2`` for monotone submodular ``f`` under a knapsack (Khuller, Moss, Naor 1999;
    Leskovec et al. 2007). Partial enumeration (Sviridenko 2004) would give ``1 - 1/e`` at
    ``O(n^3)`` times the cost.

    Complexity
    ----------
    At most ``n`` steps, each evaluating the remaining fitting items: ``O(n^2)`` oracle calls
    in the worst case, ``O(r·n)`` with ``r`` the number of items taken; lazily, ``n`` for the
    first step and typically a few batches per step after it.

    Parameters
    ----------
    utility : Utility
    constraint : Knapsack
    seed, progress, certificate
        As for :func:`greedy` (deterministic: ``seed`` is unused).
    fill : bool
        Keep adding while an item fits, even when the best gain is not positive (for
        non-monotone utilities when the budget should be spent); the filled greedy path is
        returned (no best-single-item comparison, which is there for the monotone guarantee).
        A monotone utility is always scanned to the end, so ``fill`` changes nothing for it.
    lazy : bool, default True
        Lazy evaluations (see above); ignored (exhaustive steps) for a utility that is not
        submodular or has proxy gains, where stale gains bound nothing.
    batch : int, default 16
        Stale items re-evaluated together by a lazy step (>= 1).

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.Modular([1.0, 10.0])
    >>> r = mo.cost_benefit_greedy(f, mo.Knapsack([0.1, 5.0], budget=5.0))
    >>> r.indices.tolist(), r.value, r.info["chose"]
    ([1], 10.0, 'best single item')
    """
    batch = check_int(batch, "batch", minimum=1)
    if not isinstance(lazy, (bool, np.bool_)):
        raise InvalidInputError(f"lazy: expected True or False, got {lazy!r}")
    lazy = bool(lazy)
    run = Run("cost_benefit_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=cost_benefit_greedy_guarantee,
              needs="a monotone submodular utility under a knapsack")
    n = run.n
    if n == 0:
        return run.result(chose="greedy")
    g0 = run.gains(all_elements(n))
    costs = constraint.costs
    fits0 = costs <= constraint.budget + constraint._tol
    keep_going = run.u.monotone or fill
    rtol = tie_rtol(run.u.dtype)
    single_val, single = -float("inf"), -1
    if bool(fits0.any()):   # the best single item, ties (within the band) to the smallest
        fitting = torch.nonzero(fits0).flatten()
        single = int(fitting[first_best(g0[fitting], rtol)])
        single_val = float(g0[single])

    if lazy and run.u.submodular and run.u.gains_are_exact:
        _lazy_steps(run, costs, fits0.clone(), rtol, keep_going, batch)
    else:
        def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
            pos = _first_best_ratio(_ratios(g, costs[cand]), rtol)
            best = float(g[pos])
            return None if not keep_going and best <= 0.0 else (int(cand[pos]), best)

        greedy_loop(run, choose, alive=fits0.clone(), first_gains=g0)
    run.certify_stale(final=True)
    if not run.cert_stale_ok:
        run.certify_fresh()  # monotone γ-weakly submodular: fresh gains, divided by γ
    greedy_val = run.u.evaluate(run.selected) if run.selected else run.u.evaluate([])
    better = single_val > greedy_val + rtol * abs(greedy_val)   # a tie keeps greedy's set
    if single >= 0 and better and not (fill and not run.u.monotone):
        return run.result([single], [single_val], chose="best single item",
                          greedy_value=greedy_val)
    return run.result(chose="greedy", single_item_value=single_val)


_INF = float("inf")


def _ratios(g: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Gain per unit cost; a free item is worth ``inf`` when its gain is positive, else 0."""
    return torch.where(c > 0, g / c.clamp_min(1e-300),
                       torch.where(g > 0, torch.full_like(g, _INF), torch.zeros_like(g)))


def _band(best: float, rtol: float) -> float:
    """Ratios ``>= _band(best)`` tie with ``best`` (``inf`` ties only with ``inf``)."""
    return best if math.isinf(best) else tie_threshold(best, rtol)


def _first_best_ratio(r: torch.Tensor, rtol: float) -> int:
    """Position of the first ratio in the best one's tie band."""
    return int(torch.argmax((r >= _band(float(r.max()), rtol)).to(torch.uint8)))


def _lazy_steps(run: Run, costs: torch.Tensor, alive: torch.Tensor, rtol: float,
                keep_going: bool, batch: int) -> None:
    """The greedy steps with lazy evaluations: stale ratios bound true ones (submodular
    ``f``), so an item is re-evaluated only when its bound reaches the tie band of the best
    fresh ratio; the choice is then the first fresh item in that band, as in the exhaustive
    step (every item below the band has a true ratio below it too)."""
    ub = run.ub
    fresh = torch.ones(run.n, dtype=torch.bool)     # after the first step's n gains
    while True:
        run.certify_stale()
        chosen, size = -1, batch
        while True:
            cand = run.feasible(alive)
            if cand.numel() == 0:
                break
            ratio = _ratios(ub[cand], costs[cand])
            fr = fresh[cand]
            band = _band(float(ratio[fr].max()), rtol) if bool(fr.any()) else -_INF
            stale = ~fr
            if bool(fr.any()) and not bool((stale & (ratio >= band)).any()):
                pos = int(torch.argmax((fr & (ratio >= band)).to(torch.uint8)))
                chosen = int(cand[pos])
                break
            reach = stale & (ratio >= band)
            idx, bounds = cand[reach], ratio[reach]
            top = idx[torch.topk(bounds, min(size, idx.numel())).indices]
            run.gains(top)
            fresh[top] = True
            size = min(2 * size, 4096)
        if chosen < 0:
            return
        gain = float(ub[chosen])
        if not keep_going and gain <= 0.0:
            return
        run.add(chosen, gain)
        alive[chosen] = False
        fresh.zero_()


def cost_benefit_greedy_guarantee(utility: Utility, constraint: Constraint, **options: Any
                                  ) -> tuple[float | None, bool]:
    """``(1 - 1/e)/2`` for monotone submodular ``f`` under a knapsack."""
    if utility.monotone and utility.submodular and constraint.kind == "knapsack":
        return E / 2.0, False
    return None, False


SPEC = SolverSpec.declare(
    "cost_benefit_greedy", cost_benefit_greedy, cost_benefit_greedy_guarantee,
    accepts=("knapsack",),
    rows=(("cost_benefit_greedy", "knapsack", "monotone submodular", "(1 - 1/e)/2"),))
cost_benefit_greedy = SPEC.fn  # the public function: admits once, runs the body
