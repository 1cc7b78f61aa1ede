"""The reference engine: per-example gradients by ``torch.func`` (``vmap`` over ``grad``).

One functional forward and backward per example, batched by ``vmap``. Slower than the capture
engine (:mod:`.capture`) but general: any parameter of any module. It is the fallback for
parameters the capture engine cannot serve, and the oracle the tests compare it against.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from matroidopt.errors import InvalidInputError

from .batch import _accepts, _logits, _mean_target_nll, _model_float_dtype, position_ids


def _attention_bias(model: nn.Module, mask: torch.Tensor | None) -> torch.Tensor | None:
    """Per-example 4-D attention masks ``(N, 1, 1, T, T)`` built outside ``vmap``.

    Hugging Face builds its 4-D mask from a 2-D padding mask with data-dependent control flow
    (e.g. "is the mask all ones?"), which ``vmap`` refuses; a ready 4-D mask is used as is.
    The mask is the one transformers builds itself (causal ∧ key not padded): boolean for
    ``sdpa``, additive (0 / dtype min) for ``eager``. Returns None when there is no padding.
    """
    if mask is None or bool(mask.all()):
        return None
    cfg = getattr(model, "config", None)
    impl = getattr(cfg, "_attn_implementation", None) or "eager"
    n, t = mask.shape
    window = getattr(cfg, "sliding_window", None)
    if isinstance(window, int) and 0 < window < t:
        raise InvalidInputError(
            f"attention_mask: padded batches are not supported for sliding-window attention "
            f"(sliding_window={window} < sequence length {t}); right-pad with labels -100 and "
            "pass attention_mask=None"
        )
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=mask.device))
    allowed = causal.unsqueeze(0) & mask.bool().unsqueeze(1)  # (N, T_q, T_k)
    allowed = allowed[:, None, None]  # (N, 1, 1, T, T): one (1, 1, T, T) mask per example
    if impl == "sdpa":
        return allowed
    if impl == "eager":
        dtype = _model_float_dtype(model)
        bias = torch.zeros(allowed.shape, dtype=dtype, device=mask.device)
        return bias.masked_fill(~allowed, torch.finfo(dtype).min)
    raise InvalidInputError(
        f"attention_mask: padded batches need attn_implementation 'eager' or 'sdpa' "
        f"(got {impl!r}); right-pad with labels -100 and pass attention_mask=None, or load the "
        "model with attn_implementation='sdpa'"
    )


# --------------------------------------------------------------------------- gradients
def reference_chunks(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor,
                     mask: torch.Tensor | None, selected: dict, chunk_size: int, sink) -> None:
    """Per-example gradients chunk by chunk; ``sink(start, G_chunk)`` with G fp32 (c × P)."""
    from torch.func import functional_call, grad, vmap

    names = list(selected)
    params = {n: selected[n].detach() for n in names}
    constants: dict[str, torch.Tensor] = {
        n: p.detach() for n, p in model.named_parameters() if n not in selected
    }
    constants.update({n: b.detach() for n, b in model.named_buffers()})
    bias = _attention_bias(model, mask)
    left_padded = mask is not None and bool((mask[:, 1:] > mask[:, :-1]).any())
    pos = position_ids(mask) if left_padded and _accepts(model, "position_ids") else None

    def loss(p, x, y, m, q):
        kwargs = {"input_ids": x.unsqueeze(0), "use_cache": False}
        if m is not None:
            kwargs["attention_mask"] = m
        if q is not None:
            kwargs["position_ids"] = q.unsqueeze(0)
        out = functional_call(model, (p, constants), args=(), kwargs=kwargs)
        return _mean_target_nll(_logits(out), y.unsqueeze(0))[0]

    per_example = vmap(grad(loss), in_dims=(None, 0, 0, None if bias is None else 0,
                                            None if pos is None else 0),
                       randomness="different")
    n = ids.shape[0]
    with warnings.catch_warnings():
        # functorch's fallback for ops without a batching rule (e.g. sdpa's CPU backward)
        # is correct, only slower; the warning is noise for users of this function.
        warnings.filterwarnings("ignore", message=".*performance drop.*batching rule.*")
        for s in range(0, n, chunk_size):
            e = min(n, s + chunk_size)
            g = per_example(params, ids[s:e], labels[s:e], None if bias is None else bias[s:e],
                            None if pos is None else pos[s:e])
            sink(s, torch.cat([g[k].reshape(e - s, -1).float() for k in names], dim=1))

