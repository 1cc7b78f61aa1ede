"""Held-out anchors: the per-step draw of validation examples whose mean gradient is the
target, and the split that holds them out."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from ..features import (
    _mix_seed,
)
from ..selection import (
    compute_quotas,
)
from ..selection.domains import domain_order
from .batching import _as_2d_int, _labels_from, collate_examples
from .labels import _domain_list

# mixed into the per-step seed of the anchor draw (the selector mixes its own tags)
_TAG_ANCHORS = 0x414E43


# --------------------------------------------------------------------------- anchors
class AnchorSampler:
    """A held-out set of anchor examples and a seeded per-step draw of ``n_anchors`` of them.

    The anchors' mean normalised gradient is PartitionSel's validation target ``ḡ``
    (``PARTITIONSEL.md`` step 3). The draw for step ``t`` comes from a generator seeded from
    ``(seed, t)`` alone: the same step always gives the same anchors, on every rank and after
    a resume.

    Parameters
    ----------
    examples_or_batch : mapping or sequence of mappings
        Either an encoded batch ``{"input_ids": (M, T), "labels": (M, T), "attention_mask":
        (M, T)}`` (labels and mask optional; any other key is ignored), or a sequence of
        encoded examples (mappings with ``input_ids`` and optional ``labels`` /
        ``attention_mask``, lists or 1-D tensors), which are right-padded (``pad_token_id``,
        labels ``-100``, mask 0). Missing labels default to the input ids with padding
        (mask 0) ignored.
    n_anchors : int, default 4
        Anchors per step ``A``; a held-out set smaller than ``A`` gives all its rows each step.
    seed : int, default 0
    pad_token_id : int, default 0
        Padding id used when collating a sequence of examples.
    domains : sequence of hashable labels, optional
        The domain of every held-out row (needed by ``balance="domain"``).
    balance : {None, "domain"}, default None
        ``None``: a uniform draw of ``n_anchors`` rows from the whole held-out set (its
        target ``ḡ`` weighs domains by their share of the held-out set). ``"domain"``: the
        same number ``m = ceil(n_anchors / D)`` of rows from each of the ``D`` domains every
        step (uniformly inside each, capped at the smallest domain's size), so the mean of
        the anchor gradients is the mean of the per-domain anchor means: every domain weighs
        the same in the target.

    Attributes
    ----------
    batch : dict of torch.Tensor
        The held-out set as a batch (first dimension: examples).
    n_anchors : int
        The effective ``A`` (``min(n_anchors, len(self))``; ``D · m`` with
        ``balance="domain"``).
    domains : list or None
        The held-out rows' domains, when given.

    Raises
    ------
    InvalidInputError
        Naming ``examples_or_batch`` (empty, missing ``input_ids``, shapes that disagree),
        ``n_anchors < 1``, a negative ``seed``, ``domains`` of the wrong length, or
        ``balance`` not in ``{None, "domain"}`` (``"domain"`` without ``domains``).

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.loop import AnchorSampler
    >>> held = AnchorSampler([{"input_ids": [1, 2, 3]}, {"input_ids": [4, 5]},
    ...                       {"input_ids": [6, 7, 8, 9]}], n_anchors=2, seed=0)
    >>> len(held), held.batch["input_ids"].shape
    (3, torch.Size([3, 4]))
    >>> a = held.sample(5)
    >>> sorted(a), a["input_ids"].shape
    (['attention_mask', 'input_ids', 'labels'], torch.Size([2, 4]))
    >>> torch.equal(a["input_ids"], held.sample(5)["input_ids"])   # same step, same anchors
    True

    Domain-balanced anchors: two of each domain per step, however skewed the held-out set.

    >>> ids = torch.arange(20).reshape(10, 2)
    >>> bal = AnchorSampler({"input_ids": ids}, n_anchors=4, domains=list("aaaaaaaabb"),
    ...                     balance="domain")
    >>> sorted("aaaaaaaabb"[i] for i in bal.sample_indices(3).tolist())
    ['a', 'a', 'b', 'b']
    """

    #: Accepted values of ``balance``.
    BALANCES = (None, "domain")

    def __init__(self, examples_or_batch: Any, n_anchors: int = 4, seed: int = 0, *,
                 pad_token_id: int = 0, domains: Sequence[Any] | None = None,
                 balance: str | None = None):
        n_anchors = check_int(n_anchors, "n_anchors", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        pad_token_id = check_int(pad_token_id, "pad_token_id", minimum=0)
        if isinstance(examples_or_batch, Mapping):
            batch = self._from_batch(examples_or_batch)
        elif isinstance(examples_or_batch, Sequence) and not isinstance(examples_or_batch,
                                                                        (str, bytes)):
            if len(examples_or_batch) == 0:
                raise InvalidInputError("examples_or_batch: the held-out set is empty")
            batch = collate_examples(examples_or_batch, pad_token_id)
        else:
            raise InvalidInputError(
                "examples_or_batch: expected an encoded batch (mapping with 'input_ids') or a "
                f"sequence of encoded examples, got {type(examples_or_batch).__name__}")
        self.batch = batch
        self.n_anchors = min(n_anchors, len(self))
        if balance not in self.BALANCES:
            raise InvalidInputError(
                f"balance: expected one of {list(self.BALANCES)}, got {balance!r}")
        self.balance = balance
        self.domains = None
        self._groups: list[torch.Tensor] = []
        if domains is not None:
            labels = _domain_list(domains, "domains")
            if len(labels) != len(self):
                raise InvalidInputError(
                    f"domains: expected one label per held-out row ({len(self)}), got "
                    f"{len(labels)}")
            self.domains = labels
        if balance == "domain":
            if self.domains is None:
                raise InvalidInputError(
                    'domains: balance="domain" needs the domain of every held-out row')
            rows: dict[Any, list[int]] = {}
            for i, dom in enumerate(self.domains):
                rows.setdefault(dom, []).append(i)
            groups = [rows[dom] for dom in domain_order(set(rows))]
            per = min(math.ceil(n_anchors / len(groups)), min(len(g) for g in groups))
            self._per_domain = per
            self._groups = [torch.as_tensor(g, dtype=torch.long) for g in groups]
            self.n_anchors = per * len(groups)

    @staticmethod
    def _from_batch(batch: Mapping) -> dict:
        if "input_ids" not in batch:
            raise InvalidInputError(
                f"examples_or_batch: the batch has no 'input_ids' (keys: {list(batch)[:8]})")
        ids = _as_2d_int(batch["input_ids"], "examples_or_batch['input_ids']")
        if ids.shape[0] == 0 or ids.shape[1] == 0:
            raise InvalidInputError(
                f"examples_or_batch: the held-out set is empty (input_ids {tuple(ids.shape)})")
        mask = batch.get("attention_mask")
        if mask is not None:
            mask = _as_2d_int(mask, "examples_or_batch['attention_mask']")
        labels = batch.get("labels")
        labels = (_labels_from(ids, mask) if labels is None
                  else _as_2d_int(labels, "examples_or_batch['labels']"))
        out = {"input_ids": ids, "labels": labels}
        if mask is not None:
            out["attention_mask"] = mask
        for k, v in out.items():
            if tuple(v.shape) != tuple(ids.shape):
                raise InvalidInputError(
                    f"examples_or_batch: '{k}' has shape {tuple(v.shape)}, expected the shape "
                    f"of input_ids {tuple(ids.shape)}")
        return out

    def __len__(self) -> int:
        return int(self.batch["input_ids"].shape[0])

    def __repr__(self) -> str:
        extra = "" if self.balance is None else f", balance={self.balance!r}"
        return f"AnchorSampler({len(self)} held-out examples, n_anchors={self.n_anchors}, " \
               f"seed={self.seed}{extra})"

    def sample_indices(self, step: int) -> torch.Tensor:
        """Row indices of the anchors of ``step`` (a CPU long tensor of length ``n_anchors``)."""
        step = check_int(step, "step", minimum=0)
        g = torch.Generator().manual_seed(_mix_seed(self.seed, step, _TAG_ANCHORS))
        if self.balance == "domain":  # m rows of every domain, domains in a fixed order
            return torch.cat([rows[torch.randperm(len(rows), generator=g)[: self._per_domain]]
                              for rows in self._groups])
        return torch.randperm(len(self), generator=g)[: self.n_anchors]

    def take(self, indices: Any) -> dict:
        """The held-out rows ``indices`` as a batch dict."""
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        return {k: v[idx.to(v.device)] for k, v in self.batch.items()}

    def sample(self, step: int) -> dict:
        """The anchors of ``step``: ``n_anchors`` rows drawn with a generator seeded by
        ``(seed, step)``, as a batch dict (``input_ids``, ``labels``, maybe
        ``attention_mask``)."""
        return self.take(self.sample_indices(step))


def split_anchors(n_examples: int, fraction: float = 0.005, seed: int = 0, minimum: int = 4,
                  *, domains: Sequence[Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n_examples)`` into training rows and a held-out anchor split.

    The anchor split has ``max(minimum, round(fraction · n_examples))`` rows (the paper's
    default: 0.5 % of the training set). With ``domains`` the split is stratified: the anchor
    count is shared over the domains by the proportional budget rule
    (:func:`~llm_minibatch.selection.proportional`), then drawn uniformly inside each domain.

    Parameters
    ----------
    n_examples : int
        Size of the training set.
    fraction : float, default 0.005
        In ``(0, 1)``.
    seed : int, default 0
    minimum : int, default 4
        Lower bound on the anchor count (typically the anchors per step).
    domains : sequence of n_examples labels, optional
        Stratify by domain.

    Returns
    -------
    (train_idx, anchor_idx) : tuple of numpy.ndarray
        Sorted, disjoint ``int64`` arrays covering ``range(n_examples)``.

    Raises
    ------
    InvalidInputError
        ``fraction`` outside ``(0, 1)``, ``minimum < 1``, ``n_examples`` too small to keep at
        least one training row, ``domains`` of the wrong length.

    Examples
    --------
    >>> from llm_minibatch.loop import split_anchors
    >>> train, anchors = split_anchors(2000, seed=0)
    >>> len(train), len(anchors), len(set(train) & set(anchors))
    (1990, 10, 0)
    >>> _, a = split_anchors(12, fraction=0.5, domains=["x"] * 8 + ["y"] * 4)
    >>> len(a)
    6
    """
    n = check_int(n_examples, "n_examples", minimum=1)
    fraction = check_real(fraction, "fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_int(seed, "seed", minimum=0)
    minimum = check_int(minimum, "minimum", minimum=1)
    k = max(minimum, int(round(fraction * n)))
    if k >= n:
        raise InvalidInputError(
            f"n_examples: holding out {k} anchors (fraction={fraction}, minimum={minimum}) "
            f"needs more than {k} examples, got {n}")
    rng = np.random.default_rng(seed)
    if domains is None:
        anchor = rng.permutation(n)[:k]
    else:
        labels = _domain_list(domains)
        if len(labels) != n:
            raise InvalidInputError(
                f"domains: expected {n} labels (one per example), got {len(labels)}")
        quotas = compute_quotas(labels, k, "proportional")
        where: dict = {}
        for i, d in enumerate(labels):
            where.setdefault(d, []).append(i)
        parts = [rng.choice(np.asarray(where[d]), size=k_d, replace=False)
                 for d, k_d in quotas.items() if k_d > 0]
        anchor = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    is_anchor = np.zeros(n, dtype=bool)
    is_anchor[anchor] = True
    return (np.flatnonzero(~is_anchor).astype(np.int64),
            np.flatnonzero(is_anchor).astype(np.int64))
