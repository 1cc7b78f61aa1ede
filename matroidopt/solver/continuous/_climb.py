"""The climb shared by the matroid variants of continuous greedy.

Both the standard steps (:mod:`.standard`) and the threshold rounds (:mod:`.threshold`) move
``x`` from ``0`` by ``1/T`` times the indicator of one basis per step, so the final point is
the uniform convex combination of the bases taken. :class:`Climb` holds that state — the
bases and how often each element was chosen — and what both variants do with it at the end:
the fractional value ``F(x)`` and the rounding of ``x`` to a set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...matroid.base import Matroid
from ...multilinear import _closed_form, _sampled_value
from ...rounding import _laminar_family, _pipage_round, _swap_round
from ...utility.base import Utility
from .._run import Run

__all__ = ["Climb", "DEFAULT_STEPS", "DEFAULT_CG_SAMPLES", "MAX_STEPS"]

#: Default number of steps ``T`` (the step size is ``1/T``).
DEFAULT_STEPS = 100
#: Samples per step when the utility has no closed-form multilinear extension.
DEFAULT_CG_SAMPLES = 100
#: Largest number of steps ``T`` (and of threshold rounds ``ceil(1/ε)``): each step costs at
#: least ``n`` marginal gains and a maximum-weight basis, and swap rounding keeps all ``T``
#: bases, so a million steps is already hours and gigabytes, while the finite-``T`` loss
#: ``r(r - 1)/(2T)`` is below ``1e-6`` for ranks up to 1000.
MAX_STEPS = 10**6


@dataclass
class Climb:
    """A uniform convex combination of bases of ``matroid``, built one basis per step.

    Attributes
    ----------
    run : Run
        The solve's bookkeeping (oracle calls, certificate ``best_bound``, selection).
    utility : Utility
    matroid : Matroid
    steps : int
        ``T``: the number of bases the climb will take (step size ``1/T``).
    samples : int or None
        Sets per estimate, or ``None`` for the closed form.
    rng : numpy.random.Generator
    frac_bound_ok : bool
        Whether the fractional certificate ``F(x) + max_B sum_{j in B} w_j`` may be used.
    bar : tqdm progress bar
        Advanced once per basis taken.
    counts : torch.Tensor
        How often each element was in a basis taken (float64, length ``n``).
    bases : list of list of int
        The bases taken, in order.
    """

    run: Run
    utility: Utility
    matroid: Matroid
    steps: int
    samples: int | None
    rng: np.random.Generator
    frac_bound_ok: bool
    bar: Any
    counts: torch.Tensor = field(init=False)
    bases: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = torch.zeros(self.run.n, dtype=torch.float64)

    @property
    def x(self) -> torch.Tensor:
        """The current point ``counts / T``."""
        return self.counts / self.steps

    def tighten(self, bound: float) -> None:
        """Lower the certificate to ``bound`` if that is smaller."""
        self.run.best_bound = min(self.run.best_bound, bound)

    def take(self, basis: list[int]) -> None:
        """Add ``1_B / T`` to ``x`` (one step) and advance the progress bar."""
        self.bases.append(basis)
        if basis:
            self.counts[basis] += 1.0
        self.bar.update(1)

    def fractional_value(self) -> tuple[float, float]:
        """``F(x)`` and its standard error: exact (0.0) with a closed form, else estimated
        from ``samples`` sets (counted as oracle calls)."""
        x = self.x
        if self.samples is None:
            return _closed_form(self.utility, x)[0], 0.0
        value, stderr = _sampled_value(self.utility, x, self.samples, self.rng)
        self.run.calls += self.samples
        return value, stderr

    def round(self, rounding: str) -> list[int]:
        """Round ``x`` to a set: swap rounding of the bases (any matroid) or pipage rounding
        (matroids on a laminar family); neither loses value in expectation."""
        if rounding == "swap":
            return _swap_round(self.matroid, self.bases, [1.0 / self.steps] * self.steps,
                               self.rng)
        return _pipage_round(self.matroid, _laminar_family(self.matroid),
                             self.x.numpy().copy(), self.rng)
