"""The small non-negative quadratic program behind the weighted gradient-matching utility:
``max_{v >= 0} cᵀv − ½ vᵀ K v`` by an exact active-set method."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.linalg import lapack

from matroidopt.errors import InvalidInputError

__all__ = ["solve_nonnegative_qp"]


def solve_nonnegative_qp(K: np.ndarray, c: np.ndarray, v0: np.ndarray | None = None, *,
                         tol: float = 1e-10, rcond: float | None = None, ridge: float = 0.0,
                         max_iter: int | None = None) -> tuple[np.ndarray, float]:
    """``max_{v >= 0} cᵀv - ½ vᵀ (K + ridge·I) v`` for symmetric PSD ``K`` (exact, active set).

    A primal active-set method in the style of Lawson–Hanson NNLS (the Bro–de Jong variant
    that works on ``K`` and ``c`` directly). The passive set ``P`` (the free, positive
    variables) is grown one variable at a time — the one of largest positive gradient
    ``c_j - (K v)_j`` — and after each entry ``max`` on ``P`` is solved by a pseudo-inverse
    from the eigendecomposition of ``K_PP`` (eigenvalues below ``rcond · λ_max`` count as
    zero, so singular ``K_PP``, e.g. duplicate gradients, is fine; of the maximisers the one
    nearest the current point is taken, so the objective never decreases; a clearly positive
    definite ``K_PP`` is solved by Cholesky instead, same answer, cheaper); infeasible
    solutions are cut back along the segment to the boundary and the blocking variable leaves
    ``P``.
    When ``c_P`` has a significant component ``r`` in the null space of ``K_PP`` the objective
    grows linearly along ``r``: the method moves along ``r`` to the boundary, and if ``r >= 0``
    the problem is unbounded (returned value ``+inf``). Stops when every non-passive gradient
    is at most ``tol`` (relative to ``|c_j| + |K_j|·|v|``).

    ``v0`` warm-starts from a feasible point (any ``v0 >= 0``; typically the previous
    optimum padded with zeros). Runs in float64 on the CPU; each pivot costs one
    ``|P|×|P|`` Cholesky solve (an eigendecomposition when ``K_PP`` is near singular).

    Returns
    -------
    (v, value) : (numpy.ndarray, float)

    Examples
    --------
    >>> import numpy as np
    >>> from llm_minibatch.selection.utility import solve_nonnegative_qp
    >>> v, val = solve_nonnegative_qp(np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]))
    >>> v.tolist(), val
    ([1.0, 0.0], 0.5)
    """
    K = np.asarray(K, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    m = c.size
    if c.ndim != 1 or K.shape != (m, m):
        raise InvalidInputError(f"K: expected a ({m}, {m}) matrix for c of shape {c.shape}, "
                                f"got shape {K.shape}")
    if not (np.isfinite(K).all() and np.isfinite(c).all()):
        raise InvalidInputError("K: K and c must be finite")
    if m == 0:
        return np.zeros(0), 0.0
    if ridge:
        K = K + ridge * np.eye(m)
    if rcond is None:
        rcond = m * np.finfo(np.float64).eps
    sig = max(math.sqrt(rcond), 1e-12)  # significance of a null-space component of c
    cap = max_iter if max_iter is not None else 30 * m + 100
    v = np.zeros(m) if v0 is None else np.maximum(np.asarray(v0, dtype=np.float64), 0.0)
    P = v > 0
    absK = np.abs(K)
    blocked = np.zeros(m, dtype=bool)
    iters = 0
    j = -1  # the variable that entered last (-1: none, the warm start's own support)
    need_inner = bool(P.any())  # make a warm start optimal on its support first
    while True:
        if need_inner:
            while True:
                iters += 1
                if iters > cap:
                    warnings.warn(f"solve_nonnegative_qp: stopped after {cap} pivots; the value "
                                  "is a feasible lower bound", RuntimeWarning, stacklevel=2)
                    v[~P] = 0.0
                    return v, float(c @ v - 0.5 * v @ K @ v)
                idx = np.flatnonzero(P)
                if idx.size == 0:
                    break
                vp = v[idx]
                cp = c[idx]
                Kpp = K[np.ix_(idx, idx)]
                z = _definite_solve(Kpp, cp, rcond)  # K_PP well conditioned: unique maximiser
                if z is None:
                    lam, Q = np.linalg.eigh(Kpp)
                    pos = (lam > rcond * lam[-1] if lam[-1] > 0
                           else np.zeros(idx.size, dtype=bool))
                    alpha = Q.T @ cp
                    r = Q[:, ~pos] @ alpha[~pos]  # the part of c_P in the null space of K_PP
                    if np.linalg.norm(r) > sig * np.linalg.norm(cp):
                        # zero curvature and slope |r|² > 0 along r: ascend to the boundary
                        neg = r < -1e-12 * np.abs(r).max()
                        if not neg.any():
                            v[idx] = vp
                            return v, math.inf
                        ratios = vp[neg] / -r[neg]
                        hit = np.flatnonzero(neg)[int(np.argmin(ratios))]
                        vp = np.maximum(vp + float(ratios.min()) * r, 0.0)
                        z = None
                    else:
                        # the maximiser on P nearest v: pseudo-inverse solve plus v's null
                        # part (z - v lies in the range of K_PP, so U rises along v -> z)
                        Qn = Q[:, ~pos]
                        z = Q[:, pos] @ (alpha[pos] / lam[pos]) + Qn @ (Qn.T @ vp)
                if z is not None:
                    if (z > 0).all():
                        v[idx] = z
                        break
                    bad = z <= 0  # cut back along v -> z to the first blocking variable
                    gap = vp[bad] - z[bad]
                    ratios = np.divide(vp[bad], gap, out=np.zeros_like(gap), where=gap > 0)
                    hit = np.flatnonzero(bad)[int(np.argmin(ratios))]
                    vp = np.maximum(vp + float(ratios.min()) * (z - vp), 0.0)
                vp[hit] = 0.0
                v[idx] = vp
                P[idx] = vp > 0
            if j >= 0 and not P[j]:
                blocked[j] = True  # degenerate entry: do not pick it again right away
            else:
                blocked[:] = False
        grad = c - K @ v
        thr = tol * (np.abs(c) + absK @ np.abs(v))
        cand = (~P) & (~blocked) & (grad > thr)
        if not cand.any():
            break
        j = int(np.argmax(np.where(cand, grad, -np.inf)))
        P[j] = True
        need_inner = True
    v[~P] = 0.0
    return v, float(c @ v - 0.5 * v @ K @ v)


def _definite_solve(A: np.ndarray, b: np.ndarray, rcond: float) -> np.ndarray | None:
    """``A⁻¹ b`` by Cholesky when ``A`` is clearly positive definite (every pivot above
    ``sqrt(rcond)`` times the largest), else None (the caller takes the eigendecomposition
    path, which handles singular ``A``). A Cholesky solve is several times cheaper than
    ``eigh`` on the small systems of the active set."""
    if A.shape[0] == 0:
        return None
    L, info = lapack.dpotrf(A, lower=1, clean=0)
    if info != 0:
        return None
    d = np.diag(L)
    if d.min() ** 2 <= math.sqrt(rcond) * d.max() ** 2:
        return None
    x, info = lapack.dpotrs(L, b, lower=1)
    return x if info == 0 else None
