"""Solvers: free functions ``solver(utility, constraint, *, seed=None, **options) -> Result``,
registered by name; :func:`maximize` dispatches."""

from .approximate_lazy import approximate_lazy_greedy
from .continuous import FractionalResult, continuous_greedy, measured_continuous_greedy
from .dispersion import dispersion_greedy
from .double_greedy import double_greedy
from .greedi import greedi
from .greedy import greedy
from .knapsack import cost_benefit_greedy
from .lazy import lazy_greedy
from .modular import modular_greedy
from .random_greedy import random_greedy
from .registry import (
    GUARANTEES,
    SOLVER_SPECS,
    SOLVERS,
    auto_solver,
    get_solver,
    guarantee,
    maximize,
    register_solver,
    unregister_solver,
)
from .residual_random import residual_random_greedy
from .result import Result
from .sample import sample_greedy
from .sieve import SieveStreaming, sieve_streaming
from .spec import SolverSpec
from .stochastic import stochastic_greedy

__all__ = [
    "Result", "SOLVERS", "SOLVER_SPECS", "SolverSpec", "GUARANTEES", "guarantee",
    "auto_solver", "get_solver", "register_solver", "unregister_solver", "maximize",
    "greedy", "lazy_greedy", "stochastic_greedy", "residual_random_greedy",
    "cost_benefit_greedy", "random_greedy", "continuous_greedy", "modular_greedy",
    "measured_continuous_greedy", "FractionalResult", "greedi", "double_greedy",
    "sieve_streaming", "SieveStreaming", "dispersion_greedy", "approximate_lazy_greedy",
    "sample_greedy",
]
