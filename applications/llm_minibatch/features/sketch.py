"""Seeded random projections that preserve inner products, and row normalisation."""

from __future__ import annotations

import math

import torch

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

__all__ = ["SKETCHES", "Sketch", "normalize_rows"]

SKETCHES = ("srht", "rademacher")
"""Sketch kinds accepted by :class:`Sketch` and :func:`gradient_features`."""

def _mix_seed(*values: int) -> int:
    """SplitMix64-style mixing of integers into one 63-bit generator seed."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (int(v) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF


def _fwht(x: torch.Tensor) -> torch.Tensor:
    """Unnormalised fast Walsh–Hadamard transform along the last axis (length ``2^k``)."""
    c, n = x.shape
    h = 1
    y = x
    while h < n:
        y = y.reshape(c, n // (2 * h), 2, h)
        a, b = y[:, :, 0, :], y[:, :, 1, :]
        y = torch.stack((a + b, a - b), dim=2)
        h *= 2
    return y.reshape(c, n)


class Sketch:
    """Seeded random linear map ``R^in_dim → R^out_dim`` that preserves inner products.

    ``S(x) = x Sᵀ`` is applied to the rows of ``X``. Both kinds satisfy ``E[SᵀS] = I``, so
    ``E⟨Sx, Sy⟩ = ⟨x, y⟩``, and the Johnson–Lindenstrauss property: for ``m`` fixed vectors,
    ``out_dim = O(ε⁻² log(m/δ))`` keeps all pairwise inner products and norms of unit vectors
    within ``±ε`` with probability ``1 − δ`` (Johnson & Lindenstrauss 1984; Achlioptas 2003
    for ±1 entries; Ailon & Chazelle 2009 for the fast transform, with an extra
    ``log`` factor from its coordinate-flattening step). For unit ``x, y`` both kinds have
    ``Var⟨Sx, Sy⟩ ≲ 2/out_dim``.

    Kinds
    -----
    ``"srht"`` (default)
        Subsampled randomised Hadamard transform
        ``S = sqrt(n/out_dim) · P H D`` on the input zero-padded to ``n = 2^⌈log2 in_dim⌉``:
        ``D`` random signs, ``H`` the orthonormal Walsh–Hadamard matrix (applied by a fast
        transform, ``O(n log n)`` per row), ``P`` ``out_dim`` coordinates sampled without
        replacement. Needs ``out_dim <= n``; at ``out_dim == n`` it is an exact isometry.
        State: ``O(n)``. Time ``O(N n log n)``; rows are processed in blocks to keep the
        workspace near ``2^24`` elements.
    ``"rademacher"``
        Dense matrix with entries ``±1/sqrt(out_dim)``. Time ``O(N · in_dim · out_dim)``.
        The matrix is generated in row blocks from per-block seeded generators; it is cached
        when ``in_dim · out_dim <= 2^24`` and otherwise regenerated block by block in every
        call, so the full matrix is never held.

    Random draws use CPU ``torch.Generator`` s seeded from ``seed``, so the same
    ``(in_dim, out_dim, kind, seed)`` gives the same map on every call, process and device.

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output dimensions (both ``>= 1``).
    kind : {"srht", "rademacher"}
    seed : int, default 0
    device : torch.device or str, optional
        Where to compute; default the device of each input.
    dtype : torch.dtype, default torch.float32
        Output (and compute) dtype.

    Examples
    --------
    >>> import torch
    >>> S = Sketch(1000, 64, kind="srht", seed=1)
    >>> X = torch.randn(5, 1000)
    >>> Y = S(X)
    >>> Y.shape
    torch.Size([5, 64])
    >>> torch.equal(Y, Sketch(1000, 64, kind="srht", seed=1)(X))
    True
    """

    _CACHE_LIMIT = 1 << 24
    _WORK_LIMIT = 1 << 24

    def __init__(self, in_dim: int, out_dim: int, kind: str = "srht", seed: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32):
        self.in_dim = check_int(in_dim, "in_dim", minimum=1)
        self.out_dim = check_int(out_dim, "out_dim", minimum=1)
        if kind not in SKETCHES:
            raise InvalidInputError(f"kind: expected one of {SKETCHES}, got {kind!r}")
        self.kind = kind
        self.seed = check_int(seed, "seed")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise InvalidInputError(f"dtype: expected a floating torch.dtype, got {dtype!r}")
        self.dtype = dtype
        self.device = None if device is None else torch.device(device)
        self._cache: dict[torch.device, tuple[torch.Tensor, ...]] = {}
        if kind == "srht":
            self.padded_dim = 1 << (self.in_dim - 1).bit_length()
            if self.out_dim > self.padded_dim:
                raise InvalidInputError(
                    f"out_dim: an SRHT sketch of a {self.in_dim}-dimensional input has at most "
                    f"{self.padded_dim} outputs (the padded dimension), got {self.out_dim}; "
                    "use kind='rademacher' or a smaller out_dim"
                )
            g = torch.Generator().manual_seed(_mix_seed(self.seed, 0x5247, self.in_dim,
                                                        self.out_dim))
            signs = torch.randint(0, 2, (self.in_dim,), generator=g).mul_(2).sub_(1)
            rows = torch.randperm(self.padded_dim, generator=g)[: self.out_dim].sort().values
            self._signs, self._rows = signs, rows
        else:
            self.padded_dim = self.in_dim
            self._block = max(1, min(self.in_dim, self._WORK_LIMIT // (4 * self.out_dim)))

    def __repr__(self) -> str:
        return (f"Sketch(in_dim={self.in_dim}, out_dim={self.out_dim}, kind={self.kind!r}, "
                f"seed={self.seed})")

    # -- rademacher
    def _rademacher_block(self, b: int, device: torch.device) -> torch.Tensor:
        start = b * self._block
        rows = min(self._block, self.in_dim - start)
        g = torch.Generator().manual_seed(_mix_seed(self.seed, 0x5241, self.in_dim,
                                                    self.out_dim, b))
        r = torch.randint(0, 2, (rows, self.out_dim), generator=g, dtype=self.dtype)
        return r.mul_(2).sub_(1).mul_(1.0 / math.sqrt(self.out_dim)).to(device)

    def _n_blocks(self) -> int:
        return -(-self.in_dim // self._block)

    def matrix(self, device: torch.device | str | None = None) -> torch.Tensor:
        """The ``in_dim × out_dim`` matrix ``Sᵀ`` (for checks on small dimensions).

        Builds it in full, whatever the cache limit: ``S(X) == X @ S.matrix()``.
        """
        device = torch.device(device) if device is not None else torch.device("cpu")
        eye = torch.eye(self.in_dim, dtype=self.dtype, device=device)
        return self(eye)

    def _apply_rademacher(self, X: torch.Tensor) -> torch.Tensor:
        dev = X.device
        if self.in_dim * self.out_dim <= self._CACHE_LIMIT:
            if dev not in self._cache:
                blocks = [self._rademacher_block(b, dev) for b in range(self._n_blocks())]
                self._cache[dev] = (torch.cat(blocks, dim=0),)
            return X @ self._cache[dev][0]
        out = torch.zeros(X.shape[0], self.out_dim, dtype=self.dtype, device=dev)
        for b in range(self._n_blocks()):
            s = b * self._block
            r = self._rademacher_block(b, dev)
            out.addmm_(X[:, s:s + r.shape[0]], r)
        return out

    # -- srht
    def _apply_srht(self, X: torch.Tensor) -> torch.Tensor:
        dev = X.device
        if dev not in self._cache:
            self._cache[dev] = (self._signs.to(dev, self.dtype), self._rows.to(dev))
        signs, rows = self._cache[dev]
        n = self.padded_dim
        scale = 1.0 / math.sqrt(self.out_dim)  # sqrt(n/out_dim) · (1/sqrt(n)) for orthonormal H
        out = torch.empty(X.shape[0], self.out_dim, dtype=self.dtype, device=dev)
        step = max(1, self._WORK_LIMIT // n)
        for s in range(0, X.shape[0], step):
            xb = X[s:s + step] * signs
            if n > self.in_dim:
                xb = torch.nn.functional.pad(xb, (0, n - self.in_dim))
            out[s:s + step] = _fwht(xb)[:, rows] * scale
        return out

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Sketch the rows of ``X`` (``N × in_dim``, or one vector) to ``N × out_dim``."""
        if not isinstance(X, torch.Tensor):
            X = torch.as_tensor(X)
        squeeze = X.dim() == 1
        if squeeze:
            X = X.unsqueeze(0)
        if X.dim() != 2 or X.shape[1] != self.in_dim:
            raise InvalidInputError(
                f"X: expected shape (N, {self.in_dim}), got {tuple(X.shape)}"
            )
        X = X.to(device=self.device or X.device, dtype=self.dtype)
        Y = self._apply_srht(X) if self.kind == "srht" else self._apply_rademacher(X)
        return Y.squeeze(0) if squeeze else Y


# --------------------------------------------------------------------------- composition
def normalize_rows(G: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-row L2 normalisation ``g_i / max(‖g_i‖, eps)``; zero rows stay zero.

    Examples
    --------
    >>> import torch
    >>> normalize_rows(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
    tensor([[0.6000, 0.8000],
            [0.0000, 0.0000]])
    """
    if not isinstance(G, torch.Tensor):
        G = torch.as_tensor(G)
    if G.dim() != 2:
        raise InvalidInputError(f"G: expected a 2-D tensor (N, P), got shape {tuple(G.shape)}")
    if not G.is_floating_point():
        G = G.float()
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise InvalidInputError(f"eps: expected a positive number, got {eps!r}")
    return G / G.norm(dim=1, keepdim=True).clamp_min(eps)

