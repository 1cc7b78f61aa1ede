"""The command line: ``matroidopt select FILE --k K`` (also ``python -m matroidopt``).

Subcommands:

* ``select``: read features (``.npy``, ``.csv`` / ``.tsv``, ``.parquet``), select rows with a
  utility, a constraint (at most ``k``; per-label quotas) and a solver, and write the selected
  indices, their gains and the certificate as JSON or CSV;
* ``solvers``: the registered solvers and their guarantees;
* ``utilities``: the utilities ``select`` builds by name.

Usage errors (a missing file, a bad shape, an unknown solver, capacities that do not match the
labels, ...) print one line, ``matroidopt select: error: ...``, to stderr and exit with 2, as
argparse's own usage errors do. Built on :mod:`argparse` (the standard library: nothing to
install, subcommands and ``--help`` on each).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import InvalidInputError
from .selection import KERNEL_METRICS, UTILITY_BUILDERS, select_rows
from .solver import GUARANTEES, SOLVERS

__all__ = ["main", "build_parser", "read_features", "UsageError"]

FEATURE_SUFFIXES = (".npy", ".csv", ".tsv", ".txt", ".parquet")


class UsageError(Exception):
    """A usage error of the command line: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- reading input
def _read_table(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """Rows of a delimited text file and its header (None when the first row is numeric)."""
    text = _read_text(path, str(path))
    suffix = path.suffix.lower()
    first = text.split("\n", 1)[0]
    if suffix == ".txt" and "," not in first and "\t" not in first:
        rows = [line.split() for line in text.splitlines() if line.strip()]   # np.savetxt
    else:
        delimiter = "\t" if suffix == ".tsv" or (suffix == ".txt" and "," not in first) \
            else ","
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
    if not rows:
        raise UsageError(f"{path}: the file has no rows")

    def numeric(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    header = None if all(numeric(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    return header, rows[1:] if header is not None else rows


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"{what}: cannot read ({exc.strerror})") from exc


def read_features(path: str | os.PathLike, label_column: str | None = None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Features ``(n, d)`` (float64) and, when ``label_column`` names a column, its labels.

    ``.npy``: a 2-D numeric array (no label column); ``.csv`` / ``.tsv`` / ``.txt``: numbers,
    with an optional header row naming the columns; ``.parquet``: numeric columns (needs
    pyarrow).

    Raises
    ------
    UsageError
        A missing or unreadable file, an unknown suffix, a non-numeric cell, ragged rows, or
        data that is not 2-D with at least one row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    suffix = path.suffix.lower()
    labels = None
    if suffix == ".npy":
        if label_column is not None:
            raise UsageError("--label-column: a .npy file has no named columns; pass --labels")
        try:
            X = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise UsageError(f"{path}: not a readable .npy array ({exc or 'empty file'})"
                             ) from exc
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) \
                or np.issubdtype(X.dtype, np.complexfloating):
            raise UsageError(f"{path}: expected a real numeric array, got dtype {X.dtype}")
    elif suffix in (".csv", ".tsv", ".txt"):
        header, rows = _read_table(path)
        width = len(header) if header is not None else len(rows[0]) if rows else 0
        bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
        if bad is not None:
            raise UsageError(f"{path}: row {bad + 1 + (header is not None)} has "
                             f"{len(rows[bad])} fields, expected {width}")
        columns = list(range(width))
        if label_column is not None:
            if header is None or label_column not in header:
                raise UsageError(f"--label-column: no column {label_column!r} in {path} "
                                 f"(columns: {header or 'none named: the file has no header'})")
            j = header.index(label_column)
            labels = np.asarray([r[j].strip() for r in rows])
            columns.remove(j)
        try:
            X = np.array([[float(r[j]) for j in columns] for r in rows], dtype=np.float64)
        except ValueError as exc:
            raise UsageError(f"{path}: every feature must be a number ({exc})") from exc
        X = X.reshape(len(rows), len(columns))
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise UsageError(f"{path}: reading .parquet needs pyarrow (pip install pyarrow)"
                             ) from exc
        try:
            table = pq.read_table(path)
        except Exception as exc:   # pyarrow's own errors: not a parquet file, ...
            raise UsageError(f"{path}: not a readable parquet file ({exc})") from exc
        names = list(table.column_names)
        if label_column is not None:
            if label_column not in names:
                raise UsageError(f"--label-column: no column {label_column!r} in {path} "
                                 f"(columns: {names})")
            labels = np.asarray(table.column(label_column).to_pylist())
            names.remove(label_column)
        cols = []
        for name in names:
            col = table.column(name).to_numpy(zero_copy_only=False)
            if not np.issubdtype(col.dtype, np.number):
                raise UsageError(f"{path}: column {name!r} is not numeric ({col.dtype}); name "
                                 f"it with --label-column if it is the labels")
            cols.append(col.astype(np.float64))
        X = np.column_stack(cols) if cols else np.empty((table.num_rows, 0))
    else:
        raise UsageError(f"{path}: unknown suffix {path.suffix!r}; expected one of "
                         f"{', '.join(FEATURE_SUFFIXES)}")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise UsageError(f"{path}: expected features of shape (n, d) with n, d >= 1, got shape "
                         f"{X.shape}")
    return X.astype(np.float64, copy=False), labels


def _typed_labels(labels: np.ndarray) -> np.ndarray:
    """Labels read as text become ints when each is one written plainly (``"10"``, ``"-2"``;
    not ``"01"`` or ``"1_0"``, which would merge with ``"1"`` and ``"10"``), so that ``10``
    sorts after ``9``."""
    if labels.dtype.kind in "US":
        texts = labels.tolist()
        try:
            ints = [int(v) for v in texts]
        except ValueError:
            return labels
        if all(str(i) == v for i, v in zip(ints, texts)):
            return np.asarray(ints, dtype=np.int64)
    return labels


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """One label per row: a 1-D ``.npy`` array, or a text file with one label per line."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--labels: {path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            labels = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise UsageError(f"--labels: {path}: not a readable .npy array ({exc})") from exc
        if labels.ndim != 1:
            raise UsageError(f"--labels: expected a 1-D array, got shape {labels.shape}")
        return labels
    lines = [line.strip() for line in _read_text(path, f"--labels: {path}").splitlines()]
    return np.asarray([line for line in lines if line])


def parse_capacities(text: str) -> Any:
    """``"3"`` (every label), ``"3,3,2"`` (one per sorted distinct label) or
    ``"en=3,de=2"`` (label=capacity)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if parts and all("=" in p for p in parts):
            pairs = [p.split("=", 1) for p in parts]
            keys = [k.strip() for k, _ in pairs]
            try:
                keys = [int(k) for k in keys]
            except ValueError:
                pass
            return {k: int(v) for k, (_, v) in zip(keys, pairs)}
        values = [int(p) for p in parts]
    except ValueError as exc:
        raise UsageError(f"--capacities: expected integers, as 3 or 3,3,2 or a=3,b=2; got "
                         f"{text!r}") from exc
    if not values:
        raise UsageError("--capacities: empty")
    return values[0] if len(values) == 1 else values


def _parse_k(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an int >= 0 or a fraction in (0, 1], got {text!r}") from None


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value            # a plain string: concave=log
    return key.strip(), parsed


# ---------------------------------------------------------------------- writing output
def _json_number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def selection_record(result, *, file: str, n: int, utility: str, metric: str | None,
                     labels: np.ndarray | None) -> dict:
    """The JSON document of a selection: the rows in selection order with their gains, the
    value, and the certificate."""
    idx = np.asarray(result.indices).tolist()
    cumulative = np.cumsum(result.gains).tolist()
    rows = []
    for rank, (i, g, c) in enumerate(zip(idx, result.gains.tolist(), cumulative), start=1):
        row = {"rank": rank, "index": int(i), "gain": float(g), "cumulative_gain": float(c)}
        if labels is not None:
            row["label"] = labels[i].item() if hasattr(labels[i], "item") else labels[i]
        rows.append(row)
    return {
        "file": file, "n": n, "k": len(idx), "utility": utility, "metric": metric,
        "solver": result.solver, "value": float(result.value),
        "upper_bound": _json_number(result.upper_bound),
        "certified_ratio": _json_number(result.certified_ratio),
        "guarantee": _json_number(result.guarantee), "expected": bool(result.expected),
        "oracle_calls": int(result.oracle_calls), "seconds": float(result.seconds),
        "selected": rows,
    }


def _as_csv(record: dict) -> str:
    """One row per selected element; the solve's value and certificate on every row."""
    out = io.StringIO()
    keys = ["rank", "index", *(["label"] if record["selected"] and "label" in
                                record["selected"][0] else []), "gain", "cumulative_gain"]
    tail = ["value", "upper_bound", "certified_ratio", "guarantee", "expected", "solver"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys + tail)
    for row in record["selected"]:
        writer.writerow([row[k] for k in keys] +
                        ["" if record[k] is None else record[k] for k in tail])
    return out.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so that an
    interrupted run never leaves a half-written output."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--out: no such folder {folder}")
    if path.is_dir():
        raise UsageError(f"--out: {path} is a folder; name a file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(f"--out: cannot write in {folder} ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # as a plain open() would create it
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"--out: cannot write {path} ({exc.strerror})") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- subcommands
def _select(args: argparse.Namespace) -> int:
    X, column_labels = read_features(args.file, args.label_column)
    labels = column_labels
    if args.labels is not None:
        if column_labels is not None:
            raise UsageError("--labels: give the labels either as a file or as "
                             "--label-column, not both")
        labels = read_labels(args.labels)
    if labels is not None:
        labels = _typed_labels(labels)
        if len(labels) != X.shape[0]:
            raise UsageError(f"--labels: {len(labels)} labels for {X.shape[0]} rows of "
                             f"{args.file}")
    capacities = None if args.capacities is None else parse_capacities(args.capacities)
    if capacities is not None and labels is None:
        raise UsageError("--capacities: needs --labels or --label-column (a group per row)")
    if labels is not None and capacities is None:
        raise UsageError("--labels: needs --capacities (the quota of each group)")
    if args.k is None and capacities is None:
        raise UsageError("--k: required (how many rows), unless --capacities sets quotas")
    if args.solver != "auto" and args.solver not in SOLVERS:
        raise UsageError(f"--solver: unknown solver {args.solver!r}; choose from "
                         f"{', '.join(sorted(SOLVERS))}")
    metric = args.metric
    try:
        result = select_rows(
            X, args.k, utility=args.utility, metric=metric, labels=labels,
            capacities=capacities, solver=args.solver, utility_options=dict(args.option),
            device=args.device, seed=args.seed, progress=args.progress)
    except InvalidInputError as exc:
        raise UsageError(str(exc)) from exc
    if metric is None and args.utility != "feature_based":
        metric = "euclidean"   # the builders' default, named in the output
    record = selection_record(result, file=str(args.file), n=int(X.shape[0]),
                              utility=args.utility, metric=metric, labels=labels)
    fmt = args.format or ("csv" if args.out is not None and args.out.suffix.lower() == ".csv"
                          else "json")
    text = _as_csv(record) if fmt == "csv" else json.dumps(record, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write_atomically(args.out, text)
        ub = record["upper_bound"]
        print(f"selected {record['k']} of {record['n']} rows, value {record['value']:.6g}"
              + ("" if ub is None else f", certified >= {record['certified_ratio']:.3f} of "
                 f"optimal") + f" -> {args.out}", file=sys.stderr)
    return 0


def _solvers(args: argparse.Namespace) -> int:
    width = max(len(r[0]) for r in GUARANTEES)
    print(f"{'solver':<{width}}  {'constraint':<26} {'utility':<34} guarantee")
    for solvers, constraint, utility, ratio in GUARANTEES:
        print(f"{solvers:<{width}}  {constraint:<26} {utility:<34} {ratio}")
    listed = {s.strip() for row in GUARANTEES for s in row[0].split(",")}
    rest = sorted(set(SOLVERS) - listed)
    if rest:
        print(f"\nno guarantee row: {', '.join(rest)}")
    return 0


def _utilities(args: argparse.Namespace) -> int:
    for name in UTILITY_BUILDERS:
        print(name)
    print(f"\n--metric (kernel utilities): {', '.join(KERNEL_METRICS)}; feature_based uses "
          f"the features themselves")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse's parser; usage errors are one line (no usage dump), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``matroidopt`` argument parser (with its subcommands)."""
    parser = _Parser(prog="matroidopt", description="Constrained submodular selection with "
                     "certificates: pick the rows of a data file that a utility values most.")
    parser.add_argument("--version", action="version", version=f"matroidopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sel = sub.add_parser(
        "select", help="select rows of a feature file",
        description="Select rows of FILE (one row per element) and write the selection with "
        "its gains, value and certificate (an upper bound on the optimum).",
        epilog="examples:\n  matroidopt select X.npy --k 20\n"
        "  matroidopt select data.csv --k 50 --label-column domain --capacities 10 "
        "--out picked.csv\n  matroidopt select X.parquet --k 0.05 --utility graph_cut "
        "--option lam=0.3 --solver stochastic_greedy --seed 0",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sel.add_argument("file", type=Path, metavar="FILE",
                     help="features: .npy (2-D), .csv/.tsv/.txt (numbers, optional header), "
                     ".parquet (numeric columns; needs pyarrow)")
    sel.add_argument("--k", type=_parse_k, default=None,
                     help="rows to select, at most: an int, or a fraction in (0, 1] of the rows "
                     "(optional with --capacities: then their sum)")
    sel.add_argument("--utility", default="facility_location", choices=sorted(UTILITY_BUILDERS),
                     help="the set function (default: facility_location)")
    sel.add_argument("--metric", default=None,
                     help=f"row similarity: {', '.join(KERNEL_METRICS)} (default: euclidean)")
    sel.add_argument("--solver", default="auto",
                     help="a solver name (see `matroidopt solvers`; default: auto, lazy greedy)")
    sel.add_argument("--labels", type=Path, default=None,
                     help="a group per row: a 1-D .npy or a text file with one label per line")
    sel.add_argument("--label-column", default=None,
                     help="the column of FILE (csv/parquet) that holds the groups")
    sel.add_argument("--capacities", default=None,
                     help="quota per group: 3 (each), 3,3,2 (per sorted label), or a=3,b=2")
    sel.add_argument("--option", type=_parse_option, action="append", default=[],
                     metavar="KEY=VALUE", help="a utility option, e.g. lam=0.3, alpha=0.1, "
                     "concave=log, kernel_style=apricot (repeatable)")
    sel.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cpu)")
    sel.add_argument("--seed", type=int, default=None, help="seed of randomised solvers")
    sel.add_argument("--progress", action="store_true", help="a progress bar on stderr")
    sel.add_argument("--out", type=Path, default=None,
                     help="write here (.json or .csv; default: JSON on stdout)")
    sel.add_argument("--format", choices=["json", "csv"], default=None,
                     help="output format (default: from --out's suffix, else json)")
    sel.set_defaults(run=_select)

    sol = sub.add_parser("solvers", help="list the solvers and their guarantees",
                         description="The registered solvers and the guarantee table.")
    sol.set_defaults(run=_solvers)
    uti = sub.add_parser("utilities", help="list the utilities `select` builds by name",
                         description="The utilities `select --utility` accepts.")
    uti.set_defaults(run=_utilities)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"matroidopt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:   # `matroidopt solvers | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
