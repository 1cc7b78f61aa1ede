"""The torch.distributed protocol of the selector: unwrapping DDP-style wrappers and the
gathers every rank takes part in."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from matroidopt.errors import InvalidInputError


def _unwrap(model: nn.Module) -> nn.Module:
    """The module under DDP / DataParallel / ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")



# --------------------------------------------------------------------------- distributed
class _Dist:
    """The process group a selection runs over (world 1 when not distributed)."""

    def __init__(self, group: Any):
        import torch.distributed as dist

        self.dist = dist
        self.group = group
        self.on = False
        self.rank, self.world = 0, 1
        if dist.is_available() and (group is not None or dist.is_initialized()):
            self.world = dist.get_world_size(group)
            self.rank = dist.get_rank(group)
            self.on = self.world > 1
        self.device = torch.device("cpu")
        if self.on and "nccl" in str(dist.get_backend(group)).lower():
            self.device = torch.device("cuda", torch.cuda.current_device())

    def gather_object(self, obj: Any) -> list:
        out = [None] * self.world
        self.dist.all_gather_object(out, obj, group=self.group)
        return out

    def raise_any(self, errors: list) -> None:
        """Raise the first rank's error on every rank (so no rank waits in a collective)."""
        for r, msg in enumerate(errors):
            if msg is not None:
                raise InvalidInputError(f"{msg} (on rank {r} of {self.world})")

    def gather_rows(self, t: torch.Tensor, shapes: list, pad_value: Any) -> torch.Tensor:
        """Concatenate every rank's ``t`` along dim 0 (rank order); dim 1 is padded to the
        largest length with ``pad_value`` when ranks disagree on it."""
        rows = max(s[0] for s in shapes)
        tail = list(shapes[0][1:])
        if tail:
            tail[0] = max(s[1] for s in shapes)
        dtype = t.dtype
        wire = torch.uint8 if dtype == torch.bool else dtype
        buf = torch.full([max(rows, 1), *tail], pad_value, dtype=wire, device=self.device)
        if t.shape[0]:
            idx = (slice(0, t.shape[0]),) + tuple(slice(0, s) for s in t.shape[1:])
            buf[idx] = t.to(device=self.device, dtype=wire)
        out = [torch.empty_like(buf) for _ in range(self.world)]
        self.dist.all_gather(out, buf, group=self.group)
        full = torch.cat([o[:s[0]] for o, s in zip(out, shapes)], dim=0)
        return full.to(device=t.device, dtype=dtype)
