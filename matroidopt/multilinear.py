"""The multilinear extension of a set function, its gradient, in closed form or by sampling.

For ``f: 2^{range(n)} -> R`` and ``x ∈ [0, 1]^n``, the multilinear extension is

    F(x) = E_{R ~ x}[f(R)] = sum_S f(S) prod_{j in S} x_j prod_{j not in S} (1 - x_j),

where ``R ~ x`` contains each ``j`` independently with probability ``x_j``. ``F`` is linear
in each coordinate, so

    ∂F/∂x_j = E_{R ~ x}[f(R + j) - f(R - j)]   (``R + j = R ∪ {j}``, ``R - j = R \\ {j}``).

For submodular ``f``, ``F`` is concave along every non-negative direction and convex along
``e_i - e_j``; continuous greedy (:func:`~matroidopt.continuous_greedy`) climbs it, swap and
pipage rounding (:mod:`matroidopt.rounding`) turn its fractional points back into sets without
losing value in expectation (Calinescu, Chekuri, Pál, Vondrák 2011).

Closed forms (exact, no sampling) come from the utility's own hook
:meth:`Utility._multilinear(x) <matroidopt.Utility._multilinear>` (with
:attr:`~matroidopt.Utility._has_multilinear` saying whether it has one); the library's
families implement it next to their storage:

* :class:`~matroidopt.Modular`: ``F(x) = w·x``;
* :class:`~matroidopt.WeightedCoverage`: ``F(x) = sum_u w_u (1 - prod_{j covers u}(1 - x_j))``;
* :class:`~matroidopt.FacilityLocation`: for each client, the similarities sorted in
  decreasing order; ``j`` is the best present candidate with probability
  ``x_j prod_{l better than j}(1 - x_l)``;
* :class:`~matroidopt.WeightedSum` of those (``F`` is linear in ``f``);
* any utility that defines ``multilinear(x) -> float`` and ``multilinear_grad(x) -> tensor``
  (the hook's default calls them), or overrides the hook.

Any other utility is estimated by sampling: ``samples`` independent sets ``R ~ x``, each
evaluated through the incremental oracle (a state built with ``add``, then one vectorised
``gains`` call over every element outside ``R``), with the standard error of the mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._backend import check_int
from .errors import InvalidInputError
from .seeds import make_rng
from .utility.base import Utility, check_finite_gains, check_utility
from .validation import as_point

__all__ = ["multilinear_value", "multilinear_gradient", "has_closed_form", "DEFAULT_SAMPLES",
           "MAX_SAMPLES"]

#: Samples used by the estimators when ``samples=None`` and no closed form exists.
DEFAULT_SAMPLES = 1000
#: Largest ``samples`` accepted: each sample is an ``n``-vector of draws and a utility state,
#: so a million of them already costs minutes and gigabytes (the standard error then is
#: 1/1000 of the spread).
MAX_SAMPLES = 10**6


# ====================================================================== validation
def _check_samples(samples: Any) -> int | None:
    return None if samples is None else check_int(samples, "samples", minimum=1,
                                                  maximum=MAX_SAMPLES)


def _rng(seed: Any) -> np.random.Generator:
    return make_rng(seed)


def _output(v: torch.Tensor, f: Utility):
    """Numpy float64, or a torch tensor on the utility's device when its input was torch."""
    if f.torch_input:
        return v.to(device=f.device, dtype=f.dtype)
    return v.detach().to("cpu", torch.float64).numpy()


# ====================================================================== closed forms
def has_closed_form(f: Utility) -> bool:
    """Whether :func:`multilinear_value` and :func:`multilinear_gradient` are exact for ``f``
    (no sampling) when called with ``samples=None``.

    Read from the utility's :attr:`~matroidopt.Utility._has_multilinear` hook: true for
    :class:`~matroidopt.Modular`, :class:`~matroidopt.WeightedCoverage`,
    :class:`~matroidopt.FacilityLocation`, :class:`~matroidopt.WeightedSum` of those, and
    utilities that override :meth:`~matroidopt.Utility._multilinear` or define
    ``multilinear`` and ``multilinear_grad``; false for anything that is not a utility.

    Examples
    --------
    >>> import matroidopt as mo
    >>> mo.has_closed_form(mo.Modular([1.0, 2.0]))
    True
    >>> mo.has_closed_form(mo.Utility.from_callable(len, 3, monotone=True, submodular=True))
    False
    """
    return isinstance(f, Utility) and bool(f._has_multilinear)


def _closed_form(f: Utility, x: torch.Tensor) -> tuple[float, torch.Tensor]:
    """``(F(x), ∇F(x))`` from the utility's :meth:`~matroidopt.Utility._multilinear` hook;
    ``x`` is a float64 CPU tensor, the gradient comes back as a float64 CPU tensor of shape
    ``(n,)``. The caller has checked :func:`has_closed_form`."""
    out = f._multilinear(x)
    if out is None:
        raise InvalidInputError(f"f: no closed form for {type(f).__name__}")
    value, grad = out
    grad = torch.as_tensor(grad).detach().to("cpu", torch.float64).reshape(-1)
    if grad.numel() != f.n:
        raise InvalidInputError(
            f"f: the closed-form gradient of {type(f).__name__} has {grad.numel()} entries, "
            f"expected {f.n} (the ground-set size)")
    return float(value), grad


