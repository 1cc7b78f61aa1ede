"""The dispersion greedy: farthest pair first, then the farthest point (Ravi, Rosenkrantz,
Tayi 1994), for disparity-sum and disparity-min."""

from __future__ import annotations

from typing import Any

import torch

from ..constraint import Constraint
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run
from .result import Result
from .spec import SolverSpec, guarantee_kind

__all__ = ["SPEC", "dispersion_greedy", "dispersion_greedy_guarantee", "dispersion_bound"]


def dispersion_greedy(utility: Utility, constraint: Constraint | int | None = None, *,
                      seed: Any = None, progress: bool = False,
                      certificate: bool = True) -> Result:
    """Start from the farthest pair, then repeatedly add the element farthest from the
    chosen set ``S``: largest ``sum_{i in S} d_ij`` for disparity-sum, largest
    ``min_{i in S} d_ij`` for disparity-min (ties to the smallest index), until ``S`` has
    ``k`` elements.

    The problem it solves is the dispersion problem of the literature: the best set of
    **exactly** ``min(k, n)`` elements. For disparity-sum (monotone) that is also the best of
    at most ``k``, and ``Result.guarantee`` and ``upper_bound`` are its. For disparity-min it
    is not (under "at most ``k``" the farthest pair alone is optimal, which is seldom what is
    wanted): ``Result.upper_bound`` bounds the problem passed (at most ``k``; so it is at
    least the farthest pair's distance), ``Result.guarantee`` is None, and the dispersion
    problem's own guarantee and bound are ``Result.info["exactly_k"]``.

    Guarantee
    ---------
    ``1/2`` under a cardinality constraint when the distances are a metric, for both
    disparity-sum (max-sum dispersion; Birnbaum, Goldman 2009, improving the 1/4 of Ravi,
    Rosenkrantz, Tayi 1994) and disparity-min (max-min dispersion; Ravi, Rosenkrantz, Tayi
    1994: the best ratio possible unless P = NP). No guarantee for other distances (e.g.
    ``1 - cos``).

    The certificate holds for any non-negative distances: for disparity-sum, half the sum of
    the ``k`` largest ``t_i`` (``t_i`` the sum of ``i``'s ``k - 1`` largest distances); for
    disparity-min, the ``k``-th largest ``u_i`` (``u_i`` the ``(k - 1)``-th largest distance
    of ``i``): every element of an optimal set has ``k - 1`` others at least the optimum away.
    With a metric it is also at most twice the value (the guarantee).

    Complexity
    ----------
    ``O(n²)`` for the farthest pair and ``O(k·n)`` for the steps (one gather and one ``O(n)``
    update each), on the utility's stored distances; ``k`` oracle calls (the reported gains);
    ``O(n² log k)`` for the certificate.

    Parameters
    ----------
    utility : DisparitySum or DisparityMin
        A utility whose :meth:`~matroidopt.Utility._dispersion` hook answers (anything else is
        refused, naming ``utility``).
    constraint : int, UniformMatroid or None
        At most ``k`` elements (None: all ``n``, a cardinality constraint with ``k = n``).
    seed : None, int or numpy Generator
        Validated, otherwise unused (deterministic).
    progress, certificate
        As for :func:`greedy`.

    References
    ----------
    Ravi, Rosenkrantz, Tayi (1994), "Heuristic and special case algorithms for dispersion
    problems", Operations Research 42(2); Birnbaum, Goldman (2009), "An improved analysis for
    a greedy remote-clique algorithm using factor-revealing LPs", Algorithmica 55.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [4.0, 0.0], [0.0, 3.0], [2.0, 2.0]])
    >>> r = mo.dispersion_greedy(mo.DisparityMin.from_features(X), 3)
    >>> r.indices.tolist(), round(r.value, 3), r.info["exactly_k"]["guarantee"]
    ([2, 3, 1], 3.002, 0.5)
    """
    make_rng(seed)  # validate only
    spread = utility._dispersion()
    run = Run("dispersion_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=dispersion_greedy_guarantee,
              needs="metric distances (DisparitySum / DisparityMin with metric=True)")
    n, k = run.n, run.c._max_feasible_size()
    D = spread.distances
    if n == 0 or k == 0:
        return _finish(run, spread, k, certificate)
    if k == 1 or n == 1:
        run.add(0, float(run.gains(torch.tensor([0]))[0]))
        return _finish(run, spread, k, certificate)
    rows, cols = torch.triu_indices(n, n, 1)    # strictly above the diagonal: i < j
    pair = int(torch.argmax(D.to("cpu", torch.float64)[rows, cols]))   # first on ties
    i, j = int(rows[pair]), int(cols[pair])
    chosen = torch.zeros(n, dtype=torch.bool)
    for e in (i, j):
        run.add(e, float(run.gains(torch.tensor([e]))[0]))
        chosen[e] = True
    dist = D.to("cpu", torch.float64)
    score = dist[i] + dist[j] if spread.kind == "sum" else torch.minimum(dist[i], dist[j])
    while len(run.selected) < min(k, n):
        masked = score.masked_fill(chosen, -torch.inf)
        e = int(torch.argmax(masked))
        run.add(e, float(run.gains(torch.tensor([e]))[0]))
        chosen[e] = True
        score = score + dist[e] if spread.kind == "sum" else torch.minimum(score, dist[e])
    return _finish(run, spread, k, certificate)


