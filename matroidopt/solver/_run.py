"""Shared machinery of one solve: validation, states, oracle-call counting, the certificate,
the progress bar and the :class:`Result`. Private."""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._backend import check_int, to_output
from ..certificate import certificate_bound
from ..constraint import Constraint
from ..errors import AssumptionWarning, InvalidInputError
from ..matroid.uniform import FreeMatroid, UniformMatroid
from ..threads import split_gains
from ..utility.base import Utility, check_finite_gains
from .result import Result

#: Ground-set size up to which a cheap constraint's certificate is offered every prefix.
CERTIFY_EVERY_PREFIX_UP_TO = 1 << 16


def as_utility(utility: Any) -> Utility:
    if not isinstance(utility, Utility):
        raise InvalidInputError(
            f"utility: expected a matroidopt.Utility, got {type(utility).__name__} "
            f"(wrap plain functions with Utility.from_callable)"
        )
    return utility


def as_constraint(constraint: Any, n: int) -> Constraint:
    """A solver's constraint: a Constraint of ``n`` elements, an int ``k`` meaning
    :class:`~matroidopt.UniformMatroid` ``(n, k)``, or None meaning
    :class:`~matroidopt.FreeMatroid` ``(n)`` (the solver layer's shorthands; the constraint
    protocol itself knows no concrete kind)."""

    if constraint is None:
        return FreeMatroid(n)
    if isinstance(constraint, (bool, np.bool_)):
        raise InvalidInputError(
            f"constraint: expected a Constraint or an int k, got {constraint!r}")
    if isinstance(constraint, (int, np.integer)):
        k = check_int(constraint, "k", minimum=0)
        return UniformMatroid(n, k)
    if not isinstance(constraint, Constraint):
        raise InvalidInputError(
            f"constraint: expected a Constraint (e.g. a Matroid) or an int k, "
            f"got {type(constraint).__name__}"
        )
    if constraint.n != n:
        raise InvalidInputError(
            f"constraint: its ground set has {constraint.n} elements but the utility's has {n}"
        )
    return constraint


