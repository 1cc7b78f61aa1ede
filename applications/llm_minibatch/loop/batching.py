"""Batching helpers of the torch loop: collating examples into padded pools, default labels,
trimming padding."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from matroidopt.errors import InvalidInputError

from ..features import (
    _as_index_tensor,
)

IGNORE_INDEX = -100


def _labels_from(input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Default causal-LM labels: the inputs, with padding (mask 0) ignored."""
    labels = input_ids.clone()
    if attention_mask is not None:
        labels[attention_mask == 0] = IGNORE_INDEX
    return labels


def _as_2d_int(x: Any, name: str) -> torch.Tensor:
    x = _as_index_tensor(x, name)
    if x.dim() != 2:
        raise InvalidInputError(
            f"{name}: expected a 2-D integer tensor (examples × tokens), got shape "
            f"{tuple(x.shape)} and dtype {x.dtype}")
    return x


def _row(example: Mapping, key: str, where: str) -> torch.Tensor:
    return _as_index_tensor(example[key], f"{where}: {key!r}").to(torch.long).reshape(-1)


def collate_examples(examples: Sequence[Mapping], pad_token_id: int, *,
                     arg: str = "examples_or_batch", keep_mask: bool = False) -> dict:
    """Right-pad a list of encoded examples (token-id sequences) into a batch dict.

    Missing labels default to the inputs with padding ignored, missing attention masks to
    ones. The mask is returned when ``keep_mask`` or when some position is masked. Errors name
    ``arg``. Used for pools (the Trainer's collator) and held-out anchors alike.

    Examples
    --------
    >>> from llm_minibatch.loop import collate_examples
    >>> b = collate_examples([{"input_ids": [5, 6, 7]}, {"input_ids": [8]}], pad_token_id=0)
    >>> b["input_ids"].tolist(), b["labels"].tolist(), b["attention_mask"].tolist()
    ([[5, 6, 7], [8, 0, 0]], [[5, 6, 7], [8, -100, -100]], [[1, 1, 1], [1, 0, 0]])
    """
    ids, labs, masks = [], [], []
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping) or "input_ids" not in ex:
            keys = list(ex)[:8] if isinstance(ex, Mapping) else type(ex).__name__
            raise InvalidInputError(f"{arg}: example {i} has no 'input_ids' (got {keys})")
        where = f"{arg}: example {i}"
        x = _row(ex, "input_ids", where)
        m = (torch.ones_like(x) if ex.get("attention_mask") is None
             else _row(ex, "attention_mask", where))
        y = _labels_from(x, m) if ex.get("labels") is None else _row(ex, "labels", where)
        if not (x.numel() == m.numel() == y.numel()) or x.numel() == 0:
            raise InvalidInputError(
                f"{arg}: example {i} has input_ids/labels/attention_mask of lengths "
                f"{x.numel()}/{y.numel()}/{m.numel()}; expected equal, non-zero lengths")
        ids.append(x)
        labs.append(y)
        masks.append(m)
    t = max(x.numel() for x in ids)

    def pad(rows, value):
        out = torch.full((len(rows), t), value, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, :r.numel()] = r
        return out

    batch = {"input_ids": pad(ids, pad_token_id), "labels": pad(labs, IGNORE_INDEX)}
    mask = pad(masks, 0)
    if keep_mask or not bool(mask.all()):
        batch["attention_mask"] = mask
    return batch


def trim_padding(batch: Mapping[str, Any]) -> dict:
    """Drop the trailing columns that are padding in every row (attention mask 0 everywhere).

    Exact for causal LMs: later positions never influence earlier ones, and the dropped
    positions carry no target. Entries that are not ``(rows, columns)`` tensors of the mask's
    width pass through unchanged; a batch without a 2-D mask is returned as is.

    Examples
    --------
    >>> import torch
    >>> b = {"input_ids": torch.tensor([[5, 6, 0], [7, 0, 0]]),
    ...      "attention_mask": torch.tensor([[1, 1, 0], [1, 0, 0]])}
    >>> trim_padding(b)["input_ids"].tolist()
    [[5, 6], [7, 0]]
    """
    mask = batch.get("attention_mask")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[0] == 0:
        return dict(batch)
    used = mask.ne(0).any(0).nonzero()
    t = int(used.max()) + 1 if used.numel() else 1
    width = mask.shape[1]
    if t == width:
        return dict(batch)
    return {k: (v[:, :t] if isinstance(v, torch.Tensor) and v.dim() >= 2 and v.shape[1] == width
                else v) for k, v in batch.items()}
