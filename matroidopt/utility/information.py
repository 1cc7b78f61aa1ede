"""Parameterised submodular information measures (submodlib's MI, CG and CMI functions).

Guided subset selection asks for a set ``A`` of the ground set ``V`` that is relevant to a
*query* set ``Q`` (mutual information ``I_f(A; Q)``), avoids a *private* set ``P``
(conditional gain ``f(A | P)``), or both (conditional mutual information ``I_f(A; Q | P)``).
``Q`` and ``P`` are points outside ``V``, given through kernels against ``V``, as in
submodlib. Each constructor here returns an ordinary utility of the families of
:mod:`matroidopt.utility` (facility location with a clipped kernel or a baseline, weighted
coverage with masked weights, ...), with the closed form of Kothawade et al. (2022) and its
parameters:

* ``eta`` (submodlib's ``magnificationEta`` / ``queryDiversityEta``) weighs the query;
* ``nu`` (``privacyHardness``) weighs the private set;
* ``lam`` (``lambdaVal``) is graph cut's redundancy penalty or log-determinant's ridge.

Kernel layouts follow submodlib: ``kernel[i, j]`` is the similarity of ``i`` in ``V`` (a
represented point) to candidate ``j``; ``query_kernel[i, q]`` and ``private_kernel[i, p]``
have one row per point of ``V`` and one column per query or private point.

The generic measures of any utility over a ground set that holds ``Q`` and ``P`` are
:class:`~matroidopt.MutualInformation` and :meth:`~matroidopt.Utility.condition`.

References
----------
Kothawade, Kaushal, Ramakrishnan, Bilmes, Iyer (2022), "PRISM: a rich class of parameterized
submodular information measures for guided data subset selection" (AAAI); Iyer, Khargonkar,
Bilmes, Asnani (2021), "Generalized submodular information measures" (IEEE Trans. Inf.
Theory); Iyer et al. (2022), submodlib.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp
import torch

from .._backend import as_float_tensor, as_index_tensor, as_sparse_2d, check_real
from ..errors import InvalidInputError
from .base import Utility
from .combinators import ConditionedUtility, RestrictedUtility, WeightedSum
from .coverage import WeightedCoverage
from .facility_location import FacilityLocation
from .feature_based import FeatureBased
from .graph_cut import GraphCut
from .log_determinant import LogDeterminant
from .modular import Modular
from .mutual_information import MutualInformation
from .probabilistic_coverage import ProbabilisticCoverage

__all__ = [
    "facility_location_mutual_information",
    "facility_location_variant_mutual_information",
    "facility_location_conditional_gain",
    "facility_location_conditional_mutual_information",
    "graph_cut_mutual_information",
    "graph_cut_conditional_gain",
    "log_determinant_mutual_information",
    "log_determinant_conditional_gain",
    "log_determinant_conditional_mutual_information",
    "set_cover_mutual_information",
    "set_cover_conditional_gain",
    "set_cover_conditional_mutual_information",
    "probabilistic_coverage_mutual_information",
    "probabilistic_coverage_conditional_gain",
    "probabilistic_coverage_conditional_mutual_information",
    "concave_over_modular",
]

# submodlib's ConcaveOverModular modes and FeatureBased's names for the same ψ
_CONCAVE = {"log": "log", "logarithmic": "log", "sqrt": "sqrt", "squareRoot": "sqrt",
            "inverse": "inverse"}


# ===================================================================== argument checks
def _answers_in_input_kind(build: Callable[..., Utility]) -> Callable[..., Utility]:
    """Decorate a constructor so that solves of its utility return torch tensors only when
    an input was one (the constructors build torch intermediates from numpy input)."""
    @functools.wraps(build)
    def constructor(*args, **kwargs):
        f = build(*args, **kwargs)
        f.torch_input = any(isinstance(x, torch.Tensor) for x in (*args, *kwargs.values()))
        return f

    return constructor


def _dense(M, name: str, rows: int | None, device, dtype) -> torch.Tensor:
    """A dense 2-D float tensor (scipy.sparse densified) with ``rows`` rows when given."""
    if M is None:
        raise InvalidInputError(f"{name}: expected a 2-D similarity matrix, got None")
    if sp.issparse(M):
        M = as_sparse_2d(M, name, "csr").toarray()
    T = as_float_tensor(M, name, ndim=2, device=device, dtype=dtype)
    if rows is not None and T.shape[0] != rows:
        raise InvalidInputError(f"{name}: expected {rows} rows (one per point of the ground "
                                f"set's kernel rows), got shape {tuple(T.shape)}")
    return T


def _row_best(M: torch.Tensor, scale: float) -> torch.Tensor:
    """``max(0, scale · max_q M[i, q])`` per row (0 for a row of no columns)."""
    if M.shape[1] == 0:
        return torch.zeros(M.shape[0], device=M.device, dtype=M.dtype)
    return (scale * M.amax(1)).clamp_min(0.0)


def _weight(value, name: str) -> float:
    return check_real(value, name, low=0.0)


def _kernel_rows(kernel) -> tuple[int, torch.device | None]:
    """The rows (represented points) of a dense or sparse kernel, and a torch one's device."""
    if kernel is None:
        raise InvalidInputError("kernel: expected a 2-D similarity matrix, got None")
    shape = getattr(kernel, "shape", None)
    if shape is None:
        try:
            kernel = np.asarray(kernel, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"kernel: expected a real 2-D matrix ({exc})") from None
        shape = kernel.shape
    if len(shape) != 2:
        raise InvalidInputError(f"kernel: expected a 2-D (m, n) matrix, got shape {tuple(shape)}")
    return int(shape[0]), kernel.device if isinstance(kernel, torch.Tensor) else None


