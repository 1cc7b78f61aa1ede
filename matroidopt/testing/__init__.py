"""Public testing helpers: verify utilities, matroids and solvers in your own test suite.

* :func:`brute_force_maximum` — the exact optimum of a small instance by enumeration;
* :func:`assert_guarantee` — a solve (or seeded solves) against its guarantee and certificate.
"""

from .brute_force import BruteForceResult, brute_force_maximum, feasible_sets
from .guarantees import assert_guarantee

__all__ = ["BruteForceResult", "brute_force_maximum", "feasible_sets", "assert_guarantee"]