class Run:
    """One solve in progress, on an admitted problem (:meth:`SolverSpec.admit
    <matroidopt.solver.spec.SolverSpec.admit>` validated ``utility`` and ``constraint``
    once, at the door; the run trusts them).

    Keeps the utility and constraint states, a CPU vector ``ub`` of upper bounds on every
    element's current marginal gain (stale gains are valid bounds for submodular ``f``), and
    the best certificate seen so far.
    """

    def __init__(self, name: str, utility: Utility, constraint: Constraint, *,
                 progress: bool = False,
                 certificate: bool = True, needs: str | None = None,
                 guarantee: Callable[..., tuple[float | None, bool]] | None = None,
                 **guarantee_options) -> None:
        self.t0 = time.perf_counter()
        self.name = name
        self.u = utility
        self.c = constraint
        self.n = self.u.n
        self.ustate = self.u._init_state()
        self.cstate = self.c._init_state()
        self.selected: list[int] = []
        self.step_gains: list[float] = []
        self.calls = 0
        # the solver's own guarantee function (its SolverSpec), on the validated inputs
        self.ratio, self.expected = (None, False) if guarantee is None else \
            guarantee(self.u, self.c, **guarantee_options)
        if self.ratio is None and needs is not None:
            warnings.warn(
                f"{name}: its guarantee needs {needs}; got {self.u!r} under {self.c!r}. "
                f"The solve runs, but Result.guarantee is None.",
                AssumptionWarning, stacklevel=4,  # past the solver's door, at its caller
            )
        # certificate: valid with stale bounds only for monotone submodular f with exact gains
        self.cert_stale_ok = (certificate and self.u.monotone and self.u.submodular
                              and self.u.gains_are_exact)
        gamma = self.u.weak_submodularity if self.u.monotone else None
        self.cert_fresh_ok = (certificate and gamma is not None and self.u.gains_are_exact)
        self.gamma = gamma if gamma is not None else 1.0
        self.best_bound = math.inf
        self.bound_trace: list[tuple[int, float]] = []   # (prefix size, its certificate)
        self._next_cert = 0
        self.ub = torch.full((self.n,), math.inf, dtype=torch.float64)
        self._ub_set = False
        # work per candidate's gain, for splitting large gains blocks (CPU only: a GPU
        # runs a block as one launch)
        self._work = self.u._gain_work() if self.u.device.type == "cpu" else None
        self.bar = tqdm(total=self.c._max_feasible_size(), desc=name, disable=not progress,
                        leave=False)

    # ---------------------------------------------------------------- oracle
    def gains(self, cand: torch.Tensor) -> torch.Tensor:
        """Gains of CPU long tensor ``cand`` at the current state, as float64 on CPU; also
        refreshes ``ub``. A NaN or infinite gain raises :class:`InvalidInputError` naming the
        utility (it would otherwise be skipped silently, and certified)."""
        if cand.numel() == 0:
            return torch.empty(0, dtype=torch.float64)
        self.calls += int(cand.numel())
        cand = cand.to(self.u.device)
        if self._work is None:
            g = self.u._gains(self.ustate, cand)
        else:   # a large block is split across the thread policy's workers
            state = self.ustate
            g = split_gains(lambda part: self.u._gains(state, part), cand, self._work)
        g = g.detach().to("cpu", torch.float64)
        check_finite_gains(self.u, g, cand, len(self.selected))
        self.ub[cand] = g
        return g

    def can_add(self, cand: torch.Tensor) -> torch.Tensor:
        if cand.numel() == 0:
            return torch.zeros(0, dtype=torch.bool)
        return self.c._can_add(self.cstate, cand)

    def feasible(self, alive: torch.Tensor) -> torch.Tensor:
        """The candidates still alive that can be added now. Those that cannot are cleared
        from ``alive`` for good: every constraint here is down-closed, so an element that
        cannot be added now never can later."""
        cand = torch.nonzero(alive).flatten()
        if cand.numel() == 0:
            return cand
        feas = self.can_add(cand)
        alive[cand[~feas]] = False
        return cand[feas]

    def add(self, j: int, gain: float) -> None:
        self.ustate = self.u._add(self.ustate, j)
        self.cstate = self.c._add(self.cstate, j)
        self.selected.append(j)
        self.step_gains.append(float(gain))
        self.ub[j] = 0.0
        self.bar.update(1)

    def current_value(self) -> float:
        return float(self.u._value(self.ustate))

    # ---------------------------------------------------------------- certificate
    def certify_stale(self, final: bool = False) -> None:
        """Offer the current prefix with the stale bounds ``ub`` (every element's ``ub`` must
        have been set at least once). Cheap constraints certify every prefix up to
        :data:`CERTIFY_EVERY_PREFIX_UP_TO` elements, and beyond it about 16 prefixes per
        doubling of the length; others prefixes of length 0, 1, 2, 4, 8, ... ``final``
        (a solver's last call) offers the current prefix whatever the schedule."""
        if not self.cert_stale_ok:
            return
        if not self._ub_set:   # once every bound is finite it stays so (gains are finite)
            if bool(torch.isinf(self.ub).any()):
                return
            self._ub_set = True
        t = len(self.selected)
        if t < self._next_cert and not final:
            return
        if not self.c._cheap_max_weight:
            self._next_cert = max(1, 2 * t)
        elif self.n > CERTIFY_EVERY_PREFIX_UP_TO:
            # an O(n) bound each step would outweigh a lazy step's work
            self._next_cert = t + max(1, t // 16)
        else:
            self._next_cert = t + 1
        self.offer_bound(certificate_bound(self.current_value(), self.ub, self.c))

    def offer_bound(self, bound: float) -> None:
        """Record ``bound`` (``OPT <= bound``), computed at the current prefix."""
        self.bound_trace.append((len(self.selected), float(bound)))
        self.best_bound = min(self.best_bound, bound)

    def certify_fresh(self) -> None:
        """Certify the current set with fresh gains of every element (``n`` oracle calls)."""
        if not (self.cert_fresh_ok or self.cert_stale_ok):
            return
        rest = torch.ones(self.n, dtype=torch.bool)
        if self.selected:
            rest[self.selected] = False
        self.gains(torch.nonzero(rest).flatten())
        self.offer_bound(certificate_bound(self.current_value(), self.ub, self.c, self.gamma))

    # ---------------------------------------------------------------- result
    def result(self, indices: list[int] | None = None, gains: list[float] | None = None,
               **info) -> Result:
        self.bar.close()
        indices = self.selected if indices is None else indices
        gains = self.step_gains if gains is None else gains
        value = self.u.evaluate(indices) if indices else self.u.evaluate([])
        if math.isinf(self.best_bound) and (self.cert_stale_ok or self.cert_fresh_ok) \
                and (self.n == 0 or self.c._max_feasible_size() == 0):
            # only ∅ is feasible (k = 0, or an empty ground set): OPT = f(∅), exactly
            self.best_bound = float(self.u.evaluate([]))
        ub = None if math.isinf(self.best_bound) else max(self.best_bound, value)
        return Result(
            indices=to_output(indices, self.u.torch_input, self.u.device),
            gains=np.asarray(gains, dtype=np.float64),
            value=float(value),
            upper_bound=ub,
            guarantee=self.ratio,
            expected=self.expected,
            oracle_calls=self.calls,
            seconds=time.perf_counter() - self.t0,
            solver=self.name,
            info=info,
            # the trace's prefixes are those of the greedy path: only when it is the answer
            bound_trace=np.asarray(self.bound_trace if [int(i) for i in indices] == self.selected
                                   else [],
                                   dtype=np.float64).reshape(-1, 2),
        )


def greedy_loop(run: Run, choose: Callable[[torch.Tensor, torch.Tensor], tuple[int, float] | None],
                *, alive: torch.Tensor | None = None, first_gains: torch.Tensor | None = None,
                candidates: Callable[[torch.Tensor], torch.Tensor] | None = None,
                certify_each_step: bool = True) -> None:
    """The loop the greedy family shares: until nothing feasible is left, take the
    candidates (``candidates(alive)``, by default every feasible element, :meth:`Run.feasible`;
    a solver may sample them), their gains at the current set (``first_gains`` at the first
    step, when the solver already has them), offer the prefix to the certificate, and add the
    element ``choose(candidates, gains)`` picks, ``(j, gain)``; None stops.

    ``alive`` (default: every element) marks the candidates not yet known to be infeasible;
    it is updated in place. Elements found infeasible are dropped for good: every constraint
    here is down-closed.
    """
    alive = torch.ones(run.n, dtype=torch.bool) if alive is None else alive
    first = first_gains is not None
    candidates = run.feasible if candidates is None else candidates
    while True:
        cand = candidates(alive)
        if cand.numel() == 0:
            break
        g = first_gains[cand] if first else run.gains(cand)
        first = False
        if certify_each_step:
            run.certify_stale()
        pick = choose(cand, g)
        if pick is None:
            break
        j, gain = pick
        run.add(j, gain)
        alive[j] = False


def rename_elements(message: str, elements: np.ndarray) -> str:
    """``message`` (an error of a solve on the sub-ground-set ``elements``) with each
    "elements [i, j]" renamed to the full ground set's indices ``elements[i]``."""
    def rename(match: re.Match) -> str:
        local = [int(t) for t in re.findall(r"\d+", match.group(1))]
        named = [int(elements[i]) for i in local if 0 <= i < len(elements)]
        return f"elements {named}"

    return re.sub(r"elements \[([\d, ]*)\]", rename, message)


def all_elements(n: int) -> torch.Tensor:
    return torch.arange(n, dtype=torch.long)


def tie_rtol(dtype: torch.dtype) -> float:
    """Relative gap under which two gains count as tied: floating sums of the same terms in a
    different order (another batch size, another thread split) differ by a few ulps, and exact
    ties are common (e.g. two isolated points in facility location)."""
    return 1e-9 if dtype == torch.float64 else 1e-5


def tie_threshold(best: float, rtol: float) -> float:
    """Gains ``>= tie_threshold(best)`` are tied with the best gain ``best``."""
    return best - rtol * abs(best)


def first_best(g: torch.Tensor, rtol: float) -> int:
    """Position of the first entry within ``rtol`` (relative) of the maximum of ``g``: the
    greedy choice, ties to the smallest index when ``g`` is ordered by index."""
    best = float(g.max())
    return int(torch.argmax((g >= tie_threshold(best, rtol)).to(torch.uint8)))
