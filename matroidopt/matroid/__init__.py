"""Matroids: independence systems with the exchange property, and operations on them."""

from .base import Matroid
from .graphic import GraphicMatroid
from .laminar import LaminarMatroid
from .linear import LinearMatroid
from .operations import (
    ContractedMatroid,
    DirectSumMatroid,
    RestrictedMatroid,
    TruncatedMatroid,
    contract,
    direct_sum,
    restrict,
    truncate,
)
from .partition import PartitionMatroid
from .transversal import TransversalMatroid
from .uniform import FreeMatroid, UniformMatroid

__all__ = [
    "Matroid", "UniformMatroid", "FreeMatroid", "PartitionMatroid", "LaminarMatroid",
    "GraphicMatroid",
    "TransversalMatroid", "LinearMatroid", "TruncatedMatroid", "RestrictedMatroid",
    "ContractedMatroid", "DirectSumMatroid", "truncate", "restrict", "contract", "direct_sum",
]
