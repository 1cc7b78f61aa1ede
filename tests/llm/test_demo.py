"""The demo (the README's main job) in a reduced size, its command line and its bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("matplotlib")

from llm_minibatch.__main__ import main  # noqa: E402
from llm_minibatch.demo import DEFAULT_METHODS, DemoConfig, run_demo  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")

SMALL = dict(steps=4, eval_every=2, conflicts_every=2, pretrain_steps=3,
             exact_match_per_domain=2,
             hidden_size=16, layers=2, pool_size=16, batch_size=4, sketch_dim=64,
             threads=1, progress=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(DemoConfig(out=str(out), **SMALL)), out


def test_demo_writes_table_json_and_plot(demo_run):
    res, out = demo_run
    saved = json.loads((out / "results.json").read_text())
    assert list(saved["methods"]) == list(DEFAULT_METHODS)
    png = (out / "validation_loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    table = (out / "results.md").read_text()
    for method in DEFAULT_METHODS:
        assert f"| {method} |" in table
    domains = set(saved["data"]["val_per_domain"])
    assert domains == {"arithmetic", "smiles", "units", "sorting"}
    for method, r in saved["methods"].items():
        assert set(r["final_val_loss"]) == domains
        assert set(r["exact_match"]) == domains
        assert all(0.0 <= v <= 1.0 for v in r["exact_match"].values())
        assert [p["step"] for p in r["curve"]] == [0, 2, 4]
        assert 0.0 <= r["overhead_fraction"] < 1.0
        assert r["conflicts_measured_on"] == 2  # steps 0 and 2 (0-based)
        per_step = SMALL["pool_size"] if method == "full" else SMALL["batch_size"]
        assert sum(r["domain_totals"].values()) == per_step * SMALL["steps"]
    # every method starts from the same base model and the same validation set
    starts = {m: r["curve"][0]["mean"] for m, r in saved["methods"].items()}
    assert max(starts.values()) - min(starts.values()) < 1e-6
    # featureless methods spend (almost) nothing on selection; the others compute features
    sel = {m: r["selection_seconds_per_step"] for m, r in saved["methods"].items()}
    assert sel["random"] < sel["partitionsel"]
    body = table.split("\n", 2)[2]
    assert body.startswith(res["table"]) and body.strip().endswith(res["summary"])
    # the summary ranks the selection methods by mean validation loss, best first
    ranked = sorted((r["final_val_loss_mean"], m) for m, r in saved["methods"].items()
                    if m != "full")
    order = [res["summary"].index(f"{m} {v:.3f}") for v, m in ranked]
    assert order == sorted(order) and "full pool, the reference" in res["summary"]
    place = [m for _, m in ranked].index("partitionsel") + 1
    assert f"PartitionSel ranks {place} of {len(ranked)}" in res["summary"]


def test_demo_training_moves_the_validation_loss(demo_run):
    res, _ = demo_run
    for r in res["methods"].values():
        assert r["curve"][-1]["mean"] != r["curve"][0]["mean"]


def test_demo_on_a_user_jsonl_file(tmp_path):
    from llm_minibatch.corpus import make_corpus, write_jsonl

    rows = make_corpus({"units": 60, "sorting": 40}, seed=3)
    for r in rows:
        r["task"] = r.pop("domain")
    path = write_jsonl(rows, tmp_path / "mine.jsonl")
    with pytest.raises(InvalidInputError, match=r"^domain_key: column 'domain' not found"):
        run_demo(DemoConfig(out=str(tmp_path / "o"), data=str(path), **SMALL))
    for r in rows:
        r["domain"] = r.pop("task")
    write_jsonl(rows, path)
    res = run_demo(DemoConfig(out=str(tmp_path / "o"), data=str(path),
                              **{**SMALL, "steps": 2, "methods": ("partitionsel", "random"),
                                 "param_filter": "lm_head"}))
    assert set(res["methods"]["random"]["final_val_loss"]) == {"units", "sorting"}
    assert res["config"]["param_filter"] == "lm_head"


def test_demo_with_a_saved_model_directory(tmp_path):
    """``--model DIR`` loads the model and tokenizer with from_pretrained (no pre-training)."""
    from llm_minibatch.models import tiny_llama
    from llm_minibatch.tokenization import ByteTokenizer

    tiny_llama(hidden_size=16, layers=2, seed=4).save_pretrained(tmp_path / "m")
    ByteTokenizer().save_pretrained(tmp_path / "m")
    res = run_demo(DemoConfig(out=str(tmp_path / "o"), model=str(tmp_path / "m"),
                              **{**SMALL, "steps": 2, "methods": ("partitionsel", "random")}))
    assert res["pretrain"]["steps"] == 0
    assert set(res["methods"]) == {"partitionsel", "random"}
    tiny = run_demo(DemoConfig(out=str(tmp_path / "t"), model="tiny-llama",
                               **{**SMALL, "steps": 1, "methods": ("random",)}))
    assert tiny["pretrain"]["steps"] == 0
    with pytest.raises(InvalidInputError, match=r"^path_or_name\b"):
        run_demo(DemoConfig(out=str(tmp_path / "o"), model=str(tmp_path / "missing"),
                            **SMALL))


@pytest.mark.parametrize("field, value, match", [
    ("steps", 0, "steps"),
    ("batch_size", 32, "batch_size.*pool_size"),
    ("methods", ("partitionsel", "nope"), "methods"),
    ("lr", -1.0, "lr"),
    ("param_filter", "nope", "param_filter"),
    ("hidden_size", 12, "hidden_size"),
    ("methods", ("random", "random"), "methods"),
    ("device", "cuda:7" if not __import__("torch").cuda.is_available() else "bogus", "device"),
])
def test_demo_bad_settings(tmp_path, field, value, match):
    with pytest.raises(InvalidInputError, match=match):
        run_demo(DemoConfig(out=str(tmp_path), **{**SMALL, field: value}))


def test_pool_larger_than_the_training_set(tmp_path):
    from llm_minibatch.corpus import make_corpus, write_jsonl

    path = write_jsonl(make_corpus({"units": 30}, seed=0), tmp_path / "small.jsonl")
    with pytest.raises(InvalidInputError, match=r"^pool_size\b"):
        run_demo(DemoConfig(out=str(tmp_path), data=str(path), **{**SMALL, "pool_size": 64}))


def test_cli_help_and_bad_input(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "demo" in text and "corpus" in text
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    for flag in ("--steps", "--out", "--device", "--model", "--data"):
        assert flag in text
    assert main(["demo", "--steps", "0", "--out", "unused"]) == 2
    assert "steps" in capsys.readouterr().err


def test_cli_corpus(tmp_path):
    out = tmp_path / "c.jsonl"
    assert main(["corpus", "--out", str(out), "--per-domain", "3"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 12 and all(json.loads(x)["answer"] for x in lines)


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "llm_minibatch", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "demo" in done.stdout


def test_cli_has_a_flag_for_every_setting(capsys):
    import dataclasses

    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    for f in dataclasses.fields(DemoConfig):
        if f.name != "progress":  # --no-progress
            assert "--" + f.name.replace("_", "-") in text, f.name
