"""Reliability of runs: atomic selector-state files, strict loading, labels that survive
checkpoints, strict ``select_from_features`` inputs, and DDP (2 gloo ranks on loopback).

A state file is written atomically (a failing write leaves the previous file intact); a
corrupt, truncated, non-UTF-8 or incomplete one is rejected with a message naming the file or
the key; the Trainer writes it into the checkpoint folder before rotating old checkpoints;
labels JSON cannot carry are rejected at the first selection; under 2 gloo ranks the global
selection equals the single-process selection of the concatenated pool, and the Trainer keeps
the ranks' adapters identical.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")
datasets = pytest.importorskip("datasets")

import transformers.trainer as hf_trainer  # noqa: E402
from transformers import TrainingArguments  # noqa: E402

import llm_minibatch  # noqa: E402
import matroidopt  # noqa: E402
from llm_minibatch.loop import (  # noqa: E402
    PartitionSel,
    read_state_file,
    write_state_file,
)
from llm_minibatch.models import add_lora, tiny_llama  # noqa: E402
from llm_minibatch.selection.methods import select_from_features  # noqa: E402
from llm_minibatch.trainer import STATE_FILE, PartitionSelTrainer  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

VOCAB = 40
DOMAIN_NAMES = ("math", "code", "chem")
PROC_TIMEOUT = 300  # seconds per DDP worker (two tiny models on two CPU cores)


# --------------------------------------------------------------------------- helpers
def make_model(seed=0):
    model = tiny_llama(vocab_size=VOCAB, hidden_size=16, layers=2, heads=2, kv_heads=1,
                       max_position_embeddings=32, seed=seed)
    return add_lora(model, r=2, seed=seed)


def make_rows(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        length = int(torch.randint(4, 10, (1,), generator=g))
        ids = torch.randint(3, VOCAB, (length,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": [-100] * (length // 2) + ids[length // 2:],
                     "domain": DOMAIN_NAMES[i % 7 % 3]})
    return rows


def make_trainer(out, model=None, rows=None, **args_kw):
    base = dict(output_dir=str(out), per_device_train_batch_size=4, max_steps=3,
                learning_rate=5e-2, lr_scheduler_type="constant", optim="sgd",
                weight_decay=0.0, max_grad_norm=0.0, logging_steps=1, save_strategy="no",
                report_to=[], use_cpu=True, seed=0, disable_tqdm=True,
                dataloader_num_workers=0)
    base.update(args_kw)
    return PartitionSelTrainer(
        model=model if model is not None else make_model(), args=TrainingArguments(**base),
        train_dataset=rows if rows is not None else make_rows(),
        selector_kwargs={"method": "partitionsel", "ratio": 0.25, "sketch_dim": 16})


def random_selector(seed=1):
    return PartitionSel(torch.nn.Linear(2, 2), method="random", ratio=0.5, seed=seed)


POOL = {"input_ids": torch.arange(12).reshape(6, 2)}
LABELS = ["a", "a", "a", "b", "b", "b"]


def saved_state(tmp_path, steps=2):
    """A selector that made ``steps`` selections, and its state file."""
    sel = random_selector()
    for _ in range(steps):
        sel.select(POOL, LABELS)
    path = tmp_path / "selector.json"
    write_state_file(path, sel.state_dict())
    return sel, path


# --------------------------------------------------------------------------- atomic writes
def test_write_then_read_round_trips(tmp_path):
    sel, path = saved_state(tmp_path)
    other = random_selector(seed=5)
    other.load_state_dict(read_state_file(path))
    assert other.step == sel.step == 2 and other.seed == 1
    assert other.stats == sel.stats and list(other.history) == list(sel.history)
    assert os.listdir(tmp_path) == ["selector.json"]  # no temporary file left behind


def _no_temp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")] == []


def test_failing_replace_keeps_the_previous_file(tmp_path, monkeypatch):
    sel, path = saved_state(tmp_path)
    before = path.read_bytes()
    sel.select(POOL, LABELS)

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_state_file(path, sel.state_dict())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert random_selector().load_state_dict(read_state_file(path)) is None
    assert _no_temp_files(tmp_path)


class _BreaksMidWrite:
    """A binary file whose write stores half the data, then fails (a crash mid-write)."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise OSError("device unplugged mid-write")

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_write_failing_after_partial_data_keeps_the_previous_file(tmp_path, monkeypatch):
    sel, path = saved_state(tmp_path)
    before = path.read_bytes()
    sel.select(POOL, LABELS)
    real_fdopen, real_open = os.fdopen, open
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _BreaksMidWrite(real_fdopen(*a, **k)))
    monkeypatch.setattr("builtins.open", lambda file, mode="r", *a, **k: (
        _BreaksMidWrite(real_open(file, mode, *a, **k)) if "w" in mode
        else real_open(file, mode, *a, **k)))
    with pytest.raises(OSError, match="mid-write"):
        write_state_file(path, sel.state_dict())
    monkeypatch.undo()
    assert path.read_bytes() == before
    loaded = random_selector()
    loaded.load_state_dict(read_state_file(path))
    assert loaded.step == 2
    assert _no_temp_files(tmp_path)