def _clipped(kernel, cap: torch.Tensor, device, dtype):
    """``min(kernel[i, j], cap[i])`` (dense or sparse; an absent sparse entry stays 0, as
    ``cap >= 0``)."""
    if sp.issparse(kernel):
        csr = as_sparse_2d(kernel, "kernel", "csr").astype(np.float64)
        csr.sum_duplicates()
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        out = csr.copy()
        out.data = np.minimum(csr.data, cap.detach().cpu().numpy()[rows])
        return out
    K = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype)
    return torch.minimum(K, cap.to(K.dtype)[:, None])


def _concepts(S: Iterable[int] | None, m: int, name: str) -> torch.Tensor:
    if S is None:
        raise InvalidInputError(f"{name}: expected an iterable of concept indices in "
                                f"range({m}), got None")
    if isinstance(S, (str, bytes)):
        raise InvalidInputError(f"{name}: expected an iterable of concept indices in "
                                f"range({m})")
    return as_index_tensor(S, m, name, unique=False)


_ALL = object()   # no query (every concept counts) or no private set (none is excluded)


def _concept_mask(m: int, query, private) -> torch.Tensor:
    """1 for the concepts kept: in ``query`` (unless :data:`_ALL`), not in ``private``
    (unless :data:`_ALL`)."""
    keep = torch.ones(m, dtype=torch.float64)
    if query is not _ALL:
        keep.zero_()
        keep[_concepts(query, m, "query_concepts")] = 1.0
    if private is not _ALL:
        keep[_concepts(private, m, "private_concepts")] = 0.0
    return keep


def _n_concepts(M, name: str) -> int:
    shape = getattr(M, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(M, dtype=np.float64).shape
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name}: expected a real 2-D (n, m) matrix ({exc})") \
                from None
    if len(shape) != 2:
        raise InvalidInputError(f"{name}: expected a 2-D (n, m) matrix, got shape {tuple(shape)}")
    return int(shape[1])


def _masked_weights(weights, m: int, query, private) -> np.ndarray:
    keep = _concept_mask(m, query, private).numpy()
    if weights is None:
        return keep
    w = as_float_tensor(weights, "weights", ndim=1, dtype=torch.float64,
                        nonnegative=True).cpu().numpy()
    if w.shape[0] != m:
        raise InvalidInputError(f"weights: expected shape ({m},) (one per concept), got "
                                f"{w.shape}")
    return w * keep


