"""Closed-form per-example gradients of the output layer: ``(softmax − onehot) ⊗ hidden``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError

from .batch import IGNORE_INDEX, _logits, _mode, forward_kwargs, prepare_batch
from .filters import _output_layer, select_parameters

__all__ = ["lm_head_gradients"]


def lm_head_chunks(model, ids, labels, mask, chunk_size, sink) -> None:
    found = _output_layer(model)
    if found is None:
        raise InvalidInputError(
            "model: no output layer found (get_output_embeddings() and no 'lm_head' module)"
        )
    head = found[1]
    captured: list[torch.Tensor] = []

    def hook(module, args, kwargs):
        h = args[0] if args else next(iter(kwargs.values()))
        captured.append(h)

    handle = head.register_forward_pre_hook(hook, with_kwargs=True)
    n = ids.shape[0]
    try:
        with torch.no_grad():
            for s in range(0, n, chunk_size):
                e = min(n, s + chunk_size)
                captured.clear()
                logits = _logits(model(**forward_kwargs(model, ids, mask, s, e)))
                hidden = captured[-1][:, :-1].float()  # (c, T-1, H)
                tgt = labels[s:e, 1:]
                valid = tgt != IGNORE_INDEX
                r = torch.softmax(logits[:, :-1].float(), dim=-1)  # (c, T-1, V)
                r.scatter_add_(-1, tgt.clamp_min(0).unsqueeze(-1),
                               -valid.unsqueeze(-1).to(r.dtype))
                w = valid.to(r.dtype) / valid.sum(-1, keepdim=True).clamp_min(1).to(r.dtype)
                g = torch.einsum("ctv,cth->cvh", r * w.unsqueeze(-1), hidden)
                sink(s, g.reshape(e - s, -1))
    finally:
        handle.remove()

def lm_head_gradients(
    model: nn.Module,
    input_ids: Any,
    labels: Any,
    attention_mask: Any = None,
    *,
    chunk_size: int = 8,
    eval_mode: bool = False,
) -> torch.Tensor:
    """Closed-form per-example gradients w.r.t. the output layer weight, ``N × (V·H)``.

    For logits ``z_t = W h_t`` (``W`` the ``V × H`` output weight, ``h_t`` the final hidden
    state that enters it), the gradient of example ``i``'s mean target NLL is

    ``∇_W ℓ_i = (1/|T_i|) Σ_{t ∈ T_i} (softmax(z_t) − onehot(y_{t+1})) h_tᵀ``

    over its target positions ``T_i``; no autograd is needed, one forward pass suffices
    (``h_t`` is captured by a forward pre-hook on the output layer). Rows are
    ``W``-shaped gradients flattened row-major, so they equal
    ``per_example_gradients(..., param_filter="lm_head")``. With tied input/output
    embeddings this is the output-layer part of the shared weight's gradient only.

    Parameters
    ----------
    model, input_ids, labels, attention_mask, chunk_size, eval_mode
        As in :func:`per_example_gradients` (here ``attention_mask`` is passed to the model's
        own forward, so any attention implementation works).

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, V·H)``; zero rows for examples without targets.

    Notes
    -----
    Time ``O(N·T·V·H)`` for the outer products on top of one forward pass; memory
    ``chunk_size · T · V`` for the softmax plus the ``N × V·H`` output — large for real
    vocabularies (use :func:`gradient_features` with a sketch, which streams chunks).

    Examples
    --------
    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from llm_minibatch.features import per_example_gradients
    >>> _ = torch.manual_seed(0)
    >>> cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16,
    ...                   num_hidden_layers=2, num_attention_heads=2, tie_word_embeddings=False)
    >>> model = LlamaForCausalLM(cfg)
    >>> ids = torch.randint(0, 32, (3, 6))
    >>> A = lm_head_gradients(model, ids, ids)
    >>> B = per_example_gradients(model, ids, ids, param_filter="lm_head")
    >>> torch.allclose(A, B, atol=1e-6)
    True
    """
    ids, lab, mask, chunk_size = prepare_batch(model, input_ids, labels, attention_mask,
                                               chunk_size)
    weight = select_parameters(model, "lm_head")
    total = sum(p.numel() for p in weight.values())
    out = torch.empty(ids.shape[0], total, dtype=torch.float32, device=ids.device)

    def sink(s, g):
        out[s:s + g.shape[0]] = g

    with _mode(model, bool(eval_mode)):
        lm_head_chunks(model, ids, lab, mask, chunk_size or 8, sink)
    return out

