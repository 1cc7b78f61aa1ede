"""Modular (additive) utilities: ``f(S) = sum_{j in S} w_j``."""

from __future__ import annotations

import torch

from .._backend import as_float_tensor, check_total, is_torch
from .base import Utility

__all__ = ["Modular"]


class Modular(Utility):
    """``f(S) = sum_{j in S} weights[j]``.

    Modular functions are submodular (with equality in diminishing returns) and monotone iff
    every weight is non-negative. Greedy is exact for them under any matroid.

    Parameters
    ----------
    weights : array-like of shape (n,)
        Finite real weights (numpy, torch or a sequence; a 0-D scalar is rejected), whose
        absolute sum is finite in the compute dtype.
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` is one gather, O(|candidates|).

    Examples
    --------
    >>> import matroidopt as mo
    >>> f = mo.Modular([3.0, 1.0, 2.0])
    >>> f.evaluate([0, 2]), f.monotone
    (5.0, True)
    """

    def __init__(self, weights, *, device=None, dtype=None) -> None:
        w = as_float_tensor(weights, "weights", ndim=1, device=device, dtype=dtype)
        check_total(float(w.abs().sum()), "weights", "the sum of |weights|", w.dtype)
        super().__init__(w.numel(), monotone=bool((w >= 0).all()), submodular=True,
                         device=w.device, dtype=w.dtype, torch_input=is_torch(weights))
        self.weights = w

    def _modular_weights(self):
        return self.weights

    def _init_data(self):
        return 0.0

    def _gains(self, state, candidates):
        return self.weights[candidates]

    def _add_data(self, state, j):
        return state.data + float(self.weights[j])

    def _value(self, state):
        return state.data

    def _evaluate(self, idx):
        return float(self.weights[idx].sum())

    def _multilinear(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        """``F(x) = w·x`` and ``∇F(x) = w``."""
        w = self.weights.detach().to("cpu", torch.float64)
        return float(w @ x), w.clone()
