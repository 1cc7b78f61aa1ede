"""Per-example gradient features for PartitionSel (``PARTITIONSEL.md``, step 2).

Each pool example ``i`` is represented by ``g_i``, the gradient of its loss — the mean token
negative log-likelihood over its target tokens — with respect to a chosen subset of the
model's parameters, optionally sketched to ``p`` dimensions by a seeded random projection and
L2-normalised.

Pieces, one module each
-----------------------
:mod:`.filters`
    Which parameters: :func:`lora_last_blocks` (the default ``"lora"``: LoRA adapter matrices
    of the last three transformer blocks), ``"lora_all"``, ``"lm_head"``, a collection of
    names or a predicate; :func:`select_parameters` resolves a filter.
:mod:`.batch`
    Input checks, the padding convention and the loss (see "The loss" below).
:mod:`.capture`
    The default engine: one batched forward with hooks on the selected ``Linear`` layers
    (peft's ``lora_A`` / ``lora_B`` included), one backward of ``Σ_i ℓ_i`` to the layer
    *outputs* only, and per-example gradients ``δᵀ x`` by ``bmm``. Cost: about one batched
    forward + backward of the pool with only the selected parameters trainable.
:mod:`.reference`
    ``torch.func`` (``vmap`` over ``grad``): any parameter of any module; the fallback for
    parameters the capture engine cannot serve (with a warning) and the tests' oracle.
:mod:`.lm_head`
    Closed form for the output layer, ``(softmax − onehot) ⊗ hidden``: one forward, no
    backward.
:mod:`.sketch`
    :class:`Sketch` (seeded SRHT or Rademacher projections) and :func:`normalize_rows`.

The loss
--------
For an example with token ids ``x`` and labels ``y`` (both of length ``T``), the model's logits
at position ``t`` predict ``y[t + 1]`` (the usual causal shift, as in Hugging Face's
``ForCausalLMLoss``); targets equal to ``-100`` are ignored and the loss is the mean over the
remaining ones. An example without any target token has loss 0 and a zero gradient row (never
NaN). Padding positions carry ``attention_mask == 0``; a target predicted *from* a padding
position is ignored too (with left padding, the first real token), so a padded row has the
features of the same row unpadded.

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

import warnings
from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .batch import IGNORE_INDEX, _as_index_tensor, _mode, prepare_batch  # noqa: F401
from .capture import CaptureUnsupported, capture_chunks, capture_plan
from .filters import FILTERS, ParamFilter, lora_last_blocks, select_parameters
from .lm_head import lm_head_chunks, lm_head_gradients
from .reference import reference_chunks
from .sketch import SKETCHES, Sketch, _mix_seed, normalize_rows  # noqa: F401

__all__ = [
    "ENGINES",
    "FILTERS",
    "IGNORE_INDEX",
    "SKETCHES",
    "Sketch",
    "gradient_features",
    "lm_head_gradients",
    "lora_last_blocks",
    "normalize_rows",
    "per_example_gradients",
    "select_parameters",
]

ENGINES = ("auto", "capture", "reference")
"""Per-example gradient engines: ``"capture"`` (hooks on Linear layers, one batched pass),
``"reference"`` (``torch.func``), ``"auto"`` (capture when every selected parameter is a
plain Linear's weight or bias, else reference with a warning)."""

_REFERENCE_CHUNK = 8  # rows per vmap call of the reference engine when chunk_size is None


def _rows(start: int | torch.Tensor, g: torch.Tensor) -> slice | torch.Tensor:
    """Where a chunk's rows go: a start row (contiguous chunks) or the row indices."""
    if isinstance(start, torch.Tensor):
        return start.to(g.device)
    return slice(start, start + g.shape[0])


def _run_engine(model: nn.Module, ids: torch.Tensor, lab: torch.Tensor,
                mask: torch.Tensor | None, selected: dict, chunk_size: int | None,
                engine: str, autocast: bool | None, sink) -> None:
    if engine not in ENGINES:
        raise InvalidInputError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if engine != "reference":
        sites, reason = capture_plan(model, selected)
        if sites is not None:
            try:
                capture_chunks(model, ids, lab, mask, selected, sites, chunk_size, sink,
                               autocast=True if autocast is None else bool(autocast))
                return
            except CaptureUnsupported as exc:
                reason = str(exc)
        if engine == "capture":
            raise InvalidInputError(
                f"engine: the capture engine cannot serve this param_filter ({reason}); use "
                "engine='reference' or 'auto'")
        warnings.warn(
            f"param_filter: {reason}; per-example gradients fall back to the torch.func "
            "reference engine (slower)", UserWarning, stacklevel=3)
    reference_chunks(model, ids, lab, mask, selected, chunk_size or _REFERENCE_CHUNK, sink)


def per_example_gradients(
    model: nn.Module,
    input_ids: Any,
    labels: Any,
    *,
    param_filter: ParamFilter = "lora",
    attention_mask: Any = None,
    chunk_size: int | None = None,
    eval_mode: bool = False,
    engine: str = "auto",
    autocast: bool | None = None,
) -> torch.Tensor:
    """Per-example loss gradients w.r.t. the selected parameters, ``N × P``.

    Row ``i`` is ``∇_θ ℓ_i`` where ``ℓ_i`` is example ``i``'s mean token NLL over its target
    tokens (labels ``-100`` ignored, logits at ``t`` predicting ``labels[t + 1]``, targets
    predicted from padding ignored) and ``θ`` the parameters chosen by ``param_filter``,
    flattened row-major and concatenated in ``model.named_parameters()`` order (see
    :func:`select_parameters`).

    Side effects: none. Nothing is written to ``.grad``; ``requires_grad`` flags are changed
    only during the call (only the selected parameters require grad, so autograd keeps
    nothing below the lowest selected layer) and restored, also on error; forward hooks are
    removed, also on error; the model runs in its current train/eval mode unless
    ``eval_mode=True``; the torch RNG is not drawn from in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM returning ``logits`` (``transformers`` model, optionally peft-wrapped).
        Pass the inner module of a DDP / DataParallel / compiled wrapper.
    input_ids, labels : integer tensors (N, T)
        Token ids and targets; ``labels == -100`` marks ignored positions (padding, prompt).
    param_filter : str, callable or collection of str, default "lora"
        See :func:`select_parameters`.
    attention_mask : tensor (N, T) of 0/1, optional
        Padding mask (left or right padding). Position ids then count real tokens only.
        The reference engine supports ``attn_implementation`` ``"sdpa"`` and ``"eager"``
        with padding; the capture engine any implementation.
    chunk_size : int, optional
        Rows per pass. Capture engine: None picks the largest chunk whose kept activations
        stay near 1 GiB (the whole pool when it fits). Reference engine: rows per ``vmap``
        call (None: 8).
    eval_mode : bool, default False
        False computes in the model's current mode (with dropout active the gradients are
        stochastic). True switches to eval mode for the call and restores every submodule's
        previous mode afterwards.
    engine : {"auto", "capture", "reference"}, default "auto"
        See :data:`ENGINES`. ``"auto"`` warns when it falls back to the reference engine.
    autocast : bool, optional
        Capture engine on CUDA: run the forward under bf16 autocast (per-example gradients
        are accumulated in fp32). None means True. Ignored on CPU.

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
        that matches nothing, an unknown ``engine``, ``engine="capture"`` for parameters it
        cannot serve.

    Notes
    -----
    Capture engine: one forward of the batch and one backward from the loss down to the lowest
    selected layer, without parameter gradients, plus one ``bmm`` per selected layer —
    about the cost of one batched training step with only the selected parameters trainable.
    Reference engine: one functional forward and backward per example, batched by ``vmap``.
    Gradient checkpointing is inactive in eval mode (transformers only checkpoints in
    training mode); in train mode it is incompatible with the reference engine.

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
    >>> R = per_example_gradients(model, ids, labels, param_filter="lm_head",
    ...                           engine="reference")
    >>> torch.allclose(G, R, atol=1e-6)
    True
    """
    ids, lab, mask, chunk_size = prepare_batch(model, input_ids, labels, attention_mask,
                                               chunk_size)
    selected = select_parameters(model, param_filter)
    total = sum(p.numel() for p in selected.values())
    out = torch.empty(ids.shape[0], total, dtype=torch.float32, device=ids.device)

    def sink(s, g):
        out[_rows(s, g)] = g

    with _mode(model, bool(eval_mode)):
        _run_engine(model, ids, lab, mask, selected, chunk_size, engine, autocast, sink)
    return out


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
    chunk_size: int | None = None,
    attention_mask: Any = None,
    eval_mode: bool = True,
    engine: str = "auto",
    autocast: bool | None = None,
) -> torch.Tensor:
    """PartitionSel features: per-example gradients, optionally sketched, L2-normalised.

    ``param_filter == "lm_head"`` uses the closed form (:func:`lm_head_gradients`), anything
    else :func:`per_example_gradients` (the capture engine by default). Each chunk of rows is
    sketched as soon as its gradients exist, so with ``sketch_dim`` set the memory is
    ``chunk × P`` for the raw gradients plus ``N × sketch_dim`` for the result; the unsketched
    ``N × P`` matrix is never held. Normalisation comes after the sketch, so every non-zero
    row has unit norm.

    Parameters
    ----------
    model, input_ids, labels, param_filter, attention_mask, chunk_size, engine, autocast
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

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.models import add_lora, tiny_llama
    >>> model = add_lora(tiny_llama(hidden_size=32, layers=2), r=4)
    >>> ids = torch.randint(0, 256, (6, 12), generator=torch.Generator().manual_seed(0))
    >>> G = gradient_features(model, ids, ids, sketch_dim=64, seed=0)
    >>> G.shape
    torch.Size([6, 64])
    """
    if sketch_dim is not None:
        sketch_dim = check_int(sketch_dim, "sketch_dim", minimum=1)
    if sketch not in SKETCHES:
        raise InvalidInputError(f"sketch: expected one of {SKETCHES}, got {sketch!r}")
    seed = check_int(seed, "seed")
    ids, lab, mask, chunk_size = prepare_batch(model, input_ids, labels, attention_mask,
                                               chunk_size)
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
        out[_rows(s, g)] = g if sk is None else sk(g)

    with _mode(model, bool(eval_mode)):
        if closed_form:
            lm_head_chunks(model, ids, lab, mask, chunk_size or _REFERENCE_CHUNK, sink)
        else:
            _run_engine(model, ids, lab, mask, selected, chunk_size, engine, autocast, sink)
    return normalize_rows(out) if normalize else out