def test_unserialisable_state_writes_nothing(tmp_path):
    sel, path = saved_state(tmp_path)
    before = path.read_bytes()
    with pytest.raises(InvalidInputError, match=r"^state\b"):
        write_state_file(path, {"step": float("nan")})
    with pytest.raises(InvalidInputError, match=r"^state\b"):
        write_state_file(path, {"step": object()})
    with pytest.raises(InvalidInputError, match=r"^state\b"):
        write_state_file(path, [1, 2])
    assert path.read_bytes() == before and _no_temp_files(tmp_path)


# --------------------------------------------------------------------------- bad state files
def test_truncated_file_names_the_file(tmp_path):
    _, path = saved_state(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputError,
                       match=r"selector\.json is truncated or corrupt: not valid JSON"):
        read_state_file(path)


def test_non_utf8_file_names_the_file(tmp_path):
    _, path = saved_state(tmp_path)
    path.write_bytes(b'{"format": "\xff\xfe"}')
    with pytest.raises(InvalidInputError, match=r"selector\.json is not UTF-8.*offset 12"):
        read_state_file(path)


def test_nan_in_the_file_names_the_file(tmp_path):
    sel, path = saved_state(tmp_path)
    state = sel.state_dict()
    state["stats"]["means"]["selection_seconds"] = float("nan")
    path.write_text(json.dumps(state))  # the json module writes NaN unless told not to
    with pytest.raises(InvalidInputError, match=r"selector\.json holds NaN"):
        read_state_file(path)


def test_not_an_object_names_the_file(tmp_path):
    path = tmp_path / "selector.json"
    path.write_text("[1, 2, 3]")
    with pytest.raises(InvalidInputError, match=r"selector\.json holds a JSON list"):
        read_state_file(path)


def _state(tmp_path):
    sel, _ = saved_state(tmp_path)
    return json.loads(json.dumps(sel.state_dict()))


