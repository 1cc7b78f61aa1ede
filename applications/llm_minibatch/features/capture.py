"""The capture engine: per-example gradients of Linear layers from one batched pass.

For a linear layer ``y = x Wᵀ + c`` applied to the tokens of example ``i``,

    ``∂ℓ_i/∂W = Σ_t δ_{i,t} x_{i,t}ᵀ``  and  ``∂ℓ_i/∂c = Σ_t δ_{i,t}``,

where ``δ = ∂(Σ_j ℓ_j)/∂y``: the examples of a batch do not interact in a causal LM, so the
rows of the summed loss's output gradient that belong to example ``i`` are example ``i``'s own.
peft's ``lora_A`` / ``lora_B`` are plain :class:`torch.nn.Linear` modules, so LoRA adapters are
served as they are. One pass per chunk of rows:

1. every parameter of the model is frozen except the selected ones (flags restored
   afterwards), so autograd keeps no activations and builds no graph below the lowest
   selected layer;
2. forward hooks keep each selected layer's input ``x`` and output ``y``;
3. ``torch.autograd.grad(Σ_i ℓ_i, [y, ...])`` — gradients with respect to the layer outputs,
   not the parameters, so no ``.grad`` is written, the backward stops at the lowest selected
   layer, and DDP's reducer (whose hooks sit on the parameters) never fires;
4. one ``bmm`` per layer, ``δᵀ x`` summed over tokens (never a ``T × T`` matrix).

For model types whose logits are exactly ``lm_head(hidden)`` (Llama, Mistral, Qwen2, Qwen3)
and whose output layer holds no selected parameter, the forward stops at the output layer's
input and the logits are computed only at target positions: a prompt-heavy batch never pays
for the vocabulary projection of its prompt tokens.

Time: one forward of the chunk, a backward from the loss down to the lowest selected layer
(without parameter gradients), and ``O(T · in · out)`` per example and layer for the ``bmm``.
Memory: the activations of the layers above the lowest selected one, for ``chunk_size`` rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .batch import IGNORE_INDEX, _logits, forward_kwargs
from .filters import _block_index
from .head import StopAtHead, plain_head

_ACTIVATION_BUDGET = 1 << 30  # bytes of activations one pass may keep (automatic chunk size)


class CaptureUnsupported(Exception):
    """Raised inside the engine when a selected layer is used in a way it cannot serve."""


@dataclass
class _Site:
    """One Linear module with selected parameters; ``weight``/``bias`` are selected names."""

    module: nn.Linear
    weight: str | None = None
    bias: str | None = None


def capture_plan(model: nn.Module, selected: dict[str, nn.Parameter]
                 ) -> tuple[list[_Site] | None, str]:
    """The Linear sites serving ``selected``, or ``(None, reason)`` when one cannot be served.

    Every selected parameter must be the ``weight`` or ``bias`` of exactly one module, and that
    module a plain :class:`torch.nn.Linear` (its own ``forward``; subclasses that override it,
    such as quantised layers, are not served). A module called several times in a forward
    pass is fine: its per-call gradients are summed.
    """
    names_by_id = {id(p): n for n, p in selected.items()}
    owners: dict[int, dict[tuple[int, str], nn.Module]] = {}
    for _, module in model.named_modules(remove_duplicate=False):
        for attr, p in module.named_parameters(recurse=False):
            if id(p) in names_by_id:
                owners.setdefault(id(p), {})[(id(module), attr)] = module
    sites: dict[int, _Site] = {}
    for pid, name in names_by_id.items():
        uses = owners.get(pid, {})
        if len(uses) != 1:
            return None, (f"{name} is shared by {len(uses)} modules" if uses
                          else f"{name} belongs to no module of the model")
        ((mid, attr), module), = uses.items()
        plain = isinstance(module, nn.Linear) and type(module).forward is nn.Linear.forward
        if not plain or attr not in ("weight", "bias"):
            return None, (f"{name} belongs to a {type(module).__name__}, not a plain "
                          "torch.nn.Linear")
        site = sites.setdefault(mid, _Site(module))
        setattr(site, attr, name)
    return list(sites.values()), ""


@contextlib.contextmanager
def _only_selected_require_grad(model: nn.Module, selected: dict[str, nn.Parameter]
                                ) -> Iterator[None]:
    chosen = {id(p) for p in selected.values()}
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(id(p) in chosen)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _per_example_nll(logits: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor,
                     n: int, counts: torch.Tensor) -> torch.Tensor:
    """Mean NLL per example from the logits at its target positions (fp32)."""
    nll = F.cross_entropy(logits.float(), targets, reduction="none")
    total = torch.zeros(n, dtype=nll.dtype, device=nll.device).index_add(0, rows, nll)
    return total / counts.clamp_min(1).to(nll.dtype)


def _lowest_selected_block(model: nn.Module, selected: dict[str, nn.Parameter]) -> int | None:
    blocks = [b for n in selected if (b := _block_index(n)) is not None]
    return min(blocks) if blocks else None


def auto_chunk_size(model: nn.Module, selected: dict[str, nn.Parameter], n: int, t: int,
                    shortcut: bool, target_fraction: float) -> int:
    """Rows per pass so that the kept activations stay near :data:`_ACTIVATION_BUDGET`.

    Per row and token: about ``32 · hidden`` floats for each block from the lowest selected
    one up (what autograd keeps for a transformer block), plus the logits and their gradient
    (``2 · vocab`` floats, only at target positions with the shortcut).
    """
    cfg = getattr(model, "config", None)
    hidden = getattr(cfg, "hidden_size", None) or 1024
    vocab = getattr(cfg, "vocab_size", None) or 32768
    layers = getattr(cfg, "num_hidden_layers", None)
    low = _lowest_selected_block(model, selected)
    above = (layers - low) if (isinstance(layers, int) and low is not None) else (layers or 32)
    logits = 2 * vocab * (target_fraction if shortcut else 1.0)
    per_row = 4 * t * (32 * hidden * (max(1, above) + 1) + logits)
    return int(max(1, min(n, _ACTIVATION_BUDGET // max(1, per_row))))


def length_chunks(mask: torch.Tensor | None, n: int, chunk_size: int,
                  slack: float = 1.25) -> list[torch.Tensor]:
    """Row groups of at most ``chunk_size`` rows, each padded to at most ``slack`` times its
    real tokens: rows sorted by length (longest first, stable), a group closed when the next
    row would push ``rows × longest`` above ``slack × real tokens``. Without a mask: one
    contiguous group per ``chunk_size`` rows.

    Examples
    --------
    >>> import torch
    >>> mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 0]])
    >>> [g.tolist() for g in length_chunks(mask, 4, 8)]
    [[1, 3], [0], [2]]
    """
    if mask is None:
        return [torch.arange(s, min(n, s + chunk_size)) for s in range(0, n, chunk_size)]
    lengths = mask.sum(1).tolist()
    order = sorted(range(n), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    cur: list[int] = []
    real = 0
    for i in order:
        if cur and (len(cur) >= chunk_size
                    or (len(cur) + 1) * lengths[cur[0]] > slack * (real + lengths[i])):
            groups.append(cur)
            cur, real = [], 0
        cur.append(i)
        real += lengths[i]
    if cur:
        groups.append(cur)
    return [torch.tensor(sorted(g), dtype=torch.long) for g in groups]


def _chunk(ids: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None,
           idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The rows ``idx`` without the columns that are padding in all of them (either end)."""
    idx = idx.to(ids.device)
    c_ids, c_lab = ids[idx], labels[idx]
    if mask is None:
        return c_ids, c_lab, None
    c_mask = mask[idx]
    used = c_mask.any(0).nonzero().flatten()
    if used.numel():
        lo, hi = int(used[0]), int(used[-1]) + 1
        c_ids, c_lab, c_mask = c_ids[:, lo:hi], c_lab[:, lo:hi], c_mask[:, lo:hi]
    return c_ids, c_lab, c_mask


