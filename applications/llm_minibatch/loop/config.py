"""The settings of a :class:`~llm_minibatch.loop.PartitionSel` selector, checked once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from ..features import SKETCHES
from ..selection import METHODS, RULES

__all__ = ["SelectorConfig"]


@dataclass(frozen=True)
class SelectorConfig:
    """What a selector selects, and how (everything but the model, optimiser, anchors and
    process group).

    Attributes
    ----------
    method : str, default "partitionsel"
        One of :data:`~llm_minibatch.selection.METHODS`.
    ratio : float, default 0.125
        Fraction of the pool trained on, in ``(0, 1]``: ``b = max(1, round(ratio · N))``.
    minibatch_size : int, optional
        A fixed ``b`` instead of ``ratio · N``.
    budget_rule : str, default "proportional"
        Per-domain quota rule (:func:`~llm_minibatch.selection.compute_quotas`), with
        ``target_proportions``, ``quotas`` and ``keep_all``.
    param_filter : str, callable or collection of str, default "lora"
        Parameters whose gradients are the features.
    sketch_dim : int, optional
        Sketch the features to this dimension (None: raw gradients).
    sketch : {"srht", "rademacher"}, default "srht"
    seed : int, default 0
        Base seed of every per-step random choice.
    chunk_size : int, optional
        Rows per feature pass (None: automatic).
    deterministic : bool, default False
        Greedy instead of residual random greedy (``partitionsel``, ``iwd``).
    lr : float, optional
        A fixed η when no optimizer is given.

    Examples
    --------
    >>> from llm_minibatch.loop import SelectorConfig
    >>> SelectorConfig(ratio=0.25, sketch_dim=512).validate().ratio
    0.25
    >>> SelectorConfig(ratio=0).validate()
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: ratio: expected a value in (0.0, 1.0], got 0.0
    """

    method: str = "partitionsel"
    ratio: float = 0.125
    minibatch_size: int | None = None
    budget_rule: str = "proportional"
    target_proportions: Mapping[Any, float] | None = None
    quotas: Mapping[Any, int] | None = None
    keep_all: Sequence[Any] = ()
    param_filter: Any = "lora"
    sketch_dim: int | None = None
    sketch: str = "srht"
    seed: int = 0
    chunk_size: int | None = None
    deterministic: bool = False
    lr: float | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SelectorConfig:
        """A config from keyword settings; an unknown name is an error naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise InvalidInputError(
                f"{unknown[0]}: unknown selector setting; expected one of {sorted(names)} "
                "(or optimizer, anchors, process_group)")
        return cls(**settings)

    def validate(self) -> SelectorConfig:
        """The config with every field checked and normalised (errors name the field)."""
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise InvalidInputError(
                f"method: unknown method {self.method!r}; expected one of {', '.join(METHODS)}")
        if isinstance(self.ratio, bool):
            raise InvalidInputError(f"ratio: expected a real number in (0, 1], got {self.ratio!r}")
        ratio = check_real(self.ratio, "ratio", low=0.0, high=1.0, low_open=True)
        if not isinstance(self.budget_rule, str) or self.budget_rule not in RULES:
            raise InvalidInputError(
                f"budget_rule: unknown rule {self.budget_rule!r}; expected one of {RULES}")
        if self.sketch not in SKETCHES:
            raise InvalidInputError(f"sketch: expected one of {SKETCHES}, got {self.sketch!r}")
        if not isinstance(self.deterministic, bool):
            raise InvalidInputError(
                f"deterministic: expected a bool, got {self.deterministic!r}")
        return dataclasses.replace(
            self, ratio=ratio,
            sketch_dim=None if self.sketch_dim is None
            else check_int(self.sketch_dim, "sketch_dim", minimum=1),
            seed=check_int(self.seed, "seed", minimum=0),
            chunk_size=None if self.chunk_size is None
            else check_int(self.chunk_size, "chunk_size", minimum=1),
            minibatch_size=None if self.minibatch_size is None
            else check_int(self.minibatch_size, "minibatch_size", minimum=1),
            lr=None if self.lr is None else check_real(self.lr, "lr", low=0.0, low_open=True))
