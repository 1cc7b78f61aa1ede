"""Logits at target positions only: the output layer applied where a loss needs it.

A causal LM's forward projects every position onto the vocabulary; a loss over answer tokens
needs the projection at target positions only. For the model types whose logits are exactly
``lm_head(hidden)`` (:data:`PLAIN_HEAD_MODEL_TYPES`: no soft-capping, scaling or bias after
the output layer), :func:`target_logits` stops the forward at the output layer's input and
applies the layer to the target rows alone. On SmolLM2-135M (vocabulary 49,152, hidden 576)
the projection of all positions is about a fifth of a forward pass, and its fp32 logits the
largest tensor of it; a prompt-heavy batch pays for neither. Every other model runs the full
forward and the target rows are picked from its logits (same numbers, the full cost).

Both the capture engine (:mod:`.capture`) and the evaluation
(:func:`llm_minibatch.evaluation.domain_losses`) use it.

Examples
--------
>>> import torch
>>> from llm_minibatch.features.head import plain_head, target_logits
>>> from llm_minibatch.models import tiny_llama
>>> model = tiny_llama(vocab_size=40, hidden_size=16, layers=2)
>>> plain_head(model) is model.lm_head
True
>>> ids = torch.randint(0, 40, (2, 6))
>>> labels = ids.clone(); labels[:, :3] = -100             # targets: the last three tokens
>>> logits, targets, rows = target_logits(model, labels, input_ids=ids)
>>> logits.shape, rows.tolist()                          # 2 rows x 3 targets, vocabulary 40
(torch.Size([6, 40]), [0, 0, 0, 1, 1, 1])
>>> full = model(input_ids=ids).logits[:, :-1][labels[:, 1:] != -100]
>>> torch.allclose(logits, full, atol=1e-5)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .batch import IGNORE_INDEX, _logits
from .filters import _output_layer

__all__ = ["PLAIN_HEAD_MODEL_TYPES", "StopAtHead", "plain_head", "target_logits"]

#: ``config.model_type`` values whose causal-LM forward returns ``lm_head(hidden)`` unchanged
#: (no soft-capping, scaling or bias after the output layer): the logits-at-targets shortcut.
PLAIN_HEAD_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3"})


class StopAtHead(Exception):
    """Ends a forward pass at the output layer's input (the rest is computed by the caller)."""


def plain_head(model: nn.Module, selected: Iterable[torch.Tensor] = ()) -> nn.Linear | None:
    """The output layer when ``lm_head(hidden)`` is exactly the model's logits, else None.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM (Hugging Face or peft-wrapped).
    selected : iterable of tensors, optional
        Parameters whose gradients a caller needs: when one of them belongs to the output
        layer, the shortcut does not apply (None).
    """
    cfg = getattr(model, "config", None)
    if getattr(cfg, "model_type", None) not in PLAIN_HEAD_MODEL_TYPES:
        return None
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None):
        return None
    found = _output_layer(model)
    if found is None or not isinstance(found[1], nn.Linear):
        return None
    head = found[1]
    chosen = {id(p) for p in selected}
    if any(id(p) in chosen for p in head.parameters()):
        return None
    return head


def target_logits(model: nn.Module, labels: torch.Tensor, **forward: Any
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits at the target positions of ``labels`` (Hugging Face shift), one forward pass.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM.
    labels : torch.Tensor
        ``(N, T)`` labels; position ``t``'s logits predict ``labels[:, t + 1]`` and
        ``-100`` marks no target.
    **forward
        The forward's keyword arguments (``input_ids``, ``attention_mask``, ...).

    Returns
    -------
    logits : torch.Tensor
        ``(M, V)``: one row per target, row-major over ``(row, position)``.
    targets : torch.Tensor
        ``(M,)`` the target token ids.
    rows : torch.Tensor
        ``(M,)`` the batch row of each target.
    """
    tgt = labels[:, 1:]
    rows, cols = (tgt != IGNORE_INDEX).nonzero(as_tuple=True)
    targets = tgt[rows, cols]
    head = plain_head(model)
    if head is None:
        return _logits(model(**forward))[:, :-1][rows, cols], targets, rows
    seen: dict[str, torch.Tensor] = {}

    def stop(module: nn.Module, args: tuple, kwargs: dict) -> None:
        seen["hidden"] = args[0] if args else next(iter(kwargs.values()))
        raise StopAtHead

    out = None
    handle = head.register_forward_pre_hook(stop, with_kwargs=True)
    try:
        out = model(**forward)
    except StopAtHead:
        pass
    finally:
        handle.remove()
    if "hidden" not in seen:  # the forward never reached the output layer: its own logits
        return _logits(out)[:, :-1][rows, cols], targets, rows
    return head(seen["hidden"][:, :-1][rows, cols]), targets, rows