# ===================================================================== facility location
@_answers_in_input_kind
def facility_location_mutual_information(kernel, query_kernel, *, eta: float = 1.0,
                                         device=None, dtype=None) -> FacilityLocation:
    """Facility-location mutual information (submodlib's FLMI, Kothawade et al. 2022):
    ``I(A; Q) = sum_{i in V} min(max_{j in A} s_ij, eta · max_{q in Q} s_iq)``.

    Each point of ``V`` counts as covered by ``A`` only up to how well the query covers it:
    ``A`` is rewarded for representing the part of ``V`` that resembles ``Q``.

    It is the facility location of the kernel ``min(s_ij, eta · max_q s_iq)`` (both terms
    clipped at 0, like facility location's own baseline). Monotone, submodular, normalized.
    ``eta = 1`` is the generic ``f(A) + f(Q) - f(A ∪ Q)`` of facility location over
    ``V ∪ Q`` with ``V`` as clients.

    Parameters
    ----------
    kernel : array-like or scipy.sparse matrix of shape (m, n)
        ``s_ij``: represented points (rows, usually ``V`` itself, ``m = n``) × candidates.
    query_kernel : array-like of shape (m, q)
        ``s_iq``: represented points × query points.
    eta : float, default 1.0
        ``magnificationEta``, ``>= 0``: larger values weigh query relevance up.
    device, dtype : optional
        As for :class:`~matroidopt.FacilityLocation`.

    Complexity
    ----------
    ``O(m·q)`` to build, then that of facility location (``O(m)`` per gain).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.1, 0.6], [0.1, 1.0, 0.2], [0.6, 0.2, 1.0]])
    >>> Kq = np.array([[0.9], [0.0], [0.5]])         # one query, close to point 0
    >>> f = mo.facility_location_mutual_information(K, Kq)
    >>> f.evaluate([0]), round(f.evaluate([1]), 6), round(f.evaluate([0, 2]), 6)
    (1.4, 0.3, 1.4)
    """
    m, like = _kernel_rows(kernel)
    eta = _weight(eta, "eta")
    Q = _dense(query_kernel, "query_kernel", m, device or like, dtype)
    cap = _row_best(Q, eta)
    return FacilityLocation(_clipped(kernel, cap, Q.device, dtype), device=device, dtype=dtype)


@_answers_in_input_kind
def facility_location_variant_mutual_information(query_kernel, *, eta: float = 1.0,
                                                 device=None, dtype=None) -> Utility:
    """Facility-location variant mutual information (submodlib's FLVMI, "FL2MI"):
    ``I(A; Q) = sum_{q in Q} max_{j in A} s_jq + eta · sum_{j in A} max_{q in Q} s_jq``.

    The first term asks every query point to be represented by ``A``, the second rewards each
    chosen point's own relevance. Only the candidates × queries kernel is needed.
    Monotone, submodular, normalized (terms clipped at 0).

    Parameters
    ----------
    query_kernel : array-like of shape (n, q)
        ``s_jq``: candidates (the ground set) × query points.
    eta : float, default 1.0
        ``queryDiversityEta``, ``>= 0``: the weight of the per-point relevance.

    Complexity
    ----------
    ``O(q)`` per gain (facility location over ``q`` clients plus a modular term).

    Examples
    --------
    >>> import matroidopt as mo
    >>> Kq = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.4]]
    >>> f = mo.facility_location_variant_mutual_information(Kq, eta=0.5)
    >>> round(f.evaluate([0]), 6), round(f.evaluate([0, 1]), 6)      # 1.0 + 0.45, 1.7 + 0.85
    (1.45, 2.55)
    """
    eta = _weight(eta, "eta")
    Q = _dense(query_kernel, "query_kernel", None, device, dtype)
    coverage = FacilityLocation(Q.T, device=device, dtype=dtype)
    if eta == 0.0:
        return coverage
    return WeightedSum([coverage, Modular(_row_best(Q, 1.0))], [1.0, eta])


@_answers_in_input_kind
def facility_location_conditional_gain(kernel, private_kernel, *, nu: float = 1.0,
                                       device=None, dtype=None) -> FacilityLocation:
    """Facility-location conditional gain (submodlib's FLCG):
    ``f(A | P) = sum_{i in V} max(0, max_{j in A} s_ij - nu · max_{p in P} s_ip)``.

    A point of ``V`` already covered by the private set is worth nothing more: ``A`` is
    steered away from what ``P`` represents. Facility location with the per-client
    ``baseline = max(0, nu · max_p s_ip)``; monotone, submodular, normalized. ``nu = 1`` is
    ``F(A ∪ P) - F(P)`` of facility location over ``V ∪ P``.

    Parameters
    ----------
    kernel : array-like or scipy.sparse matrix of shape (m, n)
        ``s_ij``: represented points × candidates.
    private_kernel : array-like of shape (m, p)
        ``s_ip``: represented points × private points.
    nu : float, default 1.0
        ``privacyHardness``, ``>= 0``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> Kp = np.array([[0.8], [0.0]])                 # the private point resembles point 0
    >>> f = mo.facility_location_conditional_gain(K, Kp)
    >>> round(f.evaluate([0]), 6), round(f.evaluate([1]), 6)   # 0.2 + 0.3, 0.0 + 1.0
    (0.5, 1.0)
    """
    m, like = _kernel_rows(kernel)
    nu = _weight(nu, "nu")
    P = _dense(private_kernel, "private_kernel", m, device or like, dtype)
    return FacilityLocation(kernel, baseline=_row_best(P, nu), device=device or like,
                            dtype=dtype)


