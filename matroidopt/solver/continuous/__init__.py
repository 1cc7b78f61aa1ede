"""Continuous greedy: maximise the multilinear extension, then round (or return the point).

One module per idea:

* :mod:`._climb` — the step budget (:data:`DEFAULT_STEPS`, :data:`MAX_STEPS`,
  :data:`DEFAULT_CG_SAMPLES`) and :class:`~._climb.Climb`, the state shared by the matroid
  variants: a uniform convex combination of bases built one per step, its fractional value
  and its swap / pipage rounding;
* :mod:`.standard` — :func:`continuous_greedy`, the registered solver (Calinescu, Chekuri,
  Pál, Vondrák 2011), its guarantee and its :class:`~matroidopt.solver.spec.SolverSpec`;
* :mod:`.threshold` — the rounds of its decreasing-threshold variant (Badanidiyuru &
  Vondrák 2014), ``continuous_greedy(..., variant="threshold")``;
* :mod:`.measured` — :func:`measured_continuous_greedy` over any down-closed polytope
  (Feldman, Naor, Schwartz 2011) and its :class:`FractionalResult`.
"""

from ._climb import DEFAULT_CG_SAMPLES, DEFAULT_STEPS, MAX_STEPS
from .measured import FractionalResult, measured_continuous_greedy
from .standard import SPEC, continuous_greedy, continuous_greedy_guarantee
from .threshold import DEFAULT_EPSILON

__all__ = ["continuous_greedy", "measured_continuous_greedy", "FractionalResult",
           "DEFAULT_STEPS", "DEFAULT_CG_SAMPLES", "DEFAULT_EPSILON", "MAX_STEPS",
           "continuous_greedy_guarantee", "SPEC"]
