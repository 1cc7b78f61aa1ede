"""Deprecated spellings kept working until the next major version (each warns with a
:class:`DeprecationWarning` naming its replacement).

The matroid methods ``polytope_contains``, ``project`` and ``decompose`` delegated from the
matroid layer up into the polytope layer. The one spelling of each is now on
:class:`~matroidopt.MatroidPolytope`; the old methods are attached here, at the top of the
package, so that no lower layer imports a higher one. Remove this module at 1.0.
"""

from __future__ import annotations

from .errors import warn_deprecated
from .matroid.base import Matroid
from .polytope import MatroidPolytope

__all__: list[str] = []


def _polytope_contains(self: Matroid, x, tol: float = 1e-9) -> bool:
    """Deprecated: ``MatroidPolytope(self).contains(x, tol)``."""
    warn_deprecated("Matroid.polytope_contains(x)", "MatroidPolytope(matroid).contains(x)")
    return MatroidPolytope(self).contains(x, tol=tol)


def _project(self: Matroid, x):
    """Deprecated: ``MatroidPolytope(self).project(x)``."""
    warn_deprecated("Matroid.project(x)", "MatroidPolytope(matroid).project(x)")
    return MatroidPolytope(self).project(x)


def _decompose(self: Matroid, x, tol: float = 1e-9):
    """Deprecated: ``MatroidPolytope(self).decompose(x, tol)``."""
    warn_deprecated("Matroid.decompose(x)", "MatroidPolytope(matroid).decompose(x)")
    return MatroidPolytope(self).decompose(x, tol=tol)


Matroid.polytope_contains = _polytope_contains
Matroid.project = _project
Matroid.decompose = _decompose
