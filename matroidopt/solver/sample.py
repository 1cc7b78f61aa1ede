"""Sample greedy: solve on a uniform random subsample of the ground set (apricot's
``optimizer="sample"``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import check_real
from ..constraint import Constraint
from ..errors import InvalidInputError
from ..matroid.uniform import UniformMatroid
from ..seeds import make_rng
from ..utility.base import Utility
from ._run import Run, rename_elements
from .result import Result
from .spec import SOLVER_SPECS, SolverSpec, guarantee_kind

__all__ = ["SPEC", "sample_greedy", "sample_greedy_guarantee"]

_INNER = ("greedy", "lazy_greedy")


def _sample_size(n: int, epsilon: float) -> int:
    return max(int(n * epsilon), 1) if n else 0


def sample_greedy(utility: Utility, constraint: Constraint | int | None, *,
                  epsilon: float = 0.9,
                  inner: str = "lazy_greedy", seed: Any = None, progress: bool = False,
                  certificate: bool = True) -> Result:
    """Draw ``m = max(floor(epsilon · n), 1)`` elements uniformly without replacement, solve
    the problem restricted to them with ``inner`` (greedy or lazy greedy), and return that
    selection (indices of the full ground set).

    A baseline for very redundant data: ``1 - epsilon`` of the oracle work is never done.

    Guarantee
    ---------
    ``(m / n)`` times the inner solver's ratio, in expectation, for monotone submodular
    ``f``: ``(m/n)(1 - 1/e)`` under a cardinality constraint, ``(m/n)/2`` under a matroid.
    Each element of an optimal set ``O`` is sampled with probability ``m/n``, so
    ``E[f(O ∩ R)] >= (m/n) f(O)`` (Feige, Mirrokni, Vondrák 2011, Lemma 2.2, which needs no
    independence), and ``O ∩ R`` is feasible for the restricted problem.

    Complexity
    ----------
    The inner solver's on ``m`` elements; the certificate then costs ``n`` more gains (fresh
    gains of the whole ground set at the selection), so it bounds the full problem's
    optimum (``certificate=False`` skips them).

    Parameters
    ----------
    utility : Utility
    constraint : int, matroid or None
    epsilon : float, default 0.9
        In ``(0, 1]``: the fraction of the ground set sampled (apricot's ``epsilon``).
    inner : {"lazy_greedy", "greedy"}
        The solver run on the sample (the same selection either way).
    seed : int, numpy Generator or None
        The sample; same seed, same result.
    progress, certificate
        As for :func:`greedy`.

    References
    ----------
    Schreiber, Bilmes, Noble (2020), apricot, ``SampleGreedy``; Feige, Mirrokni, Vondrák
    (2011), "Maximizing non-monotone submodular functions" (the sampling lemma).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(400, 5))
    >>> f = mo.FacilityLocation(mo.similarity_kernel(X, metric="euclidean"))
    >>> r = mo.sample_greedy(f, 10, epsilon=0.5, seed=0)
    >>> len(r.indices), round(r.guarantee, 4), r.expected, r.info["sampled"]
    (10, 0.3161, True, 200)
    """
    epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0, low_open=True)
    if inner not in _INNER:
        raise InvalidInputError(f"inner: expected one of {_INNER}, got {inner!r}")
    rng = make_rng(seed)
    run = Run("sample_greedy", utility, constraint, progress=progress,
              certificate=certificate, guarantee=sample_greedy_guarantee,
              needs="a monotone submodular utility under a cardinality or matroid constraint",
              epsilon=epsilon)
    n = run.n
    m = _sample_size(n, epsilon)
    if n == 0:
        return run.result(sampled=0)
    sample = np.sort(rng.choice(n, size=m, replace=False))
    part = _restricted_constraint(run.c, sample)
    spec = SOLVER_SPECS[inner]
    try:
        sub = spec.run(utility.restrict(sample.tolist()), part, certificate=False)
    except InvalidInputError as exc:   # name the ground set's elements, not the sample's
        raise InvalidInputError(rename_elements(str(exc), sample)
                                + f" (in the sample of {m} elements)") from None
    picked = sample[np.asarray(sub.indices.tolist(), dtype=np.int64)]
    run.calls += int(sub.oracle_calls)
    for j, g in zip(picked.tolist(), sub.gains.tolist(), strict=True):
        run.add(j, g)
    if certificate:
        run.certify_fresh()   # n fresh gains at the selection: a bound on the full optimum
    return run.result(sampled=m)


def _restricted_constraint(constraint: Constraint, elements: np.ndarray) -> Constraint:
    if guarantee_kind(constraint) == "cardinality":
        return UniformMatroid(len(elements), min(constraint._max_feasible_size(),
                                                 len(elements)))
    return constraint.restrict(elements.tolist())


def sample_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                            epsilon: float = 0.9, **options: Any) -> tuple[float | None, bool]:
    """``(m/n)(1 - 1/e)`` (cardinality) or ``(m/n)/2`` (matroid), in expectation, for
    monotone submodular ``f``."""
    if not (utility.monotone and utility.submodular):
        return None, False
    n = utility.n
    p = _sample_size(n, epsilon) / n if n else 1.0
    kind = guarantee_kind(constraint)
    if kind == "cardinality":
        return p * (1.0 - 1.0 / np.e), True
    if kind == "matroid":
        return p * 0.5, True
    return None, False


SPEC = SolverSpec.declare(
    "sample_greedy", sample_greedy, sample_greedy_guarantee,
    accepts=("cardinality", "matroid"),
    rows=(("sample_greedy(ε)", "cardinality", "monotone submodular",
           "(m/n)(1 − 1/e), in expectation (m = ⌊εn⌋ sampled)"),
          ("sample_greedy(ε)", "any matroid", "monotone submodular",
           "(m/n)/2, in expectation")))
sample_greedy = SPEC.fn  # the public function: admits once, runs the body
