"""``continuous_greedy``: the registered solver (Calinescu, Chekuri, Pál, Vondrák 2011).

Validates the options, runs the standard steps (here) or the threshold rounds
(:mod:`.threshold`) on a :class:`~._climb.Climb`, rounds the point to a set and reports the
result; :func:`continuous_greedy_guarantee` and :data:`SPEC` declare what it guarantees.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..._backend import check_int, check_real
from ...certificate import certificate_bound
from ...constraint import Constraint, Intersection, _order_desc
from ...errors import InvalidInputError
from ...multilinear import MAX_SAMPLES, _expected_gains, has_closed_form
from ...rounding import pipage_supported
from ...seeds import make_rng
from ...utility.base import Utility
from .._run import Run
from ..result import Result
from ..spec import E, SolverSpec, matroid_like
from ._climb import DEFAULT_CG_SAMPLES, DEFAULT_STEPS, MAX_STEPS, Climb
from .threshold import DEFAULT_EPSILON, threshold_rounds

__all__ = ["continuous_greedy", "continuous_greedy_guarantee", "SPEC"]

_ROUNDINGS = ("swap", "pipage")
_VARIANTS = ("standard", "threshold")


def continuous_greedy(utility: Utility, constraint, *, steps: int | None = None,
                      samples: int | None = None, rounding: str = "swap",
                      variant: str = "standard", epsilon: float | None = None,
                      seed: Any = None, progress: bool = False,
                      certificate: bool = True) -> Result:
    """Maximise the multilinear extension ``F`` over the matroid polytope, then round.

    ``variant="standard"`` (default) is the continuous greedy of Calinescu, Chekuri, Pál,
    Vondrák (2011) described here; ``variant="threshold"`` is the decreasing-threshold
    (accelerated) continuous greedy of Badanidiyuru & Vondrák (2014), described under
    *Threshold variant* below.

    Start at ``x = 0``. For ``t = 1, ..., T``: compute the weights
    ``w_j = E_{R ~ x}[f(R + j) - f(R)] = (1 - x_j) ∂F/∂x_j`` (in closed form when
    :func:`~matroidopt.has_closed_form` is true, else estimated from ``samples`` random sets),
    take a maximum-weight basis ``B_t`` (:meth:`Matroid.max_weight_basis`) and set
    ``x += 1_{B_t} / T``. The final ``x`` is the uniform convex combination of
    ``B_1, ..., B_T``; it is rounded to a basis by swap rounding (any matroid) or to an
    independent set by pipage rounding (uniform, partition and laminar matroids), neither of
    which loses value in expectation.

    Threshold variant
    -----------------
    ``ceil(1/ε)`` rounds of step ``δ = 1/ceil(1/ε)``. Each round builds an independent set
    ``B`` by thresholds ``w = d, d(1 - ε), d(1 - ε)², ...`` down to ``ε·d/r`` (``d`` the
    largest singleton gain, ``r`` the rank): at each threshold, every element ``e`` with
    ``B + e`` independent and estimated gain ``E_{R ~ x + δ1_B}[f(R + e) - f(R)] >= w`` is
    added (the largest first, re-estimating after every addition). Estimates are lazy: an
    element whose last estimate (at a smaller ``x`` or ``B``; by submodularity an upper
    bound up to estimation error) is below the threshold is not re-evaluated. The round ends
    with ``x += δ·1_B``, ``B`` extended to a basis by the matroid greedy (extending cannot
    lower ``F`` of a monotone ``f``).

    Guarantee
    ---------
    For monotone submodular ``f`` under any matroid (Calinescu, Chekuri, Pál, Vondrák 2011),
    with exact weights (a closed form): ``E[f(S)] >= (1 - (1 - 1/T)^T - r(r - 1)/(2T)) OPT``
    (``r`` the rank; the second term is the step-size loss: Hessian entries of ``F`` are at
    least ``-OPT``). ``guarantee`` reports this finite-``T`` value (``expected=True``); it
    tends to ``1 - 1/e``, which under a matroid beats greedy's ``1/2``. With sampled weights
    the bound also needs a sample size far beyond practical ones, so ``guarantee`` is
    ``None`` (the test suite checks the mean ratio empirically). The threshold variant with
    exact weights: ``E[f(S)] >= (1 - 1/e - ε) OPT`` (Badanidiyuru & Vondrák 2014), reported
    as ``guarantee = 1 - 1/e - ε``; sampled, ``None`` for the same reason. Other utilities run
    without a guarantee (``guarantee=None`` and an :class:`~matroidopt.AssumptionWarning`).

    Complexity
    ----------
    ``T`` maximum-weight bases, plus per step either one closed-form gradient (``O(n)``
    modular, ``O(nnz)`` coverage, ``O(m·n log n)`` facility location with ``m`` clients) or
    ``samples`` sets ``R ~ x``, each with ``|R|`` ``add`` calls and one ``gains`` call over
    the elements outside ``R``: ``T·n·samples`` oracle calls. Then the rounding (swap:
    ``O(T·r²)`` independence tests) and ``n`` fresh gains for the certificate.

    Threshold variant: ``1/ε`` rounds of at most ``log(r/ε)/ε`` thresholds; an element is
    estimated only when its last estimate reaches the threshold, so each round costs about
    ``(k + r)·samples`` gains, ``k`` the elements estimated at least once (``k <= n``; at
    most ``O(n·log(r/ε)/ε)`` in the worst case), against ``T·n·samples`` for the standard
    variant: ``O(n·r·log(r/ε)·log(n)/ε⁴)`` oracle calls with the paper's sample size. With a
    closed form, one gradient per addition or failed threshold: at most ``(r + log(r/ε)/ε)/ε``
    gradients per solve, usually about ``(r + 1)/ε``, so it pays off when ``r + 1 < ε·T``.

    Parameters
    ----------
    utility : Utility
    constraint : Matroid or int
        A matroid (an int ``k`` means :class:`~matroidopt.UniformMatroid` ``(n, k)``).
        Knapsacks and intersections are not supported.
    steps : int or None
        ``1 <= T <= MAX_STEPS`` (a million), the number of steps (step size ``1/T``);
        default :data:`DEFAULT_STEPS`. Standard variant only (the threshold variant runs
        ``ceil(1/epsilon)`` rounds).
    samples : int or None
        ``None`` (default): the closed form when there is one, else
        :data:`DEFAULT_CG_SAMPLES` samples per step (per estimate for the threshold
        variant). An int in ``[1, MAX_SAMPLES]`` forces sampling with that many sets.
    rounding : {"swap", "pipage"}
        Swap rounding (Chekuri, Vondrák, Zenklusen 2010; any matroid) or pipage rounding
        (Ageev & Sviridenko 2004; uniform, partition and laminar matroids).
    variant : {"standard", "threshold"}
        The continuous greedy of Calinescu et al. or the decreasing-threshold one of
        Badanidiyuru & Vondrák.
    epsilon : float or None
        ``1/MAX_STEPS <= ε < 1`` for ``variant="threshold"`` (default
        :data:`DEFAULT_EPSILON`): the threshold decrement, the step ``≈ ε`` and the loss in
        the guarantee. Rejected for the standard variant.
    seed : None, int or numpy Generator
        Same seed, same result.
    progress : bool
        Show a tqdm progress bar over the steps.
    certificate : bool
        Compute :attr:`Result.upper_bound` for monotone submodular ``f``: the least of the
        greedy bound at the rounded set (fresh gains), at ``∅``, and, with a closed form, the
        fractional bound ``F(x_t) + max_B sum_{j in B} w_j(x_t)`` at every step.

    Returns
    -------
    Result
        ``indices`` in order of decreasing ``x_j``; ``gains`` the marginal gains in that order;
        ``info``: ``steps``, ``samples`` (``None`` with a closed form), ``gradient``
        (``"closed form"`` or ``"sampled"``), ``rounding``, ``fractional_value`` (``F(x)``,
        exact with a closed form, else estimated with ``fractional_stderr``), ``n_bases``
        (distinct bases in the combination), ``x`` (the fractional point, numpy),
        ``variant`` and ``epsilon`` (``None`` for the standard variant).

    References
    ----------
    Calinescu, Chekuri, Pál, Vondrák (2011), "Maximizing a monotone submodular function
    subject to a matroid constraint", SIAM J. Computing 40(6); Chekuri, Vondrák, Zenklusen
    (2010), "Dependent randomized rounding via exchange properties of combinatorial
    structures", FOCS; Ageev & Sviridenko (2004), "Pipage rounding: a new method of
    constructing algorithms with proven performance guarantee", J. Comb. Optim. 8(3).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.01, 0.0, 1.0], [0.0, 1.0, 0.0]])   # greedy's bad instance
    >>> f, m = mo.FacilityLocation(K), mo.PartitionMatroid([0, 0, 1], [1, 1])
    >>> mo.greedy(f, m).value                      # lured by element 0
    1.01
    >>> res = mo.continuous_greedy(f, m, steps=50, seed=0)
    >>> sorted(res.indices.tolist()), res.value, round(res.guarantee, 4), res.expected
    ([1, 2], 2.0, 0.6158, True)
    >>> fast = mo.continuous_greedy(f, m, variant="threshold", epsilon=0.1, seed=0)
    >>> sorted(fast.indices.tolist()), round(fast.guarantee, 4), fast.info["steps"]
    ([1, 2], 0.5321, 10)
    """
    rng = make_rng(seed)
    if not isinstance(variant, str) or variant not in _VARIANTS:
        raise InvalidInputError(f"variant: expected 'standard' or 'threshold', got {variant!r}")
    if variant == "threshold":
        if steps is not None:
            raise InvalidInputError(
                "steps: the threshold variant runs ceil(1/epsilon) rounds; pass epsilon, "
                "not steps")
        epsilon = DEFAULT_EPSILON if epsilon is None else check_real(
            epsilon, "epsilon", low=1.0 / MAX_STEPS, high=1.0, high_open=True)
        steps = math.ceil(1.0 / epsilon - 1e-12)
    else:
        if epsilon is not None:
            raise InvalidInputError("epsilon: only for variant='threshold' (the standard "
                                    "variant takes steps)")
        steps = DEFAULT_STEPS if steps is None else check_int(steps, "steps", minimum=1,
                                                              maximum=MAX_STEPS)
    if samples is not None:
        samples = check_int(samples, "samples", minimum=1, maximum=MAX_SAMPLES)
    if not isinstance(rounding, str) or rounding not in _ROUNDINGS:
        raise InvalidInputError(f"rounding: expected 'swap' or 'pipage', got {rounding!r}")
    u, c = utility, constraint
    while isinstance(c, Intersection) and c.p == 1:  # one matroid: round with its exchanges
        c = c.matroids[0]
    if rounding == "pipage" and not pipage_supported(c):
        raise InvalidInputError(
            f"rounding: 'pipage' supports matroids given by capacities on a laminar family "
            f"(uniform, partition, laminar, and their truncations, restrictions, contractions "
            f"and direct sums), got {type(c).__name__}; use rounding='swap'")
    closed = samples is None and has_closed_form(u)
    m = None if closed else (samples or DEFAULT_CG_SAMPLES)
    # sampled weights void the guarantee by themselves: no assumption warning for that
    assumptions_hold = u.monotone and u.submodular
    run = Run("continuous_greedy", u, c, certificate=certificate,
              guarantee=continuous_greedy_guarantee,
              needs=None if assumptions_hold else "a monotone submodular utility under a matroid",
              variant=variant,
              epsilon=epsilon, steps=steps, sampled=not closed)
    bar = tqdm(total=steps, desc="continuous_greedy", disable=not progress, leave=False)
    climb = Climb(run, u, c, steps, m, rng, frac_bound_ok=closed and run.cert_stale_ok,
                  bar=bar)
    if variant == "threshold":
        threshold_rounds(climb, float(epsilon))
    else:
        _standard_steps(climb)
    bar.close()
    frac_value, frac_stderr = climb.fractional_value()
    S = climb.round(rounding)
    xs = climb.x.numpy()
    order = sorted(S, key=lambda j: (-xs[j], j))
    for j in order:
        g = run.gains(torch.tensor([j]))
        run.add(j, float(g[0]))
    if run.n:
        run.certify_fresh()
    return run.result(steps=steps, samples=m, gradient="closed form" if closed else "sampled",
                      rounding=rounding, fractional_value=float(frac_value),
                      fractional_stderr=float(frac_stderr),
                      n_bases=len({frozenset(b) for b in climb.bases}), x=np.array(xs),
                      variant=variant, epsilon=epsilon)


def _standard_steps(climb: Climb) -> None:
    """The ``T`` steps of Calinescu et al.: at ``x = counts/T``, the weights
    ``w_j = E_{R ~ x}[f(R + j) - f(R)]`` and a maximum-weight basis, taken as the step."""
    run, u, c = climb.run, climb.utility, climb.matroid
    for t in range(climb.steps):
        w, F, calls = _expected_gains(u, climb.x, climb.samples, climb.rng)
        run.calls += calls
        if t == 0 and (run.cert_stale_ok or run.cert_fresh_ok):
            # at x = 0, w_j = f({j}) - f(∅) exactly (R = ∅ in every sample)
            f0 = float(u._value(u._init_state()))
            climb.tighten(certificate_bound(f0, w, c, run.gamma))
        elif climb.frac_bound_ok and F is not None:
            # OPT <= E[f(R ∪ O)] <= F(x) + sum_{j in O} w_j (monotone submodular, exact w)
            climb.tighten(certificate_bound(F, w, c))
        climb.take(c._greedy_extension(c._init_state(), _order_desc(w)).tolist())


def continuous_greedy_guarantee(utility: Utility, constraint: Constraint, *,
                                steps: int | None = None, variant: str = "standard",
                                epsilon: float | None = None, sampled: bool = False,
                                **options: Any) -> tuple[float | None, bool]:
    """For monotone submodular ``f`` under any matroid, with exact weights, in expectation:
    ``1 - (1 - 1/T)^T - r(r - 1)/(2T)`` for ``T`` steps (``1 - 1/e`` as ``T → ∞``; ``r`` the
    rank), ``1 - 1/e - ε`` for the threshold variant. Estimated weights (``sampled``): none —
    the bound needs a sample size far beyond practical ones."""
    if not (utility.monotone and utility.submodular and matroid_like(constraint)) or sampled:
        return None, False
    if variant == "threshold":
        return max(0.0, E - float(epsilon)), True
    if steps is None:  # asked without a step count: the limit T -> infinity
        return E, True
    # T steps of size 1/T with exact weights: F(x) >= (1 - (1 - 1/T)^T) OPT minus the
    # second-order loss r(r - 1)/(2T) OPT (r the rank); rounding keeps it in expectation
    r = constraint._max_feasible_size()
    return max(0.0, 1.0 - (1.0 - 1.0 / steps) ** steps - r * (r - 1) / (2.0 * steps)), True


SPEC = SolverSpec.declare(
    "continuous_greedy", continuous_greedy, continuous_greedy_guarantee, accepts=("matroid",),
    accepts_note="knapsack and intersection constraints are not supported; use "
                 "cost_benefit_greedy or greedy",
    rows=(
    ("continuous_greedy", "any matroid", "monotone submodular",
     "1 - (1 - 1/T)^T - r(r - 1)/(2T), T steps, exact weights -> 1 - 1/e (expected)"),
    ("continuous_greedy(variant='threshold', ε)", "any matroid", "monotone submodular",
     "1 - 1/e - ε, exact weights (expected)"),
))
continuous_greedy = SPEC.fn  # the public function: admits once, runs the body
