"""GreeDi and RandGreeDi: solve shards of the ground set on Dask workers, then their union.

GreeDi (Mirzasoleiman, Karbasi, Sarkar, Krause 2013) partitions the ground set into ``m``
shards, solves each shard with any registered solver (in parallel, one task per shard),
solves the union of the shards' solutions once more, and returns the best of that merged
solution and the shards' own. RandGreeDi (Barbosa, Ene, Nguyen, Ward 2015) draws the
partition uniformly at random, which makes the result an ``α/2`` approximation in
expectation for any ``α``-approximate shard solver under a matroid constraint — the max
step is part of that guarantee.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from .._backend import as_list_1d, check_int, to_output
from ..constraint import Constraint
from ..errors import InvalidInputError
from ..matroid.uniform import UniformMatroid
from ..seeds import spawn_rngs
from ..utility.base import Utility
from ._run import rename_elements
from .result import Result
from .spec import SOLVER_SPECS, E, SolverSpec, guarantee_kind, matroid_like

__all__ = ["SPEC", "greedi", "greedi_guarantee"]

_SYNCHRONOUS = "synchronous"


def greedi(utility: Utility, constraint: Constraint | int, *, seed: Any = None,
           shards: int = 2, partition: Any = "random", shard_solver: str = "lazy_greedy",
           solver_options: dict | None = None, client: Any = None,
           utility_factory: Callable[[np.ndarray], Utility] | None = None,
           progress: bool = False, certificate: bool = True) -> Result:
    """Distributed greedy: shards solved on Dask workers, then the union of their solutions.

    1. Partition the ground set into ``shards`` parts (uniformly at random, or as given).
    2. On the workers, solve each part with ``shard_solver`` under the constraint restricted to it.
    3. Solve the union of the parts' solutions with ``shard_solver`` (on this process).
    4. Return the best of the merged solution and every part's solution (all feasible).

    Guarantee
    ---------
    ``partition="random"`` (RandGreeDi): ``α/2`` in expectation for monotone submodular
    ``f`` under a matroid (or cardinality) constraint, where ``α`` is the shard solver's
    ratio (``(1 - 1/e)/2`` with greedy under a cardinality constraint, ``1/4`` under a
    matroid; Barbosa, Ene, Nguyen, Ward 2015, Theorem 1). A given partition (GreeDi) under a
    cardinality constraint ``k`` with greedy or lazy greedy: ``(1 - 1/e)^2 / min(m, k)``
    (Mirzasoleiman et al. 2013, Theorem 4.2). One shard: the solver's own ratio.

    The certificate is free: ``OPT <= sum_i OPT_i`` (``f`` is subadditive and the optimum's
    part in shard ``i`` is feasible there), so the sum of the shards' certificates bounds
    ``OPT``.

    Complexity
    ----------
    The shard solves in parallel (each on ``~n/m`` elements), then one solve on at most
    ``m · r`` elements (``r``: the constraint's rank). Each worker receives only its shard's
    data: :meth:`Utility._shard <matroidopt.Utility._shard>` (a facility location's kernel
    columns or feature rows), sent with ``client.scatter``, or nothing but the element
    indices when ``utility_factory`` builds the shard on the worker.

    Parameters
    ----------
    utility : Utility
        A monotone submodular utility.
    constraint : int or Matroid
        A cardinality constraint (an int ``k``) or a matroid.
    seed : int, numpy Generator or None
        Draws the random partition and seeds randomised shard solvers.
    shards : int
        Number of parts ``m`` (>= 1) when ``partition="random"``.
    partition : "random" or array-like of int
        ``"random"``: a uniformly random partition into ``shards`` parts; else a label per
        element (``n`` integers, parts numbered ``0..m-1``; ``shards`` is ignored).
    shard_solver : str
        A registered solver (:data:`matroidopt.SOLVERS`) for the parts and for the merge.
    solver_options : dict, optional
        Passed to ``shard_solver``.
    client : distributed.Client, "synchronous" or None
        Where the shards run. None: a :class:`distributed.LocalCluster` on loopback (one
        single-threaded worker process per CPU, at most ``m``), started and closed here.
        ``"synchronous"``: one after another in this process, without Dask (tests, small
        problems).
    utility_factory : callable, optional
        ``utility_factory(elements) -> Utility`` builds a part's utility on its worker from
        the (sorted) element indices, e.g. from a memory-mapped file, so no data is shipped.
        It must equal ``utility`` restricted to ``elements``.
    progress : bool
        A progress bar over the parts.
    certificate : bool
        Report the sum of the parts' certificates as ``upper_bound``.

    Returns
    -------
    Result
        ``info``: ``partition`` ("random" or "given"), ``shards``, ``winner`` ("merged" or
        the index of the part whose solution won), ``merged_value``, ``shard_values``,
        ``union_size``.

    Examples
    --------
    >>> import numpy as np, matroidopt as mo
    >>> X = np.random.default_rng(0).normal(size=(400, 6))
    >>> f = mo.FacilityLocation.from_features(X, metric="rbf")
    >>> r = mo.greedi(f, 10, shards=4, seed=0, client="synchronous")
    >>> central = mo.lazy_greedy(f, 10)
    >>> len(r.indices), r.expected, r.value >= 0.95 * central.value
    (10, True, True)
    """
    t0 = time.perf_counter()
    n = utility.n
    rng_partition, rng_shards = spawn_rngs(seed, 2)
    labels, m, given = _partition(partition, shards, n, rng_partition)
    solver = shard_solver
    if solver not in _specs():
        raise InvalidInputError(f"shard_solver: expected a registered solver, one of "
                                f"{sorted(_specs())}, got {solver!r}")
    shard_spec = _specs()[solver]
    if solver == "greedi":
        raise InvalidInputError("shard_solver: greedi cannot solve its own parts; pick "
                                "another")
    options = dict(solver_options or {})
    parts = [np.flatnonzero(labels == i) for i in range(m)]
    seeds = [int(s.integers(2**63 - 1)) for s in spawn_rngs(rng_shards, m + 1)]
    tasks = [(p, _sub_constraint(constraint, p), seeds[i]) for i, p in enumerate(parts)]
    with _client(client, m) as cl:
        local = _solve_parts(cl, utility, utility_factory, tasks, solver, options, progress)
    union = np.unique(np.concatenate([idx for idx, *_ in local])) if local else \
        np.zeros(0, dtype=np.int64)
    merged_f = utility._shard(torch.as_tensor(union, dtype=torch.long))
    merged = shard_spec.run(merged_f, _sub_constraint(constraint, union),
                            **_with_seed(shard_spec, options, seeds[m]))
    merged_idx = union[np.asarray(merged.indices.tolist(), dtype=np.int64)]
    candidates = [("merged", merged_idx)] + [(i, idx) for i, (idx, _, _) in enumerate(local)]
    values = [utility.evaluate(idx.tolist()) for _, idx in candidates]
    best = max(range(len(candidates)), key=lambda i: (values[i], -i))  # ties: merged first
    winner, chosen = candidates[best]
    bound = None
    if certificate and all(ub is not None for _, ub, _ in local):
        bound = max(sum(ub for _, ub, _ in local), values[best])
    ratio, expected = greedi_guarantee(utility, constraint, partition=partition,
                                       shards=m, shard_solver=solver,
                                       solver_options=options)
    return Result(
        indices=to_output(chosen.tolist(), utility.torch_input, utility.device),
        gains=_prefix_gains(utility, chosen),
        value=float(values[best]),
        upper_bound=bound,
        guarantee=ratio,
        expected=expected,
        oracle_calls=merged.oracle_calls + sum(calls for _, _, calls in local),
        seconds=time.perf_counter() - t0,
        solver="greedi",
        info={"partition": "given" if given else "random", "shards": m,
              "winner": winner, "merged_value": float(values[0]),
              "shard_values": [float(v) for v in values[1:]], "union_size": int(union.size)},
    )


def greedi_guarantee(utility: Utility, constraint: Constraint, *, partition: Any = "random",
                     shards: int = 2, shard_solver: str = "lazy_greedy",
                     solver_options: dict | None = None, **options: Any
                     ) -> tuple[float | None, bool]:
    """RandGreeDi: half the shard solver's ratio, in expectation (matroid or cardinality);
    GreeDi with a given partition: ``(1 - 1/e)^2 / min(m, k)`` for greedy under a
    cardinality constraint; one shard: the solver's ratio."""
    solver = shard_solver
    if not (utility.monotone and utility.submodular and utility.gains_are_exact) or \
            not matroid_like(constraint) or solver not in _specs():
        return None, False
    alpha, alpha_expected = _specs()[solver].guarantee(utility, constraint,
                                                       **(solver_options or {}))
    if alpha is None:
        return None, False
    given = not (isinstance(partition, str) and partition == "random")
    m = int(np.unique(np.asarray(as_list_1d(partition, "partition", "labels"))).size) \
        if given else int(shards)
    if m <= 1:
        return alpha, alpha_expected
    if not given:
        return alpha / 2.0, True
    k = constraint._max_feasible_size()
    if guarantee_kind(constraint) == "cardinality" and solver in ("greedy", "lazy_greedy"):
        return E * E / min(m, max(k, 1)), False
    return None, False


def _specs() -> dict[str, SolverSpec]:
    return SOLVER_SPECS


def _partition(partition: Any, shards: int, n: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, int, bool]:
    """Labels ``0..m-1`` per element, ``m``, and whether the partition was given."""
    if isinstance(partition, str):
        if partition != "random":
            raise InvalidInputError(
                f"partition: expected 'random' or a label per element, got {partition!r}")
        m = check_int(shards, "shards", minimum=1)
        return rng.integers(0, m, size=n), m, False
    raw = as_list_1d(partition, "partition", f"'random' or {n} integer labels")
    if len(raw) != n:
        raise InvalidInputError(f"partition: expected {n} labels (one per element), "
                                f"got {len(raw)}")
    labels = np.asarray(raw)
    if n and (labels.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"partition: expected integer labels, got {labels.dtype} values")
    labels = labels.astype(np.int64)
    if n and labels.min() < 0:
        raise InvalidInputError(f"partition: labels must be >= 0, got {int(labels.min())}")
    m = int(labels.max()) + 1 if n else 1
    return labels, m, True


def _sub_constraint(constraint: Constraint, elements: np.ndarray) -> Constraint:
    """The constraint restricted to ``elements`` (re-indexed)."""
    if constraint.kind == "cardinality":
        return UniformMatroid(len(elements), min(constraint._max_feasible_size(),
                                                 len(elements)))
    return constraint.restrict(elements.tolist())


def _with_seed(spec: SolverSpec, options: dict, seed: int) -> dict:
    if "seed" in inspect.signature(spec.body or spec.fn).parameters and "seed" not in options:
        return {**options, "seed": seed}
    return options


def _solve_part(utility: Utility | None, factory, elements: np.ndarray,
                constraint: Constraint, solver: str, options: dict, seed: int
                ) -> tuple[np.ndarray, float | None, int]:
    """One part's solve (on a worker): global indices, certificate, oracle calls."""
    spec = SOLVER_SPECS[solver]
    u = factory(elements) if utility is None else utility
    if not isinstance(u, Utility) or u.n != len(elements):
        raise InvalidInputError(
            f"utility_factory: expected a Utility over the part's {len(elements)} elements, "
            f"got {u!r}")
    try:
        r = spec.run(u, constraint, **_with_seed(spec, options, seed))
    except InvalidInputError as exc:   # name the ground set's elements, not the part's
        raise InvalidInputError(_global_elements(str(exc), elements)) from None
    picked = np.asarray(r.indices.tolist(), dtype=np.int64)
    return elements[picked], r.upper_bound, int(r.oracle_calls)


def _global_elements(message: str, elements: np.ndarray) -> str:
    """``message`` with each "elements [i, j]" of a part's solve renamed to the ground set's
    indices."""
    return rename_elements(message, elements) + \
        f" (in a greedi part of {len(elements)} elements)"


def _solve_parts(client, utility, factory, tasks, solver, options, progress):
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="greedi", disable=not progress, leave=False)
    try:
        if client == _SYNCHRONOUS:
            out = []
            for p, c, s in tasks:
                u = None if factory is not None else utility._shard(torch.as_tensor(p))
                out.append(_solve_part(u, factory, p, c, solver, options, s))
                bar.update(1)
            return out
        from distributed import as_completed

        futures = []
        for p, c, s in tasks:
            # the part's data goes to a worker by reference (scatter), never in the graph
            u = None if factory is not None else client.scatter(
                utility._shard(torch.as_tensor(p)), hash=False)
            futures.append(client.submit(_solve_part, u, factory, p, c, solver, options, s,
                                         pure=False))
        for _ in as_completed(futures):
            bar.update(1)
        return client.gather(futures)
    finally:
        bar.close()


