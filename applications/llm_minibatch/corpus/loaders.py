"""Loaders: user data (JSONL/JSON, CSV, Parquet, ``datasets``) as prompt/answer/domain dicts,
the train/validation split and JSONL writing."""
from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matroidopt.errors import InvalidInputError
from matroidopt.validation import check_int, check_real

__all__ = ["load_hf_dataset", "load_jsonl", "train_val_split", "write_jsonl"]


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


