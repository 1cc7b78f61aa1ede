"""Feature-based functions (concave over modular): ``f(S) = sum_u w_u φ(sum_{j in S} F[j, u])``."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._backend import as_float_tensor, check_real, check_total, is_torch
from ..errors import InvalidInputError
from .base import Utility, UtilityState
from .coverage import _compute_dtype, _concept_weights

__all__ = ["FeatureBased", "CONCAVE_FUNCTIONS"]

_BLOCK_ELEMENTS = 1 << 22

#: The built-in concave functions φ (non-decreasing on ``[0, inf)`` with ``φ(0) = 0``).
CONCAVE_FUNCTIONS = ("sqrt", "log", "inverse", "power")


def _builtin(name: str, power: float | None) -> Callable[[torch.Tensor], torch.Tensor]:
    if name == "sqrt":
        return torch.sqrt
    if name == "log":
        return torch.log1p
    if name == "inverse":
        return lambda x: x / (1.0 + x)
    return lambda x: torch.pow(x, power)


def _check_concave(phi: Callable, top: float, dtype: torch.dtype, device) -> None:
    """Spot-check a user φ on a grid of ``[0, top]``: a tensor of the same shape, ``φ(0) = 0``,
    finite, non-decreasing and concave (to rounding)."""
    grid = torch.linspace(0.0, max(top, 1.0), 65, dtype=dtype, device=device)
    try:
        y = phi(grid)
    except Exception as exc:  # noqa: BLE001 - any failure of user code is an input error
        raise InvalidInputError(f"concave: the callable failed on a float tensor ({exc})") from exc
    if not isinstance(y, torch.Tensor) or y.shape != grid.shape:
        raise InvalidInputError("concave: expected a callable mapping a tensor to a tensor of "
                                "the same shape (elementwise)")
    y = y.to(dtype)
    if not bool(torch.isfinite(y).all()):
        raise InvalidInputError("concave: the callable returned NaN or inf on [0, max column sum]")
    tol = 64 * torch.finfo(dtype).eps * max(1.0, float(y.abs().max()))
    if abs(float(y[0])) > tol:
        raise InvalidInputError(f"concave: expected φ(0) = 0, got {float(y[0])}")
    dy = torch.diff(y)
    if bool((dy < -tol).any()):
        raise InvalidInputError("concave: expected a non-decreasing function on [0, inf)")
    if bool((torch.diff(dy) > tol).any()):
        raise InvalidInputError("concave: expected a concave function on [0, inf)")


class FeatureBased(Utility):
    """Feature-based utility ``f(S) = sum_{u=1}^{m} w_u · φ(sum_{j in S} F[j, u])``.

    A concave function of a modular function per feature: each feature ``u`` has diminishing
    value as more of it is collected by ``S``.

    Declared properties: monotone, submodular and normalized, always, for non-negative
    features and weights and a concave, non-decreasing ``φ`` with ``φ(0) = 0``. The built-in
    ``φ`` are

    * ``"sqrt"``: ``sqrt(x)``;
    * ``"log"``: ``log(1 + x)``;
    * ``"inverse"``: ``x / (1 + x)``;
    * ``"power"``: ``x ** power`` with ``power`` in ``(0, 1]`` (``1`` gives a modular ``f``).

    A user callable (elementwise on torch tensors) is trusted to be concave and
    non-decreasing with ``φ(0) = 0``; it is spot-checked on a grid of ``[0, max column sum]``.

    Parameters
    ----------
    features : array-like of shape (n, m)
        Non-negative ``F``; rows are the ground set (``scipy.sparse`` input is densified).
    weights : array-like of shape (m,), optional
        Non-negative feature weights (default: all 1).
    concave : {"sqrt", "log", "inverse", "power"} or callable, default "sqrt"
    power : float, optional
        The exponent for ``concave="power"`` (required there, rejected otherwise).
    device, dtype : optional
        Where and in which precision to compute (default: the input's, else CPU float64).

    Complexity
    ----------
    ``gains`` on ``B`` candidates costs ``O(B·m)`` in one vectorised op (chunked for large
    ``B·m``); ``add`` costs ``O(m)``. State: the column sums ``sum_{j in S} F[j, :]``, shape
    ``(m,)``.

    References
    ----------
    Lin & Bilmes (2011), "A class of submodular functions for document summarization";
    Wei, Iyer, Bilmes (2014), "Fast multi-stage submodular maximization"; Iyer et al.,
    submodlib (2022), ``FeatureBasedFunction``.

    Examples
    --------
    >>> from matroidopt.utility.feature_based import FeatureBased
    >>> F = [[1.0, 0.0], [3.0, 0.0], [0.0, 4.0]]
    >>> f = FeatureBased(F, concave="sqrt")
    >>> f.evaluate([0]), f.evaluate([0, 1]), f.evaluate([0, 1, 2])
    (1.0, 2.0, 4.0)
    >>> FeatureBased(F, concave="power", power=0.5).evaluate([0, 1])
    2.0
    """

    def __init__(
        self,
        features,
        weights=None,
        concave: str | Callable[[torch.Tensor], torch.Tensor] = "sqrt",
        *,
        power: float | None = None,
        device=None,
        dtype=None,
    ) -> None:
        if features is None:
            raise InvalidInputError("features: expected a non-negative (n, m) matrix, got None")
        dtype = _compute_dtype(dtype, features, weights)
        F = as_float_tensor(features, "features", ndim=2, device=device, dtype=dtype,
                            nonnegative=True)
        n, m = F.shape
        w = _concept_weights(weights, m, F.device, dtype)
        if callable(concave):
            if power is not None:
                raise InvalidInputError("power: only used with concave='power', got a callable")
            top = float(F.sum(0).max()) if F.numel() else 1.0
            _check_concave(concave, top, dtype, F.device)

            def phi(x: torch.Tensor, _user=concave) -> torch.Tensor:
                return torch.as_tensor(_user(x), dtype=x.dtype, device=x.device)
        elif concave in CONCAVE_FUNCTIONS:
            if concave == "power":
                if power is None:
                    raise InvalidInputError("power: concave='power' needs an exponent in (0, 1]")
                power = check_real(power, "power", low=0.0, high=1.0, low_open=True)
            elif power is not None:
                raise InvalidInputError(f"power: only used with concave='power', got "
                                        f"concave={concave!r}")
            phi = _builtin(concave, power)
        else:
            raise InvalidInputError(f"concave: expected one of {', '.join(CONCAVE_FUNCTIONS)} "
                                    f"or a callable, got {concave!r}")
        super().__init__(n, monotone=True, submodular=True, device=F.device, dtype=dtype,
                         torch_input=is_torch(features))
        self.features = F.contiguous()
        self.weights = w
        self.concave = concave
        self.power = power
        self.n_features = int(m)
        self._phi = phi
        if n and m:
            # f(V) bounds every value and gain (φ concave, non-decreasing, φ(0) = 0)
            check_total(float(F.sum(0).max()), "features", "a column sum of the features",
                        dtype)
            check_total(self._evaluate(torch.arange(n, device=F.device)), "features",
                        "f(V) = sum_u w_u φ(column sum u)", dtype)

    def _init_data(self) -> torch.Tensor:
        return torch.zeros(self.n_features, device=self.device, dtype=self.dtype)

    def _gains(self, state: UtilityState, candidates: torch.Tensor) -> torch.Tensor:
        s = state.data
        base = self._phi(s)
        step = max(1, _BLOCK_ELEMENTS // max(self.n_features, 1))
        return torch.cat([(self._phi(self.features[c] + s) - base) @ self.weights
                          for c in candidates.split(step)])

    def _add_data(self, state: UtilityState, j: int) -> torch.Tensor:
        return state.data + self.features[j]

    def _value(self, state: UtilityState) -> float:
        return float(self._phi(state.data) @ self.weights)

    def _evaluate(self, idx: torch.Tensor) -> float:
        return float(self._phi(self.features[idx].sum(0)) @ self.weights)

    def __repr__(self) -> str:
        name = self.concave if isinstance(self.concave, str) else "callable"
        return f"FeatureBased(n={self.n}, features={self.n_features}, concave={name!r})"