@contextlib.contextmanager
def _client(client: Any, parts: int) -> Iterator[Any]:
    """The Dask client to use: the given one, none (synchronous), or a LocalCluster on
    loopback started for this call and closed after it."""
    if isinstance(client, str):
        if client != _SYNCHRONOUS:
            raise InvalidInputError(
                f"client: expected a distributed.Client, 'synchronous' or None, got {client!r}")
        yield client
        return
    if client is not None:
        if not all(hasattr(client, a) for a in ("submit", "scatter", "gather")):
            raise InvalidInputError(
                f"client: expected a distributed.Client, 'synchronous' or None, "
                f"got {type(client).__name__}")
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InvalidInputError(
            "client: starting a local Dask cluster needs the 'distributed' extra "
            "(pip install 'matroidopt[distributed]'); or pass client='synchronous'") from exc
    workers = max(1, min(parts, os.cpu_count() or 1))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=":0") as cluster, \
            Client(cluster) as cl:
        yield cl


def _prefix_gains(utility: Utility, chosen: np.ndarray) -> np.ndarray:
    """``f(S_t) - f(S_{t-1})`` along the returned order."""
    state = utility._init_state()
    out = []
    for j in chosen.tolist():
        before = float(utility._value(state))
        state = utility._add(state, j)
        out.append(float(utility._value(state)) - before)
    return np.asarray(out, dtype=np.float64)


SPEC = SolverSpec.declare(
    "greedi", greedi, greedi_guarantee,
    rows=(("greedi (random partition: RandGreeDi)", "any matroid", "monotone submodular",
           "α/2 in expectation (α: the shard solver's ratio)"),
          ("greedi (given partition)", "cardinality k, m parts", "monotone submodular",
           "(1-1/e)^2 / min(m, k)")),
    accepts=("matroid",),
    accepts_note="GreeDi restricts the constraint to each part; use a matroid or an int k")
greedi = SPEC.fn  # the public function: admits once, runs the body
