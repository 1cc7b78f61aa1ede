"""matroidopt: constrained submodular maximisation with tested guarantees and certificates.

Utilities (set functions), constraints (matroids, knapsacks, intersections) and solvers
(greedy family), composable from Python::

    import matroidopt as mo
    f = mo.FacilityLocation.from_features(X, metric="cosine")
    m = mo.PartitionMatroid(labels, capacities)
    res = mo.maximize(f, m)             # lazy greedy, 1/2 guarantee under a matroid
    res.indices, res.value, res.upper_bound

Every public name is importable from here.
"""

# _deprecated attaches the deprecated matroid methods; polytope is the module (calling it is
# the deprecated alias of polytope_of)
from . import _deprecated, errors, polytope, threads  # noqa: F401
from .certificate import certificate_bound
from .constraint import Constraint, ConstraintState, Intersection, Knapsack
from .errors import AssumptionWarning, InvalidInputError
from .matroid import (
    ContractedMatroid,
    DirectSumMatroid,
    FreeMatroid,
    GraphicMatroid,
    LaminarMatroid,
    LinearMatroid,
    Matroid,
    PartitionMatroid,
    RestrictedMatroid,
    TransversalMatroid,
    TruncatedMatroid,
    UniformMatroid,
    contract,
    direct_sum,
    restrict,
    truncate,
)
from .multilinear import has_closed_form, multilinear_gradient, multilinear_value
from .polytope import (
    MAX_RANK_INEQUALITY_N,
    MatroidPolytope,
    Polytope,
    decompose_matroid_point,
    in_matroid_polytope,
    lp_solver,
    polytope_of,
    project_onto_matroid_polytope,
)
from .rounding import pipage_rounding, pipage_supported, swap_rounding
from .solver import (
    GUARANTEES,
    SOLVER_SPECS,
    SOLVERS,
    FractionalResult,
    Result,
    SieveStreaming,
    SolverSpec,
    approximate_lazy_greedy,
    auto_solver,
    continuous_greedy,
    cost_benefit_greedy,
    dispersion_greedy,
    double_greedy,
    get_solver,
    greedi,
    greedy,
    guarantee,
    lazy_greedy,
    maximize,
    measured_continuous_greedy,
    modular_greedy,
    random_greedy,
    register_solver,
    residual_random_greedy,
    sample_greedy,
    sieve_streaming,
    stochastic_greedy,
    unregister_solver,
)
from .utility import (
    CONCAVE_FUNCTIONS,
    KERNEL_STYLES,
    KNN_BACKENDS,
    CallableUtility,
    ClusteredUtility,
    ConditionedUtility,
    DisparityMin,
    DisparitySum,
    FacilityLocation,
    FeatureBased,
    GraphCut,
    LogDeterminant,
    Modular,
    MutualInformation,
    ProbabilisticCoverage,
    RestrictedUtility,
    SaturatedCoverage,
    SetCover,
    SumRedundancy,
    TruncatedUtility,
    Utility,
    UtilityState,
    WeightedCoverage,
    WeightedSum,
    cluster_labels,
    information,
    knn_kernel,
    similarity_kernel,
)
from .utility.information import *  # noqa: F403 - the information-measure constructors

__version__ = "0.1.0"

__all__ = [
    "errors", "InvalidInputError", "AssumptionWarning",
    "Utility", "UtilityState", "CallableUtility", "Modular", "FacilityLocation",
    "WeightedCoverage", "SetCover", "ProbabilisticCoverage", "GraphCut", "LogDeterminant",
    "FeatureBased", "CONCAVE_FUNCTIONS", "SaturatedCoverage", "SumRedundancy", "knn_kernel",
    "KNN_BACKENDS", "similarity_kernel", "KERNEL_STYLES",
    "WeightedSum", "TruncatedUtility", "ConditionedUtility", "RestrictedUtility",
    "MutualInformation", "ClusteredUtility", "cluster_labels", "DisparitySum", "DisparityMin",
    "information",
    *information.__all__,
    "Constraint", "ConstraintState", "Knapsack", "Intersection",
    "Matroid", "UniformMatroid", "FreeMatroid", "PartitionMatroid", "LaminarMatroid",
    "GraphicMatroid",
    "TransversalMatroid", "LinearMatroid", "TruncatedMatroid", "RestrictedMatroid",
    "ContractedMatroid", "DirectSumMatroid", "truncate", "restrict", "contract", "direct_sum",
    "Result", "SOLVERS", "SOLVER_SPECS", "SolverSpec", "auto_solver", "get_solver",
    "register_solver", "unregister_solver", "maximize",
    "greedy", "lazy_greedy", "stochastic_greedy", "residual_random_greedy",
    "cost_benefit_greedy", "random_greedy", "continuous_greedy", "modular_greedy", "greedi",
    "double_greedy", "sieve_streaming", "SieveStreaming", "dispersion_greedy",
    "approximate_lazy_greedy", "sample_greedy",
    "threads", "multilinear_value", "multilinear_gradient", "has_closed_form",
    "swap_rounding", "pipage_rounding", "pipage_supported",
    "measured_continuous_greedy", "FractionalResult",
    "Polytope", "MatroidPolytope", "polytope_of", "lp_solver", "MAX_RANK_INEQUALITY_N",
    "polytope", "in_matroid_polytope", "project_onto_matroid_polytope",
    "decompose_matroid_point",
    "guarantee", "certificate_bound", "GUARANTEES",
]
