"""Data scenarios of the experiment: pure, seeded transformations of the training rows.

The experiment splits the data (shipped corpus or ``--data`` file) into training, anchor and
validation rows as the demo does; a scenario then changes **only the training rows** the
pools are drawn from. Anchors and validation stay clean, so validation-guided selection has
something to find. Every generator is a pure function of its inputs and a seed (the input
rows are never modified) and returns what it did, so its claim can be checked exactly.

Scenarios
---------
``embedded``
    The shipped corpus, unchanged.
``file``
    The ``--data`` file, unchanged.
``noisy``
    A share (default 50 %) of ONE domain's training answers corrupted
    (:func:`corrupt_answers`).
``imbalanced``
    The training rows subsampled to strongly skewed domain sizes, 8 : 4 : 2 : 1 for four
    domains by default (:func:`imbalance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

__all__ = ["NOISE_MODES", "SCENARIOS", "apply_scenario", "corrupt_answers", "imbalance"]

#: Scenario names and what they do.
SCENARIOS: dict[str, str] = {
    "embedded": "the shipped corpus, unchanged",
    "file": "the --data file, unchanged",
    "noisy": "a share of one domain's training answers corrupted (validation clean)",
    "imbalanced": "training rows subsampled to skewed domain sizes (8:4:2:1 by default)",
}
#: Ways :func:`corrupt_answers` corrupts an answer.
NOISE_MODES = ("swap", "shuffle")


def _domain_positions(rows: Sequence[Mapping[str, Any]]) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        out.setdefault(r["domain"], []).append(i)
    return out


def _by_size(positions: Mapping[Any, list[int]]) -> list:
    """Domains by training count, largest first (ties: by name)."""
    return sorted(positions, key=lambda d: (-len(positions[d]), str(d)))


def corrupt_answers(rows: Sequence[Mapping[str, Any]], domain: Any = None, share: float = 0.5,
                    seed: int = 0, mode: str = "swap") -> tuple[list[dict], dict]:
    """Corrupt ``round(share · n_d)`` answers of one domain's training rows.

    Parameters
    ----------
    rows : sequence of mappings with ``prompt``, ``answer`` and ``domain``
        Training rows (not modified).
    domain : hashable, optional
        The domain to corrupt (default: the largest one, ties by name).
    share : float, default 0.5
        Fraction of that domain's rows corrupted, in ``[0, 1]``.
    seed : int, default 0
        Seed of the choice of rows and of the corruption.
    mode : {"swap", "shuffle"}, default "swap"
        ``"swap"``: the answer is replaced by a different answer of another example of the
        same domain (plausible but wrong); ``"shuffle"``: its characters are shuffled (an
        answer whose characters are all equal, e.g. ``"7"``, is swapped instead). Either way
        a corrupted answer differs from the original whenever the domain has another
        answer; a row that cannot be changed is counted in ``info["unchanged"]``.

    Returns
    -------
    rows : list of dict
        Copies of the rows, the corrupted ones with their new answer.
    info : dict
        ``domain``, ``share``, ``mode``, ``n_domain``, ``corrupted`` (sorted row indices),
        ``n_corrupted``, ``unchanged``.

    Raises
    ------
    InvalidInputError
        ``domain`` absent from ``rows``, ``share`` outside ``[0, 1]``, an unknown ``mode``,
        ``rows`` empty or without the keys.

    Examples
    --------
    >>> from llm_minibatch.experiment.scenarios import corrupt_answers
    >>> rows = [{"prompt": str(i), "answer": str(i), "domain": "a" if i < 6 else "b"}
    ...         for i in range(8)]
    >>> new, info = corrupt_answers(rows, "a", share=0.5, seed=0)
    >>> info["n_corrupted"], all(new[i]["answer"] != rows[i]["answer"] for i in info["corrupted"])
    (3, True)
    """
    _check_rows(rows)
    share = check_real(share, "share", low=0.0, high=1.0)
    seed = check_int(seed, "seed", minimum=0)
    if mode not in NOISE_MODES:
        raise InvalidInputError(f"mode: expected one of {list(NOISE_MODES)}, got {mode!r}")
    positions = _domain_positions(rows)
    if domain is None:
        domain = _by_size(positions)[0]
    if domain not in positions:
        raise InvalidInputError(
            f"domain: {domain!r} is not among the training domains {sorted(map(str, positions))}")
    rng = np.random.default_rng(seed)
    members = positions[domain]
    k = int(round(share * len(members)))
    chosen = sorted(int(i) for i in rng.choice(members, size=k, replace=False))
    out = [dict(r) for r in rows]
    answers = [str(rows[i]["answer"]) for i in members]
    unchanged = 0
    for i in chosen:
        old = str(rows[i]["answer"])
        new = old
        if mode == "shuffle" and len(set(old)) > 1:
            while new == old:
                new = "".join(rng.permutation(list(old)).tolist())
        else:
            others = [a for a in answers if a != old]
            if others:
                new = others[int(rng.integers(len(others)))]
        unchanged += new == old
        out[i]["answer"] = new
    info = {"domain": domain, "share": share, "mode": mode, "n_domain": len(members),
            "corrupted": chosen, "n_corrupted": len(chosen), "unchanged": int(unchanged)}
    return out, info


def imbalance(rows: Sequence[Mapping[str, Any]], ratios: Sequence[float] | None = None,
              seed: int = 0) -> tuple[list[dict], dict]:
    """Subsample the training rows to skewed domain sizes.

    Domains are ordered by size (largest first, ties by name) and domain ``i`` of that order
    keeps ``floor(C · r_i / max r)`` rows, drawn uniformly, where ``C`` is the largest scale
    every domain can supply: ``C = min_i floor(n_i · max r / r_i)``.

    Parameters
    ----------
    rows : sequence of mappings with a ``domain``
        Training rows (not modified).
    ratios : sequence of positive float, optional
        One relative size per domain, in the size order (default ``2^(D-1), ..., 2, 1``:
        8 : 4 : 2 : 1 for four domains).
    seed : int, default 0

    Returns
    -------
    rows : list of dict
        Copies of the kept rows, in their original order.
    info : dict
        ``ratios`` (domain -> ratio), ``kept`` (sorted indices into ``rows``), ``counts``
        (domain -> rows kept), ``before`` (domain -> rows before).

    Raises
    ------
    InvalidInputError
        ``ratios`` of the wrong length or not positive, a domain left with no row.

    Examples
    --------
    >>> from llm_minibatch.experiment.scenarios import imbalance
    >>> rows = [{"domain": d} for d in "a" * 40 + "b" * 30 + "c" * 30]
    >>> imbalance(rows, seed=0)[1]["counts"]
    {'a': 40, 'b': 20, 'c': 10}
    """
    _check_rows(rows, keys=("domain",))
    seed = check_int(seed, "seed", minimum=0)
    positions = _domain_positions(rows)
    order = _by_size(positions)
    if ratios is None:
        ratios = [2.0 ** (len(order) - 1 - i) for i in range(len(order))]
    r = [check_real(x, "ratios", low=0.0, low_open=True) for x in ratios]
    if len(r) != len(order):
        raise InvalidInputError(
            f"ratios: expected one ratio per domain ({len(order)}: {[str(d) for d in order]}, "
            f"largest first), got {len(r)}")
    top = max(r)
    scale = min(math.floor(len(positions[d]) * top / ri) for d, ri in zip(order, r))
    rng = np.random.default_rng(seed)
    kept: list[int] = []
    counts = {}
    for d, ri in zip(order, r):
        n = min(len(positions[d]), math.floor(scale * ri / top))
        if n < 1:
            raise InvalidInputError(
                f"ratios: domain {d!r} would keep no row (ratio {ri} of {top} with "
                f"{len(positions[d])} rows); use milder ratios or more data")
        counts[d] = n
        kept.extend(int(i) for i in rng.choice(positions[d], size=n, replace=False))
    kept.sort()
    info = {"ratios": dict(zip(order, r)), "kept": kept, "counts": counts,
            "before": {d: len(positions[d]) for d in order}}
    return [dict(rows[i]) for i in kept], info


def apply_scenario(name: str, rows: Sequence[Mapping[str, Any]], seed: int = 0, *,
                   noise_share: float = 0.5, noise_domain: Any = None, noise_mode: str = "swap",
                   imbalance_ratios: Sequence[float] | None = None) -> tuple[list[dict], dict]:
    """The training rows of scenario ``name`` and what was done to them.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    rows : sequence of mappings
        Training rows (not modified).
    seed : int
    noise_share, noise_domain, noise_mode
        ``noisy``: :func:`corrupt_answers`'s ``share``, ``domain`` and ``mode``.
    imbalance_ratios
        ``imbalanced``: :func:`imbalance`'s ``ratios``.

    Returns
    -------
    (list of dict, dict)
        The rows and ``{"scenario": name, ...}`` (the generator's info; for ``noisy`` the
        corrupted indices refer to the returned rows, which keep the input order).

    Examples
    --------
    >>> from llm_minibatch.experiment.scenarios import apply_scenario
    >>> rows = [{"prompt": "p", "answer": "ab", "domain": "x"}] * 4
    >>> apply_scenario("embedded", rows)[1]
    {'scenario': 'embedded'}
    """
    if name not in SCENARIOS:
        raise InvalidInputError(f"scenario: expected one of {list(SCENARIOS)}, got {name!r}")
    if name == "noisy":
        out, info = corrupt_answers(rows, noise_domain, noise_share, seed, noise_mode)
    elif name == "imbalanced":
        out, info = imbalance(rows, imbalance_ratios, seed)
    else:
        out, info = [dict(r) for r in rows], {}
    return out, {"scenario": name, **info}


def _check_rows(rows: Any, keys: Sequence[str] = ("prompt", "answer", "domain")) -> None:
    if not isinstance(rows, Sequence) or len(rows) == 0:
        raise InvalidInputError("rows: expected a non-empty sequence of example mappings")
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or any(k not in r for k in keys):
            raise InvalidInputError(f"rows: row {i} lacks one of the keys {list(keys)}")
