"""Per-example gradient features for PartitionSel (``PARTITIONSEL.md``, step 2).

Each pool example ``i`` is represented by ``g_i``, the gradient of its loss — the mean token
negative log-likelihood over its target tokens — with respect to a chosen subset of the
model's parameters, optionally sketched to ``p`` dimensions by a seeded random projection and
L2-normalised.

Pieces
------
Parameter filters
    :func:`lora_last_blocks` (the default ``"lora"``: LoRA adapter matrices of the last three
    transformer blocks), ``"lora_all"`` (every LoRA matrix), ``"lm_head"`` (the output layer,
    which has a closed form), an explicit collection of parameter names, or any predicate
    ``(name, param) -> bool``. :func:`select_parameters` resolves a filter to
    ``{name: parameter}`` in ``model.named_parameters()`` order; that order fixes the layout
    of the flattened gradient columns.
Gradients
    :func:`per_example_gradients` (``torch.func``: ``functional_call`` + ``vmap`` + ``grad``,
    chunked over examples) and :func:`lm_head_gradients` (closed form
    ``(softmax − onehot) ⊗ hidden``, no autograd).
Sketches
    :class:`Sketch`: subsampled randomised Hadamard transform (``"srht"``) or a dense
    Rademacher projection (``"rademacher"``), both seeded and deterministic.
Composition
    :func:`gradient_features` = gradients → sketch → :func:`normalize_rows`, streamed chunk by
    chunk so the unsketched ``N × P`` matrix is never held when a sketch is asked for.

The loss
--------
For an example with token ids ``x`` and labels ``y`` (both of length ``T``), the model's logits
at position ``t`` predict ``y[t + 1]`` (the usual causal shift, as in Hugging Face's
``ForCausalLMLoss``); targets equal to ``-100`` are ignored and the loss is the mean over the
remaining ones. An example without any target token has loss 0 and a zero gradient row (never
NaN). Padding positions must carry the label ``-100``, exactly as for ``model(..., labels=...)``.

Examples
--------
>>> import torch
>>> from peft import LoraConfig, get_peft_model
>>> from transformers import LlamaConfig, LlamaForCausalLM
>>> from llm_minibatch.features import gradient_features
>>> _ = torch.manual_seed(0)
>>> cfg = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=4,
...                   num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
>>> model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(
...     r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
>>> ids = torch.randint(0, 64, (4, 8))
>>> G = gradient_features(model, ids, ids, sketch_dim=32, seed=0)
>>> G.shape
torch.Size([4, 32])
>>> torch.allclose(G.norm(dim=1), torch.ones(4))
True
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn

from matroidopt._backend import check_int
from matroidopt.errors import InvalidInputError

__all__ = [
    "FILTERS",
    "SKETCHES",
    "Sketch",
    "gradient_features",
    "lm_head_gradients",
    "lora_last_blocks",
    "normalize_rows",
    "per_example_gradients",
    "select_parameters",
]

FILTERS = ("lora", "lora_all", "lm_head")
"""Named parameter filters accepted wherever a ``param_filter`` is."""

SKETCHES = ("srht", "rademacher")
"""Sketch kinds accepted by :class:`Sketch` and :func:`gradient_features`."""

IGNORE_INDEX = -100
_DEFAULT_LORA_BLOCKS = 3
_BLOCK_RE = re.compile(r"\.(?:layers|layer|h|blocks|block)\.(\d+)\.")
_LORA_RE = re.compile(r"\.lora_[AB]\.")

ParamFilter = str | Callable[[str, torch.Tensor], bool] | Iterable[str]


# --------------------------------------------------------------------------- parameter filters
def _block_index(name: str) -> int | None:
    m = _BLOCK_RE.search("." + name)
    return int(m.group(1)) if m else None


def _is_lora_matrix(name: str) -> bool:
    return bool(_LORA_RE.search(name)) and name.endswith(".weight")


class _LoraFilter:
    """Predicate: LoRA ``lora_A``/``lora_B`` weights, optionally restricted to some blocks."""

    def __init__(self, blocks: frozenset[int] | None):
        self.blocks = blocks

    def __call__(self, name: str, param: torch.Tensor) -> bool:
        if not _is_lora_matrix(name):
            return False
        return self.blocks is None or _block_index(name) in self.blocks

    def __repr__(self) -> str:
        if self.blocks is None:
            return "lora adapter matrices (every block)"
        return f"lora adapter matrices of blocks {sorted(self.blocks)}"


def lora_last_blocks(model: nn.Module, n_blocks: int = _DEFAULT_LORA_BLOCKS) -> _LoraFilter:
    """Predicate selecting the LoRA matrices of the model's last ``n_blocks`` blocks.

    The block of a parameter is the integer after ``layers.`` (Llama, Qwen2, Mistral, ...;
    also ``h.``, ``layer.``, ``blocks.``) in its name, e.g.
    ``base_model.model.model.layers.3.self_attn.q_proj.lora_A.default.weight`` is in block 3.
    "Last" refers to the model's blocks (every parameter name counts), not only those that
    carry adapters; a LoRA matrix is a ``.weight`` under a ``lora_A`` or ``lora_B`` module (all
    adapters of a multi-adapter peft model are included).

    Parameters
    ----------
    model : torch.nn.Module
        Typically a peft-wrapped causal LM (``peft.get_peft_model``).
    n_blocks : int, default 3
        How many of the last blocks to take (all of them if the model has fewer).

    Returns
    -------
    callable
        ``(name, param) -> bool``, usable as ``param_filter``.

    Raises
    ------
    InvalidInputError
        ``n_blocks < 1``, or no parameter name of ``model`` shows a block index.

    Examples
    --------
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16,
    ...                   num_hidden_layers=5, num_attention_heads=2)
    >>> keep = lora_last_blocks(LlamaForCausalLM(cfg), n_blocks=2)
    >>> keep
    lora adapter matrices of blocks [3, 4]
    >>> keep("model.layers.4.self_attn.q_proj.lora_B.default.weight", None)
    True
    >>> keep("model.layers.2.self_attn.q_proj.lora_B.default.weight", None)
    False
    """
    n_blocks = check_int(n_blocks, "n_blocks", minimum=1)
    indices = sorted({i for name, _ in model.named_parameters() if (i := _block_index(name))
                      is not None})
    if not indices:
        raise InvalidInputError(
            "model: no transformer blocks found (no parameter name contains 'layers.<i>.', "
            "'h.<i>.', 'layer.<i>.' or 'blocks.<i>.'); pass an explicit param_filter instead"
        )
    return _LoraFilter(frozenset(indices[-n_blocks:]))


def _output_layer(model: nn.Module) -> tuple[str, nn.Module] | None:
    """``(qualified name, module)`` of the output layer, or None when it cannot be found."""
    out = None
    getter = getattr(model, "get_output_embeddings", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            out = getter()
    modules = dict(model.named_modules(remove_duplicate=False))
    if out is None:
        cands = [n for n in modules if n == "lm_head" or n.endswith(".lm_head")]
        if not cands:
            return None
        return cands[0], modules[cands[0]]
    names = [n for n, m in modules.items() if m is out]
    if not names:
        return None
    names.sort(key=lambda n: ("lm_head" not in n, len(n)))
    return names[0], out


def _lm_head_weight(model: nn.Module) -> dict[str, nn.Parameter]:
    found = _output_layer(model)
    if found is None:
        return {}
    mod_name, mod = found
    weight = getattr(mod, "weight", None)
    if not isinstance(weight, torch.Tensor):
        return {}
    names = [n for n, p in model.named_parameters(remove_duplicate=False) if p is weight]
    if not names:
        return {}
    prefix = mod_name + "."
    names.sort(key=lambda n: (not n.startswith(prefix), len(n)))
    return {names[0]: weight}


def _resolve_filter(model: nn.Module, param_filter: Any) -> Callable[[str, torch.Tensor], bool]:
    if isinstance(param_filter, str):
        if param_filter == "lora":
            return lora_last_blocks(model, _DEFAULT_LORA_BLOCKS)
        if param_filter == "lora_all":
            return _LoraFilter(None)
        raise InvalidInputError(
            f"param_filter: unknown name {param_filter!r}; expected one of {FILTERS}, "
            "a collection of parameter names, or a predicate (name, param) -> bool"
        )
    if callable(param_filter):
        return param_filter
    if isinstance(param_filter, Iterable):
        wanted = list(param_filter)
        if not all(isinstance(n, str) for n in wanted):
            raise InvalidInputError(
                "param_filter: a collection must hold parameter names (str), got "
                f"{[type(n).__name__ for n in wanted][:5]}"
            )
        known = {n for n, _ in model.named_parameters()}
        missing = [n for n in wanted if n not in known]
        if missing:
            raise InvalidInputError(
                f"param_filter: unknown parameter names {missing[:5]}; "
                f"the model's parameters include {_name_hint(model)}"
            )
        wanted_set = set(wanted)
        return lambda name, param: name in wanted_set
    raise InvalidInputError(
        f"param_filter: expected one of {FILTERS}, a collection of parameter names, or a "
        f"predicate (name, param) -> bool, got {type(param_filter).__name__}"
    )


def _name_hint(model: nn.Module, k: int = 6) -> str:
    names = [n for n, _ in model.named_parameters()]
    if not names:
        return "(none: the model has no parameters)"
    picks = names[:3] + [n for n in names[3:] if _is_lora_matrix(n)][:2] + names[-1:]
    picks = list(dict.fromkeys(picks))[:k]
    return ", ".join(picks) + f" ({len(names)} in all)"


def select_parameters(model: nn.Module, param_filter: ParamFilter = "lora"
                      ) -> dict[str, nn.Parameter]:
    """Resolve a parameter filter to ``{name: parameter}``.

    Parameters
    ----------
    model : torch.nn.Module
    param_filter : str, callable or collection of str, default "lora"
        ``"lora"``: :func:`lora_last_blocks` with 3 blocks; ``"lora_all"``: every LoRA
        ``lora_A``/``lora_B`` weight; ``"lm_head"``: the output layer's weight (found with
        ``get_output_embeddings``, so tied embeddings are handled); a collection of exact
        parameter names; or a predicate ``(name, param) -> bool`` applied to
        ``model.named_parameters()``. The ``requires_grad`` flag plays no role: a frozen
        parameter can be selected (gradients are taken functionally).

    Returns
    -------
    dict
        Names to parameters, in ``model.named_parameters()`` order (the column layout of
        :func:`per_example_gradients`).

    Raises
    ------
    InvalidInputError
        Naming ``param_filter`` when it is of an unknown kind or nothing matches; the message
        lists a few of the model's parameter names.

    Examples
    --------
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16,
    ...                   num_hidden_layers=2, num_attention_heads=2, tie_word_embeddings=False)
    >>> model = LlamaForCausalLM(cfg)
    >>> list(select_parameters(model, "lm_head"))
    ['lm_head.weight']
    >>> select_parameters(model, "lora")
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: param_filter: no parameter matches ...
    """
    if isinstance(param_filter, str) and param_filter == "lm_head":
        selected = _lm_head_weight(model)
        what = "'lm_head' (the output layer weight)"
    else:
        pred = _resolve_filter(model, param_filter)
        selected = {n: p for n, p in model.named_parameters() if pred(n, p)}
        what = repr(pred) if isinstance(pred, _LoraFilter) else repr(param_filter)
    if not selected:
        hint = ""
        if isinstance(param_filter, str) and param_filter.startswith("lora"):
            hint = (" (add LoRA adapters with peft.get_peft_model, or use 'lm_head' or a "
                    "predicate)")
        raise InvalidInputError(
            f"param_filter: no parameter matches {what}{hint}; "
            f"the model's parameters include {_name_hint(model)}"
        )
    bad = [n for n, p in selected.items() if not p.is_floating_point()]
    if bad:
        raise InvalidInputError(
            f"param_filter: selected parameters must be floating point, got {bad[:3]}"
        )
    return selected


# --------------------------------------------------------------------------- input checks
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
def _autograd_chunks(model, ids, labels, mask, selected, chunk_size, sink) -> None:
    """Per-example gradients chunk by chunk; ``sink(start, G_chunk)`` with G fp32 (c × P)."""
    from torch.func import functional_call, grad, vmap

    names = list(selected)
    params = {n: selected[n].detach() for n in names}
    constants: dict[str, torch.Tensor] = {
        n: p.detach() for n, p in model.named_parameters() if n not in selected
    }
    constants.update({n: b.detach() for n, b in model.named_buffers()})
    bias = _attention_bias(model, mask)

    def loss(p, x, y, m):
        kwargs = {"input_ids": x.unsqueeze(0), "use_cache": False}
        if m is not None:
            kwargs["attention_mask"] = m
        out = functional_call(model, (p, constants), args=(), kwargs=kwargs)
        return _mean_target_nll(_logits(out), y.unsqueeze(0))[0]

    per_example = vmap(grad(loss), in_dims=(None, 0, 0, None if bias is None else 0),
                       randomness="different")
    n = ids.shape[0]
    with warnings.catch_warnings():
        # functorch's fallback for ops without a batching rule (e.g. sdpa's CPU backward)
        # is correct, only slower; the warning is noise for users of this function.
        warnings.filterwarnings("ignore", message=".*performance drop.*batching rule.*")
        for s in range(0, n, chunk_size):
            e = min(n, s + chunk_size)
            g = per_example(params, ids[s:e], labels[s:e], None if bias is None else bias[s:e])
            sink(s, torch.cat([g[k].reshape(e - s, -1).float() for k in names], dim=1))


def _lm_head_chunks(model, ids, labels, mask, chunk_size, sink) -> None:
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
                kwargs = {"input_ids": ids[s:e], "use_cache": False}
                if mask is not None:
                    kwargs["attention_mask"] = mask[s:e]
                logits = _logits(model(**kwargs))
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


def _prepare(model, input_ids, labels, attention_mask, chunk_size):
    if not isinstance(model, nn.Module):
        raise InvalidInputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    ids, lab, mask = _check_batch(model, input_ids, labels, attention_mask)
    return ids, lab, mask, chunk_size


def per_example_gradients(
    model: nn.Module,
    input_ids: Any,
    labels: Any,
    *,
    param_filter: ParamFilter = "lora",
    attention_mask: Any = None,
    chunk_size: int = 8,
    eval_mode: bool = False,
) -> torch.Tensor:
    """Per-example loss gradients w.r.t. the selected parameters, ``N × P``, by ``torch.func``.

    Row ``i`` is ``∇_θ ℓ_i`` where ``ℓ_i`` is example ``i``'s mean token NLL over its target
    tokens (labels ``-100`` ignored, logits at ``t`` predicting ``labels[t + 1]``) and ``θ`` the
    parameters chosen by ``param_filter``, flattened and concatenated in
    ``model.named_parameters()`` order (see :func:`select_parameters`).

    Computed as ``vmap(grad(ℓ))`` over ``functional_call(model, ...)``, ``chunk_size``
    examples at a time; every other parameter and every buffer enters as a detached constant.
    Nothing is written to ``.grad``, no ``requires_grad`` flag is touched, and the model is
    run in its current train/eval mode unless ``eval_mode=True``.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM returning ``logits`` (``transformers`` model, optionally peft-wrapped).
    input_ids, labels : integer tensors (N, T)
        Token ids and targets; ``labels == -100`` marks ignored positions (padding, prompt).
    param_filter : str, callable or collection of str, default "lora"
        See :func:`select_parameters`.
    attention_mask : tensor (N, T) of 0/1, optional
        Padding mask, applied exactly as transformers does (the causal mask with padded keys
        removed; positions stay ``0..T-1``). Supported for ``attn_implementation`` ``"sdpa"``
        and ``"eager"``; for other implementations right-pad (labels ``-100`` on padding) and
        pass None: under a causal mask right padding cannot influence the real tokens.
    chunk_size : int, default 8
        Examples per ``vmap`` call. Peak memory is about ``chunk_size`` times the activation
        memory of one sequence plus ``chunk_size × P`` for the gradients.
    eval_mode : bool, default False
        False computes in the model's current mode. With dropout active (train mode) the
        features are *stochastic* (each example draws its own dropout mask). True — the
        recommended setting, and the default of :func:`gradient_features` — switches to eval
        mode for the call and restores every submodule's previous mode afterwards.

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, P)``, on the model's device. An example with no target token
        has an all-zero row.

    Raises
    ------
    InvalidInputError
        Naming the argument: bad shapes or dtypes of ``input_ids``/``labels``/``attention_mask``,
        an empty batch, token ids out of the vocabulary, ``chunk_size < 1``, a ``param_filter``
        that matches nothing.

    Notes
    -----
    Cost: one forward and one backward per example (batched by ``vmap``), i.e. about what a
    training step on the same examples costs, plus ``O(N·P)`` output memory. Gradient
    checkpointing (``torch.utils.checkpoint`` with ``use_reentrant=True``) is incompatible with
    ``torch.func``; disable it, or use ``eval_mode=True`` (transformers only checkpoints in
    training mode).

    Examples
    --------
    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> _ = torch.manual_seed(0)
    >>> cfg = LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16,
    ...                   num_hidden_layers=2, num_attention_heads=2, tie_word_embeddings=False)
    >>> model = LlamaForCausalLM(cfg)
    >>> ids = torch.randint(0, 32, (3, 6))
    >>> labels = ids.clone(); labels[2] = -100          # example 2 has no target
    >>> G = per_example_gradients(model, ids, labels, param_filter="lm_head")
    >>> G.shape, bool(G[2].eq(0).all())
    (torch.Size([3, 256]), True)
    """
    ids, lab, mask, chunk_size = _prepare(model, input_ids, labels, attention_mask, chunk_size)
    selected = select_parameters(model, param_filter)
    total = sum(p.numel() for p in selected.values())
    out = torch.empty(ids.shape[0], total, dtype=torch.float32, device=ids.device)

    def sink(s, g):
        out[s:s + g.shape[0]] = g

    with _mode(model, bool(eval_mode)):
        _autograd_chunks(model, ids, lab, mask, selected, chunk_size, sink)
    return out


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
    ids, lab, mask, chunk_size = _prepare(model, input_ids, labels, attention_mask, chunk_size)
    weight = select_parameters(model, "lm_head")
    total = sum(p.numel() for p in weight.values())
    out = torch.empty(ids.shape[0], total, dtype=torch.float32, device=ids.device)

    def sink(s, g):
        out[s:s + g.shape[0]] = g

    with _mode(model, bool(eval_mode)):
        _lm_head_chunks(model, ids, lab, mask, chunk_size, sink)
    return out


# --------------------------------------------------------------------------- sketches
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


def gradient_features(
    model: nn.Module,
    input_ids: Any,
    labels: Any,
    *,
    param_filter: ParamFilter = "lora",
    sketch_dim: int | None = None,
    sketch: str = "srht",
    seed: int = 0,
    normalize: bool = True,
    chunk_size: int = 8,
    attention_mask: Any = None,
    eval_mode: bool = True,
) -> torch.Tensor:
    """PartitionSel features: per-example gradients, optionally sketched, L2-normalised.

    ``param_filter == "lm_head"`` uses the closed form (:func:`lm_head_gradients`), anything
    else :func:`per_example_gradients`. Chunks of ``chunk_size`` examples are sketched as soon
    as they are computed, so with ``sketch_dim`` set the memory is ``chunk_size × P`` for the
    raw gradients plus ``N × sketch_dim`` for the result. Normalisation comes after the sketch,
    so every non-zero row has unit norm.

    Parameters
    ----------
    model, input_ids, labels, param_filter, attention_mask, chunk_size
        As in :func:`per_example_gradients`.
    sketch_dim : int, optional
        Output dimension ``p`` of the random projection; None keeps all ``P`` coordinates.
    sketch : {"srht", "rademacher"}, default "srht"
        See :class:`Sketch`.
    seed : int, default 0
        Seed of the sketch (the same seed on every rank gives the same features).
    normalize : bool, default True
        Apply :func:`normalize_rows` (examples without targets keep a zero row).
    eval_mode : bool, default True
        Compute in eval mode (deterministic features, no dropout), restoring the modes after.

    Returns
    -------
    torch.Tensor
        ``float32``, ``(N, sketch_dim)`` or ``(N, P)``, on the model's device.

    Raises
    ------
    InvalidInputError
        As :func:`per_example_gradients`, plus ``sketch_dim < 1`` (or above the SRHT limit)
        and an unknown ``sketch``.
    """
    if sketch_dim is not None:
        sketch_dim = check_int(sketch_dim, "sketch_dim", minimum=1)
    if sketch not in SKETCHES:
        raise InvalidInputError(f"sketch: expected one of {SKETCHES}, got {sketch!r}")
    seed = check_int(seed, "seed")
    ids, lab, mask, chunk_size = _prepare(model, input_ids, labels, attention_mask, chunk_size)
    closed_form = isinstance(param_filter, str) and param_filter == "lm_head"
    selected = select_parameters(model, param_filter)
    total = sum(p.numel() for p in selected.values())
    sk = None
    if sketch_dim is not None:
        try:
            sk = Sketch(total, sketch_dim, kind=sketch, seed=seed, device=ids.device)
        except InvalidInputError as exc:
            raise InvalidInputError(f"sketch_dim: {exc}") from exc
    width = total if sk is None else sketch_dim
    out = torch.empty(ids.shape[0], width, dtype=torch.float32, device=ids.device)

    def sink(s, g):
        out[s:s + g.shape[0]] = g if sk is None else sk(g)

    with _mode(model, bool(eval_mode)):
        if closed_form:
            _lm_head_chunks(model, ids, lab, mask, chunk_size, sink)
        else:
            _autograd_chunks(model, ids, lab, mask, selected, chunk_size, sink)
    return normalize_rows(out) if normalize else out