def capture_chunks(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor,
                   mask: torch.Tensor | None, selected: dict[str, nn.Parameter],
                   sites: list[_Site], chunk_size: int | None,
                   sink: Callable[[int, torch.Tensor], None], *, autocast: bool) -> None:
    """Per-example gradients of the selected Linear parameters, chunk by chunk.

    ``sink(rows, G_chunk)`` receives the chunk's row indices (a long tensor) and its
    ``float32`` gradients ``(c, P)`` in the column layout of ``selected`` (its order; each
    parameter flattened row-major), as the reference engine. With padding, rows of similar
    length share a chunk and all-padding columns are cut (:func:`length_chunks`), so padding
    costs little compute.
    """
    n, t = ids.shape
    names = list(selected)
    head = plain_head(model, selected.values())
    if chunk_size is None:
        targets_all = labels[:, 1:] != IGNORE_INDEX
        frac = float(targets_all.float().mean()) if targets_all.numel() else 1.0
        chunk_size = auto_chunk_size(model, selected, n, t, head is not None, frac)

    records: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in sites]
    state = {"recording": False, "stop_at_head": False, "hidden": None}

    def site_hook(i: int):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if state["recording"]:
                records[i].append((args[0], output))
        return hook

    def head_hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
        if state["stop_at_head"]:
            state["hidden"] = args[0] if args else next(iter(kwargs.values()))
            raise StopAtHead

    device = ids.device
    amp = (torch.autocast(device_type="cuda", dtype=torch.bfloat16)
           if autocast and device.type == "cuda" else contextlib.nullcontext())
    handles = [s.module.register_forward_hook(site_hook(i)) for i, s in enumerate(sites)]
    if head is not None:
        handles.append(head.register_forward_pre_hook(head_hook, with_kwargs=True))
    try:
        with _only_selected_require_grad(model, selected), torch.enable_grad():
            for idx in length_chunks(mask, n, chunk_size):
                c_ids, c_lab, c_mask = _chunk(ids, labels, mask, idx)
                c = c_ids.shape[0]
                for r in records:
                    r.clear()
                tgt = c_lab[:, 1:]
                valid = tgt != IGNORE_INDEX
                rows, cols = valid.nonzero(as_tuple=True)
                targets = tgt[rows, cols]
                with amp:
                    state["recording"] = True
                    state["stop_at_head"] = head is not None
                    try:
                        out = model(**forward_kwargs(model, c_ids, c_mask, 0, c))
                    except StopAtHead:
                        out = None
                    finally:
                        state["recording"] = False
                        state["stop_at_head"] = False
                    if head is not None:
                        hidden, state["hidden"] = state["hidden"], None
                        if hidden is None:
                            raise CaptureUnsupported("the output layer was never reached")
                        logits = head(hidden[:, :-1][rows, cols])
                    else:
                        logits = _logits(out)[:, :-1][rows, cols]
                del out
                losses = _per_example_nll(logits, targets, rows, c, valid.sum(1))
                sink(idx, _gradients(losses, records, sites, names, selected, c, device))
    finally:
        for h in handles:
            h.remove()
        for r in records:
            r.clear()


