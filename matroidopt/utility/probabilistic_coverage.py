"""Probabilistic coverage: ``f(S) = sum_u w_u (1 - prod_{j in S} (1 - P[j, u]))``."""

from __future__ import annotations

import torch

from .._backend import as_float_tensor, is_torch, resolve_device
from ..errors import InvalidInputError
from .base import Utility, UtilityState
from .coverage import _compute_dtype, _concept_weights, _rows_matvec

__all__ = ["ProbabilisticCoverage"]


class ProbabilisticCoverage(Utility):
    """Probabilistic coverage ``f(S) = sum_u w_u · (1 - prod_{j in S} (1 - P[j, u]))``.

    Element ``j`` covers concept ``u`` independently with probability ``P[j, u]``; ``f(S)`` is
    the expected weight of the concepts covered by ``S``. With 0-1 probabilities it is
    :class:`~matroidopt.utility.coverage.WeightedCoverage`.

    Declared properties: monotone, submodular and normalized, always (for probabilities in
    ``[0, 1]`` and non-negative weights; anything else is rejected).

    Parameters
    ----------
    probabilities : array-like of shape (n, m)
        ``P[j, u]`` in ``[0, 1]``; rows are the ground set, columns the concepts.
        ``scipy.sparse`` input is densified.
    weights : array-like of shape (m,), optional
        Non-negative concept weights (default: all 1).
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates is one matrix-vector product, ``O(B·m)`` (``O(n·m)`` without
    a copy when ``B >= n/4``, else gathered in chunks); ``add`` costs ``O(m)``. State: the
    uncovered probability ``prod_{j in S} (1 - P[j, u])`` of every concept, shape ``(m,)``.

    References
    ----------
    El-Arini, Veda, Shahaf, Guestrin (2009), "Turning down the noise in the blogosphere";
    Iyer et al., submodlib (2022), ``ProbabilisticSetCoverFunction``.

    Examples
    --------
    >>> from matroidopt.utility.probabilistic_coverage import ProbabilisticCoverage
    >>> P = [[0.5, 0.0], [0.5, 1.0], [0.0, 0.25]]
    >>> f = ProbabilisticCoverage(P, weights=[2.0, 1.0])
    >>> f.evaluate([0]), f.evaluate([0, 1]), f.evaluate([0, 1, 2])
    (1.0, 2.5, 2.5)
    """

    def __init__(self, probabilities, weights=None, *, device=None, dtype=None) -> None:
        if probabilities is None:
            raise InvalidInputError("probabilities: expected an (n, m) matrix in [0, 1], got None")
        dtype = _compute_dtype(dtype, probabilities, weights)
        dev = resolve_device(device, probabilities if is_torch(probabilities) else weights)
        P = as_float_tensor(probabilities, "probabilities", ndim=2, device=dev, dtype=dtype)
        if P.numel() and not bool(((P >= 0) & (P <= 1)).all()):
            bad = P[(P < 0) | (P > 1)][0]
            raise InvalidInputError(
                f"probabilities: expected values in [0, 1], found {float(bad)}")
        n, m = P.shape
        w = _concept_weights(weights, m, dev, dtype)
        super().__init__(n, monotone=True, submodular=True, device=P.device, dtype=dtype,
                         torch_input=is_torch(probabilities))
        self.probabilities = P.contiguous()
        self.weights = w
        self.n_concepts = int(m)

    def _init_data(self) -> torch.Tensor:
        return torch.ones(self.n_concepts, device=self.device, dtype=self.dtype)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        v = self.weights * state.data  # weight times probability of being still uncovered
        return _rows_matvec(self.probabilities, candidates, v)

    def _add_data(self, state: UtilityState, j: int) -> torch.Tensor:
        return state.data * (1.0 - self.probabilities[j])

    def _value(self, state: UtilityState) -> float:
        return float(self.weights @ (1.0 - state.data))

    def _evaluate(self, idx: torch.Tensor) -> float:
        uncovered = torch.prod(1.0 - self.probabilities[idx], dim=0)
        return float(self.weights @ (1.0 - uncovered))

    def __repr__(self) -> str:
        return f"ProbabilisticCoverage(n={self.n}, concepts={self.n_concepts})"