@pytest.mark.parametrize("corrupt, match", [
    (lambda s: s.pop("step"), r"state_dict: missing key\(s\) \['step'\]"),
    (lambda s: s.update(step=-1), r"state_dict\['step'\]: expected an integer >= 0"),
    (lambda s: s.update(step=True), r"state_dict\['step'\]: expected an integer"),
    (lambda s: s.update(seed="3"), r"state_dict\['seed'\]"),
    (lambda s: s.update(format="other/1"), r"state_dict\['format'\]"),
    (lambda s: s["stats"]["means"].update(selection_seconds=float("nan")),
     r"state_dict\['stats'\]\['means'\]\['selection_seconds'\]: expected a finite number"),
    (lambda s: s["stats"]["means"].update(selection_seconds="fast"),
     r"state_dict\['stats'\]\['means'\]\['selection_seconds'\]"),
    (lambda s: s["stats"].update(steps=-2), r"state_dict\['stats'\]\['steps'\]"),
    (lambda s: s["stats"].pop("counts"), r"state_dict\['stats'\]: missing key\(s\) \['counts'\]"),
    (lambda s: s["stats"]["counts"].update(utility=-1), r"\['counts'\]\['utility'\]"),
    (lambda s: s["stats"].update(domain_totals=[["a", -3]]),
     r"state_dict\['stats'\]\['domain_totals'\]\[0\]\[1\]"),
    (lambda s: s["stats"].update(domain_totals=[["a", 1], ["a", 2]]), r"appears twice"),
    (lambda s: s["stats"].update(domain_totals=[[None, 1]]),
     r"\['domain_totals'\]\[0\]\[0\]: expected a domain label"),
    (lambda s: s["history"][1].pop("utility"),
     r"state_dict\['history'\]\[1\]: missing key\(s\) \['utility'\]"),
    (lambda s: s["history"][0].update(step=-1), r"state_dict\['history'\]\[0\]\['step'\]"),
    (lambda s: s["history"][0].update(selection_seconds=float("inf")),
     r"\['history'\]\[0\]\['selection_seconds'\]"),
    (lambda s: s["history"][0].update(lr=0.0), r"\['history'\]\[0\]\['lr'\]"),
    (lambda s: s["history"][0].update(b=2.5), r"\['history'\]\[0\]\['b'\]"),
    (lambda s: s.update(history={"0": {}}), r"state_dict\['history'\]: expected a list"),
    (lambda s: s["history"].append("entry"), r"state_dict\['history'\]\[2\]: expected a mapping"),
])
def test_load_state_dict_names_the_bad_key_and_loads_nothing(tmp_path, corrupt, match):
    state = _state(tmp_path)
    corrupt(state)
    sel = random_selector(seed=7)
    sel.select(POOL, LABELS)
    before = (sel.step, sel.seed, json.dumps(sel.stats, default=str), list(sel.history))
    with pytest.raises(InvalidInputError, match=match):
        sel.load_state_dict(state)
    assert (sel.step, sel.seed, json.dumps(sel.stats, default=str), list(sel.history)) == before


def test_state_dict_is_strict_json_even_with_a_nan_in_the_history(tmp_path):
    sel, _ = saved_state(tmp_path)
    sel.history[-1]["utility"] = float("nan")
    path = tmp_path / "again.json"
    write_state_file(path, sel.state_dict())  # no NaN reaches the file
    other = random_selector()
    other.load_state_dict(read_state_file(path))
    assert other.history[-1]["utility"] is None


# --------------------------------------------------------------------------- domain labels
def test_tuple_labels_round_trip_exactly(tmp_path):
    sel = random_selector()
    labels = [("a", 1)] * 3 + [("b", (2, True))] * 3
    sel.select(POOL, labels)
    path = tmp_path / "s.json"
    write_state_file(path, sel.state_dict())
    other = random_selector()
    other.load_state_dict(read_state_file(path))
    assert other.stats["domain_totals"] == sel.stats["domain_totals"]
    assert set(other.stats["domain_totals"]) <= {("a", 1), ("b", (2, True))}
    assert other.history[0]["domain_counts"] == sel.history[0]["domain_counts"]
    for label in other.stats["domain_totals"]:
        assert type(label) is tuple


def test_numpy_and_tensor_labels_are_their_python_values():
    sel = random_selector()
    sel.select(POOL, np.array([3, 3, 3, 4, 4, 4]))
    sel.select(POOL, torch.tensor([3, 3, 3, 4, 4, 4]))
    state = json.loads(json.dumps(sel.state_dict()))
    random_selector().load_state_dict(state)
    assert set(sel.stats["domain_totals"]) <= {3, 4}


@pytest.mark.parametrize("labels, match", [
    ([b"a"] * 3 + [b"b"] * 3, r"domains: label 0 is b'a' of type bytes"),
    (["a"] * 5 + [("x", b"y")], r"domains: label 5 .*bytes"),
    ([None] * 6, r"domains: label 0 is None"),
    ([1.0] * 5 + [float("nan")], r"domains: label 5 is nan"),
    ([frozenset({1})] * 6, r"domains: label 0 .*frozenset"),
    ([1, 1, 1, True, True, True], r"domains: labels 0 \(1\) and 3 \(True\) are equal but of "
                                  r"different types"),
    ([(1,)] * 3 + [(1.0,)] * 3, r"domains: labels 0 .* and 3 .* different types"),
])
def test_labels_json_cannot_carry_fail_at_the_first_select(labels, match):
    sel = random_selector()
    with pytest.raises(InvalidInputError, match=match):
        sel.select(POOL, labels)
    assert sel.step == 0 and not sel.history


