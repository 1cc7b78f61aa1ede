"""Public testing helpers: verify utilities, matroids and solvers in your own test suite.

* :func:`check_submodular` — diminishing returns (and monotonicity) of a utility or a plain
  Python set function, exhaustively on small ground sets, by sampling otherwise;
* :func:`check_oracle` — the incremental oracle (gains/add/value) agrees with ``evaluate``;
* :func:`check_matroid` — the matroid axioms, rank, the incremental oracle and the
  maximum-weight basis, by brute force;
* :func:`brute_force_maximum` — the exact optimum of a small instance by enumeration;
* :func:`assert_guarantee` — a solve (or seeded solves) against its guarantee and certificate;
* hypothesis strategies :func:`utilities` and :func:`matroids` of random small instances of
  every family and kind.
"""

from .brute_force import BruteForceResult, brute_force_maximum, feasible_sets
from .guarantees import assert_guarantee
from .matroids import check_matroid, matroid_kinds, matroids
from .utilities import check_oracle, check_submodular, utilities, utility_families

__all__ = [
    "BruteForceResult", "brute_force_maximum", "feasible_sets", "assert_guarantee",
    "check_matroid", "matroid_kinds", "matroids",
    "check_oracle", "check_submodular", "utilities", "utility_families",
]
