"""Utilities: submodular (and weakly submodular) set functions with an incremental oracle."""

from .base import CallableUtility, Utility, UtilityState
from .facility_location import FacilityLocation
from .modular import Modular

__all__ = ["Utility", "UtilityState", "CallableUtility", "Modular", "FacilityLocation"]
