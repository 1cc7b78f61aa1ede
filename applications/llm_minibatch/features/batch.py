"""The batch a feature pass sees: input checks, the padding convention, the per-example loss.

The loss
--------
For an example with token ids ``x`` and labels ``y`` (both of length ``T``), the model's logits
at position ``t`` predict ``y[t + 1]`` (the usual causal shift, as in Hugging Face's
``ForCausalLMLoss``); targets equal to ``-100`` are ignored and the loss ``ℓ_i`` is the mean
over the remaining ones. An example without any target token has loss 0 and a zero gradient
row (never NaN).

Padding
-------
Padding positions carry ``attention_mask == 0`` (and should carry the label ``-100``). A
target whose *predicting* position is padding is ignored too: with left padding the first
real token's label would otherwise be predicted from the last padding position, a prediction
the unpadded row never makes. So a left- or right-padded row has exactly the loss — and, up
to rounding, the gradient — of the same row without its padding. Position ids count real
tokens only (``cumsum(attention_mask) - 1``), as in generation with left padding.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

IGNORE_INDEX = -100

def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _model_float_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _vocab_size(model: nn.Module) -> int | None:
    cfg = getattr(model, "config", None)
    v = getattr(cfg, "vocab_size", None)
    return int(v) if isinstance(v, int) and v > 0 else None


def _as_index_tensor(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInputError(f"{name}: expected a 2-D integer tensor, got {x!r}") from exc
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise InvalidInputError(f"{name}: expected an integer tensor, got dtype {x.dtype}")
    return x


def _check_batch(model: nn.Module, input_ids: Any, labels: Any, attention_mask: Any
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    device = _model_device(model)
    ids = _as_index_tensor(input_ids, "input_ids")
    if ids.dim() != 2:
        raise InvalidInputError(
            f"input_ids: expected shape (N, T), got {tuple(ids.shape)}"
        )
    if ids.shape[0] == 0:
        raise InvalidInputError("input_ids: empty batch (N = 0); expected at least one example")
    if ids.shape[1] == 0:
        raise InvalidInputError("input_ids: empty sequences (T = 0)")
    lab = _as_index_tensor(labels, "labels")
    if tuple(lab.shape) != tuple(ids.shape):
        raise InvalidInputError(
            f"labels: expected the shape of input_ids {tuple(ids.shape)}, got {tuple(lab.shape)}"
        )
    vocab = _vocab_size(model)
    if vocab is not None:
        if bool(((ids < 0) | (ids >= vocab)).any()):
            raise InvalidInputError(f"input_ids: token ids must lie in [0, {vocab})")
        ok = (lab == IGNORE_INDEX) | ((lab >= 0) & (lab < vocab))
        if not bool(ok.all()):
            raise InvalidInputError(
                f"labels: expected {IGNORE_INDEX} (ignored) or a token id in [0, {vocab})"
            )
    mask = None
    if attention_mask is not None:
        mask = torch.as_tensor(attention_mask)
        if tuple(mask.shape) != tuple(ids.shape):
            raise InvalidInputError(
                f"attention_mask: expected the shape of input_ids {tuple(ids.shape)}, "
                f"got {tuple(mask.shape)}"
            )
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise InvalidInputError("attention_mask: expected 0/1 entries")
        mask = mask.to(device=device, dtype=torch.long)
    return ids.to(device=device, dtype=torch.long), lab.to(device=device, dtype=torch.long), mask




def mask_padded_predictions(labels: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Labels with every target predicted from a padding position set to ``-100``.

    Position ``t`` predicts ``labels[t + 1]``; where ``mask[t] == 0`` that target is dropped.
    Returns ``labels`` itself when nothing changes.

    Examples
    --------
    >>> import torch
    >>> lab = torch.tensor([[-100, -100, 5, 6, 7]])
    >>> mask = torch.tensor([[0, 0, 1, 1, 1]])
    >>> mask_padded_predictions(lab, mask).tolist()   # 5 follows padding: no target
    [[-100, -100, -100, 6, 7]]
    """
    if mask is None or bool(mask.all()):
        return labels
    drop = torch.zeros_like(labels, dtype=torch.bool)
    drop[:, 1:] = mask[:, :-1] == 0
    drop |= mask == 0
    return labels.masked_fill(drop, IGNORE_INDEX)


def position_ids(mask: torch.Tensor | None) -> torch.Tensor | None:
    """``cumsum(mask) - 1`` clamped at 0 (real tokens numbered from 0), or None without
    padding."""
    if mask is None or bool(mask.all()):
        return None
    return (mask.cumsum(-1) - 1).clamp_min(0)


def _accepts(model: nn.Module, name: str) -> bool:
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def forward_kwargs(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor | None, start: int,
                   stop: int) -> dict[str, Any]:
    """Keyword arguments of the model's forward for rows ``start:stop``: ids, and with padding
    the attention mask and — for left-padded rows, if the forward takes them — real-token
    position ids; no cache. (Right padding leaves every real token's position unchanged.)"""
    kwargs: dict[str, Any] = {"input_ids": ids[start:stop], "use_cache": False}
    if mask is not None:
        part = mask[start:stop]
        kwargs["attention_mask"] = part
        left_padded = bool((part[:, 1:] > part[:, :-1]).any())
        if left_padded and _accepts(model, "position_ids"):
            kwargs["position_ids"] = position_ids(part)
    return kwargs


def prepare_batch(model: Any, input_ids: Any, labels: Any, attention_mask: Any,
                  chunk_size: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None,
                                            int | None]:
    """Validate a feature call's batch once: ``(ids, labels, mask, chunk_size)`` on the
    model's device, labels with the padding convention applied."""
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    ids, lab, mask = _check_batch(model, input_ids, labels, attention_mask)
    return ids, mask_padded_predictions(lab, mask), mask, chunk_size


@contextlib.contextmanager
def _mode(model: nn.Module, eval_mode: bool) -> Iterator[None]:
    """Optionally switch to eval mode; restore every submodule's own flag afterwards."""
    if not eval_mode:
        yield
        return
    before = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in before:
            m.training = flag


# --------------------------------------------------------------------------- loss
def _mean_target_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-example mean NLL over target tokens: ``(B, T, V), (B, T) -> (B,)``, fp32."""
    lg = logits[:, :-1].float()
    tgt = labels[:, 1:]
    valid = tgt != IGNORE_INDEX
    logp = torch.log_softmax(lg, dim=-1)
    nll = -logp.gather(-1, tgt.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    nll = torch.where(valid, nll, torch.zeros_like(nll))
    return nll.sum(-1) / valid.sum(-1).clamp_min(1).to(nll.dtype)


def _logits(out: Any) -> torch.Tensor:
    lg = getattr(out, "logits", None)
    return lg if lg is not None else out[0]

