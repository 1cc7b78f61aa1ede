"""The pool's domain labels, checked and put in the fixed domain order once per step.

Every piece of a selection step needs the pool's domains in some form: the quotas need the
per-domain counts, the partition matroid and the decoupled Gram of ``iwd`` / ``per_domain``
need each row's domain id, ``stratified`` needs each domain's rows. :class:`PoolDomains`
builds all of them from one pass over the labels and one sort of the distinct domains; a
step builds it once (:class:`~llm_minibatch.loop.PartitionSel` does) and hands it to
:func:`~llm_minibatch.selection.select_from_features`,
:func:`~llm_minibatch.selection.compute_quotas` and
:func:`~llm_minibatch.selection.methods.stratified_indices`, which also accept a plain
sequence of labels and build it themselves.

Domain order
------------
Domains are sorted by value when they are mutually comparable (all ints, or all strings);
for mixed types by ``(type name, value)``, and by ``(type name, str(value))`` as a last
resort. numpy scalars (and one-element tensors) are turned into Python scalars first
(``numpy.int64(3)`` is the domain ``3``). NaN is not a label: it is not equal to itself.

Complexity: ``O(N + D log D)`` for ``N`` labels of ``D`` distinct domains.

Examples
--------
>>> from llm_minibatch.selection.domains import PoolDomains
>>> pool = PoolDomains(["math", "code", "math", "chem"])
>>> pool.order, pool.counts
(['chem', 'code', 'math'], {'chem': 1, 'code': 1, 'math': 2})
>>> pool.ids.tolist(), pool.positions["math"].tolist()
([2, 1, 2, 0], [0, 2])
>>> PoolDomains.of(pool) is pool          # already built: reused as it is
True
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

import numpy as np
import torch

import matroidopt as mo
from matroidopt.errors import InvalidInputError

__all__ = ["PoolDomains", "check_label", "domain_order"]


def check_label(d: Any, name: str, i: int | None = None) -> Hashable:
    """One domain label (``i``: its row, for the message): numpy / one-element tensor
    scalars unwrapped; unhashable or NaN labels rejected with an error naming ``name``."""
    if isinstance(d, np.generic):
        d = d.item()
    elif isinstance(d, torch.Tensor) and d.numel() == 1:
        d = d.item()
    which = "a label" if i is None else f"label {i}"
    try:
        hash(d)
    except TypeError:
        raise InvalidInputError(
            f"{name}: {which} ({d!r}) is unhashable ({type(d).__name__}); labels name "
            "domains and must be hashable (str, int, tuple, ...)") from None
    if isinstance(d, float) and d != d:
        raise InvalidInputError(f"{name}: {which} is NaN, which is not a valid domain label "
                                "(it is not equal to itself)")
    return d


def domain_order(domains: Iterable[Hashable]) -> list:
    """The distinct ``domains`` in the deterministic order (see the module docstring)."""
    ds = list(domains)
    try:
        return sorted(ds)
    except TypeError:
        pass
    try:
        return sorted(ds, key=lambda d: (type(d).__name__, d))
    except TypeError:
        return sorted(ds, key=lambda d: (type(d).__name__, str(d)))


def _label_list(domains: Any, name: str) -> list:
    if isinstance(domains, torch.Tensor):
        if domains.dim() > 1:
            raise InvalidInputError(
                f"{name}: expected a 1-D sequence of labels, got a tensor of shape "
                f"{tuple(domains.shape)}")
        domains = domains.detach().cpu().reshape(-1).tolist()
    elif isinstance(domains, np.ndarray):
        if domains.ndim != 1:
            raise InvalidInputError(
                f"{name}: expected a 1-D sequence of labels, got an array of shape "
                f"{domains.shape}")
        domains = domains.tolist()
    elif isinstance(domains, (str, bytes)) or not isinstance(domains, Iterable):
        raise InvalidInputError(
            f"{name}: expected a sequence with one domain label per pool example, got "
            f"{type(domains).__name__}")
    return [check_label(d, name, i) for i, d in enumerate(domains)]


class PoolDomains:
    """A pool's domain labels with their fixed order, ids, counts and rows.

    Parameters
    ----------
    domains : sequence of hashable labels, numpy array or tensor
        One label per pool row.
    n : int, optional
        The pool size the labels must match (an error naming ``name`` otherwise).
    name : str, default "domains"
        The argument named in errors.

    Attributes
    ----------
    labels : list
        The labels, checked (Python scalars).
    order : list
        The distinct domains in the deterministic order.
    ids : numpy.ndarray
        ``(N,)`` int64: each row's position in ``order``.
    counts : dict
        ``{domain: rows}`` in ``order``.

    Notes
    -----
    A sequence itself (``len``, indexing and iteration give the labels), so it can be passed
    wherever a list of labels is expected.
    """

    def __init__(self, domains: Any, *, n: int | None = None, name: str = "domains"):
        labels = _label_list(domains, name)
        if n is not None and len(labels) != n:
            raise InvalidInputError(
                f"{name}: expected one label per pool example ({n}), got {len(labels)}")
        self.labels = labels
        self.order = domain_order(set(labels))
        index = {d: i for i, d in enumerate(self.order)}
        self.ids = np.fromiter((index[d] for d in labels), dtype=np.int64, count=len(labels))
        sizes = np.bincount(self.ids, minlength=len(self.order))
        self.counts = {d: int(c) for d, c in zip(self.order, sizes)}

    @classmethod
    def of(cls, domains: Any, *, n: int | None = None, name: str = "domains") -> PoolDomains:
        """``domains`` itself when it is already a :class:`PoolDomains` (of ``n`` rows),
        else a new one."""
        if isinstance(domains, PoolDomains):
            if n is not None and len(domains) != n:
                raise InvalidInputError(
                    f"{name}: expected one label per pool example ({n}), got {len(domains)}")
            return domains
        return cls(domains, n=n, name=name)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Hashable:
        return self.labels[i]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.labels)

    def __repr__(self) -> str:
        return f"PoolDomains({len(self)} rows, counts={self.counts})"

    @cached_property
    def positions(self) -> dict[Hashable, np.ndarray]:
        """``{domain: its rows, ascending}`` in ``order`` (one stable sort)."""
        rows = np.argsort(self.ids, kind="stable")
        bounds = np.cumsum([0, *self.counts.values()])
        return {d: rows[bounds[i]:bounds[i + 1]] for i, d in enumerate(self.order)}

    def id_tensor(self, device: torch.device | str | None = None) -> torch.Tensor:
        """``ids`` as a long tensor on ``device``."""
        return torch.as_tensor(self.ids, dtype=torch.long, device=device)

    def same_domain(self, like: torch.Tensor) -> torch.Tensor:
        """``(N, N)`` indicator of rows of the same domain, in ``like``'s dtype and device."""
        ids = self.id_tensor(like.device)
        return (ids[:, None] == ids[None, :]).to(like.dtype)

    def partition_matroid(self, quotas: Mapping[Hashable, int]) -> mo.PartitionMatroid:
        """The partition matroid of per-domain ``quotas`` (absent domains: 0)."""
        return mo.PartitionMatroid(self.id_tensor(),
                                   [int(quotas.get(d, 0)) for d in self.order])