@_answers_in_input_kind
def facility_location_conditional_mutual_information(
        kernel, query_kernel, private_kernel, *, eta: float = 1.0, nu: float = 1.0,
        device=None, dtype=None) -> FacilityLocation:
    """Facility-location conditional mutual information (submodlib's FLCMI):
    ``I(A; Q | P) = sum_{i in V} max(0, min(max_{j in A} s_ij, eta · max_q s_iq)
    - nu · max_p s_ip)``.

    Relevant to the query and not to the private set: facility location of the clipped
    kernel ``min(s_ij, eta · max_q s_iq)`` with the baseline ``nu · max_p s_ip``. Monotone,
    submodular, normalized.

    Parameters
    ----------
    kernel : array-like or scipy.sparse matrix of shape (m, n)
    query_kernel : array-like of shape (m, q)
    private_kernel : array-like of shape (m, p)
    eta, nu : float, default 1.0
        ``magnificationEta`` and ``privacyHardness``, ``>= 0``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.eye(3)
    >>> f = mo.facility_location_conditional_mutual_information(
    ...     K, query_kernel=[[1.0], [1.0], [0.0]], private_kernel=[[0.0], [0.7], [0.0]])
    >>> round(f.evaluate([0]), 6), round(f.evaluate([1]), 6), f.evaluate([2])
    (1.0, 0.3, 0.0)
    """
    m, like = _kernel_rows(kernel)
    eta, nu = _weight(eta, "eta"), _weight(nu, "nu")
    Q = _dense(query_kernel, "query_kernel", m, device or like, dtype)
    P = _dense(private_kernel, "private_kernel", m, Q.device, Q.dtype)
    return FacilityLocation(_clipped(kernel, _row_best(Q, eta), Q.device, dtype),
                            baseline=_row_best(P, nu), device=device or like, dtype=dtype)


# ===================================================================== graph cut
@_answers_in_input_kind
def graph_cut_mutual_information(query_kernel, *, device=None, dtype=None) -> Modular:
    """Graph-cut mutual information (submodlib's GCMI): ``I(A; Q) = sum_{j in A} sum_{q in Q}
    s_jq``, a modular function (monotone when the similarities are non-negative).

    submodlib's code has neither the ``2 λ`` factor of its docstring nor a parameter; the
    maximiser is the same for any positive factor.

    Parameters
    ----------
    query_kernel : array-like of shape (n, q)
        Candidates × query points.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.graph_cut_mutual_information([[0.5, 0.5], [0.1, 0.0], [1.0, 0.2]])
    >>> round(f.evaluate([0, 2]), 6)
    2.2
    """
    Q = _dense(query_kernel, "query_kernel", None, device, dtype)
    return Modular(Q.sum(1))


@_answers_in_input_kind
def graph_cut_conditional_gain(kernel, private_kernel, *, lam: float = 0.5, nu: float = 1.0,
                               device=None, dtype=None) -> Utility:
    """Graph-cut conditional gain (submodlib's GCCG): ``f(A | P) = sum_{j in A} sum_{i in V}
    s_ij - lam · sum_{i, j in A} s_ij - 2 lam nu · sum_{j in A} sum_{p in P} s_jp``.

    :class:`~matroidopt.GraphCut` minus a modular privacy penalty: submodular, normalized,
    not monotone in general (the penalty can make gains negative; solvers whose guarantee
    needs monotonicity run it with an ``AssumptionWarning`` and no guarantee).

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        Symmetric non-negative ``s_ij`` over the ground set.
    private_kernel : array-like of shape (n, p)
        Candidates × private points.
    lam : float, default 0.5
        ``lambdaVal``, ``>= 0`` (graph cut's redundancy penalty; it also scales the privacy
        term, as in submodlib).
    nu : float, default 1.0
        ``privacyHardness``, ``>= 0``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> f = mo.graph_cut_conditional_gain(K, [[0.0], [0.4]], lam=0.5)
    >>> f.evaluate([0]), round(f.evaluate([1]), 6)       # 1.5 - 0.5, 1.5 - 0.5 - 0.4
    (1.0, 0.6)
    """
    lam, nu = _weight(lam, "lam"), _weight(nu, "nu")
    cut = GraphCut(kernel, lam=lam, device=device, dtype=dtype)
    P = _dense(private_kernel, "private_kernel", cut.n, cut.device, cut.dtype)
    penalty = Modular(P.sum(1))
    if 2.0 * lam * nu == 0.0:
        return cut
    return WeightedSum([cut, penalty], [1.0, -2.0 * lam * nu])


# ===================================================================== log-determinant
def _super_kernel(blocks: list[list[torch.Tensor]]) -> torch.Tensor:
    return torch.cat([torch.cat(row, 1) for row in blocks], 0)