def _finish(run: Run, spread, k: int, certificate: bool) -> Result:
    """The result: ``upper_bound`` and ``guarantee`` for the problem passed (at most ``k``
    elements); for disparity-min, whose best set of at most ``k`` is the farthest pair,
    those of the dispersion problem (exactly ``k``) go to ``info["exactly_k"]``."""
    size = min(k, run.n)
    exact_bound = dispersion_bound(spread.kind, spread.distances, size) if certificate \
        else None
    exact_ratio = 0.5 if spread.metric else None
    if exact_bound is not None and exact_ratio is not None:
        exact_bound = min(exact_bound, run.current_value() / exact_ratio)
    if certificate:
        # at most k: disparity-sum is monotone (the k-bound holds for smaller sets); for
        # disparity-min the best of every size s <= k is bounded by its own bound
        run.best_bound = exact_bound if spread.kind == "sum" else \
            _min_bound_at_most(spread.distances, size)
    info = {"problem": f"exactly {size} elements"}
    if spread.kind == "min":
        info["exactly_k"] = {"guarantee": exact_ratio, "upper_bound": exact_bound}
    return run.result(**info)


def dispersion_bound(kind: str, distances: torch.Tensor, k: int) -> float:
    """An upper bound on the best value of a set of at most ``k`` elements, for any
    non-negative symmetric distances (see :func:`dispersion_greedy`)."""
    n = distances.shape[0]
    k = min(k, n)
    if k < 2:
        return 0.0
    D = distances.to("cpu", torch.float64).clone()
    D.fill_diagonal_(-torch.inf)                          # never among the k - 1 largest
    top = torch.topk(D, k - 1, dim=1).values              # (n, k - 1), descending
    if kind == "sum":
        per = top.sum(1)
        return 0.5 * float(torch.topk(per, k).values.sum())
    return float(torch.topk(top[:, -1], k).values[-1])


def _min_bound_at_most(distances: torch.Tensor, k: int) -> float:
    """The disparity-min bound over every size ``2 <= s <= k`` at once (one top-``(k-1)``
    of the distances, not one per size): the largest of the ``s``-th largest
    ``(s - 1)``-th distances."""
    n = distances.shape[0]
    k = min(k, n)
    if k < 2:
        return 0.0
    D = distances.to("cpu", torch.float64).clone()
    D.fill_diagonal_(-torch.inf)
    top = torch.topk(D, k - 1, dim=1).values              # column s - 2: (s-1)-th largest
    return max(float(torch.topk(top[:, s - 2], s).values[-1]) for s in range(2, k + 1))


def dispersion_greedy_guarantee(utility: Utility, constraint: Constraint, **options: Any
                                ) -> tuple[float | None, bool]:
    """``1/2`` for a dispersion utility with metric distances under a cardinality
    constraint."""
    spread = utility._dispersion()
    if spread is not None and spread.kind == "sum" and spread.metric and \
            guarantee_kind(constraint) == "cardinality":
        return 0.5, False
    return None, False   # disparity-min: its 1/2 is over exactly k, in Result.info


def _is_dispersion(utility: Utility) -> bool:
    return utility._dispersion() is not None


SPEC = SolverSpec.declare(
    "dispersion_greedy", dispersion_greedy, dispersion_greedy_guarantee,
    accepts=("cardinality",), requires=_is_dispersion,
    requires_note="a dispersion utility: DisparitySum or DisparityMin",
    rows=(("dispersion_greedy", "cardinality", "disparity-sum, metric distances", "1/2"),
          ("dispersion_greedy", "exactly k elements", "disparity-min, metric distances",
           "1/2 (best possible)")))
dispersion_greedy = SPEC.fn  # the public function: admits once, runs the body
