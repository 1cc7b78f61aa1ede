"""The greedy algorithm (Nemhauser, Wolsey, Fisher 1978; Fisher, Nemhauser, Wolsey 1978)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run, all_elements, first_best, greedy_loop, tie_rtol
from .result import Result
from .spec import E, SolverSpec, exact_gamma, guarantee_kind

__all__ = ["SPEC", "greedy", "greedy_guarantee"]


def greedy(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
           progress: bool = False, certificate: bool = True, fill: bool = False) -> Result:
    """Repeatedly add the feasible element of largest marginal gain.

    Ties go to the smallest index (gains within a relative ``1e-9`` of the best, ``1e-5`` in
    single precision, count as tied, so that the choice does not hinge on rounding). For a
    monotone utility (or with ``fill=True``) the scan continues until no element can be added;
    for a non-monotone one it stops when the best gain is not positive.

    Guarantee
    ---------
    For monotone submodular ``f``: ``1 - 1/e`` under a cardinality constraint (Nemhauser,
    Wolsey, Fisher 1978), ``1/2`` under any matroid and ``1/(p+1)`` under the intersection of
    ``p`` matroids (Fisher, Nemhauser, Wolsey 1978). For monotone γ-weakly submodular ``f``
    under a cardinality constraint: ``1 - e^(-γ)`` (Das & Kempe 2011; Elenberg et al. 2018).

    Complexity
    ----------
    At most ``r`` steps (``r`` the largest feasible size), each evaluating the gains of all
    remaining feasible elements: ``O(r·n)`` oracle calls. :func:`lazy_greedy` returns the same
    set with far fewer.

    Parameters
    ----------
    utility : Utility
    constraint : Constraint or int
        An int ``k`` means :class:`~matroidopt.UniformMatroid` ``(n, k)``.
    seed : None, int or numpy Generator
        Validated, otherwise unused: greedy is deterministic (one signature for all solvers).
    progress : bool
        Show a tqdm progress bar.
    certificate : bool
        Compute :attr:`Result.upper_bound`: from the gains greedy computes anyway at every
        prefix, plus one fresh pass over all ``n`` elements at the end (negligible next to
        greedy's ``r·n``) that tightens it.
    fill : bool
        Keep adding while anything is feasible, even when the best gain is not positive
        (for non-monotone utilities when a full-size selection is required).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> res = mo.greedy(mo.FacilityLocation(K), 2)
    >>> res.indices.tolist(), round(res.value, 6)
    ([1, 2], 2.9)
    """
    make_rng(seed)  # validate only
    run = Run("greedy", utility, constraint, progress=progress, certificate=certificate,
              guarantee=greedy_guarantee,
              needs="a monotone submodular utility under a cardinality, matroid or "
                    "matroid-intersection constraint (or a monotone γ-weakly submodular one "
                    "with exact gains under a cardinality constraint)")
    n = run.n
    rtol = tie_rtol(run.u.dtype)
    keep_going = run.u.monotone or fill

    def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
        pos = first_best(g, rtol)
        best = float(g[pos])
        return None if not keep_going and best <= 0.0 else (int(cand[pos]), best)

    # first pass over every element: gains at ∅ bound every later gain (submodular f)
    greedy_loop(run, choose, first_gains=run.gains(all_elements(n)))
    if n:
        run.certify_stale(final=True)
        run.certify_fresh()
    return run.result()


def greedy_guarantee(utility: Utility, constraint: Constraint, **options: Any
                     ) -> tuple[float | None, bool]:
    """Greedy's rows: ``1 - 1/e`` (cardinality), ``1/2`` (matroid), ``1/(p+1)`` (intersection
    of ``p`` matroids) for monotone submodular ``f``; ``1 - e^(-γ)`` under cardinality for
    monotone γ-weakly submodular ``f`` with exact gains."""
    mono, sub, kind = utility.monotone, utility.submodular, guarantee_kind(constraint)
    if mono and sub:
        if kind == "cardinality":
            return E, False
        if kind == "matroid":
            return 0.5, False
        if kind == "intersection":
            return 1.0 / (getattr(constraint, "p", 1) + 1), False
    gamma = exact_gamma(utility)
    if mono and gamma is not None and kind == "cardinality":
        return 1.0 - math.exp(-gamma), False
    return None, False


SPEC = SolverSpec.declare("greedy", greedy, greedy_guarantee, rows=(
    ("greedy, lazy_greedy", "cardinality", "monotone submodular", "1 - 1/e"),
    ("greedy, lazy_greedy", "any matroid", "monotone submodular", "1/2"),
    ("greedy, lazy_greedy", "intersection of p matroids", "monotone submodular", "1/(p+1)"),
    ("greedy", "cardinality", "monotone γ-weakly submodular", "1 - e^(-γ)"),
))
greedy = SPEC.fn  # the public function: admits the problem once, then runs the body