def _log_det_parts(lam, device, dtype, kernel):
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    K = _dense(kernel, "kernel", None, device, dtype)
    if K.shape[0] != K.shape[1]:
        raise InvalidInputError(f"kernel: expected a square (n, n) matrix, got shape "
                                f"{tuple(K.shape)}")
    return lam, K


def _square(M, name: str, size: int, like: torch.Tensor) -> torch.Tensor:
    T = _dense(M, name, size, like.device, like.dtype)
    if T.shape[1] != size:
        raise InvalidInputError(f"{name}: expected shape ({size}, {size}), got "
                                f"{tuple(T.shape)}")
    return T


def _log_det(M: torch.Tensor, lam: float) -> tuple[LogDeterminant, float]:
    """``log det(M_S + lam I)`` up to a modular term: ``LogDeterminant(L, scale=1/mu)`` with
    ``L = M - lo I`` and ``mu = lam + lo`` when ``M``'s smallest eigenvalue ``lo`` is
    negative (else ``L = M``, ``mu = lam``), so that ``log det(L_S + mu I) =
    log det(M_S + lam I)`` and the value is that minus ``|S| log mu``. Needs ``M + lam I``
    positive definite (``mu > 0``), as the log-determinant itself does; returns ``mu``."""
    n = M.shape[0]
    lo = float(torch.linalg.eigvalsh(M.to(torch.float64)).min()) if n else 0.0
    tol = 100.0 * n * torch.finfo(M.dtype).eps * max(1.0, float(M.abs().max()) * n) \
        if n else 0.0
    if lo >= -tol:
        L, mu = M, lam
    else:
        mu = lam + lo
        if not mu > tol:
            raise InvalidInputError(
                f"kernel: the joint kernel of the ground set, query and private points (with "
                f"eta and nu applied to their blocks) plus lam·I must be positive definite; its "
                f"smallest eigenvalue is {lo:.3g}, not above -lam = {-lam:.3g} (raise lam, or "
                "check that the blocks come from one kernel)")
        L = M - lo * torch.eye(n, dtype=M.dtype, device=M.device)
    return LogDeterminant(L, scale=1.0 / mu), mu


def _log_det_beside(kernel, side, side_side, weight, lam, names, device, dtype
                    ) -> tuple[LogDeterminant, int, int, float]:
    """Log-determinant over ``V`` and a set beside it (queries or private points): the
    joint kernel ``[[S, w S_VX], [w S_VX^T, S_XX]]`` scaled by ``1 / lam``; returns it,
    ``n``, the set's size and the ridge ``mu`` of :func:`_log_det` (``lam`` for a PSD joint
    kernel)."""
    lam, K = _log_det_parts(lam, device, dtype, kernel)
    side_name, square_name, weight_name = names
    w = _weight(weight, weight_name)
    n = K.shape[0]
    VX = _dense(side, side_name, n, K.device, K.dtype)
    XX = _square(side_side, square_name, VX.shape[1], K)
    M = _super_kernel([[K, w * VX], [w * VX.T, XX]])
    f, mu = _log_det(M, lam)
    return f, n, VX.shape[1], mu


@_answers_in_input_kind
def log_determinant_mutual_information(kernel, query_kernel, query_query_kernel, *,
                                       lam: float = 1.0, eta: float = 1.0, device=None,
                                       dtype=None) -> MutualInformation:
    """Log-determinant mutual information (submodlib's LogDetMI):
    ``I(A; Q) = log det(M_A) + log det(M_Q) - log det(M_{A ∪ Q})`` with ``M`` the joint
    kernel ``[[S, eta S_VQ], [eta S_VQ^T, S_QQ]] + lam I``
    (``= log det(M_A) - log det(M_A - eta² S_AQ M_Q^{-1} S_AQ^T)``).

    A :class:`~matroidopt.MutualInformation` of :class:`~matroidopt.LogDeterminant` over
    ``V ∪ Q`` (``M`` scaled by ``1 / lam``: the ``|S| log lam`` terms cancel). Monotone and
    normalized; not submodular in general.

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        ``S``: symmetric similarities of the ground set.
    query_kernel : array-like of shape (n, q)
        ``S_VQ``.
    query_query_kernel : array-like of shape (q, q)
        ``S_QQ``.
    lam : float, default 1.0
        ``lambdaVal``, ``> 0``: the ridge added to the diagonal.
    eta : float, default 1.0
        ``magnificationEta``, ``>= 0``. The joint kernel plus ``lam I`` must be positive
        definite (as for the log-determinant itself); otherwise an error says so.

    Complexity
    ----------
    Twice log-determinant's cost over ``n + q`` points.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(6, 3)); Y = X[:2] + 0.1
    >>> f = mo.log_determinant_mutual_information(X @ X.T, X @ Y.T, Y @ Y.T, lam=1.0)
    >>> f.n, f.monotone, f.evaluate([0]) > f.evaluate([5])
    (6, True, True)
    """
    f, n, q, _ = _log_det_beside(kernel, query_kernel, query_query_kernel, eta, lam,
                                 ("query_kernel", "query_query_kernel", "eta"), device, dtype)
    return MutualInformation(f, query=range(n, n + q))


