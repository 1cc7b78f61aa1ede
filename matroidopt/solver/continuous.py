"""Continuous greedy with matroid-aware rounding (Calinescu, Chekuri, Pál, Vondrák 2011)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._backend import check_int, check_real
from ..certificate import certificate_bound
from ..constraint import Constraint, Intersection, _order_desc
from ..errors import AssumptionWarning, InvalidInputError
from ..matroid.base import Matroid
from ..multilinear import (
    MAX_SAMPLES,
    _closed_form,
    _expected_gains,
    _SampleBank,
    _sampled_value,
    has_closed_form,
)
from ..rounding import _laminar_family, _pipage_round, _swap_round, pipage_supported
from ..seeds import make_rng
from ..utility.base import Utility, check_finite_gains
from ._run import Run, as_constraint, as_utility
from .result import Result
from .spec import E, SolverSpec, matroid_like

__all__ = ["continuous_greedy", "measured_continuous_greedy", "FractionalResult",
           "DEFAULT_STEPS", "DEFAULT_CG_SAMPLES", "DEFAULT_EPSILON", "MAX_STEPS"]

_E = 1.0 - 1.0 / math.e
_LP_TOL = 1e-7

#: Default number of steps ``T`` (the step size is ``1/T``).
DEFAULT_STEPS = 100
#: Samples per step when the utility has no closed-form multilinear extension.
DEFAULT_CG_SAMPLES = 100

#: Default ``ε`` of the threshold variant (``1/ε`` rounds, guarantee ``1 - 1/e - ε``).
DEFAULT_EPSILON = 0.1
#: Largest number of steps ``T`` (and of threshold rounds ``ceil(1/ε)``): each step costs at
#: least ``n`` marginal gains and a maximum-weight basis, and swap rounding keeps all ``T``
#: bases, so a million steps is already hours and gigabytes, while the finite-``T`` loss
#: ``r(r - 1)/(2T)`` is below ``1e-6`` for ranks up to 1000.
MAX_STEPS = 10**6

_ROUNDINGS = ("swap", "pipage")
_VARIANTS = ("standard", "threshold")
_CHUNK = 8  # candidates estimated together by the sampled threshold variant


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
    u = as_utility(utility)
    c = as_constraint(constraint, u.n)
    while isinstance(c, Intersection) and c.p == 1:  # one matroid: round with its exchanges
        c = c.matroids[0]
    if not isinstance(c, Matroid):
        raise InvalidInputError(
            f"constraint: continuous_greedy needs a matroid, got {type(c).__name__} (knapsack "
            f"and intersection constraints are not supported; use cost_benefit_greedy or "
            f"greedy)")
    if rounding == "pipage" and not pipage_supported(c):
        raise InvalidInputError(
            f"rounding: 'pipage' supports matroids given by capacities on a laminar family "
            f"(uniform, partition, laminar, and their truncations), "
            f"got {type(c).__name__}; use rounding='swap'")
    closed = samples is None and has_closed_form(u)
    m = None if closed else (samples or DEFAULT_CG_SAMPLES)
    # sampled weights void the guarantee by themselves: no assumption warning for that
    assumptions_hold = u.monotone and u.submodular
    run = Run("continuous_greedy", u, c, certificate=certificate,
              guarantee=continuous_greedy_guarantee,
              needs=None if assumptions_hold else "a monotone submodular utility under a matroid",
              variant=variant,
              epsilon=epsilon, steps=steps, sampled=not closed)
    n = run.n
    counts = torch.zeros(n, dtype=torch.float64)
    bases: list[list[int]] = []
    frac_bound_ok = closed and run.cert_stale_ok
    bar = tqdm(total=steps, desc="continuous_greedy", disable=not progress, leave=False)
    if variant == "threshold":
        _threshold_rounds(run, u, c, steps, float(epsilon), m, rng, counts, bases, bar,
                          frac_bound_ok)
    for t in range(steps if variant == "standard" else 0):
        x = counts / steps
        w, F, calls = _expected_gains(u, x, m, rng)
        run.calls += calls
        if t == 0 and (run.cert_stale_ok or run.cert_fresh_ok):
            # at x = 0, w_j = f({j}) - f(∅) exactly (R = ∅ in every sample)
            f0 = float(u._value(u._init_state()))
            run.best_bound = min(run.best_bound, certificate_bound(f0, w, c, run.gamma))
        elif frac_bound_ok and F is not None:
            # OPT <= E[f(R ∪ O)] <= F(x) + sum_{j in O} w_j (monotone submodular, exact w)
            run.best_bound = min(run.best_bound, certificate_bound(F, w, c))
        B = c._greedy_extension(c._init_state(), _order_desc(w)).tolist()
        bases.append(B)
        if B:
            counts[B] += 1.0
        bar.update(1)
    bar.close()
    x = counts / steps
    if closed:
        frac_value, frac_stderr = _closed_form(u, x)[0], 0.0
    else:
        frac_value, frac_stderr = _sampled_value(u, x, m, rng)
        run.calls += m
    if rounding == "swap":
        S = _swap_round(c, bases, [1.0 / steps] * steps, rng)
    else:
        S = _pipage_round(c, _laminar_family(c), x.numpy().copy(), rng)
    xs = x.numpy()
    order = sorted(S, key=lambda j: (-xs[j], j))
    for j in order:
        g = run.gains(torch.tensor([j]))
        run.add(j, float(g[0]))
    if n:
        run.certify_fresh()
    return run.result(steps=steps, samples=m, gradient="closed form" if closed else "sampled",
                      rounding=rounding, fractional_value=float(frac_value),
                      fractional_stderr=float(frac_stderr),
                      n_bases=len({frozenset(b) for b in bases}), x=np.array(xs),
                      variant=variant, epsilon=epsilon)


def _threshold_rounds(run: Run, u: Utility, c, rounds: int, eps: float, m: int | None,
                      rng: np.random.Generator, counts: torch.Tensor, bases: list,
                      bar, frac_bound_ok: bool) -> None:
    """The decreasing-threshold continuous greedy (Badanidiyuru & Vondrák 2014): fills
    ``bases`` (one basis per round) and ``counts`` (how often each element was chosen)."""
    n = run.n
    if n == 0:
        for _ in range(rounds):
            bases.append([])
            bar.update(1)
        return
    # singleton gains: the first bounds, d, and the certificate at ∅
    state0 = u._init_state()
    g0 = u._gains(state0, torch.arange(n, device=u.device)).detach().to("cpu", torch.float64)
    check_finite_gains(u, g0, torch.arange(n), 0)
    run.calls += n
    if run.cert_stale_ok or run.cert_fresh_ok:
        run.best_bound = min(run.best_bound, certificate_bound(float(u._value(state0)), g0, c,
                                                               run.gamma))
    bound = g0.clone()          # the last estimate of each element's weight (lazy bounds)
    d = float(g0.max())
    r = max(1, c._max_feasible_size())
    floor = eps * d / r
    for _t in range(rounds):
        cstate = c._init_state()
        inB = torch.zeros(n, dtype=torch.bool)
        feas = c._can_add(cstate, torch.arange(n)).clone()
        fresh = torch.zeros(n, dtype=torch.bool)
        bank = None
        w = d
        while d > 0 and w >= floor and bool(feas.any()):
            while True:
                cand = torch.nonzero(feas & (bound >= w)).flatten()
                if cand.numel() == 0:
                    break
                ready = cand[fresh[cand]]
                if ready.numel() == 0 or (m is None and not bool(fresh[cand].all())):
                    y = (counts + inB.double()) / rounds
                    if m is None:
                        wt, F, calls = _expected_gains(u, y, None, rng)
                        bound = wt
                        fresh[:] = True
                        if frac_bound_ok and F is not None:
                            run.best_bound = min(run.best_bound, certificate_bound(F, wt, c))
                    else:
                        # the _CHUNK largest stale candidates, on sets drawn once per point;
                        # any of them still above the threshold is taken at once
                        if bank is None:
                            bank = _SampleBank(u, y, m, rng)
                        need = cand[~fresh[cand]]
                        need = need[_order_desc(bound[need])][:_CHUNK]
                        est, calls = bank.gains_of(need.numpy())
                        bound[need] = torch.from_numpy(est)
                        fresh[need] = True
                    run.calls += calls
                    continue
                j = int(ready[torch.argmax(bound[ready])])   # first of the largest
                cstate = c._add(cstate, j)
                inB[j] = True
                feas[j] = False
                live = torch.nonzero(feas).flatten()
                if live.numel():
                    feas[live] = c._can_add(cstate, live)
                fresh[:] = False
                bank = None
            # skip the thresholds that no feasible element reaches
            top = float(bound[feas].max()) if bool(feas.any()) else -math.inf
            if top < floor:
                break
            w *= 1.0 - eps
            if top < w:
                w *= (1.0 - eps) ** math.floor(math.log(top / w) / math.log(1.0 - eps))
        # extend B to a basis (monotone f: more can only help), by the last estimates
        rest = torch.nonzero(~inB).flatten()
        order = rest[_order_desc(bound[rest])]
        B = list(cstate.selected) + c._greedy_extension(cstate, order).tolist()
        bases.append(B)
        if B:
            counts[B] += 1.0
        bar.update(1)


# ====================================================================== polytopes
@dataclass(frozen=True)
class FractionalResult:
    """What :func:`measured_continuous_greedy` returns: a fractional point, not a set.

    Attributes
    ----------
    x : numpy.ndarray
        The point of the polytope reached.
    value : float
        ``F(x)``, exact with a closed form, else estimated (``stderr`` > 0).
    stderr : float
        Standard error of ``value`` (0.0 with a closed form).
    upper_bound : float or None
        A certificate on ``max_{y ∈ P} F(y)`` (hence on the best feasible set whose
        indicator lies in ``P``): ``min_t F(x_t) + max_{v ∈ P} <w(x_t), v>``, for monotone
        submodular utilities with a closed form (each LP value raised by ``1e-7`` relative,
        the solver's tolerance); ``None`` otherwise.
    guarantee : float or None
        ``1 - 1/e`` (monotone submodular) or ``1/e`` (non-negative submodular, measured
        variant), minus ``O(1/T)``; ``None`` otherwise.
    oracle_calls, lp_calls : int
        Marginal gains evaluated; linear steps solved.
    seconds : float
    info : dict
        ``steps``, ``samples``, ``gradient``, ``measured``, ``polytope`` (its description)
        and ``rounding``: always ``None`` (no rounding is done; see the function).
    """

    x: np.ndarray
    value: float
    stderr: float
    upper_bound: float | None
    guarantee: float | None
    oracle_calls: int
    lp_calls: int
    seconds: float
    info: dict = field(default_factory=dict)


def _lp_slack(value: float) -> float:
    """An LP optimum (reported "optimal" by the solver) raised by its tolerance (HiGHS: 1e-7),
    so that the certificate stays an upper bound; inaccurate solves certify nothing."""
    return value + _LP_TOL * max(1.0, abs(value))


def measured_continuous_greedy(utility: Utility, polytope, *, steps: int = DEFAULT_STEPS,
                               samples: int | None = None, measured: bool | None = None,
                               seed: Any = None, certificate: bool = True
                               ) -> FractionalResult:
    """Continuous greedy over any down-closed polytope with a linear-step oracle; returns the
    fractional point.

    Start at ``x = 0``; for ``t = 1, ..., T``: weights ``w_j = E_{R~x}[f(R + j) - f(R)]``
    (closed form or ``samples`` sets), the linear step ``v = argmax_{v ∈ P} <w, v>``
    (:meth:`Polytope.linear_maximize`: an LP, or the matroid greedy for a matroid polytope),
    then ``x += v ∘ (1 - x) / T`` (measured, Feldman, Naor, Schwartz 2011) or ``x += v / T``
    (plain, Calinescu et al. 2011). Both stay in ``P``: ``x_T <= mean of the v's ∈ P`` and
    ``P`` is down-closed.

    No rounding: for a matroid polytope use :func:`continuous_greedy` (swap / pipage
    rounding); for knapsack ∩ matroid and other polytopes, only the fractional point and its
    value ``F(x)`` are returned. Turning it into a set without losing a constant factor needs
    a contention resolution scheme for that polytope (Chekuri, Vondrák, Zenklusen 2011),
    which this library does not implement; sampling ``R ~ x`` gives ``E[f(R)] = F(x)`` but
    ``R`` may be infeasible.

    Parameters
    ----------
    utility : Utility
    polytope : Polytope, Constraint or sequence of constraints
        Passed through :func:`~matroidopt.polytope` unless already a
        :class:`~matroidopt.Polytope`.
    steps : int
        ``1 <= T <= MAX_STEPS``.
    samples : int or None
        As in :func:`continuous_greedy`.
    measured : bool or None
        The measured update or the plain one. ``None`` (default): measured for a utility not
        declared monotone (it needs it for ``1/e``), plain for a monotone one (same ``1 - 1/e``
        guarantee, and in practice higher: the measured update reaches at most ``1 - 1/e``
        on each coordinate).
    seed : None, int or numpy Generator
    certificate : bool
        Compute ``upper_bound``.

    Returns
    -------
    FractionalResult

    Guarantee
    ---------
    With exact weights, for monotone submodular ``f``:
    ``F(x) >= (1 - 1/e - O(1/T)) · max{f(S) : 1_S ∈ P}`` (either update); for non-negative
    submodular ``f`` and ``measured=True``: ``F(x) >= (1/e - O(1/T)) · max{f(S) : 1_S ∈ P}``
    (Feldman, Naor, Schwartz 2011). Sampled weights add their estimation error.

    Complexity
    ----------
    ``T`` linear steps (each an LP, or ``n log n`` for a matroid polytope) and ``T``
    gradients (closed form) or ``T · n · samples`` marginal gains.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> f = mo.FacilityLocation(np.array([[1.0, 0.9, 0.0], [0.0, 0.9, 1.0]]))
    >>> P = mo.polytope(mo.Knapsack([1.0, 1.0, 1.0], 1.5), mo.PartitionMatroid([0, 0, 1], [1, 1]))
    >>> res = mo.measured_continuous_greedy(f, P, steps=50)
    >>> res.x.round(2).tolist(), round(res.value, 3), res.info["rounding"]
    ([0.18, 0.82, 0.5], 1.654, None)
    >>> opt = 1.8                                  # f({1}); no two items fit the budget
    >>> res.value >= res.guarantee * opt, res.upper_bound >= opt
    (True, True)
    """
    import time

    from ..polytope import Polytope
    from ..polytope import polytope as build_polytope

    t0 = time.perf_counter()
    rng = make_rng(seed)
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_STEPS)
    if samples is not None:
        samples = check_int(samples, "samples", minimum=1, maximum=MAX_SAMPLES)
    u = as_utility(utility)
    if measured is None:
        measured = not u.monotone
    elif not isinstance(measured, (bool, np.bool_)):
        raise InvalidInputError(f"measured: expected True, False or None, got {measured!r}")
    if isinstance(polytope, Polytope):
        P = polytope
    elif isinstance(polytope, (list, tuple)):
        P = build_polytope(*polytope)
    else:
        if isinstance(polytope, (int, np.integer)) and not isinstance(polytope, bool):
            polytope = as_constraint(polytope, u.n)
        P = build_polytope(polytope)
    if P.n != u.n:
        raise InvalidInputError(f"polytope: its ground set has {P.n} elements but the "
                                f"utility's has {u.n}")
    n = u.n
    closed = samples is None and has_closed_form(u)
    m = None if closed else (samples or DEFAULT_CG_SAMPLES)
    mono_sub = u.monotone and u.submodular
    if mono_sub:
        ratio = _E
    elif u.submodular and measured and u.nonnegative:
        ratio = 1.0 / math.e
    else:
        ratio = None
        warnings.warn(
            f"measured_continuous_greedy: its guarantee needs a monotone submodular utility "
            f"(or non-negative submodular with measured=True); got {u!r}. The solve runs, "
            f"but the guarantee is None.", AssumptionWarning, stacklevel=2)
    cert = certificate and closed and mono_sub and u.gains_are_exact
    best = math.inf
    x = torch.zeros(n, dtype=torch.float64)
    calls = lp_calls = 0
    for _t in range(steps):
        w, F, c = _expected_gains(u, x, m, rng)
        calls += c
        v = torch.from_numpy(P.linear_maximize(w.numpy()))
        lp_calls += 1
        if cert and F is not None and P.last_value is not None:
            best = min(best, F + _lp_slack(P.last_value))
        x = x + (v * (1.0 - x) if measured else v) / steps
        x.clamp_(0.0, 1.0)
    if closed:
        value, stderr = _closed_form(u, x)[0], 0.0
        if cert:
            w, F, c = _expected_gains(u, x, None, rng)
            calls += c
            P.linear_maximize(w.numpy())
            lp_calls += 1
            if P.last_value is not None:
                best = min(best, F + _lp_slack(P.last_value))
    else:
        value, stderr = _sampled_value(u, x, m, rng)
        calls += m
    ub = None if math.isinf(best) else max(best, float(value))
    return FractionalResult(
        x=x.numpy().copy(), value=float(value), stderr=float(stderr), upper_bound=ub,
        guarantee=ratio, oracle_calls=calls, lp_calls=lp_calls,
        seconds=time.perf_counter() - t0,
        info={"steps": steps, "samples": m, "gradient": "closed form" if closed else "sampled",
              "measured": bool(measured), "polytope": P.description, "rounding": None})


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


SPEC = SolverSpec("continuous_greedy", continuous_greedy, continuous_greedy_guarantee, rows=(
    ("continuous_greedy", "any matroid", "monotone submodular",
     "1 - (1 - 1/T)^T - r(r - 1)/(2T), T steps, exact weights -> 1 - 1/e (expected)"),
    ("continuous_greedy(variant='threshold', ε)", "any matroid", "monotone submodular",
     "1 - 1/e - ε, exact weights (expected)"),
))
