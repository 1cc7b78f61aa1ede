"""The decreasing-threshold (accelerated) continuous greedy (Badanidiyuru & Vondrák 2014).

``continuous_greedy(..., variant="threshold", epsilon=ε)`` runs :func:`threshold_rounds`
instead of the standard steps: ``ceil(1/ε)`` rounds, each building one basis by decreasing
thresholds with lazily re-estimated gains (see :func:`~matroidopt.continuous_greedy`).
"""

from __future__ import annotations

import math

import torch

from ...certificate import certificate_bound
from ...constraint import _order_desc
from ...multilinear import _expected_gains, _SampleBank
from ...utility.base import check_finite_gains
from ._climb import Climb

__all__ = ["DEFAULT_EPSILON", "threshold_rounds"]

#: Default ``ε`` of the threshold variant (``1/ε`` rounds, guarantee ``1 - 1/e - ε``).
DEFAULT_EPSILON = 0.1

_CHUNK = 8  # candidates estimated together by the sampled threshold variant


def threshold_rounds(climb: Climb, eps: float) -> None:
    """Take ``climb.steps`` bases (one per round) by the decreasing-threshold rule of
    Badanidiyuru & Vondrák, with threshold decrement ``eps``."""
    run, u, c = climb.run, climb.utility, climb.matroid
    rounds, m, rng, counts = climb.steps, climb.samples, climb.rng, climb.counts
    n = run.n
    if n == 0:
        for _ in range(rounds):
            climb.take([])
        return
    # singleton gains: the first bounds, d, and the certificate at ∅
    state0 = u._init_state()
    g0 = u._gains(state0, torch.arange(n, device=u.device)).detach().to("cpu", torch.float64)
    check_finite_gains(u, g0, torch.arange(n), 0)
    run.calls += n
    if run.cert_stale_ok or run.cert_fresh_ok:
        climb.tighten(certificate_bound(float(u._value(state0)), g0, c, run.gamma))
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
                        if climb.frac_bound_ok and F is not None:
                            climb.tighten(certificate_bound(F, wt, c))
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
        climb.take(list(cstate.selected) + c._greedy_extension(cstate, order).tolist())