def test_bytes_labels_fail_before_the_trainer_trains(tmp_path):
    rows = make_rows()
    for r in rows:
        r["domain"] = r["domain"].encode()
    with pytest.raises(InvalidInputError, match=r"^domains: label 0 .*bytes"):
        make_trainer(tmp_path, rows=rows)


# --------------------------------------------------------------------------- select_from_features
def _pool():
    rng = np.random.default_rng(0)
    G = rng.normal(size=(12, 4))
    return G, ["a"] * 6 + ["b"] * 6, G[:3]


@pytest.mark.parametrize("domains", ["aaaaaabbbbbb", b"aaaaaabbbbbb", None, 5])
def test_select_from_features_rejects_non_sequence_domains(domains):
    G, _, target = _pool()
    with pytest.raises(InvalidInputError, match="^domains"):
        select_from_features(G, domains, target, 4, seed=0)


def test_select_from_features_rejects_unhashable_or_2d_domains():
    G, labels, target = _pool()
    with pytest.raises(InvalidInputError, match=r"^domains: label 0 \(\['a'\]\) is unhashable"):
        select_from_features(G, [["a"]] * 12, target, 4, seed=0)
    with pytest.raises(InvalidInputError, match="^domains: expected a 1-D"):
        select_from_features(G, np.zeros((12, 1)), target, 4, seed=0)
    with pytest.raises(InvalidInputError, match="^domains: expected a 1-D"):
        select_from_features(G, torch.zeros(12, 1), target, 4, seed=0)


@pytest.mark.parametrize("seed", [1.5, 2.0, True, False, -1, "0", [0]])
@pytest.mark.parametrize("method", ["partitionsel", "random", "greats"])
def test_select_from_features_rejects_bad_seeds(seed, method):
    G, labels, target = _pool()
    with pytest.raises(InvalidInputError, match="^seed"):
        select_from_features(G, labels, target, 4, method, seed=seed)


def test_select_from_features_accepts_good_seeds():
    G, labels, target = _pool()
    a = select_from_features(G, labels, target, 4, seed=3).indices.tolist()
    assert select_from_features(G, labels, target, 4, seed=np.int64(3)).indices.tolist() == a
    assert select_from_features(G, labels, target, 4,
                                seed=np.random.default_rng(3)).indices.tolist() == a
    assert len(select_from_features(G, labels, target, 4, seed=None)) == 4
    assert select_from_features(G, np.array(labels), target, 4, seed=3).indices.tolist() == a


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_select_from_features_rejects_non_finite_features_and_target(bad):
    G, labels, target = _pool()
    G2 = G.copy()
    G2[3, 1] = bad
    with pytest.raises(InvalidInputError, match="^features: contains NaN or infinite"):
        select_from_features(G2, labels, target, 4, seed=0)
    t2 = target.copy()
    t2[0, 0] = bad
    with pytest.raises(InvalidInputError, match="^target: contains NaN or infinite"):
        select_from_features(G, labels, t2, 4, seed=0)


# --------------------------------------------------------------------------- Trainer checkpoints
def _checkpoints(out):
    return sorted((p for p in Path(out).iterdir() if p.name.startswith("checkpoint-")),
                  key=lambda p: int(p.name.split("-")[1]))


