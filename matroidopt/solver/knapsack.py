"""Cost-benefit greedy for a knapsack constraint, with the best-single-item safeguard
(Khuller, Moss, Naor 1999; Leskovec et al. 2007)."""

from __future__ import annotations

from typing import Any

import torch

from ..constraint import Constraint, Knapsack
from ..utility.base import Utility
from ._run import Run, all_elements, greedy_loop
from .result import Result
from .spec import E, SolverSpec

__all__ = ["SPEC", "cost_benefit_greedy", "cost_benefit_greedy_guarantee"]


def cost_benefit_greedy(utility: Utility, constraint: Knapsack, *, seed: Any = None,
                        progress: bool = False, certificate: bool = True,
                        fill: bool = False) -> Result:
    """Greedy by gain per unit cost among the items that still fit, then the better of that
    set and the best single item that fits.

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
    in the worst case, ``O(r·n)`` with ``r`` the number of items taken.

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

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.Modular([1.0, 10.0])
    >>> r = mo.cost_benefit_greedy(f, mo.Knapsack([0.1, 5.0], budget=5.0))
    >>> r.indices.tolist(), r.value, r.info["chose"]
    ([1], 10.0, 'best single item')
    """
    run = Run("cost_benefit_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=cost_benefit_greedy_guarantee,
              needs="a monotone submodular utility under a knapsack")
    n = run.n
    if n == 0:
        return run.result(chose="greedy")
    g0 = run.gains(all_elements(n))
    costs = constraint.costs
    fits0 = costs <= constraint.budget + constraint._tol
    single_val, single = -float("inf"), -1
    if bool(fits0.any()):
        masked = torch.where(fits0, g0, torch.tensor(-float("inf"), dtype=torch.float64))
        single = int(torch.argmax(masked))
        single_val = float(masked[single])
    inf = torch.tensor(float("inf"), dtype=torch.float64)
    keep_going = run.u.monotone or fill

    def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
        c = costs[cand]
        ratio = torch.where(c > 0, g / c.clamp_min(1e-300),
                            torch.where(g > 0, inf, torch.zeros_like(g)))
        pos = int(torch.argmax(ratio))
        best = float(g[pos])
        return None if not keep_going and best <= 0.0 else (int(cand[pos]), best)

    greedy_loop(run, choose, alive=fits0.clone(), first_gains=g0)
    run.certify_stale(final=True)
    if not run.cert_stale_ok:
        run.certify_fresh()  # monotone γ-weakly submodular: fresh gains, divided by γ
    greedy_val = run.u.evaluate(run.selected) if run.selected else run.u.evaluate([])
    if single >= 0 and single_val > greedy_val and not (fill and not run.u.monotone):
        return run.result([single], [single_val], chose="best single item",
                          greedy_value=greedy_val)
    return run.result(chose="greedy", single_item_value=single_val)


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
