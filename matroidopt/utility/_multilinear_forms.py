"""Numerical kernels of the closed-form multilinear extensions (private, utility layer).

The families' :meth:`~matroidopt.Utility._multilinear` hooks read their own storage and
delegate the arithmetic here:

* :func:`uncovered_form` — ``F(x) = sum_u w_u (1 - prod_{j covers u}(1 - x_j))``
  (weighted coverage);
* :func:`best_of_form` — ``F(x) = sum_i E[max(0, max_{j in R} K[i, j])]`` with clients in
  blocks of :data:`_BLOCK_ENTRIES` kernel entries (facility location), built on
  :func:`_fl_block`.

Every function takes ``x`` as a float64 CPU tensor of shape ``(n,)`` in ``[0, 1]`` and returns
``(F(x), ∇F(x))`` with the gradient a float64 CPU tensor. Nothing here imports
:mod:`matroidopt.multilinear` (the layer above).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..threads import pool_size, run_pieces

__all__ = ["uncovered_form", "best_of_form"]

_BLOCK_ENTRIES = 1 << 20  # kernel entries per client block of the facility-location form


def uncovered_form(rows: torch.Tensor, cols: torch.Tensor, weights: torch.Tensor, m: int,
                   x: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Weighted coverage: concept ``u`` stays uncovered with probability
    ``prod_{j covers u} (1 - x_j)``.

    Parameters
    ----------
    rows, cols : torch.Tensor
        Long CPU tensors of the same length: element ``rows[e]`` covers concept ``cols[e]``.
    weights : torch.Tensor
        Float64 CPU concept weights of shape ``(m,)``.
    m : int
        Number of concepts.
    x : torch.Tensor
        Float64 CPU point of ``[0, 1]^n``.

    Returns
    -------
    (float, torch.Tensor)
        ``F(x)`` and ``∇F(x)`` (float64 CPU, shape ``(n,)``).

    Notes
    -----
    Products are taken as sums of logs, with the factors ``1 - x_j = 0`` counted apart, so
    ``x_j = 1`` is exact and "the product without ``j``" needs no division by zero.
    """
    n = x.numel()
    q = 1.0 - x
    zero = q <= 0.0
    logq = torch.where(zero, 0.0, torch.log(q.clamp_min(torch.finfo(torch.float64).tiny)))
    S = torch.zeros(m, dtype=torch.float64).index_add_(0, cols, logq[rows])
    Z = torch.zeros(m, dtype=torch.long).index_add_(0, cols, zero[rows].long())
    uncovered = torch.where(Z > 0, 0.0, torch.exp(S))
    value = float((weights * (1.0 - uncovered)).sum())
    others_zero = (Z[cols] - zero[rows].long()) > 0
    without_j = torch.where(others_zero, 0.0, torch.exp(S[cols] - logq[rows]))
    grad = torch.zeros(n, dtype=torch.float64).index_add_(0, rows, weights[cols] * without_j)
    return value, grad


def _fl_block(s: torch.Tensor, xs: torch.Tensor) -> tuple[float, torch.Tensor]:
    """One block of clients, similarities sorted in decreasing order per row (``s``, clamped
    at 0) and the matching coordinates ``xs``: the block's ``F`` and ``∂F/∂x_(k)`` per entry.

    With ``a_k = 1 - x_(k)``, ``P_k = prod_{l<k} a_l`` and ``b_l = x_(l) s_(l)``:
    ``∂F/∂x_(k) = P_k s_(k) - sum_{l>k} b_l prod_{m<l, m != k} a_m``. For ``a_k > 0`` the
    sum is ``R_k / a_k`` with ``R_k = sum_{l>k} b_l P_l`` (a reverse cumulative sum of
    non-negative terms, so the division loses no accuracy). At the first ``k`` with
    ``a_k = 0`` (``x_(k) = 1``) it is the same sum with ``a_k`` replaced by 1; past it
    ``P_k = 0`` and the derivative is 0. Everything is a cumulative product or sum along
    the rows: no loop over candidates."""
    a = 1.0 - xs
    b = xs * s
    ones = torch.ones_like(a[:, :1])
    P = torch.cumprod(torch.cat([ones, a[:, :-1]], dim=1), dim=1)
    value = float((b * P).sum())

    def tail(Pm: torch.Tensor) -> torch.Tensor:   # sum_{l>k} b_l Pm_l, per k
        c = torch.flip(torch.cumsum(torch.flip(b * Pm, [1]), dim=1), [1])
        return torch.cat([c[:, 1:], torch.zeros_like(ones)], dim=1)

    R = tail(P)
    zero = a <= 0.0
    pos = ~zero
    excl = torch.where(pos, R / torch.where(pos, a, 1.0), 0.0)
    has_zero = zero.any(dim=1)
    if bool(has_zero.any()):
        rows = torch.nonzero(has_zero).flatten()
        k0 = torch.argmax(zero[rows].to(torch.uint8), dim=1)
        a2 = a[rows].clone()
        a2[torch.arange(rows.numel()), k0] = 1.0
        P2 = torch.cumprod(torch.cat([ones[rows], a2[:, :-1]], dim=1), dim=1)
        b_rows = b[rows]
        c = torch.flip(torch.cumsum(torch.flip(b_rows * P2, [1]), dim=1), [1])
        R2 = torch.cat([c[:, 1:], torch.zeros_like(ones[rows])], dim=1)
        excl[rows, k0] = R2[torch.arange(rows.numel()), k0]
    return value, P * s - excl


