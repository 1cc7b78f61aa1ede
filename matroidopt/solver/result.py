"""The :class:`Result` every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Result"]


@dataclass(frozen=True)
class Result:
    """What a solve returns.

    Attributes
    ----------
    indices : numpy.ndarray or torch.Tensor
        The selected elements in selection order (a torch tensor on the utility's device when
        the utility was built from torch input, else numpy int64).
    gains : numpy.ndarray
        The marginal gain (as computed by the utility's oracle) of each selected element at
        the moment it was added.
    value : float
        ``f(indices)`` recomputed from scratch by :meth:`Utility.evaluate`.
    upper_bound : float or None
        A certificate: ``OPT <= upper_bound`` (see :mod:`matroidopt.certificate`). ``None``
        when the utility is not declared monotone and (weakly) submodular with exact gains.
    guarantee : float or None
        The theoretical ratio of the guarantee table that applies, or ``None``.
    expected : bool
        Whether ``guarantee`` holds in expectation over the solver's randomness.
    oracle_calls : int
        Number of marginal gains evaluated (one per candidate per call).
    seconds : float
        Wall time of the solve.
    solver : str
        Registered name of the solver that ran.
    info : dict
        Solver-specific extras (e.g. the sample size of stochastic greedy).
    bound_trace : numpy.ndarray of shape (m, 2)
        The certificates the solver computed along the way: rows ``(t, bound)``, where
        ``bound >= OPT`` was computed at the prefix of the first ``t`` selected elements
        (``upper_bound`` is the least of them, or a bound of the solver's own; empty when the
        solver computes none per prefix). :func:`matroidopt.plot.gain_curve` draws it.
    """

    indices: Any
    gains: np.ndarray
    value: float
    upper_bound: float | None
    guarantee: float | None
    expected: bool
    oracle_calls: int
    seconds: float
    solver: str
    info: dict = field(default_factory=dict)
    bound_trace: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), repr=False)

    @property
    def certified_ratio(self) -> float | None:
        """``value / upper_bound``: a measured lower bound on ``value / OPT``."""
        if self.upper_bound is None or self.upper_bound <= 0:
            return None if self.upper_bound is None else 1.0
        return min(1.0, self.value / self.upper_bound)

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        ub = "None" if self.upper_bound is None else f"{self.upper_bound:.6g}"
        g = "None" if self.guarantee is None else f"{self.guarantee:.4g}"
        return (f"Result(solver={self.solver!r}, size={len(self.indices)}, value={self.value:.6g}, "
                f"upper_bound={ub}, guarantee={g}{' (expected)' if self.expected else ''}, "
                f"oracle_calls={self.oracle_calls}, seconds={self.seconds:.3g})")