def _gradients(losses: torch.Tensor, records: list, sites: list[_Site], names: list[str],
               selected: dict[str, nn.Parameter], c: int, device: torch.device
               ) -> torch.Tensor:
    outputs = [y for rec in records for _, y in rec]
    total = losses.sum()
    if outputs and total.requires_grad:
        grads: Any = torch.autograd.grad(total, outputs, allow_unused=True)
    else:
        grads = [None] * len(outputs)
    parts: dict[str, torch.Tensor] = {}
    k = 0
    for site, rec in zip(sites, records):
        gw = gb = None
        for x, _ in rec:
            d = grads[k]
            k += 1
            if d is None:
                continue
            if x.dim() != 3 or x.shape[0] != c or d.shape[:2] != x.shape[:2]:
                raise CaptureUnsupported(
                    f"a selected Linear saw an input of shape {tuple(x.shape)}, not "
                    f"(rows={c}, tokens, features)")
            d32, x32 = d.float(), x.float()
            if site.weight is not None:
                g = torch.bmm(d32.transpose(1, 2), x32)
                gw = g if gw is None else gw + g
            if site.bias is not None:
                g = d32.sum(1)
                gb = g if gb is None else gb + g
        if site.weight is not None and gw is not None:
            parts[site.weight] = gw.reshape(c, -1)
        if site.bias is not None and gb is not None:
            parts[site.bias] = gb.reshape(c, -1)
    cols = [parts[nm] if nm in parts
            else torch.zeros(c, selected[nm].numel(), dtype=torch.float32, device=device)
            for nm in names]
    return torch.cat(cols, dim=1)
