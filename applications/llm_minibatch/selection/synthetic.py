"""Synthetic multi-domain gradient pools with conflicting domains, for tests, benchmarks and
docs: no model needed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

__all__ = ["SyntheticPool", "synthetic_pool"]


@dataclass(frozen=True)
class SyntheticPool:
    """A pool of unit-norm gradient features with domain labels and anchor gradients."""

    features: np.ndarray   # (N, p), unit rows
    domains: np.ndarray    # (N,) domain names
    anchors: np.ndarray    # (A, p), unit rows, drawn from every domain
    means: np.ndarray      # (D, p) unit domain directions


def synthetic_pool(n: int = 256, p: int = 64, n_domains: int = 4, *, n_anchors: int = 4,
                   conflict: float = 0.6, noise: float = 1.0, imbalance: float = 0.5,
                   seed: int | None = 0) -> SyntheticPool:
    """A multi-domain pool whose domain gradients conflict.

    Domain ``d`` has a unit direction ``μ_d``; consecutive pairs of domains are made to
    conflict (``<μ_{2i}, μ_{2i+1}> = -conflict``). Example gradients are ``μ_d`` plus isotropic
    noise of norm about ``noise``, then L2-normalised. Domain sizes follow a geometric profile
    (``imbalance`` in [0, 1): 0 = equal sizes). Anchors are noisy draws spread over domains.

    Examples
    --------
    >>> from llm_minibatch.selection.synthetic import synthetic_pool
    >>> pool = synthetic_pool(64, 16, 4, seed=0)
    >>> pool.features.shape, sorted(set(pool.domains.tolist()))
    ((64, 16), ['d0', 'd1', 'd2', 'd3'])
    """
    n = check_int(n, "n", minimum=1)
    p = check_int(p, "p", minimum=2)
    n_domains = check_int(n_domains, "n_domains", minimum=1)
    if n_domains > n:
        raise InvalidInputError(f"n_domains: {n_domains} domains need n >= {n_domains}, got {n}")
    n_anchors = check_int(n_anchors, "n_anchors", minimum=1)
    conflict = check_real(conflict, "conflict", low=0.0, high=1.0)
    noise = check_real(noise, "noise", low=0.0)
    imbalance = check_real(imbalance, "imbalance", low=0.0, high=1.0, high_open=True)
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n_domains, p))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    for i in range(0, n_domains - 1, 2):  # make pairs conflict: <μ_a, μ_b> = -conflict
        a = means[i]
        orth = means[i + 1] - (means[i + 1] @ a) * a
        orth /= np.linalg.norm(orth)
        means[i + 1] = -conflict * a + np.sqrt(1 - conflict ** 2) * orth
    weights = (1.0 - imbalance) ** np.arange(n_domains)
    sizes = np.maximum(1, np.floor(weights / weights.sum() * n).astype(int))
    sizes[0] += n - sizes.sum()
    labels = np.repeat(np.arange(n_domains), sizes)
    rng.shuffle(labels)

    def draw(lbl):
        g = means[lbl] + noise * rng.normal(size=(len(lbl), p)) / np.sqrt(p)
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    feats = draw(labels)
    anchors = draw(np.arange(n_anchors) % n_domains)
    names = np.array([f"d{d}" for d in range(n_domains)])
    return SyntheticPool(feats, names[labels], anchors, means)
