"""Matroids: independence systems with the exchange property, and operations on them."""

from .base import Matroid
from .partition import PartitionMatroid
from .uniform import UniformMatroid

__all__ = ["Matroid", "UniformMatroid", "PartitionMatroid"]
