"""Residual random greedy for matroids (Buchbinder, Feldman, Naor, Schwartz 2014;
Chen, Feldman, Karbasi 2018)."""

from __future__ import annotations

from typing import Any

import torch

from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run, greedy_loop
from .greedy import greedy_guarantee
from .result import Result
from .spec import SolverSpec, exact_gamma, matroid_like

__all__ = ["SPEC", "residual_random_greedy", "residual_random_greedy_guarantee"]


def residual_random_greedy(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
                           deterministic: bool = False, progress: bool = False,
                           certificate: bool = True) -> Result:
    """Each step computes a maximum-weight basis ``B`` of the residual matroid ``M / S``
    with the current marginal gains as weights, and adds an element of ``B`` chosen uniformly
    at random.

    For a partition matroid, ``B`` is the union over blocks of each block's ``r_b`` best
    remaining elements (``r_b`` its remaining capacity) — the step PartitionSel uses.

    Guarantee
    ---------
    ``(1 + 1/γ)^(-2)`` in expectation for monotone γ-weakly submodular ``f`` under any
    matroid (Chen, Feldman, Karbasi 2018): ``1/4`` for submodular ``f``. With
    ``deterministic=True`` the best element of ``B`` is taken instead, which is plain greedy
    (``1/2`` for submodular ``f``, reported as such).

    Complexity
    ----------
    ``r`` steps (``r`` = rank), each evaluating every remaining feasible element's gain and
    building one basis of ``M / S``: ``O(r·n)`` oracle calls.

    Parameters
    ----------
    seed : int, numpy Generator or None
        Same seed, same result.
    deterministic : bool
        Take the best element of ``B`` rather than a random one.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> m = mo.PartitionMatroid(np.arange(60) % 3, [2, 2, 2])
    >>> r = mo.residual_random_greedy(f, m, seed=1)
    >>> m.is_independent(r.indices), len(r.indices), r.guarantee
    (True, 6, 0.25)
    """
    rng = make_rng(seed)
    name = "greedy" if deterministic else "residual_random_greedy"
    run = Run(name, utility, constraint, progress=progress, certificate=certificate,
              guarantee=greedy_guarantee if deterministic else residual_random_greedy_guarantee,
              needs="a monotone (weakly) submodular utility under a matroid")
    run.name = "residual_random_greedy"
    n = run.n
    # gains at ∅ of every element: seeds the certificate
    first_gains = run.gains(torch.arange(n)) if n else None

    def choose(cand: torch.Tensor, g: torch.Tensor) -> tuple[int, float] | None:
        order = torch.sort(g, descending=True, stable=True).indices
        basis = run.c._greedy_extension(run.cstate, cand[order])
        if basis.numel() == 0:
            return None
        j = int(basis[0 if deterministic else int(rng.integers(basis.numel()))])
        return j, float(run.ub[j])

    greedy_loop(run, choose, first_gains=first_gains)
    if n:
        run.certify_stale(final=True)
        if not run.cert_stale_ok:
            run.certify_fresh()
    return run.result()


def residual_random_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                                     deterministic: bool = False, **options: Any
                                     ) -> tuple[float | None, bool]:
    """``(1 + 1/γ)^(-2)`` in expectation for monotone γ-weakly submodular ``f`` under any
    matroid; with ``deterministic=True`` it is greedy, with greedy's rows."""
    if deterministic:
        return greedy_guarantee(utility, constraint)
    gamma = exact_gamma(utility)
    if gamma is not None and matroid_like(constraint):
        return (1.0 + 1.0 / gamma) ** -2, True
    return None, False


SPEC = SolverSpec.declare("residual_random_greedy", residual_random_greedy,
                          residual_random_greedy_guarantee, accepts=("matroid",), rows=(
                      ("residual_random_greedy", "any matroid", "monotone γ-weakly submodular",
                       "(1 + 1/γ)^(-2) (expected)"),
                  ))
residual_random_greedy = SPEC.fn  # the public function: admits once, runs the body
