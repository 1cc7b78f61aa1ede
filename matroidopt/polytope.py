"""Down-closed polytopes for continuous methods: the linear step, membership, projection and
decomposition.

Continuous greedy climbs the multilinear extension inside a polytope ``P ⊆ [0, 1]^n`` and
needs one operation per step: the **linear step** ``max_{v ∈ P} <w, v>``. For a matroid
polytope

    P(M) = {x ∈ [0, 1]^n : x(S) <= r(S) for every S}

the matroid greedy solves it exactly (Edmonds 1971). Other polytopes are described by linear
inequalities and solved as LPs with cvxpy:

* a :class:`~matroidopt.Knapsack` gives ``costs·x <= budget``;
* a :class:`~matroidopt.UniformMatroid`, :class:`~matroidopt.PartitionMatroid` or
  :class:`~matroidopt.LaminarMatroid` gives its compact description, one inequality
  ``x(A) <= capacity(A)`` per set of its laminar family (these are its whole polytope);
* any other matroid (graphic, transversal, linear, truncated, ...) gives all its rank
  inequalities ``x(S) <= r(S)``, of which there are ``2^n``: only for ``n <= 12``
  (:data:`MAX_RANK_INEQUALITY_N`; the ones with ``r(S) = |S|`` are implied and dropped);
* an :class:`~matroidopt.Intersection` of matroids, or several constraints given together,
  gives the intersection of their polytopes (e.g. knapsack ∩ partition matroid);
* :meth:`Polytope.from_cvxpy` takes any user description as cvxpy constraints on a variable
  ``x ∈ [0, 1]^n`` (it must be down-closed; that ``0 ∈ P`` is checked).

Each constraint describes itself through the hook ``Constraint._linear_rows()``;
:func:`polytope_of` only stacks the rows. A :class:`MatroidPolytope` (what
``polytope_of(matroid)`` returns) tests membership (:meth:`MatroidPolytope.contains`),
projects (:meth:`Polytope.project`) and writes a point of ``P(M)`` as a convex combination of
independent sets (:meth:`MatroidPolytope.decompose`: Carathéodory, by column generation
whose pricing step is the maximum-weight independent set). That is the one spelling of each
operation; the former helpers ``in_matroid_polytope``, ``project_onto_matroid_polytope``,
``decompose_matroid_point`` and the call ``matroidopt.polytope(...)`` are deprecated aliases.

This module is importable as ``matroidopt.polytope``; calling the module itself, as in
``mo.polytope_of(c)``, still works (deprecated) and means ``mo.polytope_of(c)``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._backend import as_point, check_real
from .constraint import Constraint
from .errors import InvalidInputError, warn_deprecated
from .matroid.base import MAX_RANK_INEQUALITY_N, Matroid, check_matroid

__all__ = ["Polytope", "MatroidPolytope", "polytope_of", "lp_solver", "MAX_RANK_INEQUALITY_N",
           "in_matroid_polytope", "project_onto_matroid_polytope", "decompose_matroid_point"]

_LP_PREFERENCE = ("HIGHS", "CLARABEL")
_QP_PREFERENCE = ("HIGHS", "CLARABEL", "OSQP", "SCS")


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the process's stdout file descriptor for the block: HiGHS (through cvxpy)
    writes a banner straight to file descriptor 1 on first use, which no Python-level
    redirection catches. A no-op where stdout has no file descriptor."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def lp_solver(problem: str = "lp") -> str:
    """The cvxpy solver used for linear programs (``"lp"``: HIGHS, else CLARABEL) or for the
    quadratic programs of projections (``"qp"``: HIGHS, whose active-set QP lands exactly on
    the faces, else CLARABEL, OSQP or SCS), whichever is installed
    (``cvxpy.installed_solvers()``).

    Examples
    --------
    >>> import matroidopt as mo
    >>> mo.lp_solver("lp") in ("HIGHS", "CLARABEL")
    True
    """
    import cvxpy as cp

    if problem not in ("lp", "qp"):
        raise InvalidInputError(f"problem: expected 'lp' or 'qp', got {problem!r}")
    installed = set(cp.installed_solvers())
    for name in _LP_PREFERENCE if problem == "lp" else _QP_PREFERENCE:
        if name in installed:
            return name
    raise InvalidInputError(  # pragma: no cover - cvxpy ships CLARABEL
        f"problem: no cvxpy solver for {problem} installed (need one of "
        f"{_LP_PREFERENCE if problem == 'lp' else _QP_PREFERENCE}); pip install clarabel")


def _point(x: Any, n: int, name: str = "x", cube: bool = True) -> np.ndarray:
    return as_point(x, n, name, cube=cube).numpy()


class Polytope:
    """A down-closed polytope ``P ⊆ [0, 1]^n``: linear inequalities ``A x <= b`` plus,
    optionally, user cvxpy constraints, always with ``0 <= x <= 1``.

    Build one with :func:`polytope_of` (from constraints) or :meth:`from_cvxpy`; combine with
    ``P & Q``.

    Examples
    --------
    >>> import matroidopt as mo
    >>> K, M = mo.Knapsack([1.0, 2.0, 2.0], 2.0), mo.PartitionMatroid([0, 0, 1], [1, 1])
    >>> P = mo.polytope_of(K, M)
    >>> P.linear_maximize([1.0, 1.2, 1.0]).round(6).tolist()   # a fractional vertex
    [1.0, 0.0, 0.5]
    >>> P.contains([1.0, 0.0, 0.5]), P.contains([1.0, 0.0, 1.0])
    (True, False)
    """

    def __init__(self, n: int, A=None, b=None, *, user: Sequence[Callable] = (),
                 description: str = "") -> None:
        self.n = int(n)
        self._A = np.zeros((0, self.n)) if A is None else np.asarray(A, dtype=np.float64)
        self._b = np.zeros(0) if b is None else np.asarray(b, dtype=np.float64)
        self._user = tuple(user)
        self.description = description
        self._lp = None
        self._qp = None
        #: ``max <weights, v>`` of the latest :meth:`linear_maximize` (None when the solver
        #: did not report an optimum to its tolerance)
        self.last_value: float | None = None

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)``; subclasses may build them on first use."""
        return self._A, self._b

    @property
    def A(self) -> np.ndarray:
        """The inequality matrix of ``A x <= b`` (the box ``0 <= x <= 1`` not included)."""
        return self._rows()[0]

    @property
    def b(self) -> np.ndarray:
        """The right-hand side of ``A x <= b``."""
        return self._rows()[1]

    def __repr__(self) -> str:
        extra = ", user constraints" if self._user else ""
        return f"Polytope(n={self.n}, {len(self.b)} inequalities{extra}: {self.description})"

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_cvxpy(cls, n: int, constraints: Callable) -> Polytope:
        """A polytope given by ``constraints(x)``: a callable that receives a cvxpy variable
        ``x`` of shape ``(n,)`` and returns a list of cvxpy constraints on it; ``0 <= x <= 1``
        is added. The polytope must be down-closed (with ``v`` it contains every
        ``0 <= u <= v``); this is the caller's promise, only ``0 ∈ P`` is checked.

        Complexity
        ----------
        Each linear step is one cvxpy solve (the problem is built once, with the weights as a
        parameter).

        Examples
        --------
        >>> import numpy as np, matroidopt as mo
        >>> P = mo.Polytope.from_cvxpy(3, lambda x: [x[0] + x[1] <= 1, 2 * x[2] <= x[0] + 1])
        >>> P.linear_maximize([1.0, 0.5, 1.0]).round(6).tolist()
        [1.0, 0.0, 1.0]
        """
        import cvxpy as cp

        n = int(n)
        if not callable(constraints):
            raise InvalidInputError(
                f"constraints: expected a callable x -> list of cvxpy constraints, got "
                f"{type(constraints).__name__}")
        x = cp.Variable(n)
        cons = _as_list(constraints(x))
        x.value = np.zeros(n)
        for c in cons:
            v = c.violation()
            if np.max(np.atleast_1d(v), initial=0.0) > 1e-9:
                raise InvalidInputError(
                    "constraints: the polytope does not contain 0; a down-closed polytope "
                    "must (continuous greedy starts there)")
        return cls(n, user=(constraints,), description="user cvxpy constraints")

    def __and__(self, other: Polytope) -> Polytope:
        if not isinstance(other, Polytope):
            return NotImplemented
        if other.n != self.n:
            raise InvalidInputError(f"other: ground sets differ ({self.n} vs {other.n})")
        return Polytope(self.n, np.vstack([self.A, other.A]), np.concatenate([self.b, other.b]),
                        user=self._user + other._user,
                        description=" ∩ ".join(d for d in (self.description, other.description)
                                               if d))

    def constraints(self, x) -> list:
        """The cvxpy constraints of ``P`` on the variable ``x`` (box included)."""
        cons = [x >= 0, x <= 1]
        if self.b.size:
            cons.append(self.A @ x <= self.b)
        for fn in self._user:
            cons.extend(_as_list(fn(x)))
        return cons

    # ----------------------------------------------------------------- operations
    def linear_maximize(self, weights) -> np.ndarray:
        """A maximiser of ``<weights, v>`` over ``v ∈ P`` (the linear step).

        Guarantee
        ---------
        Optimal up to the LP solver's tolerance (about ``1e-8``); HIGHS returns a vertex.

        Complexity
        ----------
        One LP with ``n`` variables and ``len(b) + 2n`` inequalities (plus the user's).

        Examples
        --------
        >>> import matroidopt as mo
        >>> P = mo.polytope_of(mo.Knapsack([1.0, 1.0], 1.5))
        >>> P.linear_maximize([2.0, 1.0]).round(6).tolist()
        [1.0, 0.5]
        """
        import cvxpy as cp

        w = _point(weights, self.n, "weights", cube=False)
        if self.n == 0:
            return np.zeros(0)
        if self._lp is None:
            x = cp.Variable(self.n)
            wp = cp.Parameter(self.n)
            self._lp = (x, wp, cp.Problem(cp.Maximize(wp @ x), self.constraints(x)))
        x, wp, prob = self._lp
        wp.value = w
        with _quiet_stdout():  # HiGHS prints a banner on its first use
            prob.solve(solver=lp_solver("lp"))
        if x.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
            raise InvalidInputError(  # pragma: no cover - a down-closed polytope is feasible
                f"constraints: the LP step failed with status {prob.status}")
        # the optimum, for certificates: only when the solver reports it solved to tolerance
        self.last_value = float(prob.value) if prob.status == "optimal" else None
        return np.clip(np.asarray(x.value, dtype=np.float64), 0.0, 1.0) + 0.0

    def contains(self, x, tol: float = 1e-9) -> bool:
        """Whether ``x ∈ P`` (every inequality within ``tol``).

        Guarantee
        ---------
        Exact (up to ``tol``) for the inequalities ``A x <= b``; user constraints are checked
        by cvxpy's ``violation()``.

        Complexity
        ----------
        One matrix-vector product (plus the user constraints' evaluation).

        Examples
        --------
        >>> import matroidopt as mo
        >>> P = mo.polytope_of(mo.UniformMatroid(3, 1))
        >>> P.contains([0.5, 0.5, 0.0]), P.contains([0.5, 0.5, 0.5])
        (True, False)
        """
        import cvxpy as cp

        v = _point(x, self.n)
        tol = check_real(tol, "tol", low=0.0)
        if self.b.size and np.any(self.A @ v > self.b + tol):
            return False
        if self._user:
            var = cp.Variable(self.n)
            var.value = v
            for fn in self._user:
                for c in _as_list(fn(var)):
                    if np.max(np.atleast_1d(c.violation()), initial=0.0) > tol:
                        return False
        return True

    def project(self, x) -> np.ndarray:
        """The Euclidean projection ``argmin_{p ∈ P} |p - x|`` of any finite point ``x``.

        Guarantee
        ---------
        Optimal up to the QP solver's tolerance (HIGHS: about ``1e-8``; an interior-point
        fallback such as CLARABEL is less accurate at the boundary, about ``1e-5``).

        Complexity
        ----------
        One convex QP with ``n`` variables.

        Examples
        --------
        >>> import matroidopt as mo
        >>> P = mo.polytope_of(mo.UniformMatroid(2, 1))
        >>> P.project([1.0, 0.6]).round(6).tolist()
        [0.7, 0.3]
        """
        import cvxpy as cp

        v = _point(x, self.n, cube=False)
        if self.n == 0:
            return np.zeros(0)
        if self._qp is None:
            var = cp.Variable(self.n)
            p = cp.Parameter(self.n)
            self._qp = (var, p, cp.Problem(cp.Minimize(cp.sum_squares(var - p)),
                                           self.constraints(var)))
        var, p, prob = self._qp
        p.value = v
        with _quiet_stdout():
            prob.solve(solver=lp_solver("qp"))
        if var.value is None:  # pragma: no cover
            raise InvalidInputError(f"x: the projection failed with status {prob.status}")
        return np.clip(np.asarray(var.value, dtype=np.float64), 0.0, 1.0) + 0.0