@_answers_in_input_kind
def log_determinant_conditional_gain(kernel, private_kernel, private_private_kernel, *,
                                     lam: float = 1.0, nu: float = 1.0, device=None,
                                     dtype=None) -> Utility:
    """Log-determinant conditional gain (submodlib's LogDetCG):
    ``f(A | P) = log det(M_{A ∪ P}) - log det(M_P)`` with ``M`` the joint kernel
    ``[[S, nu S_VP], [nu S_VP^T, S_PP]] + lam I`` (``= log det(M_A - nu² S_AP M_P^{-1}
    S_AP^T)``).

    :class:`~matroidopt.LogDeterminant` over ``V ∪ P`` conditioned on ``P``, restricted to
    ``V``, plus ``|A| log mu``: submodular and normalized; monotone when ``mu >= 1``, where
    ``mu = lam`` for a positive semidefinite joint kernel, else ``lam`` plus its smallest
    eigenvalue.

    Parameters
    ----------
    kernel : array-like of shape (n, n)
    private_kernel : array-like of shape (n, p)
    private_private_kernel : array-like of shape (p, p)
    lam : float, default 1.0
        ``lambdaVal``, ``> 0``.
    nu : float, default 1.0
        ``privacyHardness``, ``>= 0`` (the joint kernel plus ``lam I`` must be positive
        definite).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(6, 3)); Z = X[:1] + 0.05
    >>> f = mo.log_determinant_conditional_gain(X @ X.T, X @ Z.T, Z @ Z.T, lam=1.0)
    >>> f.n, f.submodular, f.evaluate([0]) < f.evaluate([5])
    (6, True, True)
    """
    f, n, p, mu = _log_det_beside(kernel, private_kernel, private_private_kernel, nu, lam,
                                  ("private_kernel", "private_private_kernel", "nu"), device,
                                  dtype)
    gain = RestrictedUtility(ConditionedUtility(f, range(n, n + p)), range(n))
    if mu == 1.0:
        return gain
    return WeightedSum([gain, Modular(torch.full((n,), math.log(mu), dtype=f.dtype,
                                                 device=f.device))], [1.0, 1.0])


@_answers_in_input_kind
def log_determinant_conditional_mutual_information(
        kernel, query_kernel, query_query_kernel, private_kernel, private_private_kernel,
        query_private_kernel, *, lam: float = 1.0, eta: float = 1.0, nu: float = 1.0,
        device=None, dtype=None) -> MutualInformation:
    """Log-determinant conditional mutual information (submodlib's LogDetCMI):
    ``I(A; Q | P) = log det M_{A ∪ P} + log det M_{Q ∪ P} - log det M_{A ∪ Q ∪ P}
    - log det M_P`` with ``M = [[S, eta S_VQ, nu S_VP], [eta S_VQ^T, S_QQ, S_QP],
    [nu S_VP^T, S_QP^T, S_PP]] + lam I`` (the query–private block is not scaled).

    A :class:`~matroidopt.MutualInformation` of :class:`~matroidopt.LogDeterminant` over
    ``V ∪ Q ∪ P``: monotone and normalized; not submodular in general.

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        ``S``: symmetric similarities of the ground set.
    query_kernel : array-like of shape (n, q)
        ``S_VQ``.
    query_query_kernel : array-like of shape (q, q)
        ``S_QQ``.
    private_kernel : array-like of shape (n, p)
        ``S_VP``.
    private_private_kernel : array-like of shape (p, p)
        ``S_PP``.
    query_private_kernel : array-like of shape (q, p)
        ``S_QP``.
    lam, eta, nu : float
        ``lambdaVal`` (``> 0``), ``magnificationEta`` and ``privacyHardness`` (``>= 0``).

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(6, 3)); Y, Z = X[:1] + 0.1, X[5:] + 0.1
    >>> f = mo.log_determinant_conditional_mutual_information(
    ...     X @ X.T, X @ Y.T, Y @ Y.T, X @ Z.T, Z @ Z.T, Y @ Z.T, lam=1.0)
    >>> f.n, f.evaluate([0]) > f.evaluate([5])
    (6, True)
    """
    lam, K = _log_det_parts(lam, device, dtype, kernel)
    eta, nu = _weight(eta, "eta"), _weight(nu, "nu")
    n = K.shape[0]
    VQ = _dense(query_kernel, "query_kernel", n, K.device, K.dtype)
    VP = _dense(private_kernel, "private_kernel", n, K.device, K.dtype)
    q, p = VQ.shape[1], VP.shape[1]
    QQ = _square(query_query_kernel, "query_query_kernel", q, K)
    PP = _square(private_private_kernel, "private_private_kernel", p, K)
    QP = _dense(query_private_kernel, "query_private_kernel", q, K.device, K.dtype)
    if QP.shape[1] != p:
        raise InvalidInputError(f"query_private_kernel: expected shape ({q}, {p}), got "
                                f"{tuple(QP.shape)}")
    M = _super_kernel([[K, eta * VQ, nu * VP], [eta * VQ.T, QQ, QP], [nu * VP.T, QP.T, PP]])
    f, _ = _log_det(M, lam)
    return MutualInformation(f, query=range(n, n + q), private=range(n + q, n + q + p))


