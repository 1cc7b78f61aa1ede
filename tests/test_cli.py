"""The command line on files in a temporary folder: the selection it writes is the library's,
in JSON and CSV, from .npy, .csv and .parquet; usage errors exit 2 with one line naming the
problem; ``--help`` on every subcommand; ``python -m matroidopt`` and the console script."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matroidopt as mo
from matroidopt.cli import build_parser, main


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 4))
    groups = np.array(["de", "en", "fr"])[np.arange(80) % 3]
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "X.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "domain", "c", "d"])
        for row, g in zip(X, groups):
            w.writerow([repr(float(row[0])), repr(float(row[1])), g, repr(float(row[2])),
                        repr(float(row[3]))])
    (tmp_path / "groups.txt").write_text("\n".join(groups) + "\n")
    return tmp_path, X, groups


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_on_stdout_is_the_library_solve(data, capsys):
    tmp, X, _ = data
    code, out, err = run(["select", tmp / "X.npy", "--k", "7"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    res = mo.lazy_greedy(mo.FacilityLocation.from_features(X, metric="euclidean"), 7)
    assert [r["index"] for r in doc["selected"]] == res.indices.tolist()
    assert [r["rank"] for r in doc["selected"]] == list(range(1, 8))
    np.testing.assert_allclose([r["gain"] for r in doc["selected"]], res.gains)
    np.testing.assert_allclose([r["cumulative_gain"] for r in doc["selected"]],
                               np.cumsum(res.gains))
    assert doc["value"] == pytest.approx(res.value)
    assert doc["upper_bound"] == pytest.approx(res.upper_bound)
    assert doc["certified_ratio"] == pytest.approx(res.value / res.upper_bound)
    assert doc["guarantee"] == pytest.approx(1 - 1 / np.e)
    assert (doc["n"], doc["k"], doc["solver"], doc["metric"]) == (80, 7, "lazy_greedy",
                                                                 "euclidean")


def test_csv_with_a_label_column_and_quotas(data, capsys):
    tmp, X, groups = data
    out_file = tmp / "picked.csv"
    code, out, err = run(["select", tmp / "X.csv", "--label-column", "domain",
                          "--capacities", "de=1,en=2,fr=3", "--out", out_file], capsys)
    assert code == 0 and out == "" and "-> " in err
    with open(out_file, newline="") as fh:
        rows = list(csv.DictReader(fh))
    m = mo.PartitionMatroid(groups, {"de": 1, "en": 2, "fr": 3})
    res = mo.lazy_greedy(mo.FacilityLocation.from_features(X, metric="euclidean"), m)
    assert [int(r["index"]) for r in rows] == res.indices.tolist()
    assert [r["label"] for r in rows] == groups[res.indices].tolist()
    assert sorted(r["label"] for r in rows) == ["de", "en", "en", "fr", "fr", "fr"]
    assert float(rows[0]["upper_bound"]) == pytest.approx(res.upper_bound)
    assert float(rows[-1]["guarantee"]) == 0.5
    assert not list(tmp.glob(".picked.csv.*"))      # no temporary file left behind


def test_labels_file_list_capacities_and_json_file(data, capsys):
    tmp, X, groups = data
    out_file = tmp / "sel.json"
    code, _, _ = run(["select", tmp / "X.npy", "--k", "4", "--labels", tmp / "groups.txt",
                      "--capacities", "1,2,3", "--out", out_file], capsys)
    assert code == 0
    doc = json.loads(out_file.read_text())
    m = mo.truncate(mo.PartitionMatroid(groups, [1, 2, 3]), 4)
    res = mo.lazy_greedy(mo.FacilityLocation.from_features(X, metric="euclidean"), m)
    assert [r["index"] for r in doc["selected"]] == res.indices.tolist()


def test_parquet_solver_seed_option_and_fraction(data, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    tmp, X, groups = data
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3]})
    pq.write_table(table, tmp / "X.parquet")
    code, out, _ = run(["select", tmp / "X.parquet", "--k", "0.1", "--utility", "graph_cut",
                        "--metric", "rbf", "--option", "lam=0.3",
                        "--solver", "stochastic_greedy", "--seed", "3"], capsys)
    assert code == 0
    doc = json.loads(out)
    f = mo.GraphCut(mo.similarity_kernel(X, metric="rbf"), lam=0.3)
    res = mo.stochastic_greedy(f, 8, seed=3)         # ceil(0.1 * 80)
    assert [r["index"] for r in doc["selected"]] == res.indices.tolist()
    assert doc["solver"] == "stochastic_greedy" and doc["expected"] is True


@pytest.mark.parametrize("argv, message", [
    (["select", "{tmp}/missing.npy", "--k", "3"], "no such file"),
    (["select", "{tmp}/X.txt.gz", "--k", "3"], "no such file"),
    (["select", "{tmp}/bad.json", "--k", "3"], "unknown suffix"),
    (["select", "{tmp}/one_d.npy", "--k", "3"], "expected features of shape (n, d)"),
    (["select", "{tmp}/ragged.csv", "--k", "3"], "row 3 has 1 fields, expected 2"),
    (["select", "{tmp}/words.csv", "--k", "3"], "every feature must be a number"),
    (["select", "{tmp}/X.npy", "--k", "3", "--solver", "fastest"], "--solver: unknown solver"),
    (["select", "{tmp}/X.npy", "--k", "3", "--utility", "entropy"], "invalid choice"),
    (["select", "{tmp}/X.npy", "--k", "three"], "--k"),
    (["select", "{tmp}/X.npy", "--k", "-3"], "n_samples: expected an int >= 0"),
    (["select", "{tmp}/X.npy"], "--k: required"),
    (["select", "{tmp}/X.npy", "--k", "3", "--labels", "{tmp}/groups.txt",
      "--capacities", "1,2"], "capacities: expected one capacity per distinct label (3"),
    (["select", "{tmp}/X.npy", "--k", "3", "--labels", "{tmp}/short.txt",
      "--capacities", "1"], "--labels: 5 labels for 80 rows"),
    (["select", "{tmp}/X.npy", "--k", "3", "--capacities", "1"], "--capacities: needs --labels"),
    (["select", "{tmp}/X.npy", "--k", "3", "--labels", "{tmp}/groups.txt"],
     "--labels: needs --capacities"),
    (["select", "{tmp}/X.npy", "--k", "3", "--labels", "{tmp}/groups.txt",
      "--capacities", "x,y"], "--capacities: expected integers"),
    (["select", "{tmp}/X.csv", "--k", "3", "--label-column", "lang", "--capacities", "1"],
     "--label-column: no column 'lang'"),
    (["select", "{tmp}/X.npy", "--k", "3", "--metric", "hamming"], "metric: expected one of"),
    (["select", "{tmp}/X.npy", "--k", "3", "--option", "lam"], "expected KEY=VALUE"),
    (["select", "{tmp}/X.npy", "--k", "3", "--option", "bogus=1"], "utility_options"),
    (["select", "{tmp}/X.npy", "--k", "3", "--out", "{tmp}/no/such/dir/o.json"],
     "--out: no such folder"),
    (["select", "{tmp}/empty.npy", "--k", "3"], "not a readable .npy array"),
    (["select", "{tmp}/complex.npy", "--k", "3"], "expected a real numeric array"),
    (["select", "{tmp}/latin1.csv", "--k", "3"], "not UTF-8 text"),
    (["select", "{tmp}/X.npy", "--k", "3", "--out", "{tmp}"], "is a folder"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_usage_errors_exit_2_with_one_line(data, capsys, argv, message):
    tmp, X, _ = data
    np.save(tmp / "one_d.npy", np.arange(5.0))
    (tmp / "bad.json").write_text("{}")
    (tmp / "ragged.csv").write_text("1,2\n3,4\n5\n")
    (tmp / "words.csv").write_text("1,2\nx,4\n")
    (tmp / "short.txt").write_text("a\nb\nc\nd\ne\n")
    (tmp / "empty.npy").write_bytes(b"")
    np.save(tmp / "complex.npy", np.ones((4, 2), dtype=complex))
    (tmp / "latin1.csv").write_bytes("caf\xe9,1\n2,3\n".encode("latin-1"))
    argv = [a.format(tmp=tmp) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:      # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("matroidopt"), err
    assert message in lines[0], err


def test_cuda_device_without_a_gpu_is_a_usage_error(data, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    tmp, _, _ = data
    code, _, err = run(["select", tmp / "X.npy", "--k", "3", "--device", "cuda"], capsys)
    assert code == 2 and "device: 'cuda' requested but no CUDA device" in err


@pytest.mark.parametrize("command", ["select", "solvers", "utilities"])
def test_help_on_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: matroidopt {command}")
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert set(subcommands) == {"select", "solvers", "utilities"}


def test_solvers_and_utilities_list_what_is_registered(capsys):
    assert main(["solvers"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("lazy_greedy", "stochastic_greedy", "1 - 1/e"))
    assert main(["utilities"]) == 0
    out = capsys.readouterr().out
    assert {"facility_location", "graph_cut", "feature_based"} <= set(out.split())


def test_python_dash_m_and_the_console_script(data, tmp_path):
    tmp, X, _ = data
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-m", "matroidopt", "select", str(tmp / "X.npy"),
                           "--k", "3", "--progress"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    ref = mo.lazy_greedy(mo.FacilityLocation.from_features(X, metric="euclidean"), 3)
    assert [r["index"] for r in json.loads(proc.stdout)["selected"]] == ref.indices.tolist()
    proc = subprocess.run([sys.executable, "-m", "matroidopt", "select", str(tmp / "nope.npy"),
                           "--k", "3"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    script = shutil.which("matroidopt", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the console script is not installed beside this interpreter")
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"matroidopt {mo.__version__}"


def test_the_core_and_the_command_line_load_no_optional_front_end_dependency():
    """scikit-learn and matplotlib are optional: importing the package, its selection layer
    and the command line loads neither (only matroidopt.sklearn / matroidopt.plot do), and
    no module below the front ends imports a front end."""
    code = ("import sys, matroidopt, matroidopt.selection, matroidopt.cli; "
            "print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    import ast

    front = {"sklearn", "cli", "plot", "__main__"}
    root = Path(mo.__file__).parent
    for path in root.rglob("*.py"):
        if path.parent == root and path.stem in front:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                assert node.module.split(".")[0] not in front, (path, node.module)
            elif isinstance(node, ast.ImportFrom) and node.level and not node.module:
                assert not front & {a.name for a in node.names}, path


def test_text_formats_and_label_spellings(data, capsys):
    tmp, X, _ = data
    f = mo.FacilityLocation.from_features(X, metric="euclidean")
    ref = mo.lazy_greedy(f, 5).indices.tolist()
    np.savetxt(tmp / "X.txt", X)                       # space separated
    np.savetxt(tmp / "X.TSV", X, delimiter="\t")        # an upper-case suffix
    for name in ("X.txt", "X.TSV"):
        code, out, err = run(["select", tmp / name, "--k", "5"], capsys)
        assert code == 0, err
        assert [r["index"] for r in json.loads(out)["selected"]] == ref, name
    # "01" and "1" are two groups (text labels stay text unless each is a plain int)
    (tmp / "g.txt").write_text("\n".join(["01", "1"] * 40) + "\n")
    code, out, _ = run(["select", tmp / "X.npy", "--labels", tmp / "g.txt",
                        "--capacities", "1"], capsys)
    doc = json.loads(out)
    assert code == 0 and sorted(r["label"] for r in doc["selected"]) == ["01", "1"]
    # plain ints sort as numbers: capacities 1,0,2 go to labels 2, 9, 10
    (tmp / "n.txt").write_text("\n".join(["10", "2", "9", "10"] * 20) + "\n")
    code, out, _ = run(["select", tmp / "X.npy", "--labels", tmp / "n.txt",
                        "--capacities", "1,0,2"], capsys)
    doc = json.loads(out)
    assert code == 0 and sorted(r["label"] for r in doc["selected"]) == [2, 10, 10]


def test_output_file_is_created_as_open_would(data, capsys):
    tmp, _, _ = data
    code, _, _ = run(["select", tmp / "X.npy", "--k", "2", "--out", tmp / "o.json"], capsys)
    umask = os.umask(0)
    os.umask(umask)
    assert code == 0 and (tmp / "o.json").stat().st_mode & 0o777 == 0o666 & ~umask