class MatroidPolytope(Polytope):
    """The polytope ``P(M) = {x ∈ [0, 1]^n : x(S) <= r(S) for every S}`` of one matroid.

    The linear step is the matroid greedy (exact, no LP); :meth:`contains` and
    :meth:`decompose` work for any matroid and any ``n``; the inequalities (for
    :meth:`~Polytope.project` and intersections) come from the matroid's
    ``_linear_rows`` hook (the laminar family of uniform, partition and laminar matroids and
    of the operations that compose it, else the rank inequalities, ``n <= 12``), built on
    first use.

    Examples
    --------
    >>> import matroidopt as mo
    >>> P = mo.MatroidPolytope(mo.PartitionMatroid([0, 0, 1], [1, 1]))
    >>> P.linear_maximize([0.2, 0.7, -1.0]).tolist()
    [0.0, 1.0, 0.0]
    >>> P.contains([0.5, 0.5, 1.0]), P.contains([0.6, 0.5, 1.0])
    (True, False)
    >>> P.project([0.9, 0.5, 1.3]).round(6).tolist()
    [0.7, 0.3, 1.0]
    """

    def __init__(self, matroid: Matroid) -> None:
        self.matroid = check_matroid(matroid)
        super().__init__(matroid.n, description=f"P({matroid!r})")
        self._built = False

    def __repr__(self) -> str:
        return f"MatroidPolytope({self.matroid!r})"

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        # every user of A and b (constraints, intersections, projection) comes through here
        if not self._built:
            self._A, self._b, self.description = self.matroid._linear_rows("matroid")
            self._built = True
        return self._A, self._b

    def linear_maximize(self, weights) -> np.ndarray:
        w = _point(weights, self.n, "weights", cube=False)
        out = np.zeros(self.n)
        out[self.matroid.max_weight_independent(w)] = 1.0
        self.last_value = float(w @ out)  # the matroid greedy is exact
        return out

    def contains(self, x, tol: float = 1e-9, method: str = "auto") -> bool:
        """Whether ``x`` lies in ``P(M)``.

        Parameters
        ----------
        x : array-like of shape (n,)
            A point of ``[0, 1]^n``.
        tol : float
            Slack allowed on every inequality.
        method : {"auto", "family", "rank_inequalities", "decomposition"}
            ``"family"``: the sums over the matroid's laminar family (uniform, partition and
            laminar matroids and the operations that compose it: its complete description);
            ``"rank_inequalities"``: all ``2^n`` rank inequalities by brute force
            (``n <= 12``); ``"decomposition"``: whether :meth:`decompose` writes ``x`` with
            total weight ``<= 1 + tol`` (any matroid, any ``n``). ``"auto"``: family when it
            applies, else rank inequalities for ``n <= 12``, else decomposition.

        Returns
        -------
        bool

        Guarantee
        ---------
        Exact up to ``tol`` for "family" and "rank_inequalities"; "decomposition" is exact up
        to the LP solver's tolerance (the minimum total weight of a non-negative combination
        of independent sets equal to ``x`` is ``<= 1`` iff ``x ∈ P(M)``).

        Complexity
        ----------
        Family: ``O(n · sets)``. Rank inequalities: ``2^n`` rank evaluations (cached per
        matroid). Decomposition: a column-generation LP, one maximum-weight independent set
        per column.

        Examples
        --------
        >>> import networkx as nx, matroidopt as mo
        >>> tri = mo.MatroidPolytope(mo.GraphicMatroid(nx.cycle_graph(3)))  # a triangle: rank 2
        >>> tri.contains([2/3, 2/3, 2/3]), tri.contains([1, 1, 0.1])
        (True, False)
        """
        m = self.matroid
        v = _point(x, m.n)
        tol = check_real(tol, "tol", low=0.0)
        methods = ("auto", "family", "rank_inequalities", "decomposition")
        if method not in methods:
            raise InvalidInputError(f"method: expected one of {methods}, got {method!r}")
        family = m._laminar_family()
        if method == "auto":
            method = ("family" if family is not None else
                      "rank_inequalities" if m.n <= MAX_RANK_INEQUALITY_N else "decomposition")
        if method == "family":
            if family is None:
                raise InvalidInputError(
                    f"method: 'family' needs a matroid with a laminar family (uniform, "
                    f"partition, laminar and the operations that compose one), got "
                    f"{type(m).__name__}")
            return all(float(v[S].sum()) <= cap + tol for S, cap in family)
        if method == "rank_inequalities":
            if m.n > MAX_RANK_INEQUALITY_N:
                raise InvalidInputError(
                    f"method: 'rank_inequalities' enumerates 2^n subsets, only for n <= "
                    f"{MAX_RANK_INEQUALITY_N} (got n = {m.n}); use 'decomposition'")
            A, b = m._rank_inequalities()
            return not (b.size and np.any(A @ v > b + tol))
        sets, _lam, total = _column_generation(m, v)
        return sets is not None and total <= 1.0 + tol

    def decompose(self, x, tol: float = 1e-9) -> tuple[list[np.ndarray], np.ndarray]:
        """Write ``x ∈ P(M)`` as a convex combination of independent sets.

        Column generation on ``min sum λ_I  s.t.  sum_I λ_I 1_I = x, λ >= 0`` over
        independent sets ``I`` inside the support of ``x``: start from the singletons, solve
        the restricted LP (HiGHS via :func:`scipy.optimize.linprog`), and add the independent
        set of maximum dual weight (the matroid greedy: Carathéodory by repeated
        maximum-weight independent sets) while its reduced cost is negative. ``x ∈ P(M)`` iff
        the optimum is ``<= 1``; the final weights are recomputed on the optimal columns by
        non-negative least squares, so ``x`` is reconstructed to about ``1e-12``. The empty
        set takes the remaining weight.

        Parameters
        ----------
        x : array-like of shape (n,)
            A point of ``[0, 1]^n``.
        tol : float
            Accepted excess of the total weight over 1.

        Returns
        -------
        (sets, weights)
            ``sets``: sorted index arrays of independent sets (distinct; the empty set last
            when it carries weight); ``weights``: positive, summing to 1.

        Raises
        ------
        InvalidInputError
            ``x`` outside ``[0, 1]^n`` or outside ``P(M)`` (naming ``x``).

        Guarantee
        ---------
        Every set is independent (checked with the matroid's oracle); at most
        ``|supp x| + 1`` sets (a basic LP solution: Carathéodory);
        ``|sum λ_I 1_I - x| <= 1e-8``.

        Complexity
        ----------
        One LP per generated column, each column one sort and ``|supp x|`` independence
        tests.

        Examples
        --------
        >>> import numpy as np, matroidopt as mo
        >>> m = mo.UniformMatroid(3, 2)
        >>> sets, w = mo.MatroidPolytope(m).decompose([0.5, 0.5, 0.5])
        >>> all(m.is_independent(S) for S in sets), round(float(w.sum()), 12)
        (True, 1.0)
        >>> bool(np.allclose(sum(c * np.isin(np.arange(3), S) for S, c in zip(sets, w)), 0.5))
        True
        """
        m = self.matroid
        v = _point(x, m.n)
        tol = check_real(tol, "tol", low=0.0)
        sets, lam, total = _column_generation(m, v)
        if sets is None:
            raise InvalidInputError(f"x: not in the matroid polytope of {m!r}: it puts weight "
                                    f"on a loop (an element of rank 0)")
        if total > 1.0 + tol:
            raise InvalidInputError(
                f"x: not in the matroid polytope of {m!r}: any combination of independent "
                f"sets equal to x has total weight at least {total:.12g} > 1")
        out_sets = [np.asarray(sorted(S), dtype=np.int64) for S in sets]
        weights = list(lam)
        if total < 1.0:
            out_sets.append(np.zeros(0, dtype=np.int64))
            weights.append(1.0 - total)
        else:
            weights = [w / total for w in weights]
        return out_sets, np.asarray(weights, dtype=np.float64)