def test_state_file_is_in_the_checkpoint_before_rotation_and_resume_works(tmp_path,
                                                                          monkeypatch):
    out = tmp_path / "run"
    seen = []
    real_rotate = hf_trainer.rotate_checkpoints

    def spy(output_dir, *args, **kwargs):
        # at every rotation, every checkpoint folder already holds a loadable state file
        for ckpt in _checkpoints(output_dir):
            state = read_state_file(ckpt / STATE_FILE)
            PartitionSel._parse_state(state["selector"])
            seen.append(ckpt.name)
        return real_rotate(output_dir, *args, **kwargs)

    monkeypatch.setattr(hf_trainer, "rotate_checkpoints", spy)
    kw = dict(max_steps=4, save_strategy="steps", save_steps=1, save_total_limit=1)
    full = make_trainer(out, **kw)
    full.train()
    assert "checkpoint-1" in seen and "checkpoint-4" in seen
    left = _checkpoints(out)
    assert [p.name for p in left] == ["checkpoint-4"]
    assert sorted(f for f in os.listdir(left[0]) if f.endswith(".tmp")) == []
    assert read_state_file(left[0] / STATE_FILE)["selector"]["step"] == 4

    # resume from a kept checkpoint: the selections of the uninterrupted run
    kw3 = dict(kw, max_steps=3, save_total_limit=None)
    first = make_trainer(tmp_path / "short", **kw3)
    first.train()
    resumed = make_trainer(tmp_path / "resumed", **kw)
    resumed.train(resume_from_checkpoint=str(tmp_path / "short" / "checkpoint-3"))
    picks = {e["global_step"]: e["indices"] for e in full.selection_log}
    again = {e["global_step"]: e["indices"] for e in resumed.selection_log}
    assert sorted(again) == [3] and again[3] == picks[3]
    assert resumed.selector.step == full.selector.step == 4


def test_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    trainer = make_trainer(out, max_steps=3, save_strategy="steps", save_steps=1,
                           save_total_limit=1)
    real = type(trainer)._save_optimizer_and_scheduler

    def crash(self, output_dir):
        if self.state.global_step == 2:
            raise RuntimeError("killed while saving")
        return real(self, output_dir)

    monkeypatch.setattr(type(trainer), "_save_optimizer_and_scheduler", crash)
    with pytest.raises(RuntimeError, match="killed while saving"):
        trainer.train()
    ckpt1 = out / "checkpoint-1"
    assert ckpt1.is_dir()  # not rotated away: rotation comes after a complete save
    assert read_state_file(ckpt1 / STATE_FILE)["selector"]["step"] == 1
    monkeypatch.undo()
    resumed = make_trainer(tmp_path / "resumed", max_steps=3)
    resumed.train(resume_from_checkpoint=str(ckpt1))
    assert resumed.state.global_step == 3 and resumed.selector.step == 3


def test_only_the_saving_process_writes_the_state_file(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path / "run", max_steps=1)
    trainer.train()
    monkeypatch.setattr(TrainingArguments, "should_save", property(lambda self: False))
    trainer._save_checkpoint(trainer.model, None)
    assert not (tmp_path / "run" / "checkpoint-1" / STATE_FILE).exists()


@pytest.mark.parametrize("damage, match", [
    (lambda p: p.write_bytes(p.read_bytes()[:40]),
     r"partitionsel_state\.json is truncated or corrupt"),
    (lambda p: p.write_bytes(b"\x80" + p.read_bytes()), r"partitionsel_state\.json is not UTF-8"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "selector": {
        **json.loads(p.read_text())["selector"], "step": -1}})),
     r"partitionsel_state\.json is invalid: state_dict\['step'\]"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "selector": {
        k: v for k, v in json.loads(p.read_text())["selector"].items() if k != "history"}})),
     r"partitionsel_state\.json is invalid: state_dict: missing key\(s\) \['history'\]"),
    (lambda p: p.write_text(json.dumps({"format": "other"})),
     r"partitionsel_state\.json is invalid: format"),
])
def test_resume_from_a_damaged_state_file_names_it(tmp_path, damage, match):
    first = make_trainer(tmp_path / "run", max_steps=1, save_strategy="steps", save_steps=1)
    first.train()
    damage(tmp_path / "run" / "checkpoint-1" / STATE_FILE)
    again = make_trainer(tmp_path / "again", max_steps=2)
    with pytest.raises(InvalidInputError, match="^resume_from_checkpoint: .*" + match):
        again.train(resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-1"))
    assert again.state.global_step == 0  # failed before any training step


# --------------------------------------------------------------------------- DDP (2 gloo ranks)
def _gloo_available():
    import torch.distributed as dist

    return dist.is_available() and dist.is_gloo_available()


needs_gloo = pytest.mark.skipif(not _gloo_available(), reason="torch.distributed gloo missing")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra=None):
    roots = [str(Path(llm_minibatch.__file__).resolve().parents[1]),
             str(Path(matroidopt.__file__).resolve().parents[1])]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(roots + [os.environ.get("PYTHONPATH", "")]))
    env.update(extra or {})
    return env