# ====================================================================== sampling
class _Welford:
    """Running mean and variance of vectors (numerically stable)."""

    def __init__(self, n: int) -> None:
        self.k = 0
        self.mean = np.zeros(n)
        self.m2 = np.zeros(n)

    def push(self, v: np.ndarray) -> None:
        self.k += 1
        d = v - self.mean
        self.mean += d / self.k
        self.m2 += d * (v - self.mean)

    def stderr(self) -> np.ndarray:
        if self.k < 2:
            return np.full_like(self.mean, np.inf)
        return np.sqrt(np.maximum(self.m2, 0.0) / (self.k - 1) / self.k)


def _sample_masks(rng: np.random.Generator, x: torch.Tensor, samples: int) -> np.ndarray:
    return rng.random((samples, x.numel())) < x.numpy()[None, :]


def _state_of(f: Utility, members: np.ndarray):
    state = f._init_state()
    for j in members.tolist():
        state = f._add(state, j)
    return state


def _sampled_gains(f: Utility, x: torch.Tensor, samples: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """``E_R[f(R + j) - f(R)]`` for every ``j`` (0 when ``j ∈ R``), its standard error, and
    the number of marginal gains evaluated."""
    n = f.n
    acc = _Welford(n)
    calls = 0
    for mask in _sample_masks(rng, x, samples):
        state = _state_of(f, np.flatnonzero(mask))
        v = np.zeros(n)
        cand = np.flatnonzero(~mask)
        if cand.size:
            g = f._gains(state, torch.as_tensor(cand, device=f.device))
            g = g.detach().to("cpu", torch.float64)
            check_finite_gains(f, g, torch.from_numpy(cand), int(mask.sum()))
            v[cand] = g.numpy()
            calls += int(cand.size)
        acc.push(v)
    return acc.mean, acc.stderr(), calls


def _sampled_gradient(f: Utility, x: torch.Tensor, samples: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``E_R[f(R + j) - f(R - j)]``: one ``gains`` call for the ``j`` outside ``R``, one
    ``evaluate`` of ``R - j`` for each ``j`` inside."""
    n = f.n
    acc = _Welford(n)
    for mask in _sample_masks(rng, x, samples):
        members = np.flatnonzero(mask)
        state = _state_of(f, members)
        v = np.zeros(n)
        cand = np.flatnonzero(~mask)
        if cand.size:
            g = f._gains(state, torch.as_tensor(cand, device=f.device))
            v[cand] = g.detach().to("cpu", torch.float64).numpy()
        if members.size:
            fR = float(f._value(state))
            for pos, j in enumerate(members.tolist()):
                rest = np.delete(members, pos)
                v[j] = fR - float(f._evaluate(torch.as_tensor(rest, device=f.device)))
        acc.push(v)
    return acc.mean, acc.stderr()


def _sampled_value(f: Utility, x: torch.Tensor, samples: int, rng: np.random.Generator
                   ) -> tuple[float, float]:
    acc = _Welford(1)
    for mask in _sample_masks(rng, x, samples):
        idx = torch.as_tensor(np.flatnonzero(mask), device=f.device)
        acc.push(np.array([float(f._evaluate(idx))]))
    return float(acc.mean[0]), float(acc.stderr()[0])


# ====================================================================== public
def multilinear_value(f: Utility, x, samples: int | None = None, seed: Any = None, *,
                      return_stderr: bool = False):
    """The multilinear extension ``F(x) = E_{R ~ x}[f(R)]``.

    Parameters
    ----------
    f : Utility
    x : array-like of shape (n,)
        A point of ``[0, 1]^n`` (numpy, torch or a sequence).
    samples : int or None
        ``None`` (default): the closed form when :func:`has_closed_form` is true, else
        :data:`DEFAULT_SAMPLES` samples. An int in ``[1, MAX_SAMPLES]`` forces the sampling
        estimator with that many sets ``R ~ x``, even when a closed form exists.
    seed : None, int or numpy Generator
        Randomness of the estimator (same seed, same estimate); unused by the closed form.
    return_stderr : bool
        Also return the standard error of the estimate (0.0 for the closed form).

    Returns
    -------
    float, or (float, float) with ``return_stderr=True``

    Guarantee
    ---------
    The closed form is exact up to floating-point rounding. The estimator is unbiased; its
    standard error is the sample standard deviation over ``sqrt(samples)``.

    Complexity
    ----------
    Closed form: ``O(n)`` (modular), ``O(nnz of the incidence)`` (coverage),
    ``O(m·n log n)`` for ``m`` clients (facility location; clients in blocks of about
    4M kernel entries, so the ``n × m`` kernel is never materialised). Sampling:
    ``samples`` calls of ``evaluate``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> K = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> f = mo.FacilityLocation(K)
    >>> mo.multilinear_value(f, [0.5, 0.5])     # E over {}, {0}, {1}, {0, 1}: (0+1.5+1.5+2)/4
    1.25
    >>> v, se = mo.multilinear_value(f, [0.5, 0.5], samples=4000, seed=0, return_stderr=True)
    >>> abs(v - 1.25) < 4 * se
    True
    """
    f = check_utility(f, "f")
    xt = as_point(x, f.n, "x")
    samples = _check_samples(samples)
    if samples is None and has_closed_form(f):
        value, stderr = _closed_form(f, xt)[0], 0.0
    else:
        value, stderr = _sampled_value(f, xt, samples or DEFAULT_SAMPLES, _rng(seed))
    return (float(value), float(stderr)) if return_stderr else float(value)


def multilinear_gradient(f: Utility, x, samples: int | None = None, seed: Any = None, *,
                         return_stderr: bool = False):
    """The gradient ``∂F/∂x_j = E_{R ~ x}[f(R + j) - f(R - j)]`` of the multilinear extension.

    Parameters
    ----------
    f : Utility
    x : array-like of shape (n,)
        A point of ``[0, 1]^n``.
    samples : int or None
        ``None`` (default): the closed form when :func:`has_closed_form` is true, else
        :data:`DEFAULT_SAMPLES` samples. An int forces the sampling estimator.
    seed : None, int or numpy Generator
        Randomness of the estimator.
    return_stderr : bool
        Also return the per-coordinate standard errors (zeros for the closed form).

    Returns
    -------
    numpy.ndarray of shape (n,), or a torch tensor on the utility's device when the utility
    was built from torch input; a pair ``(gradient, stderr)`` with ``return_stderr=True``.

    Guarantee
    ---------
    The closed form is exact up to rounding; the estimator is unbiased. For monotone ``f``
    every partial derivative is non-negative; for submodular ``f`` it is non-increasing in
    ``x``.

    Complexity
    ----------
    Closed form: as :func:`multilinear_value` (facility location adds an ``O(n)`` loop of
    vector operations over the clients). Sampling: per sample, ``|R|`` ``add`` calls, one
    ``gains`` call over the ``n - |R|`` elements outside ``R`` and ``|R|`` ``evaluate``
    calls for the elements inside.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> f = mo.FacilityLocation(np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> mo.multilinear_gradient(f, [0.5, 0.5]).tolist()    # 1.5 - 0.5·0.5·... = 1.0 each
    [1.0, 1.0]
    >>> mo.multilinear_gradient(mo.Modular([3.0, -1.0]), [0.2, 0.9]).tolist()
    [3.0, -1.0]
    """
    f = check_utility(f, "f")
    xt = as_point(x, f.n, "x")
    samples = _check_samples(samples)
    if samples is None and has_closed_form(f):
        grad = _closed_form(f, xt)[1]
        stderr = torch.zeros_like(grad)
    else:
        g, se = _sampled_gradient(f, xt, samples or DEFAULT_SAMPLES, _rng(seed))
        grad, stderr = torch.from_numpy(g), torch.from_numpy(se)
    grad = _output(grad, f)
    return (grad, _output(stderr, f)) if return_stderr else grad


def _expected_gains(f: Utility, x: torch.Tensor, samples: int | None, rng: np.random.Generator
                    ) -> tuple[torch.Tensor, float | None, int]:
    """Continuous greedy's weights ``w_j = E_R[f(R + j) - f(R)] = (1 - x_j) ∂F/∂x_j``.

    Returns ``(w as float64 CPU tensor, F(x) when the closed form gave it else None, gains
    evaluated)``; ``samples=None`` means the closed form (the caller checked it exists)."""
    if samples is None:
        value, grad = _closed_form(f, x)
        w, calls = (1.0 - x) * grad, f.n
    else:
        w_np, _, calls = _sampled_gains(f, x, samples, rng)
        w, value = torch.from_numpy(w_np), None
    check_finite_gains(f, w, torch.arange(f.n))
    return w, value, calls


class _SampleBank:
    """``samples`` fresh sets ``R ~ x`` with their utility states, built once for a point
    ``x`` and reused for every candidate estimated there (each estimate is still the unbiased
    mean over independent sets; only estimates of different elements share them)."""

    def __init__(self, f: Utility, x: torch.Tensor, samples: int,
                 rng: np.random.Generator) -> None:
        self.f = f
        self.masks = _sample_masks(rng, x, samples)
        self.states = [_state_of(f, np.flatnonzero(mask)) for mask in self.masks]

    def gains_of(self, cand: np.ndarray) -> tuple[np.ndarray, int]:
        """``E_R[f(R + j) - f(R)]`` for ``j`` in ``cand`` (0 when ``j ∈ R``), and the number
        of marginal gains evaluated."""
        acc = np.zeros(cand.size)
        calls = 0
        for mask, state in zip(self.masks, self.states):
            out = ~mask[cand]
            if not out.any():
                continue
            sub = cand[out]
            g = self.f._gains(state, torch.as_tensor(sub, device=self.f.device))
            g = g.detach().to("cpu", torch.float64)
            check_finite_gains(self.f, g, torch.from_numpy(sub), int(mask.sum()))
            acc[out] += g.numpy()
            calls += int(sub.size)
        return acc / len(self.masks), calls