def _as_list(cons) -> list:
    if cons is None:
        return []
    if isinstance(cons, (list, tuple)):
        return list(cons)
    return [cons]


def polytope_of(*constraints) -> Polytope:
    """The polytope of one or more constraints over the same ground set (their intersection).

    Parameters
    ----------
    *constraints : Constraint or Polytope
        Each constraint describes itself (its ``_linear_rows`` hook): a matroid gives its
        matroid polytope (compact description from its laminar family: uniform, partition and
        laminar matroids and their truncations, restrictions, contractions and direct sums;
        the ``2^n`` rank inequalities otherwise, only for ``n <= MAX_RANK_INEQUALITY_N``),
        a knapsack ``costs·x <= budget``, an intersection of matroids the intersection of
        their polytopes; a :class:`Polytope` is taken as it is.

    Returns
    -------
    Polytope
        A :class:`MatroidPolytope` for a single matroid.

    Guarantee
    ---------
    The polytope contains the indicator vector of every set feasible for all constraints, so
    ``max_P F`` bounds the integral optimum; for a single matroid it is the convex hull of the
    independent sets (Edmonds 1971), for a knapsack or an intersection it may be larger (its
    vertices can be fractional).

    Complexity
    ----------
    ``O(n · sets)`` for compact families; ``2^n`` rank evaluations otherwise.

    Examples
    --------
    >>> import matroidopt as mo
    >>> P = mo.polytope_of(mo.Knapsack([1.0, 1.0, 3.0], 2.5), mo.UniformMatroid(3, 2))
    >>> P.contains([1.0, 0.75, 0.25]), P.contains([1.0, 1.0, 0.25])
    (True, False)
    """
    if not constraints:
        raise InvalidInputError("constraints: expected at least one constraint")
    if len(constraints) == 1 and isinstance(constraints[0], (list, tuple)):
        constraints = tuple(constraints[0])
    sizes = {getattr(c, "n", None) for c in constraints}
    if len(sizes) != 1 or None in sizes:
        for c in constraints:
            _part(c)  # names the unsupported type first
        raise InvalidInputError(
            f"constraints: all must share one ground-set size, got {[c.n for c in constraints]}")
    if len(constraints) == 1 and isinstance(constraints[0], Matroid):
        return MatroidPolytope(constraints[0])
    parts = [_part(c) for c in constraints]
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def _part(c: Any) -> Polytope:
    if isinstance(c, Polytope):
        return c
    rows = c._linear_rows("constraint") if isinstance(c, Constraint) else None
    if rows is None:
        raise InvalidInputError(
            f"constraint: expected a Matroid, Knapsack, Intersection, Polytope or another "
            f"Constraint with a linear description, got {type(c).__name__}"
            + (" (this Constraint has no linear description; use Polytope.from_cvxpy)"
               if isinstance(c, Constraint) else ""))
    A, b, description = rows
    return Polytope(c.n, A, b, description=description)


