"""Parameter filters: which parameters' per-example gradients are the features.

:func:`lora_last_blocks` (the default ``"lora"``: LoRA adapter matrices of the last three
transformer blocks), ``"lora_all"`` (every LoRA matrix), ``"lm_head"`` (the output layer,
which has a closed form), an explicit collection of parameter names, or any predicate
``(name, param) -> bool``. :func:`select_parameters` resolves a filter to ``{name: parameter}``
in ``model.named_parameters()`` order; that order fixes the layout of the flattened gradient
columns.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

__all__ = ["FILTERS", "ParamFilter", "lora_last_blocks", "select_parameters"]

FILTERS = ("lora", "lora_all", "lm_head")
"""Named parameter filters accepted wherever a ``param_filter`` is."""

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


