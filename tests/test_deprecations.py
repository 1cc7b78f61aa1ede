"""Deprecated public spellings keep working, warn naming their replacement, and answer exactly
what the replacement answers (on points where the answer is not obvious)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import matroidopt as mo

PM = mo.PartitionMatroid([0, 0, 1, 1, 2], [1, 2, 1])
INSIDE = np.array([0.3, 0.6, 0.9, 0.05, 0.5])      # block sums 0.9, 0.95, 0.5
OUTSIDE = np.array([0.6, 0.6, 0.9, 0.8, 0.5])      # block 0 sums to 1.2 > 1


def test_the_polytope_module_is_importable_again():
    module = importlib.import_module("matroidopt.polytope")
    assert mo.polytope is module
    assert module.polytope_of is mo.polytope_of and module.MatroidPolytope is mo.MatroidPolytope


def test_calling_the_module_is_the_deprecated_polytope_function():
    K = mo.Knapsack([1.0, 2.0, 2.0, 1.0, 1.0], 2.0)
    with pytest.warns(DeprecationWarning, match=r"matroidopt\.polytope\(\.\.\.\) is deprecated; "
                                               r"use matroidopt\.polytope_of"):
        old = mo.polytope(K, PM)
    new = mo.polytope_of(K, PM)
    np.testing.assert_array_equal(old.A, new.A)
    np.testing.assert_array_equal(old.b, new.b)
    with pytest.warns(DeprecationWarning, match="polytope_of"):
        assert isinstance(mo.polytope(PM), mo.MatroidPolytope)


@pytest.mark.parametrize("call, replacement", [
    (lambda: mo.in_matroid_polytope(PM, INSIDE), lambda: mo.MatroidPolytope(PM).contains(INSIDE)),
    (lambda: mo.in_matroid_polytope(PM, OUTSIDE, method="decomposition"),
     lambda: mo.MatroidPolytope(PM).contains(OUTSIDE, method="decomposition")),
    (lambda: PM.polytope_contains(OUTSIDE), lambda: mo.MatroidPolytope(PM).contains(OUTSIDE)),
    (lambda: mo.project_onto_matroid_polytope(PM, OUTSIDE),
     lambda: mo.MatroidPolytope(PM).project(OUTSIDE)),
    (lambda: PM.project(OUTSIDE), lambda: mo.MatroidPolytope(PM).project(OUTSIDE)),
    (lambda: mo.decompose_matroid_point(PM, INSIDE),
     lambda: mo.MatroidPolytope(PM).decompose(INSIDE)),
    (lambda: PM.decompose(INSIDE), lambda: mo.MatroidPolytope(PM).decompose(INSIDE)),
])
def test_deprecated_matroid_polytope_helpers_warn_and_agree(call, replacement):
    with pytest.warns(DeprecationWarning, match=r"is deprecated; use .*MatroidPolytope\(matroid\)"):
        old = call()
    new = replacement()
    if isinstance(new, tuple):   # a decomposition: the same sets with the same weights
        assert [S.tolist() for S in old[0]] == [S.tolist() for S in new[0]]
        np.testing.assert_allclose(old[1], new[1])
    else:
        np.testing.assert_allclose(old, new)


def test_the_contains_answers_differ_on_the_two_points():
    # guards the agreement test above: it compares answers that are not all the same
    P = mo.MatroidPolytope(PM)
    assert P.contains(INSIDE) and not P.contains(OUTSIDE)
    assert not np.allclose(P.project(OUTSIDE), OUTSIDE)


def test_the_deprecated_aliases_still_validate():
    with pytest.warns(DeprecationWarning), pytest.raises(mo.InvalidInputError, match=r"^x:"):
        mo.in_matroid_polytope(PM, [0.5, 1.5, 0.0, 0.0, 0.0])
    with pytest.warns(DeprecationWarning), pytest.raises(mo.InvalidInputError, match=r"^matroid:"):
        mo.decompose_matroid_point("not a matroid", [0.5])