def _run_ranks(script, args_of, env_of, cwd):
    """Start one process per rank, wait for all (killing every one on timeout or error), and
    return their stderr tails; asserts every rank exited with 0."""
    procs = []
    try:
        for r in range(2):
            procs.append(subprocess.Popen([sys.executable, str(script), *args_of(r)],
                                          env=env_of(r), cwd=str(cwd),
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
        logs = []
        for p in procs:
            try:
                out, _ = p.communicate(timeout=PROC_TIMEOUT)
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                out, _ = p.communicate()
                logs.append("TIMEOUT\n" + out[-4000:])
                continue
            logs.append(out[-4000:])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
    assert all(p.returncode == 0 for p in procs), "\n--- rank ---\n".join(logs)
    return logs


_COMMON = r'''
import torch
from llm_minibatch.models import add_lora, tiny_llama
from llm_minibatch.loop import AnchorSampler

VOCAB = 40

def make_model(seed=0):
    model = tiny_llama(vocab_size=VOCAB, hidden_size=16, layers=2, heads=2, kv_heads=1,
                       max_position_embeddings=32, seed=seed)
    return add_lora(model, r=2, seed=seed)

def make_rows(n=120, seed=0):
    names = ("math", "code", "chem")
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        length = int(torch.randint(4, 10, (1,), generator=g))
        ids = torch.randint(3, VOCAB, (length,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": [-100] * (length // 2) + ids[length // 2:],
                     "domain": names[i % 7 % 3]})
    return rows

def rank_pools(step):
    """Two ranks' parts of a pool (same sequence length, different row counts)."""
    g = torch.Generator().manual_seed(500 + step)
    parts, doms = [], []
    for rows, labels in ((10, ["a"] * 5 + ["b"] * 3 + ["c"] * 2),
                         (6, ["a"] * 2 + ["b"] * 1 + ["c"] * 3)):
        ids = torch.randint(3, VOCAB, (rows, 7), generator=g)
        mask = torch.ones_like(ids)
        lengths = torch.randint(3, 8, (rows,), generator=g)
        for i, L in enumerate(lengths.tolist()):
            mask[i, L:] = 0
            ids[i, L:] = 0
        labels_t = ids.clone()
        labels_t[mask == 0] = -100
        parts.append({"input_ids": ids, "labels": labels_t, "attention_mask": mask})
        doms.append(labels)
    return parts, doms

def anchors():
    g = torch.Generator().manual_seed(7)
    held = torch.randint(3, VOCAB, (6, 7), generator=g)
    return AnchorSampler({"input_ids": held, "labels": held.clone()}, n_anchors=4, seed=2)

SELECTOR = dict(ratio=0.25, sketch_dim=16, seed=11, lr=1e-2, chunk_size=1)
METHODS = ("partitionsel", "per_domain")
STEPS = 2
'''

_SELECT_WORKER = _COMMON + r'''
import json, sys
import torch.distributed as dist
from llm_minibatch.loop import PartitionSel

rank, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                        world_size=2)
try:
    model = make_model()
    result = {}
    for method in METHODS:
        sel = PartitionSel(model, method=method, anchors=anchors(), **SELECTOR)
        picks = []
        for step in range(STEPS):
            parts, doms = rank_pools(step)
            picks.append(sel.select(parts[rank], doms[rank]).tolist())
        result[method] = picks
    with open(f"{out}/select_rank{rank}.json", "w") as fh:
        json.dump(result, fh)
finally:
    dist.destroy_process_group()
'''

_TRAINER_WORKER = _COMMON + r'''
import json, os, sys
import torch.distributed as dist
from transformers import TrainingArguments
from llm_minibatch.trainer import PartitionSelTrainer

out = sys.argv[1]
rank = int(os.environ["RANK"])
torch.set_num_threads(1)
try:
    model = make_model()
    init = {k: v.detach().flatten().tolist() for k, v in model.named_parameters()
            if v.requires_grad}
    args = TrainingArguments(
        output_dir=f"{out}/run", per_device_train_batch_size=2, max_steps=3,
        learning_rate=5e-2, lr_scheduler_type="constant", optim="sgd", weight_decay=0.0,
        max_grad_norm=0.0, logging_steps=1, save_strategy="steps", save_steps=1,
        save_total_limit=1, report_to=[], use_cpu=True, seed=0, disable_tqdm=True,
        dataloader_num_workers=0, ddp_backend="gloo")
    trainer = PartitionSelTrainer(model=model, args=args, train_dataset=make_rows(),
                                  selector_kwargs={"method": "partitionsel", "ratio": 0.25,
                                                   "sketch_dim": 16})
    assert trainer.args.world_size == 2, trainer.args.world_size
    trainer.train()
    params = {k: v.detach().flatten().tolist() for k, v in model.named_parameters()
              if v.requires_grad}
    log = [{"step": e["global_step"], "indices": e["indices"]} for e in trainer.selection_log]
    with open(f"{out}/trainer_rank{rank}.json", "w") as fh:
        json.dump({"params": params, "init": init, "log": log,
                   "selector_step": trainer.selector.step,
                   "global_step": trainer.state.global_step}, fh)
finally:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
# reached only when the work above succeeded and its result is written: skip the interpreter's
# teardown, where the Trainer's and gloo's native threads now and then abort the process
# ("terminate called without an active exception") after everything is done
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
'''


def _load_common():
    namespace: dict = {}
    exec(textwrap.dedent(_COMMON), namespace)  # the workers' own helpers, single process
    return namespace


@needs_gloo
def test_ddp_global_selection_equals_the_single_process_selection(tmp_path):
    script = tmp_path / "select_worker.py"
    script.write_text(textwrap.dedent(_SELECT_WORKER))
    port = _free_port()
    _run_ranks(script, lambda r: [str(r), str(port), str(tmp_path)], lambda r: _env(),
               tmp_path)
    r0, r1 = (json.loads((tmp_path / f"select_rank{r}.json").read_text()) for r in range(2))
    assert r0 == r1  # every rank makes the same global selection

    # the reference: one process, the concatenated pool (rank order), same model and seeds
    c = _load_common()
    model = c["make_model"]()
    for method in c["METHODS"]:
        sel = PartitionSel(model, method=method, anchors=c["anchors"](), **c["SELECTOR"])
        for step in range(c["STEPS"]):
            parts, doms = c["rank_pools"](step)
            pool = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
            ref = sel.select(pool, doms[0] + doms[1]).tolist()
            assert r0[method][step] == ref, (method, step)
            assert len(ref) == 4 and len(set(ref)) == 4
    assert r0["partitionsel"][0] != r0["partitionsel"][1]  # the steps differ


@needs_gloo
def test_trainer_on_two_gloo_ranks_keeps_the_adapters_identical(tmp_path):
    script = tmp_path / "trainer_worker.py"
    script.write_text(textwrap.dedent(_TRAINER_WORKER))
    port = _free_port()

    def env_of(r):
        return _env({"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": "2",
                     "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
                     "MASTER_PORT": str(port), "ACCELERATE_USE_CPU": "true"})

    _run_ranks(script, lambda r: [str(tmp_path)], env_of, tmp_path)
    r0, r1 = (json.loads((tmp_path / f"trainer_rank{r}.json").read_text()) for r in range(2))
    assert r0["global_step"] == r1["global_step"] == 3
    assert r0["selector_step"] == r1["selector_step"] == 3
    assert r0["log"] == r1["log"] and len(r0["log"]) == 3
    for e in r0["log"]:  # 2 rows per rank from the gathered pool of 2 · 8 rows
        assert len(e["indices"]) == 4 == len(set(e["indices"]))
        assert all(0 <= i < 16 for i in e["indices"])
    assert r0["params"] == r1["params"]  # identical adapters on both ranks
    assert r0["params"] != r0["init"]  # and training moved them
    left = _checkpoints(tmp_path / "run")
    assert [p.name for p in left] == ["checkpoint-3"]
    assert read_state_file(left[0] / STATE_FILE)["selector"]["step"] == 3
