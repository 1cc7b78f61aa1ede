"""Graph cut: ``f(S) = sum_{i in V} sum_{j in S} W_ij - lam · sum_{i in S} sum_{j in S} W_ij``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .._backend import as_float_tensor, check_real, check_total, is_torch
from ..errors import InvalidInputError
from .base import Utility, UtilityState

__all__ = ["GraphCut"]


def check_symmetric(K: torch.Tensor, name: str) -> torch.Tensor:
    """Reject a non-square or asymmetric matrix; return its exact symmetrisation.

    The tolerance is ``sqrt(eps)`` of the dtype, relative to the largest entry.
    """
    if K.shape[0] != K.shape[1]:
        raise InvalidInputError(f"{name}: expected a square (n, n) matrix, got shape "
                                f"{tuple(K.shape)}")
    if K.numel() == 0:
        return K
    scale = max(1.0, float(K.abs().max()))
    tol = torch.finfo(K.dtype).eps ** 0.5 * scale
    asym = float((K - K.T).abs().max())
    if asym > tol:
        raise InvalidInputError(f"{name}: expected a symmetric matrix (|K - K.T| <= {tol:.3g}), "
                                f"max asymmetry is {asym:.3g}")
    sym = (K + K.T) / 2
    if not bool(torch.isfinite(sym).all()):  # entries near the dtype's largest value
        sym = K / 2 + K.T / 2
    return sym


class PairPenalty(Utility):
    """The shared form of :class:`GraphCut` and
    :class:`~matroidopt.SumRedundancy`: ``f(S) = sum_{j in S} r_j - lam · sum_{i, j in S}
    W_ij`` over a symmetric non-negative ``W``, with the state ``s_i = sum_{j in S} W_ij``
    and the gain ``r_j - lam (W_jj + 2 s_j)``. Subclasses set ``kernel``, ``lam`` and the
    per-element reward ``_d`` (``r``) in their constructor."""

    kernel: torch.Tensor
    lam: float
    _d: torch.Tensor
    _diag: torch.Tensor

    def _init_data(self) -> torch.Tensor:
        return torch.zeros(self.n, device=self.device, dtype=self.dtype)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        s = state.data
        return self._d[candidates] - self.lam * (self._diag[candidates] + 2.0 * s[candidates])

    def _add_data(self, state: UtilityState, j: int) -> torch.Tensor:
        return state.data + self.kernel[j]

    def _value(self, state: UtilityState) -> float:
        if not state.selected:
            return 0.0
        sel = torch.as_tensor(state.selected, dtype=torch.long, device=self.device)
        return float(self._d[sel].sum() - self.lam * state.data[sel].sum())

    def _evaluate(self, idx: torch.Tensor) -> float:
        inner = self.kernel[idx][:, idx].sum()
        return float(self._d[idx].sum() - self.lam * inner)


class GraphCut(PairPenalty):
    """Graph cut ``f(S) = sum_{i in V} sum_{j in S} W_ij - lam · sum_{i in S} sum_{j in S} W_ij``.

    The first term rewards representativeness (how similar ``S`` is to the whole ground set),
    the second penalises redundancy inside ``S``. This is submodlib's parameterisation;
    apricot's ``GraphCutSelection(alpha)`` corresponds to ``lam = 1 / alpha`` up to a positive
    factor, so both give the same maximiser.

    Declared properties (``W`` symmetric with non-negative entries):

    * submodular for every ``lam >= 0`` (negative ``lam`` is supermodular and rejected);
    * monotone iff ``lam <= 0.5``, or more precisely iff every worst-case gain
      ``d_j (1 - 2 lam) + lam W_jj`` is non-negative, where ``d_j = sum_i W_ij`` (so a kernel
      with a dominant diagonal may stay monotone for some ``lam > 0.5``);
    * normalized always; non-negative for ``lam <= 1`` (and when monotone). ``lam = 1`` is the
      (non-monotone, non-negative) cut function ``sum_{i not in S} sum_{j in S} W_ij``.

    A directed (asymmetric) similarity, e.g. a kNN graph whose row ``i`` holds ``i``'s
    neighbours, is accepted with ``directed=True``: ``f`` stays submodular for every
    non-negative ``W`` (the gain ``sum_i W_ij - lam (W_jj + sum_{i in S} (W_ij + W_ji))``
    only falls as ``S`` grows), with the representativeness of ``j`` its column sum
    ``sum_i W_ij`` (how similar the ground set is to ``j``, as submodlib reads it) and the
    redundancy of a pair its two directions together.

    Parameters
    ----------
    kernel : array-like or scipy.sparse matrix of shape (n, n)
        Non-negative similarity ``W``, symmetric unless ``directed`` (``scipy.sparse`` input
        is densified).
    lam : float, default 0.5
        Redundancy penalty, ``>= 0``.
    directed : bool, default False
        Accept an asymmetric ``W`` (see above); a symmetric one gives the same function.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates is one gather, ``O(B)``; ``add`` costs ``O(n)``.
    State: ``s_i = sum_{j in S} W_ij`` for every ``i``, shape ``(n,)``; the gain of ``j`` is
    ``d_j - lam (W_jj + 2 s_j)``.

    References
    ----------
    Iyer et al., submodlib (2022), ``GraphCutFunction``; Schreiber, Bilmes, Noble (2020),
    apricot, ``GraphCutSelection``; Lin & Bilmes (2011), "A class of submodular functions for
    document summarization".

    Examples
    --------
    >>> from matroidopt.utility.graph_cut import GraphCut
    >>> W = [[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]]
    >>> f = GraphCut(W, lam=0.5)
    >>> f.evaluate([0]), round(f.evaluate([0, 1]), 6), f.monotone  # 1.5 - 0.5, 3.2 - 0.5·3
    (1.0, 1.7, True)
    >>> GraphCut(W, lam=1.0).monotone
    False
    """

    def __init__(self, kernel, lam: float = 0.5, *, directed: bool = False, device=None,
                 dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a symmetric (n, n) matrix, got None")
        lam = check_real(lam, "lam", low=0.0)
        if not isinstance(directed, (bool, np.bool_)):
            raise InvalidInputError(f"directed: expected True or False, got {directed!r}")
        if sp.issparse(kernel):
            kernel = kernel.toarray()
        W = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype,
                            nonnegative=True)
        if directed:
            if W.shape[0] != W.shape[1]:
                raise InvalidInputError(f"kernel: expected a square (n, n) matrix, got shape "
                                        f"{tuple(W.shape)}")
            d = W.sum(0)                 # column sums: the ground set's similarity to j
            W = (W / 2 + W.T / 2).contiguous()   # a pair's redundancy, both directions
        else:
            W = check_symmetric(W, "kernel").contiguous()
            d = W.sum(0)
        # every value and gain is at most (1 + 3 lam) · sum(W) in magnitude (W >= 0)
        total = float(W.sum()) if W.numel() else 0.0
        check_total(total, "kernel", "the sum of the kernel's entries", W.dtype)
        check_total((1.0 + 3.0 * lam) * total, "lam", "(1 + 3 lam) · sum(kernel)", W.dtype)
        diag = torch.diagonal(W).clone()
        # the gain of j given S = V - {j}: d_j - lam (W_jj + 2 sum_{i != j} W_ij)
        worst_gain = d - lam * (2.0 * W.sum(0) - diag)
        # lam <= 1/2 suffices when W is symmetric (s_j <= d_j - W_jj); a directed W may have
        # more weight leaving j than arriving, so only the worst-case gains decide there
        monotone = (lam <= 0.5 and not directed) or bool((worst_gain >= 0).all())
        super().__init__(W.shape[0], monotone=monotone, submodular=True,
                         nonnegative=monotone or lam <= 1.0, device=W.device, dtype=W.dtype,
                         torch_input=is_torch(kernel))
        self.kernel = W
        self.lam = lam
        self.directed = bool(directed)
        self._d = d
        self._diag = diag

    def __repr__(self) -> str:
        mono = ", monotone" if self.monotone else ""
        directed = ", directed" if self.directed else ""
        return f"GraphCut(n={self.n}, lam={self.lam}{directed}{mono}, submodular)"