# ===================================================================== coverage
@_answers_in_input_kind
def set_cover_mutual_information(incidence, query_concepts, weights=None, *, device=None,
                                 dtype=None) -> WeightedCoverage:
    """Set-cover mutual information (submodlib's SetCoverMI): ``I(A; Q) = w(γ(A) ∩ Q)``,
    the weight of the query concepts that ``A`` covers.

    :class:`~matroidopt.WeightedCoverage` with the other concepts' weights set to 0:
    monotone, submodular, normalized.

    Parameters
    ----------
    incidence : array-like or scipy.sparse matrix of shape (n, m)
        0-1 incidence of elements and concepts.
    query_concepts : iterable of int
        The concepts of the query (indices in ``range(m)``).
    weights : array-like of shape (m,), optional
        Non-negative concept weights (default 1).

    Examples
    --------
    >>> import matroidopt as mo
    >>> inc = [[1, 1, 0], [0, 1, 1], [0, 0, 1]]
    >>> f = mo.set_cover_mutual_information(inc, query_concepts=[2])
    >>> f.evaluate([0]), f.evaluate([1]), f.evaluate([1, 2])
    (0.0, 1.0, 1.0)
    """
    m = _n_concepts(incidence, "incidence")
    return WeightedCoverage(incidence, _masked_weights(weights, m, query_concepts, _ALL),
                            device=device, dtype=dtype)


@_answers_in_input_kind
def set_cover_conditional_gain(incidence, private_concepts, weights=None, *, device=None,
                               dtype=None) -> WeightedCoverage:
    """Set-cover conditional gain (submodlib's SetCoverCG): ``f(A | P) = w(γ(A) \\ P)``, the
    weight of the concepts ``A`` covers outside the private ones. Monotone, submodular.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.set_cover_conditional_gain([[1, 1, 0], [0, 1, 1]], private_concepts=[1])
    >>> f.evaluate([0]), f.evaluate([0, 1])
    (1.0, 2.0)
    """
    m = _n_concepts(incidence, "incidence")
    return WeightedCoverage(incidence, _masked_weights(weights, m, _ALL, private_concepts),
                            device=device, dtype=dtype)


@_answers_in_input_kind
def set_cover_conditional_mutual_information(incidence, query_concepts, private_concepts,
                                             weights=None, *, device=None,
                                             dtype=None) -> WeightedCoverage:
    """Set-cover conditional mutual information (submodlib's SetCoverCMI):
    ``I(A; Q | P) = w(γ(A) ∩ Q \\ P)``. Monotone, submodular.

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.set_cover_conditional_mutual_information(
    ...     [[1, 1, 0], [0, 1, 1]], query_concepts=[1, 2], private_concepts=[1])
    >>> f.evaluate([0]), f.evaluate([1])
    (0.0, 1.0)
    """
    m = _n_concepts(incidence, "incidence")
    return WeightedCoverage(
        incidence, _masked_weights(weights, m, query_concepts, private_concepts),
        device=device, dtype=dtype)