# ====================================================================== deprecated aliases
def in_matroid_polytope(matroid: Matroid, x, tol: float = 1e-9, method: str = "auto") -> bool:
    """Deprecated alias of :meth:`MatroidPolytope.contains`:
    ``MatroidPolytope(matroid).contains(x, tol, method)``."""
    warn_deprecated("matroidopt.in_matroid_polytope(matroid, x)",
                    "matroidopt.MatroidPolytope(matroid).contains(x)")
    return MatroidPolytope(matroid).contains(x, tol=tol, method=method)


def project_onto_matroid_polytope(matroid: Matroid, x) -> np.ndarray:
    """Deprecated alias of :meth:`Polytope.project` on a :class:`MatroidPolytope`:
    ``MatroidPolytope(matroid).project(x)``."""
    warn_deprecated("matroidopt.project_onto_matroid_polytope(matroid, x)",
                    "matroidopt.MatroidPolytope(matroid).project(x)")
    return MatroidPolytope(matroid).project(x)


def decompose_matroid_point(matroid: Matroid, x, tol: float = 1e-9
                            ) -> tuple[list[np.ndarray], np.ndarray]:
    """Deprecated alias of :meth:`MatroidPolytope.decompose`:
    ``MatroidPolytope(matroid).decompose(x, tol)``."""
    warn_deprecated("matroidopt.decompose_matroid_point(matroid, x)",
                    "matroidopt.MatroidPolytope(matroid).decompose(x)")
    return MatroidPolytope(matroid).decompose(x, tol=tol)


