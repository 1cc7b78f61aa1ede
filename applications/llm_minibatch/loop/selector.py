"""The torch-loop selector :class:`PartitionSel` and :func:`selected_batches`."""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

from ..features import (
    _mix_seed,
    gradient_features,
    select_parameters,
)
from ..selection import (
    LR_RANGE,
    PoolDomains,
    Selection,
    compute_quotas,
    domain_counts,
    select_from_features,
    stratified_indices,
)
from .anchors import AnchorSampler
from .batching import IGNORE_INDEX, _as_2d_int, _labels_from
from .config import SelectorConfig
from .distributed import _Dist, _model_device, _unwrap
from .labels import _domain_list, _pairs, _unpairs
from .record import StepRecord
from .state import _finite_or_none, _history_entry, _state_key, _state_mapping, _state_real

#: Methods that select without gradient features (and need neither anchors nor η).
FEATURELESS = ("random", "stratified", "full")
_STATE_FORMAT = "llm_minibatch.PartitionSel/1"
# tags mixed into the per-step seeds, so the streams are independent (anchors: anchors.py)
_TAG_SKETCH, _TAG_SOLVER = 0x534B54, 0x534F4C



# --------------------------------------------------------------------------- the selector
class PartitionSel:
    """Online minibatch selection for a plain torch training loop (PartitionSel and baselines).

    Each call of :meth:`select` (or :meth:`select_batch`) takes one pool of ``N`` candidate
    examples with their domains and returns the ``b = batch_size(N)`` examples to train on:

    1. features ``G`` (N × p) of the pool and of ``anchors.sample(step)`` (the target) in
       one :func:`~llm_minibatch.features.gradient_features` pass (eval mode, restored
       afterwards; same filter and sketch; sketch seed derived from ``(seed, step)``, so each
       step uses a fresh sketch and the sketch errors do not bias every step the same way);
    2. :func:`~llm_minibatch.selection.select_from_features` with ``lr = η`` (the current
       learning rate: ``optimizer.param_groups[0]["lr"]`` when an optimizer is given, else
       ``lr``) and a solver seed derived from ``(seed, step)``.

    ``random``, ``stratified`` and ``full`` need no features, anchors or η (``random`` draws
    ``b`` rows uniformly with a generator seeded from ``(seed, step)``; ``stratified`` draws
    the budget rule's quota uniformly inside each domain with that generator; ``full`` keeps
    the whole pool).

    Side effects: none on the model or optimiser. Features come from one batched pass of
    pool and anchors on the unwrapped model with gradients taken w.r.t. layer outputs
    (:mod:`llm_minibatch.features`), so no ``.grad`` is created or changed, DDP's reducer
    never runs, and every ``requires_grad`` flag is restored after the pass; every submodule's
    train/eval flag is restored; the optimiser is only read; and
    the global torch RNG state is saved and restored around the call (dropout masks and data
    order of the training loop do not depend on whether selection ran). Gradient accumulation
    across ``select`` calls therefore gives the same update as without them.

    Parameters
    ----------
    model : torch.nn.Module
        The causal LM being trained (peft-wrapped or not). DDP, DataParallel and
        ``torch.compile`` wrappers are looked through (the features use the inner module).
    config : SelectorConfig, optional
        The settings below as one checked object; keyword settings override its fields
        (``PartitionSel(model, cfg, seed=3)``). Without it the keyword settings build one.
    optimizer : torch.optim.Optimizer, optional
        Source of η (its first param group's current ``lr``, read at every step, so
        schedulers and warm-up are followed). Takes precedence over ``lr``.
    anchors : AnchorSampler, optional
        The held-out anchors (a batch mapping or list of examples is wrapped in an
        :class:`AnchorSampler` with this selector's ``seed``). Required, at :meth:`select`
        time, by every method except ``random`` and ``full``.
    process_group : torch.distributed.ProcessGroup, optional
        Group to select over; default the global group when ``torch.distributed`` is
        initialised.
    **settings
        The fields of :class:`SelectorConfig` by keyword (below: ``lr``, ``method``,
        ``ratio``, ``budget_rule``, ``param_filter``, ``sketch_dim``, ``sketch``, ``seed``,
        ``chunk_size``, ``deterministic``, ``target_proportions``, ``quotas``, ``keep_all``,
        ``minibatch_size``); an unknown keyword is an error naming it.

    Other Parameters
    ----------------
    lr : float, optional
        A fixed η when no optimizer is given (or as the fallback when it is set later).
    method : str, default "partitionsel"
        One of :data:`~llm_minibatch.selection.METHODS`.
    ratio : float, default 0.125
        Fraction of the pool trained on, in ``(0, 1]``: ``b = max(1, round(ratio · N))``
        (the paper: N = 256, b = 32).
    budget_rule : str, default "proportional"
        Per-domain quota rule (:func:`~llm_minibatch.selection.compute_quotas`), with
        ``target_proportions``, ``quotas`` (must sum to ``b``) and ``keep_all``.
    param_filter : str, callable or collection of str, default "lora"
        Parameters whose gradients are the features
        (:func:`~llm_minibatch.features.select_parameters`); checked at construction.
    sketch_dim : int, optional
        Sketch the features to this dimension (None: raw gradients).
    sketch : {"srht", "rademacher"}, default "srht"
    seed : int, default 0
        Base seed of every per-step random choice.
    chunk_size : int, optional
        Rows per feature pass (pool and anchors share one pass); None: as many as keep the
        activations near 1 GiB (:func:`~llm_minibatch.features.per_example_gradients`).
    deterministic : bool, default False
        Greedy instead of residual random greedy (``partitionsel``, ``iwd``).
    target_proportions : mapping, optional
        Passed to the budget rule (``budget_rule="mixture"``).
    quotas : mapping, optional
        Passed to the budget rule (``budget_rule="explicit"``).
    keep_all : sequence of domains, default ()
        Passed to the budget rule: domains whose every example is kept.
    minibatch_size : int, optional
        A fixed ``b`` instead of ``ratio · N``; a pool with fewer rows is an error.

    Attributes
    ----------
    config : SelectorConfig
        The checked settings (also readable as attributes: ``selector.method``, ...).
    step : int
        The step of the next selection (incremented by every selection).
    history : collections.deque of dict
        ``StepRecord.as_log()`` of the last :attr:`HISTORY_LIMIT` steps (a step's full record
        is what :meth:`select` returns): ``step``, ``method``,
        ``pool_size``, ``b``, ``lr`` (η used, None for featureless methods),
        ``domain_counts``, ``conflicting_pairs`` and ``utility`` (F(S); None for ``random``
        and ``full``), ``feature_seconds``, ``selection_seconds``.
    stats : dict
        Running diagnostics over all steps: ``steps``; ``means`` (of ``feature_seconds``,
        ``selection_seconds``, ``utility``, ``conflicting_pairs`` over the steps that have
        them) with their ``counts``; ``domain_totals`` (examples selected per domain).

    Raises
    ------
    InvalidInputError
        At construction, naming the argument: ``ratio`` outside ``(0, 1]``, an unknown
        ``method``, ``budget_rule`` or ``sketch``, a ``param_filter`` matching no parameter of
        the model, neither ``lr`` nor ``optimizer`` for a method that needs η, a non-positive
        ``lr``.

    Notes
    -----
    **Distributed.** Under ``torch.distributed`` (world size > 1), ``pool_batch`` and
    ``domains`` are this rank's part of the pool. Each rank computes the features of its part
    (and of its share of the step's anchors); features, domains and pool tensors are
    all-gathered (sequences padded to the longest: ``input_ids`` with the model's
    ``pad_token_id`` or 0, ``labels`` with -100, ``attention_mask`` and anything else with 0),
    so every rank holds the global pool in rank order and runs the identical seeded selection.
    :meth:`select` returns global indices; :meth:`local_share` gives rank ``r`` the slice
    ``indices[r::world_size]`` and :meth:`select_batch` the matching rows. Every rank must
    call the selector the same number of times, with the same configuration, seed and
    held-out set; a bad input on any rank raises the same error on all ranks. With ``b`` not
    a multiple of the world size the shares differ by one row (DDP still averages the ranks'
    mean losses). Without an ``attention_mask``, padding across ranks is right padding with
    labels -100, which a causal model's real tokens never attend to.

    **η.** The utilities accept η in ``[1e-8, 10]``; a learning rate outside (e.g. 0 at the
    first warm-up step) is clipped into it — η → 0 is the limit where the diagonal term
    vanishes, well approximated by 1e-8.

    **Domain labels.** They end up in JSON checkpoints (:meth:`state_dict`), so they must be
    values JSON gives back exactly: ``str``, ``int``, ``bool``, finite ``float``, or tuples
    of these (stored as lists, read back as tuples); numpy scalars and 0-d tensors count as
    their Python value. Anything else — ``bytes``, None, NaN, frozensets, arbitrary objects —
    is rejected by the first :meth:`select`, not by the first checkpoint. Labels that are
    equal as dict keys but of different types (``1``, ``1.0`` and ``True``; ``(1,)`` and
    ``(True,)``) are rejected too, since quotas and counts would merge them into one domain.

    Examples
    --------
    See the module docstring for a full loop. Construction errors come before any work:

    >>> import torch
    >>> from llm_minibatch.loop import PartitionSel
    >>> PartitionSel(torch.nn.Linear(2, 2), method="random", ratio=1.5)
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: ratio: expected a value in (0.0, 1.0], got 1.5
    >>> sel = PartitionSel(torch.nn.Linear(2, 2), method="random", ratio=0.5, seed=1)
    >>> pool = {"input_ids": torch.arange(12).reshape(6, 2)}
    >>> record = sel.select(pool, ["a", "a", "a", "b", "b", "b"])
    >>> record.indices.tolist(), record.domain_counts
    ([5, 2, 0], {'a': 2, 'b': 1})
    """

    #: How many steps :attr:`history` keeps.
    HISTORY_LIMIT = 1000

    def __init__(
        self,
        model: nn.Module,
        config: SelectorConfig | None = None,
        *,
        optimizer: torch.optim.Optimizer | None = None,
        anchors: AnchorSampler | None = None,
        process_group: Any = None,
        **settings: Any,
    ):
        if not isinstance(model, nn.Module):
            raise InvalidInputError(
                f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if config is None:
            config = SelectorConfig.from_settings(settings)
        elif not isinstance(config, SelectorConfig):
            raise InvalidInputError(
                f"config: expected a SelectorConfig, got {type(config).__name__}")
        elif settings:  # the config, with some settings overridden
            SelectorConfig.from_settings(settings)  # names an unknown setting
            config = dataclasses.replace(config, **settings)
        config = config.validate()
        if optimizer is not None and not getattr(optimizer, "param_groups", None):
            raise InvalidInputError(
                "optimizer: expected a torch optimizer with at least one param group, got "
                f"{type(optimizer).__name__}")
        self.config = config
        for f in dataclasses.fields(SelectorConfig):  # read-only mirrors of the settings
            setattr(self, f.name, getattr(config, f.name))
        self.model = _unwrap(model)
        self.optimizer = optimizer
        self.process_group = process_group
        self.needs_features = self.method not in FEATURELESS
        self._feature_dim = None
        if self.needs_features:
            selected = select_parameters(self.model, self.param_filter)  # names param_filter
            total = sum(p.numel() for p in selected.values())
            if self.sketch_dim is not None and self.sketch == "srht":
                padded = 1 << (total - 1).bit_length()
                if self.sketch_dim > padded:
                    raise InvalidInputError(
                        f"sketch_dim: an SRHT sketch of the {total} selected gradient "
                        f"coordinates has at most {padded} outputs, got {self.sketch_dim}")
            self._feature_dim = self.sketch_dim if self.sketch_dim is not None else total
            if optimizer is None and self.lr is None:
                raise InvalidInputError(
                    f"lr: method {self.method!r} needs the learning rate η; pass optimizer= "
                    "(its current lr is used at every step) or lr=")
        if anchors is not None and not isinstance(anchors, AnchorSampler):
            anchors = AnchorSampler(anchors, seed=self.seed)
        self.anchors = anchors
        self.step = 0
        self.history: deque = deque(maxlen=self.HISTORY_LIMIT)
        self.stats: dict = self._empty_stats()

    def __repr__(self) -> str:
        return (f"PartitionSel(method={self.method!r}, ratio={self.ratio}, "
                f"budget_rule={self.budget_rule!r}, seed={self.seed}, step={self.step})")

    # ------------------------------------------------------------------ small public pieces
    def batch_size(self, pool_size: int) -> int:
        """``b`` for a pool of ``pool_size`` rows: ``max(1, round(ratio · pool_size))``
        (``minibatch_size`` when fixed; ``pool_size`` for ``method="full"``)."""
        n = check_int(pool_size, "pool_size", minimum=0)
        if self.method == "full":
            return n
        if self.minibatch_size is not None:
            return self.minibatch_size
        return max(1, int(round(self.ratio * n)))

    def current_lr(self) -> float:
        """η for the next selection: the optimizer's current lr (first param group) or
        ``lr``, clipped into the utilities' range ``[1e-8, 10]``."""
        if self.optimizer is not None:
            raw = self.optimizer.param_groups[0]["lr"]
            name = "optimizer"
        elif self.lr is not None:
            raw, name = self.lr, "lr"
        else:
            raise InvalidInputError(
                f"lr: method {self.method!r} needs the learning rate η; set optimizer or lr")
        eta = check_real(float(raw), f"{name} (learning rate)")
        return min(max(eta, LR_RANGE[0]), LR_RANGE[1])

    def local_share(self, indices: Any) -> torch.Tensor:
        """This rank's part of a selection: ``indices[rank::world_size]`` (all of it when not
        distributed), as a CPU long tensor."""
        d = _Dist(self.process_group)
        idx = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor)
                              else indices, dtype=torch.long).cpu().reshape(-1)
        return idx[d.rank::d.world]

    # ------------------------------------------------------------------ selection
    def select(self, pool_batch: Mapping[str, Any], domains: Sequence[Any], *,
               step: int | None = None) -> StepRecord:
        """Select the minibatch rows of a pool.

        Parameters
        ----------
        pool_batch : mapping of str to tensors
            The pool (this rank's part under ``torch.distributed``): ``input_ids`` (N, T)
            (required unless the method is featureless), optional ``labels`` (default:
            ``input_ids`` with padding ignored) and ``attention_mask``; every tensor has N
            rows.
        domains : sequence of N hashable labels (list, numpy array or tensor)
        step : int, optional
            The step whose seeds to use; default the internal counter :attr:`step`. The
            counter becomes ``step + 1`` afterwards.

        Returns
        -------
        StepRecord
            The step: ``indices`` (the ``b`` selected rows of the global pool, CPU, in
            selection order), ``local_indices`` (this rank's share), quotas, per-domain
            counts, F(S), conflicting pairs, η and the time split.

        Raises
        ------
        InvalidInputError
            ``pool_batch`` empty, not a mapping, with tensors of different row counts, or
            smaller than the minibatch; ``domains`` of the wrong length; no ``anchors`` for a
            method that needs the target; bad token ids (from the feature computation).
        """
        record, _ = self._run(pool_batch, domains, step)
        return record

    def select_batch(self, pool_batch: Mapping[str, Any], domains: Sequence[Any],
                     step: int | None = None, *, return_record: bool = False
                     ) -> dict | tuple[dict, StepRecord]:
        """Select and return this rank's minibatch: the pool's entries at the record's
        ``local_indices`` (all selected rows when not distributed).

        Tensors are indexed by row; lists with one entry per pool row are indexed likewise;
        every other entry is passed through unchanged. With ``return_record=True`` the
        :class:`StepRecord` of the step comes back too: ``(batch, record)``.
        """
        record, pool = self._run(pool_batch, domains, step, for_batch=True)
        share = record.local_indices
        n = record.pool_size
        out = {}
        for k, v in pool.items():
            if isinstance(v, torch.Tensor):
                out[k] = v[share.to(v.device)]
            elif isinstance(v, (list, tuple)) and len(v) == n:
                out[k] = type(v)(v[i] for i in share.tolist())
            else:
                out[k] = v
        return (out, record) if return_record else out

    # ------------------------------------------------------------------ internals
    def _check_pool(self, pool_batch: Any, domains: Any) -> tuple[list, dict, dict]:
        """Validated ``(labels, tensors, other entries)`` of this rank's pool."""
        if not isinstance(pool_batch, Mapping):
            raise InvalidInputError(
                "pool_batch: expected a mapping of str to tensors (input_ids, labels, ...), "
                f"got {type(pool_batch).__name__}")
        labels = _domain_list(domains)
        tensors = {k: v for k, v in pool_batch.items() if isinstance(v, torch.Tensor)}
        others = {k: v for k, v in pool_batch.items() if not isinstance(v, torch.Tensor)}
        if "input_ids" in tensors:
            ids = _as_2d_int(tensors["input_ids"], "pool_batch['input_ids']")
            n = ids.shape[0]
            if len(labels) != n:
                raise InvalidInputError(
                    f"domains: expected one label per pool example ({n} rows of input_ids), "
                    f"got {len(labels)}")
        elif self.needs_features:
            raise InvalidInputError(
                f"pool_batch: method {self.method!r} needs 'input_ids' (and optionally "
                f"'labels', 'attention_mask'); got keys {list(pool_batch)[:8]}")
        else:
            n = len(labels)
        for k, v in tensors.items():
            if v.dim() == 0 or v.shape[0] != n:
                raise InvalidInputError(
                    f"pool_batch: entry {k!r} has shape {tuple(v.shape)}; every tensor needs "
                    f"one row per pool example ({n})")
        if self.needs_features:
            for k in ("labels", "attention_mask"):
                if k in tensors:
                    t = _as_2d_int(tensors[k], f"pool_batch[{k!r}]")
                    if tuple(t.shape) != tuple(tensors["input_ids"].shape):
                        raise InvalidInputError(
                            f"pool_batch: {k!r} has shape {tuple(t.shape)}, expected the shape "
                            f"of input_ids {tuple(tensors['input_ids'].shape)}")
        return labels, tensors, others

    def _step_for(self, step: int | None) -> int:
        return self.step if step is None else check_int(step, "step", minimum=0)

    def _features(self, pool: Mapping[str, torch.Tensor], anchors: Mapping[str, torch.Tensor]
                  | None, sketch_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of the pool rows and of the anchor rows, from ONE feature pass.

        Both batches are right-padded to the longer sequence length (ids with the pad id,
        labels -100, mask 0) and concatenated; right padding changes no real token's
        features, so each row gets the features it would get alone.
        """
        dev = _model_device(self.model)
        parts = [pool] if anchors is None else [pool, anchors]
        sizes = [int(p["input_ids"].shape[0]) for p in parts]
        if sum(sizes) == 0:
            empty = torch.zeros(0, self._feature_dim, dtype=torch.float32, device=dev)
            return empty, empty.clone()
        t = max(int(p["input_ids"].shape[1]) for p in parts)
        need_mask = any("attention_mask" in p for p in parts) or \
            any(int(p["input_ids"].shape[1]) != t for p in parts)
        ids, labels, masks = [], [], []
        for p in parts:
            x = p["input_ids"].to(dev)
            m = p.get("attention_mask")
            m = torch.ones_like(x) if m is None else torch.as_tensor(m).to(dev)
            y = p.get("labels")
            y = _labels_from(x, m) if y is None else torch.as_tensor(y).to(dev)
            extra = t - x.shape[1]
            if extra:
                x = torch.nn.functional.pad(x, (0, extra), value=self._pad_value("input_ids"))
                y = torch.nn.functional.pad(y, (0, extra), value=IGNORE_INDEX)
                m = torch.nn.functional.pad(m, (0, extra), value=0)
            ids.append(x)
            labels.append(y)
            masks.append(m)
        F = gradient_features(
            self.model, torch.cat(ids), torch.cat(labels), param_filter=self.param_filter,
            sketch_dim=self.sketch_dim, sketch=self.sketch, seed=sketch_seed, normalize=True,
            chunk_size=self.chunk_size, attention_mask=torch.cat(masks) if need_mask else None,
            eval_mode=True)
        G, A = F[:sizes[0]], F[sizes[0]:]
        return G, A

    def _pad_value(self, key: str) -> int:
        if key == "labels":
            return IGNORE_INDEX
        if key == "input_ids":
            pad = getattr(getattr(self.model, "config", None), "pad_token_id", None)
            return pad if isinstance(pad, int) and pad >= 0 else 0
        return 0

    def _run(self, pool_batch: Any, domains: Any, step: int | None, for_batch: bool = False
             ) -> tuple[StepRecord, dict]:
        step = self._step_for(step)
        d = _Dist(self.process_group)
        dev = _model_device(self.model)
        rng_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] \
            if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            return self._run_inner(pool_batch, domains, step, d, for_batch)

    def _run_inner(self, pool_batch: Any, domains: Any, step: int, d: _Dist,
                   for_batch: bool = False) -> tuple[StepRecord, dict]:
        # 1. this rank's pool, checked; under DDP the checks' verdicts are shared first
        error = None
        try:
            labels, tensors, others = self._check_pool(pool_batch, domains)
        except InvalidInputError as exc:
            if not d.on:
                raise
            error, labels, tensors, others = str(exc), [], {}, {}
        anchor_rows = None
        if self.needs_features and self.anchors is None:
            raise InvalidInputError(
                f"anchors: method {self.method!r} needs a validation target; pass "
                "anchors=AnchorSampler(held_out_batch)")
        if self.needs_features:
            anchor_rows = self.anchors.sample_indices(step)

        if d.on:
            meta = {
                "error": error, "n": len(labels), "labels": labels,
                "shapes": {k: list(v.shape) for k, v in tensors.items()},
                "dtypes": {k: str(v.dtype) for k, v in tensors.items()},
                "lists": {k: list(v) for k, v in others.items()
                          if isinstance(v, (list, tuple)) and len(v) == len(labels)},
                "config": [self.method, self.seed, self.ratio, self.minibatch_size, step,
                           self.budget_rule, self.sketch_dim],
                "anchors": None if anchor_rows is None else [len(self.anchors),
                                                              anchor_rows.tolist()],
            }
            metas = d.gather_object(meta)
            d.raise_any([m["error"] for m in metas])
            self._check_consistent(metas)
            all_labels = [x for m in metas for x in m["labels"]]
        else:
            all_labels = labels
        pool_domains = PoolDomains(all_labels)  # checked and sorted once for the step
        n_total = len(pool_domains)
        b = self.batch_size(n_total)
        if n_total == 0:
            raise InvalidInputError("pool_batch: the pool is empty (0 examples)")
        if b > n_total:
            raise InvalidInputError(
                f"pool_batch: the pool has {n_total} examples, fewer than the minibatch size "
                f"b={b}")
        if for_batch and d.world > b:  # checked before any state changes
            raise InvalidInputError(
                f"ratio: the minibatch (b={b}) has fewer rows than the {d.world} ranks, so "
                "some rank would train on nothing; raise ratio or the pool size")

        # 2. features (local part), then gathered
        G = A = None
        eta = None
        t0 = time.perf_counter()
        if self.needs_features:
            eta = self.current_lr()
            sketch_seed = _mix_seed(self.seed, step, _TAG_SKETCH)
            share = anchor_rows[d.rank::d.world]
            error = None
            try:
                G, A = self._features(tensors, self.anchors.take(share) if len(share) else None,
                                      sketch_seed)
            except InvalidInputError as exc:
                if not d.on:
                    raise
                error = str(exc)
            if d.on:
                statuses = d.gather_object([error, None if G is None else list(G.shape),
                                            None if A is None else list(A.shape)])
                d.raise_any([s[0] for s in statuses])
                G = d.gather_rows(G, [s[1] for s in statuses], 0.0)
                A = d.gather_rows(A, [s[2] for s in statuses], 0.0)
                # back to the draw's order, so the target is summed as in one process
                order = np.concatenate([np.arange(len(anchor_rows))[r::d.world]
                                        for r in range(d.world)])
                restored = torch.empty_like(A)
                restored[torch.as_tensor(order, device=A.device)] = A
                A = restored
        feature_seconds = time.perf_counter() - t0 if self.needs_features else 0.0

        # 3. the global pool (every rank can index every row)
        if d.on:
            pool = {k: d.gather_rows(v, [m["shapes"][k] for m in metas], self._pad_value(k))
                    for k, v in tensors.items()}
            for k, v in others.items():
                if k in metas[0]["lists"]:
                    pool[k] = type(v)(x for m in metas for x in m["lists"][k])
                else:
                    pool[k] = v
        else:
            pool = dict(pool_batch)

        # 4. the identical seeded selection on every rank
        solver_seed = _mix_seed(self.seed, step, _TAG_SOLVER)
        if self.needs_features:
            sel = select_from_features(
                G, pool_domains, A, b, self.method, lr=eta, budget_rule=self.budget_rule,
                seed=solver_seed, deterministic=self.deterministic,
                target_proportions=self.target_proportions, quotas=self.quotas,
                keep_all=self.keep_all)
        else:
            sel = self._featureless(pool_domains, b, solver_seed)
        indices = torch.as_tensor(sel.indices, dtype=torch.long).cpu() \
            if isinstance(sel.indices, torch.Tensor) \
            else torch.as_tensor(np.asarray(sel.indices), dtype=torch.long)

        scored = self.needs_features
        record = StepRecord(
            step=int(step), method=self.method, indices=indices,
            local_indices=indices[d.rank::d.world], pool_size=int(n_total), b=int(b), lr=eta,
            quotas=None if sel.quotas is None else dict(sel.quotas),
            domain_counts=dict(sel.domain_counts),
            utility=float(sel.utility_value) if scored else None,
            conflicting_pairs=int(sel.conflicting_pairs) if scored else None,
            feature_seconds=float(feature_seconds), selection_seconds=float(sel.seconds),
            selection=sel)
        self._record(record)
        self.step = step + 1
        return record, pool

    def _featureless(self, labels: PoolDomains, b: int, seed: int) -> Selection:
        t0 = time.perf_counter()
        n = len(labels)
        quota_map = None
        if self.method == "full":
            idx = list(range(n))
        elif self.method == "stratified":  # the budget rule's quotas, random inside domains
            quota_map = compute_quotas(labels, b, self.budget_rule,
                                       target_proportions=self.target_proportions,
                                       quotas=self.quotas, keep_all=self.keep_all)
            idx = stratified_indices(labels, quota_map, seed)
        else:  # random: as select_from_features draws it
            idx = np.random.default_rng(seed).choice(n, size=b, replace=False).tolist()
        return Selection(indices=torch.as_tensor(idx, dtype=torch.long), method=self.method,
                         quotas=quota_map, domain_counts=domain_counts(labels, idx),
                         utility_value=float("nan"), conflicting_pairs=-1,
                         seconds=time.perf_counter() - t0)

    def _check_consistent(self, metas: list) -> None:
        first = metas[0]
        for r, m in enumerate(metas[1:], start=1):
            if m["config"] != first["config"]:
                raise InvalidInputError(
                    "step: ranks disagree on the selector's (method, seed, ratio, "
                    "minibatch_size, step, budget_rule, sketch_dim): rank 0 has "
                    f"{first['config']}, rank {r} has {m['config']}; build the selector "
                    "identically and call it the same number of times on every rank")
            if m["anchors"] != first["anchors"]:
                raise InvalidInputError(
                    f"anchors: ranks 0 and {r} drew different anchor rows; give every rank the "
                    "same held-out set and seed")
            if set(m["shapes"]) != set(first["shapes"]) or m["dtypes"] != first["dtypes"]:
                raise InvalidInputError(
                    f"pool_batch: ranks 0 and {r} hold different tensors "
                    f"({first['dtypes']} vs {m['dtypes']})")
            for k, s in m["shapes"].items():
                s0 = first["shapes"][k]
                if len(s) != len(s0) or s[2:] != s0[2:]:
                    raise InvalidInputError(
                        f"pool_batch: entry {k!r} has shape {s} on rank {r} but {s0} on rank "
                        "0; only the number of rows and the sequence length may differ")

    # ------------------------------------------------------------------ diagnostics
    @staticmethod
    def _empty_stats() -> dict:
        return {"steps": 0, "means": {}, "counts": {}, "domain_totals": {}}

    def _record(self, record: StepRecord) -> None:
        entry = record.as_log()
        self.history.append(entry)
        st = self.stats
        st["steps"] += 1
        for key in ("feature_seconds", "selection_seconds", "utility", "conflicting_pairs"):
            val = entry[key]
            if val is None or not math.isfinite(val):
                continue
            c = st["counts"][key] = st["counts"].get(key, 0) + 1
            m = st["means"].get(key, 0.0)
            st["means"][key] = m + (val - m) / c
        for dom, c in record.domain_counts.items():
            st["domain_totals"][dom] = st["domain_totals"].get(dom, 0) + int(c)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The selector's state as plain, JSON-serialisable Python data.

        ``step`` and ``seed`` (together the whole random state: every draw is derived from
        them), the configuration that fixes the selections (``method``, ``ratio``,
        ``minibatch_size``), the running ``stats`` and the ``history`` tail. Domain labels
        are stored as ``[label, count]`` pairs so non-string labels survive JSON (tuples as
        lists); a non-finite float in the history is stored as None, so the output is strict
        JSON and always accepted by :meth:`load_state_dict`.

        Save it atomically with :func:`write_state_file` (a crash mid-save never truncates
        the previous file) and read it back with :func:`read_state_file`::

            write_state_file(os.path.join(ckpt_dir, "selector.json"), sel.state_dict())
            sel.load_state_dict(read_state_file(os.path.join(ckpt_dir, "selector.json")))
        """
        stats = {"steps": int(self.stats["steps"]), "means": dict(self.stats["means"]),
                 "counts": dict(self.stats["counts"]),
                 "domain_totals": _pairs(self.stats["domain_totals"])}
        history = [{**{k: _finite_or_none(v) for k, v in e.items()},
                    "domain_counts": _pairs(e["domain_counts"])} for e in self.history]
        return {"format": _STATE_FORMAT, "step": int(self.step), "seed": int(self.seed),
                "method": self.method, "ratio": self.ratio,
                "minibatch_size": self.minibatch_size, "stats": stats, "history": history}

    @staticmethod
    def _parse_state(state: Any) -> tuple[int, int, dict, list]:
        """Validate a whole :meth:`state_dict` output; ``(step, seed, stats, history)`` decoded.

        Every error names the offending key, e.g. ``state_dict['history'][3]['utility']``.
        """
        if not isinstance(state, Mapping):
            raise InvalidInputError(
                f"state_dict: expected the output of PartitionSel.state_dict() (a mapping), "
                f"got {type(state).__name__}")
        if state.get("format") != _STATE_FORMAT:
            raise InvalidInputError(
                f"state_dict['format']: expected {_STATE_FORMAT!r} (the output of "
                f"PartitionSel.state_dict()), got {state.get('format')!r}")
        missing = [k for k in ("step", "seed", "stats", "history") if k not in state]
        if missing:
            raise InvalidInputError(f"state_dict: missing key(s) {missing}")
        step = check_int(state["step"], "state_dict['step']", minimum=0)
        seed = check_int(state["seed"], "state_dict['seed']", minimum=0)
        if "method" in state and not isinstance(state["method"], str):
            raise InvalidInputError(
                f"state_dict['method']: expected a method name, got {state['method']!r}")
        if "ratio" in state:
            _state_real(state["ratio"], "state_dict['ratio']", low=0.0, high=1.0,
                        low_open=True)
        if state.get("minibatch_size") is not None:
            check_int(state["minibatch_size"], "state_dict['minibatch_size']", minimum=1)
        st = _state_mapping(state["stats"], "state_dict['stats']",
                            ("steps", "means", "counts", "domain_totals"))
        means = _state_mapping(st["means"], "state_dict['stats']['means']")
        counts = _state_mapping(st["counts"], "state_dict['stats']['counts']")
        stats = {
            "steps": check_int(st["steps"], "state_dict['stats']['steps']", minimum=0),
            "means": {_state_key(k, "state_dict['stats']['means']"):
                      _state_real(v, f"state_dict['stats']['means'][{k!r}]")
                      for k, v in means.items()},
            "counts": {_state_key(k, "state_dict['stats']['counts']"):
                       check_int(v, f"state_dict['stats']['counts'][{k!r}]", minimum=0)
                       for k, v in counts.items()},
            "domain_totals": _unpairs(st["domain_totals"],
                                      "state_dict['stats']['domain_totals']"),
        }
        if not isinstance(state["history"], (list, tuple)):
            raise InvalidInputError(
                f"state_dict['history']: expected a list of entries, got "
                f"{type(state['history']).__name__}")
        history = [_history_entry(e, f"state_dict['history'][{i}]")
                   for i, e in enumerate(state["history"])]
        return step, seed, stats, history

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output: the step counter, seed, stats and history.

        With the model and optimiser restored too, the following selections are those the
        uninterrupted run would have made. A state saved with another method, ratio or
        minibatch size is loaded with a warning (its selections will differ).

        The whole state is validated before anything is assigned, so a bad state leaves the
        selector as it was.

        Raises
        ------
        InvalidInputError
            Naming the offending key: another ``format``, a missing key, a wrong type, a
            negative step, seed or count, a non-finite float, a history entry without one of
            its keys (``step``, ``method``, ``pool_size``, ``b``, ``lr``, ``domain_counts``,
            ``conflicting_pairs``, ``utility``, ``feature_seconds``, ``selection_seconds``),
            an invalid or repeated domain label.
        """
        step, seed, stats, history = self._parse_state(state)
        for key in ("method", "ratio", "minibatch_size"):
            if key in state and state[key] != getattr(self, key):
                warnings.warn(
                    f"state_dict: saved with {key}={state[key]!r}, this selector has "
                    f"{getattr(self, key)!r}; later selections differ from the saved run's",
                    UserWarning, stacklevel=2)
        self.step, self.seed, self.stats = step, seed, stats
        self.history = deque(history, maxlen=self.HISTORY_LIMIT)


# --------------------------------------------------------------------------- loader wrapper
def selected_batches(loader: Iterable[Mapping[str, Any]], selector: PartitionSel, *,
                     domain_key: str = "domain") -> Iterator[dict]:
    """Yield the selected minibatch of every pool a DataLoader produces.

    Parameters
    ----------
    loader : iterable of mappings
        Each item is a pool: tensors (``input_ids``, ``labels``, ...) and, under
        ``domain_key``, the domain of every row (a list or a tensor).
    selector : PartitionSel
    domain_key : str, default "domain"

    Yields
    ------
    dict
        :meth:`PartitionSel.select_batch` of the pool without ``domain_key``: the selected
        rows (this rank's share under ``torch.distributed``), nothing else changed.

    Raises
    ------
    InvalidInputError
        A pool that is not a mapping or lacks ``domain_key``.

    Examples
    --------
    >>> import torch
    >>> from llm_minibatch.loop import PartitionSel, selected_batches
    >>> pools = [{"input_ids": torch.arange(16).reshape(8, 2), "domain": [0] * 4 + [1] * 4}]
    >>> sel = PartitionSel(torch.nn.Linear(2, 2), method="random", ratio=0.25)
    >>> [sorted(batch) for batch in selected_batches(pools, sel)]
    [['input_ids']]
    """
    if not isinstance(selector, PartitionSel):
        raise InvalidInputError(
            f"selector: expected a PartitionSel, got {type(selector).__name__}")
    for i, pool in enumerate(loader):
        if not isinstance(pool, Mapping) or domain_key not in pool:
            keys = list(pool)[:8] if isinstance(pool, Mapping) else type(pool).__name__
            raise InvalidInputError(
                f"domain_key: pool {i} has no {domain_key!r} entry (got {keys})")
        rest = {k: v for k, v in pool.items() if k != domain_key}
        yield selector.select_batch(rest, pool[domain_key])
