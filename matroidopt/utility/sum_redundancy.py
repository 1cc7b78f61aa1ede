"""Sum redundancy: ``f(S) = - sum_{i in S} sum_{j in S} W_ij``, a penalty on similar pairs."""

from __future__ import annotations

import torch

from .._backend import as_float_tensor, check_total, is_torch
from ..errors import InvalidInputError
from .graph_cut import PairPenalty, check_symmetric

__all__ = ["SumRedundancy"]


class SumRedundancy(PairPenalty):
    """Sum redundancy ``f(S) = - sum_{i in S} sum_{j in S} W_ij`` (ordered pairs, the
    diagonal included): the less similar the selected elements are to each other, the higher.

    Declared properties (``W`` symmetric with non-negative entries): submodular (the negated
    sum of the pairs is a supermodular sum, negated), normalized, **non-increasing** (every
    gain ``-(W_jj + 2 sum_{i in S} W_ij)`` is ``<= 0``), so neither monotone nor non-negative
    unless ``W = 0``. Selecting ``k`` elements therefore needs ``fill=True`` (take the least
    bad element while gains are negative), as apricot does; alone it prefers the empty set.
    It is usually added to a monotone term: ``FacilityLocation(K) + 0.1 * SumRedundancy(K)``.

    apricot's ``SumRedundancySelection`` reports ``C + f(S)`` with the constant
    ``C = sum_{i, j in V} W_ij`` (so that its values are non-negative); gains, and so the
    selections, are the same (``tests/test_peers.py``).

    Parameters
    ----------
    kernel : array-like of shape (n, n)
        Symmetric non-negative similarity ``W``.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates is one gather, ``O(B)``; ``add`` costs ``O(n)``. State:
    ``s_i = sum_{j in S} W_ij`` for every ``i``.

    References
    ----------
    Schreiber, Bilmes, Noble (2020), apricot, ``SumRedundancySelection``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> W = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> f = mo.SumRedundancy(W)
    >>> f.evaluate([0, 2]), f.evaluate([0, 1])    # -(1 + 1 + 2 · 0.1), -(1 + 1 + 2 · 0.9)
    (-2.2, -3.8)
    >>> r = mo.greedy(f, 2, fill=True)            # the least redundant pair
    >>> sorted(r.indices.tolist())
    [0, 2]
    """

    def __init__(self, kernel, *, device=None, dtype=None) -> None:
        if kernel is None:
            raise InvalidInputError("kernel: expected a symmetric (n, n) matrix, got None")
        W = as_float_tensor(kernel, "kernel", ndim=2, device=device, dtype=dtype,
                            nonnegative=True)
        W = check_symmetric(W, "kernel").contiguous()
        total = float(W.sum()) if W.numel() else 0.0
        # every value and gain is at most 3 · sum(W) in magnitude (W >= 0)
        check_total(3.0 * total, "kernel", "3 · the sum of the kernel's entries", W.dtype)
        zero = total == 0.0
        super().__init__(W.shape[0], monotone=zero, submodular=True, nonnegative=zero,
                         device=W.device, dtype=W.dtype, torch_input=is_torch(kernel))
        self.kernel = W
        self.lam = 1.0
        self._diag = torch.diagonal(W).clone()
        self._d = torch.zeros_like(self._diag)   # no reward: the penalty alone

    def __repr__(self) -> str:
        return f"SumRedundancy(n={self.n}, submodular, non-increasing)"
