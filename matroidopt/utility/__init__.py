"""Utilities: submodular (and weakly submodular) set functions with an incremental oracle."""

from . import information
from .base import CallableUtility, Utility, UtilityState
from .clustered import ClusteredUtility, cluster_labels
from .combinators import ConditionedUtility, RestrictedUtility, TruncatedUtility, WeightedSum
from .coverage import SetCover, WeightedCoverage
from .dispersion import DisparityMin, DisparitySum
from .facility_location import FacilityLocation
from .feature_based import CONCAVE_FUNCTIONS, FeatureBased
from .graph_cut import GraphCut
from .information import *  # noqa: F403 - the listed constructors
from .kernels import KERNEL_STYLES, similarity_kernel
from .knn import KNN_BACKENDS, knn_kernel
from .log_determinant import LogDeterminant
from .modular import Modular
from .mutual_information import MutualInformation
from .probabilistic_coverage import ProbabilisticCoverage
from .saturated_coverage import SaturatedCoverage
from .sum_redundancy import SumRedundancy

__all__ = [
    "Utility", "UtilityState", "CallableUtility", "Modular", "FacilityLocation",
    "WeightedCoverage", "SetCover", "ProbabilisticCoverage", "GraphCut", "LogDeterminant",
    "FeatureBased", "CONCAVE_FUNCTIONS", "SaturatedCoverage", "SumRedundancy", "knn_kernel",
    "KNN_BACKENDS", "similarity_kernel", "KERNEL_STYLES",
    "WeightedSum", "TruncatedUtility", "ConditionedUtility", "RestrictedUtility",
    "MutualInformation", "ClusteredUtility", "cluster_labels", "DisparitySum",
    "DisparityMin", *information.__all__,
]