def polytope(*constraints) -> Polytope:
    """Deprecated alias of :func:`polytope_of`."""
    warn_deprecated("matroidopt.polytope(...)", "matroidopt.polytope_of(...)")
    return polytope_of(*constraints)


class _CallableModule(types.ModuleType):
    """This module's type: calling the module (``mo.polytope(c)``, the former function that
    shadowed it) is the deprecated alias of :func:`polytope_of`."""

    def __call__(self, *constraints) -> Polytope:
        warn_deprecated("matroidopt.polytope(...)", "matroidopt.polytope_of(...)")
        return polytope_of(*constraints)


sys.modules[__name__].__class__ = _CallableModule


def _column_generation(m: Matroid, x: np.ndarray):
    """``(sets, weights, total)`` of a minimum-total-weight non-negative combination of
    independent sets equal to ``x``; ``(None, None, inf)`` when ``x`` loads a loop."""
    from scipy.optimize import linprog, nnls

    J = np.flatnonzero(x > 0.0)
    if J.size == 0:
        return [], np.zeros(0), 0.0
    pos = {int(j): i for i, j in enumerate(J)}
    for j in J.tolist():
        if not m._is_feasible([j]):
            return None, None, float("inf")
    cols: list[tuple[int, ...]] = [(int(j),) for j in J]
    seen = set(cols)
    b = x[J]

    def matrix(columns):
        A = np.zeros((J.size, len(columns)))
        for k, S in enumerate(columns):
            A[[pos[j] for j in S], k] = 1.0
        return A

    for _ in range(20 * J.size + 100):
        A = matrix(cols)
        res = linprog(np.ones(len(cols)), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        if res.status != 0:  # pragma: no cover - the singletons are always feasible
            break
        y = np.asarray(res.eqlin.marginals)
        order = [int(J[i]) for i in np.argsort(-y, kind="stable") if y[i] > 0]
        state = m._greedy_independent_subset(order)
        S = tuple(sorted(state.selected))
        if not S or sum(y[pos[j]] for j in S) <= 1.0 + 1e-10 or S in seen:
            break
        cols.append(S)
        seen.add(S)
    A = matrix(cols)
    lam = res.x
    keep = np.flatnonzero(lam > 1e-12)
    # polish on the optimal columns: non-negative least squares, exact on a basis
    sol, _resid = nnls(A[:, keep], b)
    if np.max(np.abs(A[:, keep] @ sol - b), initial=0.0) > 1e-9:  # pragma: no cover
        sol = lam[keep]
    nz = sol > 0
    sets = [cols[k] for k in keep[nz]]
    lam = sol[nz]
    for S in sets:
        if not m._is_feasible(list(S)):  # pragma: no cover - pricing only builds independents
            raise InvalidInputError(f"matroid: dependent set {S} in a decomposition")
    return sets, lam, float(lam.sum())