def best_of_form(client_rows: Callable[[int, int], torch.Tensor], m: int, x: torch.Tensor,
                 device: torch.device, *, parallel: bool = False) -> tuple[float, torch.Tensor]:
    """Facility location: ``F(x) = sum_i E_{R ~ x}[max(0, max_{j in R} K[i, j])]``.

    Per client, the similarities ``s_(1) >= s_(2) >= ...`` (clamped at the 0 baseline):
    ``F_i = sum_k s_(k) x_(k) P_k`` with ``P_k = prod_{l<k}(1 - x_(l))`` the probability that
    no better candidate is present, and ``∂F_i/∂x_(k) = P_k (s_(k) - T_k)`` with ``T_k`` the
    expected best of the worse candidates (:func:`_fl_block`).

    Parameters
    ----------
    client_rows : callable ``(a, b) -> torch.Tensor``
        The dense ``(b - a, n)`` block ``K[a:b, :]`` (clients ``a..b-1`` against every
        candidate) on ``device``.
    m : int
        Number of clients.
    x : torch.Tensor
        Float64 CPU point of ``[0, 1]^n``.
    device : torch.device
        Where the blocks are sorted and reduced.
    parallel : bool
        Whether ``client_rows`` may be called from several threads at once: inside a solve
        (:mod:`matroidopt.threads`) the client blocks are then shared among the workers.

    Returns
    -------
    (float, torch.Tensor)
        ``F(x)`` and ``∇F(x)`` (float64 CPU, shape ``(n,)``).

    Notes
    -----
    Clients are processed in blocks of about :data:`_BLOCK_ENTRIES` kernel entries, so the
    working memory is a few blocks, never the ``n × m`` kernel. Each block's gradient is
    summed into the total in block order, so the result is the same at any thread count.
    """
    n = x.numel()
    grad = torch.zeros(n, dtype=torch.float64)
    if n == 0 or m == 0:
        return 0.0, grad
    xd = x.to(device)
    chunk = max(1, _BLOCK_ENTRIES // n)
    bounds = [(a, min(m, a + chunk)) for a in range(0, m, chunk)]

    def block(ab: tuple[int, int]) -> tuple[float, torch.Tensor]:
        A = client_rows(*ab).to(torch.float64).clamp_min(0.0)
        s, idx = torch.sort(A, dim=1, descending=True, stable=True)
        del A
        v, g = _fl_block(s, xd[idx])
        part = torch.zeros(n, dtype=torch.float64, device=device)
        return v, part.index_add_(0, idx.reshape(-1), g.reshape(-1))

    # the first block on this thread (a reader may prepare its copy on its first call)
    value, gd = block(bounds[0])
    workers = pool_size() if parallel else 1
    step = 2 * workers   # blocks in flight: 2 per worker, their gradients summed in order
    for r in range(1, len(bounds), step):
        for v, part in run_pieces(block, bounds[r:r + step], workers):
            value += v
            gd += part
    grad += gd.cpu()
    return value, grad
