"""Sieve-streaming: one pass over the elements, ``1/2 - ε`` for monotone submodular utilities
under a cardinality constraint (Badanidiyuru, Mirzasoleiman, Karbasi, Krause 2014)."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from .._backend import as_index_tensor, check_int, check_real
from ..constraint import Constraint
from ..errors import InvalidInputError
from ..matroid.uniform import UniformMatroid
from ..utility.base import Utility, UtilityState, check_finite_gains
from ._run import Run, as_utility
from .result import Result
from .spec import SolverSpec, guarantee_kind

__all__ = ["SPEC", "SieveStreaming", "sieve_streaming", "sieve_streaming_guarantee"]

_LOG_MAX = math.log(sys.float_info.max)   # guesses (1 + ε)^i stay finite


class _Sieve:
    """One guess ``v`` of OPT and the set kept for it."""

    __slots__ = ("v", "state", "value")

    def __init__(self, v: float, state: UtilityState) -> None:
        self.v, self.state, self.value = v, state, 0.0


class SieveStreaming:
    """Sieve-streaming over a stream of ground-set elements, fed with :meth:`partial_fit`.

    For a guess ``v`` of OPT on the grid ``(1 + ε)^i`` between ``m`` and ``2 k m`` (``m``: the
    largest singleton gain seen so far), a sieve keeps a set ``S_v`` and adds an arriving
    element ``e`` when ``|S_v| < k`` and ``f(e | S_v) >= (v/2 - f(S_v)) / (k - |S_v|)``. A
    guess enters the grid (with an empty set) when ``m`` grows enough and leaves it when ``m``
    passes it; :meth:`result` returns the best set of any guess. Memory: ``O(k log(k) / ε)``
    elements in ``O(log(k) / ε)`` utility states.

    Guarantee
    ---------
    ``f(S) >= (1/2 - ε) · OPT`` for monotone submodular ``f`` under the cardinality
    constraint ``k`` (Badanidiyuru, Mirzasoleiman, Karbasi, Krause 2014), whatever the order of
    the stream, after every element has arrived once.

    Complexity
    ----------
    ``partial_fit`` of ``B`` elements: one call of ``B`` gains at ``∅`` and, per live guess,
    one vectorised call over the rest of the batch after each addition, so
    ``O((B + k) · log(k) / ε)`` gains per batch, without a pass over the ground set.

    Parameters
    ----------
    utility : Utility
        Its ground set holds every element the stream may bring.
    k : int
        The cardinality bound (>= 0).
    epsilon : float
        In (0, 1): the spacing of the guesses; the guarantee is ``1/2 - ε``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(300, 5))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> sieve = mo.SieveStreaming(f, 10, epsilon=0.1)
    >>> for batch in np.array_split(np.arange(300), 6):   # six batches arrive
    ...     _ = sieve.partial_fit(batch)
    >>> r = sieve.result()
    >>> len(r.indices), r.value >= (0.5 - 0.1) * mo.lazy_greedy(f, 10).value
    (10, True)
    """

    def __init__(self, utility: Utility, k: int, *, epsilon: float = 0.1) -> None:
        self.utility = as_utility(utility)
        self.k = check_int(k, "k", minimum=0)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0, high=1.0, low_open=True,
                                  high_open=True)
        self._log_base = math.log1p(self.epsilon)
        self._empty = self.utility._init_state()
        self._seen = torch.zeros(self.utility.n, dtype=torch.bool)
        self._m = 0.0                       # largest singleton gain seen
        self._sieves: dict[int, _Sieve] = {}
        self._best: tuple[float, tuple[int, ...]] = (0.0, ())   # f(S) - f(∅), S
        self.oracle_calls = 0
        self.elements_seen = 0

    # ------------------------------------------------------------------ the stream
    def partial_fit(self, elements: Iterable[int]) -> SieveStreaming:
        """Let ``elements`` (ground-set indices, each at most once over the whole stream)
        arrive in this order; returns ``self``."""
        u = self.utility
        batch = as_index_tensor(elements, u.n, "elements").cpu()
        if bool(self._seen[batch].any()):
            again = batch[self._seen[batch]][:5].tolist()
            raise InvalidInputError(f"elements: each element may arrive once; {again} "
                                    "arrived before")
        self._seen[batch] = True
        self.elements_seen += int(batch.numel())
        if batch.numel() == 0 or self.k == 0:
            return self
        singles = self._gains(self._empty, batch)
        # the largest singleton gain when each element arrives
        running = np.maximum.accumulate(np.maximum(singles.numpy(), self._m))
        positive = running[running > 0]
        lo = self._grid(float(positive[0])) if positive.size else 0
        hi = self._grid(float(running[-1]), up=False, times=2.0 * self.k) \
            if positive.size else -1
        # every guess some element of the batch sees (the others keep their sets)
        for i in range(lo, hi + 1):
            v = math.exp(i * self._log_base)
            # an element sees guess v while m <= v <= 2 k m at its arrival
            first = int(np.searchsorted(running, v / (2.0 * self.k), side="left"))
            end = int(np.searchsorted(running, v, side="right"))
            sieve = self._sieves.get(i)
            if first < end:
                if sieve is None:
                    sieve = self._sieves[i] = _Sieve(v, self._empty)
                self._sieve_run(sieve, batch[first:end])
        self._m = max(self._m, float(running[-1]))
        # guesses below m are over: keep their sets only as candidates for the best
        for i in [i for i, s in self._sieves.items() if s.v < self._m]:
            self._offer(self._sieves.pop(i))
        return self

    def _sieve_run(self, sieve: _Sieve, cand: torch.Tensor) -> None:
        """The elements ``cand`` (in arrival order) through one sieve."""
        k = self.k
        while cand.numel() and len(sieve.state) < k:
            threshold = (sieve.v / 2.0 - sieve.value) / (k - len(sieve.state))
            g = self._gains(sieve.state, cand)
            passing = torch.nonzero(g >= threshold).flatten()
            if passing.numel() == 0:
                break
            p = int(passing[0])
            sieve.state = self.utility._add(sieve.state, int(cand[p]))
            sieve.value += float(g[p])
            cand = cand[p + 1:]
        self._offer(sieve)

    def _offer(self, sieve: _Sieve) -> None:
        if sieve.value > self._best[0]:
            self._best = (sieve.value, sieve.state.selected)

    def _gains(self, state: UtilityState, cand: torch.Tensor) -> torch.Tensor:
        self.oracle_calls += int(cand.numel())
        g = self.utility._gains(state, cand.to(self.utility.device))
        g = g.detach().to("cpu", torch.float64)
        check_finite_gains(self.utility, g, cand, len(state))
        return g

    def _grid(self, x: float, up: bool = True, times: float = 1.0) -> int:
        """The exponent ``i`` of the first grid point ``(1+ε)^i >= times · x`` (the last
        ``<= times · x``: not ``up``), computed in logarithms (``times · x`` may overflow)
        with a margin against their rounding; never above the largest finite guess."""
        t = (math.log(x) + math.log(times)) / self._log_base
        i = math.ceil(t - 1e-9) if up else math.floor(t + 1e-9)
        return min(i, math.floor(_LOG_MAX / self._log_base))

    # ------------------------------------------------------------------ the answer
    @property
    def selected(self) -> tuple[int, ...]:
        """The best set so far, in the order its sieve took it."""
        return self._best[1]

    def result(self) -> Result:
        """The best set so far as a :class:`~matroidopt.Result` (its gains replayed in
        order; no certificate: a stream is not revisited)."""
        u = self.utility
        run = Run("sieve_streaming", u, UniformMatroid(u.n, self.k), certificate=False,
                  guarantee=sieve_streaming_guarantee, epsilon=self.epsilon)
        self.replay(run)
        return run.result(elements_seen=self.elements_seen, sieves=len(self._sieves))

    def replay(self, run: Run) -> None:
        """Add the best set to ``run`` in its order, with its gains, and count the stream's
        oracle calls there."""
        run.calls += self.oracle_calls
        for j in self.selected:
            run.add(j, float(run.gains(torch.tensor([j]))[0]))


def sieve_streaming(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
                    epsilon: float = 0.1, order: Any = None, batch: int = 4096,
                    progress: bool = False, certificate: bool = True) -> Result:
    """One pass of :class:`SieveStreaming` over the ground set, in ``order`` (default: index
    order), ``batch`` elements at a time.

    Guarantee
    ---------
    ``1/2 - ε`` for monotone submodular ``f`` under a cardinality constraint (Badanidiyuru,
    Mirzasoleiman, Karbasi, Krause 2014), for every order.

    Complexity
    ----------
    ``O(n log(k) / ε)`` oracle calls at most, in vectorised batches; memory
    ``O(k log(k) / ε)`` selected elements. ``certificate=True`` adds ``n`` gains at the
    result (a second pass) for the certificate.

    Parameters
    ----------
    epsilon : float
        In (0, 1).
    order : sequence of int or None
        The arrival order, a permutation of the ground set (None: ``0, 1, ..., n - 1``).
    batch : int
        Elements fed to :meth:`SieveStreaming.partial_fit` at a time (>= 1); the result
        does not depend on it.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(1).normal(size=(200, 4))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> r = mo.sieve_streaming(f, 8, epsilon=0.2)
    >>> r.guarantee, r.value <= r.upper_bound
    (0.3, True)
    """
    u = utility
    n = u.n
    batch = check_int(batch, "batch", minimum=1)
    order_t = torch.arange(n) if order is None else as_index_tensor(order, n, "order").cpu()
    if order_t.numel() != n:
        raise InvalidInputError(f"order: expected a permutation of the {n} elements, got "
                                f"{order_t.numel()} of them")
    run = Run("sieve_streaming", u, constraint, progress=progress, certificate=certificate,
              guarantee=sieve_streaming_guarantee, epsilon=epsilon,
              needs="a monotone submodular utility under a cardinality constraint")
    sieve = SieveStreaming(u, constraint._max_feasible_size(), epsilon=epsilon)
    for a in range(0, n, batch):
        sieve.partial_fit(order_t[a:a + batch])
    sieve.replay(run)
    if n:
        run.certify_fresh()
    return run.result(elements_seen=sieve.elements_seen)


def sieve_streaming_guarantee(utility: Utility, constraint: Constraint, *,
                              epsilon: float = 0.1, **options: Any
                              ) -> tuple[float | None, bool]:
    """``1/2 - ε`` for monotone submodular ``f`` under a cardinality constraint."""
    if utility.monotone and utility.submodular and guarantee_kind(constraint) == "cardinality":
        return max(0.0, 0.5 - float(epsilon)), False
    return None, False


SPEC = SolverSpec.declare("sieve_streaming", sieve_streaming, sieve_streaming_guarantee,
                          accepts=("cardinality",), rows=(
    ("sieve_streaming(ε)", "cardinality", "monotone submodular", "1/2 - ε"),
))
sieve_streaming = SPEC.fn  # the public function: admits once, runs the body
