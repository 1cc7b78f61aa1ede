"""The embedded multi-domain instruction corpus and loaders for user data.

Every example is a plain dict ``{"prompt": str, "answer": str, "domain": str}``; a model sees
``bos + prompt + answer + eos`` and is trained (and scored) on the answer only, so each prompt
ends with its separator (a space).

Generated domains
-----------------
Four small task families with exact, checkable answers. Texts are short (prompt + answer at
most 48 bytes, answer at most 15 bytes) so byte-level sequences stay short and a greedy decode of
16 new tokens always has room for the answer and the end-of-sequence token.

``arithmetic``
    Word problems with one operation: ``"Tom has 3 apples and buys 4. How many? "`` → ``"7"``
    (also ``loses`` → difference, ``buys 3 bags of 4`` → product).
``smiles``
    Edits of SMILES-like strings over the atoms ``C N O S`` with ``=`` bonds and one level of
    ``( )`` branches (no ring digits, no two-letter atoms, so every task is a plain character
    operation): ``"reverse CCO(N): "`` → ``"N)OCC("`` (character reversal),
    ``"count C in CCOC: "`` → ``"3"`` (character count), ``"replace O with N in CCOC: "`` →
    ``"CCNC"`` (every occurrence).
``units``
    Integer unit conversions, both ways: ``"3 km in m? "`` → ``"3000"``,
    ``"120 min in h? "`` → ``"2"`` (the division is always exact).
``sorting``
    ``"sort 3 1 2: "`` → ``"1 2 3"`` and ``"sort desc 3 1 2: "`` → ``"3 2 1"`` (3 to 5 numbers
    below 100, single spaces).

:func:`make_corpus` draws unique prompts per domain, deterministically from a seed (one stream
per domain, so the size of one domain does not change the examples of another), and
:func:`train_val_split` splits stratified by domain. The package ships ``data/corpus.jsonl``
(:data:`CORPUS_SIZES`, seed :data:`CORPUS_SEED`; deliberately imbalanced), read by
:func:`load_corpus`; ``python -m llm_minibatch.data --regenerate`` rewrites it.

User data
---------
:func:`load_jsonl` (one JSON object per line) and :func:`load_hf_dataset` (Hugging Face
``datasets``: a hub name, a local data directory, or a local ``.jsonl``/``.json``/``.csv``/
``.parquet`` file) return the same normalised dicts. A missing domain (prompt, answer) column
is reported before anything is loaded further, naming the argument that selects it and listing
the columns that exist.

Examples
--------
>>> from llm_minibatch.data import make_corpus, train_val_split
>>> corpus = make_corpus({"arithmetic": 6, "sorting": 4}, seed=1)
>>> len(corpus), sorted({ex["domain"] for ex in corpus})
(10, ['arithmetic', 'sorting'])
>>> train, val = train_val_split(corpus, val_fraction=0.25)
>>> len(train), len(val)
(7, 3)
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

__all__ = [
    "CORPUS_SEED",
    "CORPUS_SIZES",
    "DOMAINS",
    "GENERATORS",
    "arithmetic_example",
    "load_corpus",
    "load_hf_dataset",
    "load_jsonl",
    "make_corpus",
    "smiles_example",
    "sorting_example",
    "train_val_split",
    "units_example",
    "write_jsonl",
]

DOMAINS: tuple[str, ...] = ("arithmetic", "smiles", "units", "sorting")
"""The generated domains, in a fixed order."""

CORPUS_SIZES: dict[str, int] = {"arithmetic": 1200, "units": 800, "sorting": 500, "smiles": 300}
"""Examples per domain in the shipped corpus (imbalanced on purpose)."""

CORPUS_SEED = 0
"""Seed of the shipped corpus."""

MAX_EXAMPLE_BYTES = 48
MAX_ANSWER_BYTES = 15
_CORPUS_FILE = "corpus.jsonl"

Rng = random.Random | int


def _as_rng(rng: Rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise InvalidInputError(f"rng: expected a random.Random or an int seed, got {rng!r}")


# --------------------------------------------------------------------------- generators
_NAMES = ("Tom", "Ann", "Bob", "Eve", "Sam", "Mia", "Leo", "Zoe")
_ITEMS = ("apples", "pens", "cards", "books", "eggs", "coins")


def arithmetic_example(rng: Rng) -> dict[str, str]:
    """One arithmetic word problem with its exact integer answer.

    Three templates, equally likely: ``"<name> has a <items> and buys b. How many? "``
    (a + b; a, b in 1..30), ``"... and loses b. How many? "`` (a − b with b ≤ a; a in 2..40),
    ``"<name> buys a bags of b <items>. How many? "`` (a · b; a, b in 2..9).

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "arithmetic"}``.

    Examples
    --------
    >>> ex = arithmetic_example(3)
    >>> ex["domain"], ex["prompt"].endswith("How many? ")
    ('arithmetic', True)
    """
    rng = _as_rng(rng)
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    kind = rng.randrange(3)
    if kind == 0:
        a, b = rng.randint(1, 30), rng.randint(1, 30)
        prompt, answer = f"{name} has {a} {item} and buys {b}. How many? ", a + b
    elif kind == 1:
        a = rng.randint(2, 40)
        b = rng.randint(1, a)
        prompt, answer = f"{name} has {a} {item} and loses {b}. How many? ", a - b
    else:
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        prompt, answer = f"{name} buys {a} bags of {b} {item}. How many? ", a * b
    return {"prompt": prompt, "answer": str(answer), "domain": "arithmetic"}


_ATOMS = "CNOS"
_MAX_SMILES = 10


def _smiles_string(rng: random.Random) -> str:
    """A SMILES-like chain: 3–6 atoms, optional ``=`` bonds, at most one branch ``(X)``."""
    while True:
        n = rng.randint(3, 6)
        weights = (6, 2, 2, 1)
        atoms = rng.choices(_ATOMS, weights=weights, k=n)
        parts = [atoms[0]]
        for atom in atoms[1:]:
            if rng.random() < 0.15:
                parts.append("=")
            parts.append(atom)
        s = "".join(parts)
        if rng.random() < 0.5:
            branch = "".join(rng.choices(_ATOMS, weights=weights, k=rng.randint(1, 2)))
            if rng.random() < 0.3:
                branch = "=" + branch
            cut = rng.randint(1, len(s))
            while s[cut - 1] == "=":  # a branch never follows a dangling bond
                cut -= 1
            s = s[:cut] + "(" + branch + ")" + s[cut:]
        if len(s) <= _MAX_SMILES:
            return s


def smiles_example(rng: Rng) -> dict[str, str]:
    """One edit of a SMILES-like string: reverse it, count an atom, or replace an atom.

    Strings use single-character atoms ``C N O S``, ``=`` bonds and one level of branches, at
    most 10 characters, so the three tasks are exact character operations:
    ``"reverse <s>: "`` → ``s[::-1]``, ``"count <a> in <s>: "`` → ``str(s.count(a))``,
    ``"replace <a> with <b> in <s>: "`` → ``s.replace(a, b)`` (``a`` occurs in ``s``,
    ``b != a``).

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "smiles"}``.

    Examples
    --------
    >>> ex = smiles_example(0)
    >>> ex["domain"], ex["prompt"].endswith(": ")
    ('smiles', True)
    """
    rng = _as_rng(rng)
    s = _smiles_string(rng)
    kind = rng.randrange(3)
    if kind == 0:
        prompt, answer = f"reverse {s}: ", s[::-1]
    elif kind == 1:
        atom = rng.choice(_ATOMS)
        prompt, answer = f"count {atom} in {s}: ", str(s.count(atom))
    else:
        old = rng.choice(sorted(set(s) & set(_ATOMS)))
        new = rng.choice([a for a in _ATOMS if a != old])
        prompt, answer = f"replace {old} with {new} in {s}: ", s.replace(old, new)
    return {"prompt": prompt, "answer": answer, "domain": "smiles"}


# (big unit, small unit, small units per big unit)
_UNITS: tuple[tuple[str, str, int], ...] = (
    ("km", "m", 1000),
    ("m", "cm", 100),
    ("cm", "mm", 10),
    ("kg", "g", 1000),
    ("L", "mL", 1000),
    ("h", "min", 60),
    ("min", "s", 60),
    ("day", "h", 24),
    ("week", "day", 7),
)


def units_example(rng: Rng) -> dict[str, str]:
    """One integer unit conversion, from the big unit to the small one or back.

    ``"<a> <big> in <small>? "`` → ``a · f`` and ``"<a · f> <small> in <big>? "`` → ``a``
    (a in 1..99, f the factor: km/m 1000, m/cm 100, cm/mm 10, kg/g 1000, L/mL 1000, h/min 60,
    min/s 60, day/h 24, week/day 7), so every answer is an exact integer.

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "units"}``.

    Examples
    --------
    >>> ex = units_example(0)
    >>> ex["domain"], ex["prompt"].endswith("? ")
    ('units', True)
    """
    rng = _as_rng(rng)
    big, small, factor = rng.choice(_UNITS)
    a = rng.randint(1, 99)
    if rng.random() < 0.5:
        prompt, answer = f"{a} {big} in {small}? ", a * factor
    else:
        prompt, answer = f"{a * factor} {small} in {big}? ", a
    return {"prompt": prompt, "answer": str(answer), "domain": "units"}


def sorting_example(rng: Rng) -> dict[str, str]:
    """Sort 3 to 5 integers in 0..99: ``"sort ..."`` ascending, ``"sort desc ..."`` descending.

    Parameters
    ----------
    rng : random.Random or int
        Random source (an int is used as a seed).

    Returns
    -------
    dict
        ``{"prompt", "answer", "domain": "sorting"}``; the answer is space-separated.

    Examples
    --------
    >>> import random
    >>> ex = sorting_example(random.Random(0))
    >>> nums = [int(t) for t in ex["prompt"].split(":")[0].split() if t.isdigit()]
    >>> ex["answer"] in (" ".join(map(str, sorted(nums))),
    ...                  " ".join(map(str, sorted(nums, reverse=True))))
    True
    """
    rng = _as_rng(rng)
    nums = [rng.randint(0, 99) for _ in range(rng.randint(3, 5))]
    desc = rng.random() < 0.3
    head = "sort desc" if desc else "sort"
    prompt = f"{head} {' '.join(map(str, nums))}: "
    answer = " ".join(map(str, sorted(nums, reverse=desc)))
    return {"prompt": prompt, "answer": answer, "domain": "sorting"}


GENERATORS: dict[str, Callable[[Rng], dict[str, str]]] = {
    "arithmetic": arithmetic_example,
    "smiles": smiles_example,
    "units": units_example,
    "sorting": sorting_example,
}
"""Domain name → generator ``(rng) -> {"prompt", "answer", "domain"}``."""


# --------------------------------------------------------------------------- corpus
def _domain_sizes(n_per_domain: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(n_per_domain, Mapping):
        unknown = [d for d in n_per_domain if d not in GENERATORS]
        if unknown:
            raise InvalidInputError(
                f"n_per_domain: unknown domains {unknown}; expected keys among {DOMAINS}"
            )
        sizes = {d: check_int(n_per_domain[d], f"n_per_domain[{d!r}]", minimum=0)
                 for d in DOMAINS if d in n_per_domain}
    else:
        n = check_int(n_per_domain, "n_per_domain", minimum=0)
        sizes = dict.fromkeys(DOMAINS, n)
    if sum(sizes.values()) == 0:
        raise InvalidInputError(
            f"n_per_domain: expected at least one example in all, got {n_per_domain!r}"
        )
    return sizes


def make_corpus(n_per_domain: int | Mapping[str, int], seed: int = 0) -> list[dict[str, str]]:
    """Generate a multi-domain corpus with unique prompts inside each domain.

    Parameters
    ----------
    n_per_domain : int or mapping of str to int
        Examples per domain: one count for every domain of :data:`DOMAINS`, or a mapping
        ``{domain: count}`` (domains left out get none; sizes may differ freely).
    seed : int, default 0
        Each domain draws from its own stream seeded by ``(seed, domain)``, so changing one
        domain's size leaves the other domains' examples unchanged.

    Returns
    -------
    list of dict
        ``{"prompt", "answer", "domain"}`` dicts, shuffled across domains (deterministic).

    Raises
    ------
    InvalidInputError
        Unknown domain, a negative count, no example in all, or more unique prompts asked of a
        domain than it can produce (naming ``n_per_domain``).

    Examples
    --------
    >>> c = make_corpus({"units": 3, "smiles": 2}, seed=0)
    >>> [ex["domain"] for ex in c].count("units")
    3
    >>> c == make_corpus({"units": 3, "smiles": 2}, seed=0)
    True
    """
    sizes = _domain_sizes(n_per_domain)
    seed = check_int(seed, "seed")
    out: list[dict[str, str]] = []
    for domain, n in sizes.items():
        rng = random.Random(f"llm_minibatch:{seed}:{domain}")
        gen = GENERATORS[domain]
        seen: set[str] = set()
        attempts = 0
        max_attempts = 50 * n + 1000
        while len(seen) < n:
            attempts += 1
            if attempts > max_attempts:
                raise InvalidInputError(
                    f"n_per_domain: could draw only {len(seen)} unique {domain!r} prompts, "
                    f"{n} asked"
                )
            ex = gen(rng)
            if ex["prompt"] not in seen:
                seen.add(ex["prompt"])
                out.append(ex)
    random.Random(f"llm_minibatch:{seed}:order").shuffle(out)
    return out


def train_val_split(examples: Sequence[Mapping[str, Any]], val_fraction: float = 0.1,
                    seed: int = 0) -> tuple[list, list]:
    """Split examples into train and validation parts, stratified by ``"domain"``.

    Each domain with ``n_d`` examples contributes ``round(val_fraction · n_d)`` of them to the
    validation part, but at least one when ``n_d ≥ 2`` and never all of them (a domain with a
    single example stays in train). Both parts keep the input order.

    Parameters
    ----------
    examples : sequence of dict
        Each with a ``"domain"`` key.
    val_fraction : float, default 0.1
        In the open interval (0, 1).
    seed : int, default 0
        Seed of the per-domain draw.

    Returns
    -------
    (train, val) : tuple of lists

    Raises
    ------
    InvalidInputError
        ``val_fraction`` outside (0, 1), no examples, or an example without ``"domain"``.

    Examples
    --------
    >>> ex = [{"domain": "a", "i": i} for i in range(10)] + [{"domain": "b", "i": 10}]
    >>> train, val = train_val_split(ex, val_fraction=0.2)
    >>> len(train), [e["domain"] for e in val]
    (9, ['a', 'a'])
    """
    val_fraction = check_real(val_fraction, "val_fraction", low=0.0, high=1.0, low_open=True,
                              high_open=True)
    seed = check_int(seed, "seed")
    examples = list(examples)
    if not examples:
        raise InvalidInputError("examples: expected at least one example, got none")
    by_domain: dict[Any, list[int]] = {}
    for i, ex in enumerate(examples):
        if not isinstance(ex, Mapping) or "domain" not in ex:
            raise InvalidInputError(
                f"examples: item {i} has no 'domain' key"
                + (f" (keys: {sorted(map(str, ex))})" if isinstance(ex, Mapping) else "")
            )
        by_domain.setdefault(ex["domain"], []).append(i)
    val_idx: set[int] = set()
    for domain, idx in by_domain.items():
        n = len(idx)
        k = 0 if n < 2 else min(n - 1, max(1, math.floor(val_fraction * n + 0.5)))
        rng = random.Random(f"llm_minibatch:split:{seed}:{domain!r}")
        val_idx.update(rng.sample(idx, k))
    train = [ex for i, ex in enumerate(examples) if i not in val_idx]
    val = [ex for i, ex in enumerate(examples) if i in val_idx]
    return train, val


def write_jsonl(examples: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write examples as JSON lines (compact, key order kept, UTF-8); returns the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = write_jsonl([{"prompt": "sort 2 1: ", "answer": "1 2", "domain": "sorting"}], p)
    >>> load_jsonl(p)[0]["answer"]
    '1 2'
    """
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for ex in examples:
            fh.write(json.dumps(dict(ex), ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def _shipped_corpus():
    return importlib.resources.files("llm_minibatch").joinpath("data", _CORPUS_FILE)


def load_corpus() -> list[dict[str, str]]:
    """The shipped corpus: ``make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)``, read from package data.

    Returns
    -------
    list of dict
        2800 ``{"prompt", "answer", "domain"}`` dicts (arithmetic 1200, units 800,
        sorting 500, smiles 300).

    Examples
    --------
    >>> corpus = load_corpus()
    >>> len(corpus), corpus[0].keys() == {"prompt", "answer", "domain"}
    (2800, True)
    """
    resource = _shipped_corpus()
    with resource.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------------------- loaders
def _text_value(value: Any, key: str, arg: str, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"{arg}: column {key!r} has a missing value ({where})")
        return str(value)
    raise InvalidInputError(
        f"{arg}: column {key!r} must hold text, got {type(value).__name__} ({where})"
    )


def _domain_value(value: Any, key: str, arg: str, where: str) -> str | int:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidInputError(
        f"{arg}: domain column {key!r} must hold a str or int label, got {value!r} ({where})"
    )


def _check_columns(columns: Iterable[str], keys: Mapping[str, str], source: str) -> None:
    """Raise naming the argument (e.g. ``domain_key``) when its column is missing."""
    columns = list(columns)
    for arg, key in keys.items():
        if key not in columns:
            raise InvalidInputError(
                f"{arg}: column {key!r} not found in {source}; available columns: {columns}"
                + (f" (pass {arg}=<column name>)" if columns else "")
            )


def _normalise(record: Mapping[str, Any], keys: Mapping[str, str], where: str) -> dict:
    d_arg, p_arg, a_arg = keys
    return {
        "prompt": _text_value(record[keys[p_arg]], keys[p_arg], p_arg, where),
        "answer": _text_value(record[keys[a_arg]], keys[a_arg], a_arg, where),
        "domain": _domain_value(record[keys[d_arg]], keys[d_arg], d_arg, where),
    }


def _existing_file(path: Any, arg: str) -> Path:
    try:
        p = Path(os.fspath(path)).expanduser()
    except TypeError as exc:
        raise InvalidInputError(f"{arg}: expected a file path, got {path!r}") from exc
    if not p.exists():
        raise InvalidInputError(f"{arg}: file not found: {str(p)!r}")
    if p.is_dir():
        raise InvalidInputError(f"{arg}: expected a file, got the directory {str(p)!r}")
    return p


def load_jsonl(path: str | os.PathLike, *, domain_key: str = "domain", prompt_key: str = "prompt",
               answer_key: str = "answer") -> list[dict]:
    """Read a JSON-lines file of examples with a domain field.

    Parameters
    ----------
    path : str or path-like
        One JSON object per line; blank lines are skipped.
    domain_key, prompt_key, answer_key : str
        Field names of the domain label, the prompt and the answer. Numbers in the prompt or
        answer field are turned into text (``7`` → ``"7"``); domain labels must be str or int.

    Returns
    -------
    list of dict
        ``{"prompt", "answer", "domain"}`` dicts, in file order.

    Raises
    ------
    InvalidInputError
        The file does not exist (naming ``path``); a line is not a JSON object; a record lacks
        a field (naming ``domain_key``, ``prompt_key`` or ``answer_key`` and listing the
        record's fields); the file holds no record.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = p.write_text('{"q": "2+2? ", "a": 4, "task": "math"}\\n')
    >>> load_jsonl(p, domain_key="task", prompt_key="q", answer_key="a")
    [{'prompt': '2+2? ', 'answer': '4', 'domain': 'math'}]
    >>> load_jsonl(p)
    Traceback (most recent call last):
    ...
    matroidopt.errors.InvalidInputError: domain_key: column 'domain' not found in ...
    """
    p = _existing_file(path, "path")
    keys = {"domain_key": domain_key, "prompt_key": prompt_key, "answer_key": answer_key}
    out: list[dict] = []
    with p.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{str(p)!r}, line {lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"path: invalid JSON at {where}: {exc.msg}") from exc
            if not isinstance(record, dict):
                raise InvalidInputError(
                    f"path: expected a JSON object per line, got {type(record).__name__} "
                    f"at {where}"
                )
            _check_columns(record.keys(), keys, where)
            out.append(_normalise(record, keys, where))
    if not out:
        raise InvalidInputError(f"path: no examples in {str(p)!r} (the file is empty)")
    return out


_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def _looks_like_path(path_or_name: Any) -> bool:
    if isinstance(path_or_name, os.PathLike):
        return True
    s = str(path_or_name)
    return (os.path.isabs(s) or s.startswith((".", "~")) or os.path.exists(s)
            or Path(s).suffix.lower() in _BUILDERS)


def load_hf_dataset(path_or_name: str | os.PathLike, *, split: str = "train",
                    domain_column: str = "domain", prompt_column: str = "prompt",
                    answer_column: str = "answer", **kwargs: Any) -> list[dict]:
    """Load examples with Hugging Face ``datasets`` and check the domain column up front.

    Parameters
    ----------
    path_or_name : str or path-like
        A local ``.jsonl``/``.json``/``.csv``/``.parquet`` file (loaded with the matching
        builder, ``datasets.load_dataset("json", data_files=...)``; the file forms the
        ``"train"`` split), a local directory (a ``save_to_disk`` folder is read with
        ``load_from_disk``; any other folder goes to ``load_dataset``), or a hub dataset
        name (needs the network or the local cache; pass e.g. ``name=`` for a configuration).
    split : str, default "train"
        Split to read (slicing such as ``"train[:100]"`` works).
    domain_column, prompt_column, answer_column : str
        Column names. Numbers in the prompt or answer column become text.
    **kwargs
        Passed to ``datasets.load_dataset``.

    Returns
    -------
    list of dict
        ``{"prompt", "answer", "domain"}`` dicts.

    Raises
    ------
    InvalidInputError
        A path that does not exist (naming ``path_or_name``); a missing column (naming
        ``domain_column``, ``prompt_column`` or ``answer_column`` and listing the available
        columns), checked before the rows are read; an empty split; a split selection that
        leaves several splits (pass ``split``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("prompt,answer,task\\nsort 2 1: ,1 2,sorting\\n")
    >>> load_hf_dataset(p, domain_column="task")
    [{'prompt': 'sort 2 1: ', 'answer': '1 2', 'domain': 'sorting'}]
    """
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_hf_dataset needs the 'datasets' package: pip install 'matroidopt[llm]'"
        ) from exc

    keys = {"domain_column": domain_column, "prompt_column": prompt_column,
            "answer_column": answer_column}
    source = repr(str(path_or_name))
    if _looks_like_path(path_or_name):
        p = Path(os.fspath(path_or_name)).expanduser()
        if not p.exists():
            raise InvalidInputError(f"path_or_name: file or directory not found: {str(p)!r}")
        source = repr(str(p))
        if p.is_dir():
            if (p / "state.json").exists() or (p / "dataset_dict.json").exists():
                ds = datasets.load_from_disk(str(p))
                if isinstance(ds, datasets.DatasetDict):
                    if split not in ds:
                        raise InvalidInputError(
                            f"split: {split!r} not in {source}; available splits: {list(ds)}"
                        )
                    ds = ds[split]
            else:
                ds = datasets.load_dataset(str(p), split=split, **kwargs)
        else:
            builder = _BUILDERS.get(p.suffix.lower())
            if builder is None:
                raise InvalidInputError(
                    f"path_or_name: unsupported file type {p.suffix!r} for {source}; expected "
                    f"one of {sorted(_BUILDERS)}"
                )
            try:
                ds = datasets.load_dataset(builder, data_files=str(p), split=split, **kwargs)
            except ValueError as exc:  # an empty file yields no split at all
                if "corresponds to no data" not in str(exc):
                    raise
                raise InvalidInputError(
                    f"path_or_name: no examples in {source} (split {split!r})"
                ) from exc
    else:
        ds = datasets.load_dataset(str(path_or_name), split=split, **kwargs)

    if isinstance(ds, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        raise InvalidInputError(
            f"split: expected one split, got several ({list(ds)}) from {source}"
        )
    columns = ds.column_names
    rows: Iterable[Mapping[str, Any]]
    if columns is None:  # an IterableDataset whose features are unknown until read
        it = iter(ds)
        first = next(it, None)
        if first is None:
            raise InvalidInputError(f"path_or_name: no examples in {source} (split {split!r})")
        _check_columns(first.keys(), keys, source)
        rows = _chain_first(first, it)
    else:
        _check_columns(columns, keys, source)
        if isinstance(ds, datasets.Dataset):
            needed = list(dict.fromkeys(keys.values()))
            table = ds.select_columns(needed).to_dict()
            n = len(next(iter(table.values()))) if table else 0
            rows = ({k: table[k][i] for k in needed} for i in range(n))
        else:
            rows = ds
    out = [_normalise(row, keys, f"{source}, row {i}") for i, row in enumerate(rows)]
    if not out:
        raise InvalidInputError(f"path_or_name: no examples in {source} (split {split!r})")
    return out


def _chain_first(first: Any, rest: Iterable[Any]) -> Iterable[Any]:
    yield first
    yield from rest


# --------------------------------------------------------------------------- script
def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llm_minibatch.data",
        description="Rewrite the shipped corpus from make_corpus(CORPUS_SIZES, CORPUS_SEED).",
    )
    parser.add_argument("--regenerate", action="store_true",
                        help="rewrite the corpus file (default: only report where it lives)")
    parser.add_argument("--output", type=Path, default=None,
                        help="write here instead of the package's data/corpus.jsonl")
    args = parser.parse_args(argv)
    target = args.output or Path(__file__).resolve().parent / "data" / _CORPUS_FILE
    if not args.regenerate:
        print(f"corpus file: {target} (pass --regenerate to rewrite it)")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)
    write_jsonl(corpus, target)
    print(f"wrote {len(corpus)} examples to {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