@_answers_in_input_kind
def probabilistic_coverage_mutual_information(probabilities, query_concepts, weights=None, *,
                                              device=None,
                                              dtype=None) -> ProbabilisticCoverage:
    """Probabilistic set-cover mutual information (submodlib's ProbabilisticSetCoverMI):
    ``I(A; Q) = sum_{u in Q} w_u (1 - prod_{j in A} (1 - p_ju))``. Monotone, submodular.

    Parameters
    ----------
    probabilities : array-like of shape (n, m)
        ``p_ju`` in ``[0, 1]``.
    query_concepts : iterable of int
    weights : array-like of shape (m,), optional

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.probabilistic_coverage_mutual_information([[0.5, 1.0], [0.5, 0.0]], [0])
    >>> f.evaluate([0]), f.evaluate([0, 1])
    (0.5, 0.75)
    """
    m = _n_concepts(probabilities, "probabilities")
    return ProbabilisticCoverage(probabilities,
                                 _masked_weights(weights, m, query_concepts, _ALL),
                                 device=device, dtype=dtype)


@_answers_in_input_kind
def probabilistic_coverage_conditional_gain(probabilities, private_concepts, weights=None, *,
                                            device=None,
                                            dtype=None) -> ProbabilisticCoverage:
    """Probabilistic set-cover conditional gain (submodlib's ProbabilisticSetCoverCG):
    ``f(A | P) = sum_{u not in P} w_u (1 - prod_{j in A} (1 - p_ju))``. Monotone, submodular.

    Examples
    --------
    >>> import matroidopt as mo
    >>> mo.probabilistic_coverage_conditional_gain([[0.5, 1.0]], [1]).evaluate([0])
    0.5
    """
    m = _n_concepts(probabilities, "probabilities")
    return ProbabilisticCoverage(probabilities,
                                 _masked_weights(weights, m, _ALL, private_concepts),
                                 device=device, dtype=dtype)


@_answers_in_input_kind
def probabilistic_coverage_conditional_mutual_information(
        probabilities, query_concepts, private_concepts, weights=None, *, device=None,
        dtype=None) -> ProbabilisticCoverage:
    """Probabilistic set-cover conditional mutual information (submodlib's
    ProbabilisticSetCoverCMI): ``sum_{u in Q \\ P} w_u (1 - prod_{j in A} (1 - p_ju))``.

    Examples
    --------
    >>> import matroidopt as mo
    >>> P = [[0.5, 1.0, 0.2]]
    >>> round(mo.probabilistic_coverage_conditional_mutual_information(P, [0, 1], [1])
    ...       .evaluate([0]), 6)
    0.5
    """
    m = _n_concepts(probabilities, "probabilities")
    return ProbabilisticCoverage(
        probabilities, _masked_weights(weights, m, query_concepts, private_concepts),
        device=device, dtype=dtype)


# ===================================================================== concave over modular
@_answers_in_input_kind
def concave_over_modular(query_kernel, *, eta: float = 1.0, concave: str = "log",
                         device=None, dtype=None) -> Utility:
    """Concave-over-modular mutual information (submodlib's ConcaveOverModularFunction):
    ``I(A; Q) = eta · sum_{j in A} ψ(sum_{q in Q} s_jq) + sum_{q in Q} ψ(sum_{j in A} s_jq)``.

    A modular relevance term plus :class:`~matroidopt.FeatureBased` over the query columns:
    monotone, submodular, normalized (non-negative similarities).

    Parameters
    ----------
    query_kernel : array-like of shape (n, q)
        Non-negative candidates × query similarities.
    eta : float, default 1.0
        ``queryDiversityEta``, ``>= 0``: the weight of the per-point term.
    concave : {"log", "sqrt", "inverse"}, default "log"
        ψ: ``log(1 + x)``, ``sqrt(x)`` or ``1 - 1 / (1 + x)`` (submodlib's ``logarithmic``,
        ``squareRoot`` and ``inverse``; those names are accepted too).

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.concave_over_modular([[1.0, 0.0], [0.0, 3.0]], eta=0.0, concave="sqrt")
    >>> round(f.evaluate([0, 1]), 6)        # sqrt(1) + sqrt(3)
    2.732051
    """
    if not isinstance(concave, str) or concave not in _CONCAVE:
        raise InvalidInputError(f"concave: expected one of {sorted(_CONCAVE)}, got {concave!r}")
    eta = _weight(eta, "eta")
    Q = _dense(query_kernel, "query_kernel", None, device, dtype)
    if Q.numel() and bool((Q < 0).any()):
        raise InvalidInputError(f"query_kernel: expected non-negative similarities, found "
                                f"{float(Q.min()):.3g} (ψ is defined on [0, inf))")
    name = _CONCAVE[concave]
    spread = FeatureBased(Q, concave=name)
    if eta == 0.0:
        return spread
    psi = {"log": torch.log1p, "sqrt": torch.sqrt, "inverse": lambda x: x / (1.0 + x)}[name]
    return WeightedSum([spread, Modular(psi(Q.sum(1)))], [1.0, eta])
