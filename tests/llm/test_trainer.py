"""Tests of ``llm_minibatch.trainer``: PartitionSel inside the Hugging Face ``Trainer``.

Every method trains a few steps on a tiny peft (LoRA) Llama and logs its diagnostics; an
accumulated optimiser step equals the unaccumulated step on the same selected rows; a resumed
run makes the selections of an uninterrupted one; bad input fails before any training step.
"""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")
datasets = pytest.importorskip("datasets")

from transformers import TrainingArguments  # noqa: E402

from llm_minibatch.models import add_lora, tiny_llama  # noqa: E402
from llm_minibatch.selection.methods import METHODS  # noqa: E402
from llm_minibatch.trainer import STATE_FILE, PartitionSelTrainer, PoolCollator  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

VOCAB = 40
DOMAIN_NAMES = ("math", "code", "chem")


def make_model(seed=0, lora=True):
    model = tiny_llama(vocab_size=VOCAB, hidden_size=16, layers=2, heads=2, kv_heads=1,
                       max_position_embeddings=32, seed=seed)
    return add_lora(model, r=2, seed=seed) if lora else model


def make_rows(n=120, seed=0, with_domain=True):
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        length = int(torch.randint(4, 10, (1,), generator=g))
        ids = torch.randint(3, VOCAB, (length,), generator=g).tolist()
        labels = [-100] * (length // 2) + ids[length // 2:]
        row = {"input_ids": ids, "labels": labels}
        if with_domain:
            row["domain"] = DOMAIN_NAMES[i % 7 % 3]
        rows.append(row)
    return rows


def make_args(tmp_path, **kw):
    base = dict(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=3,
                learning_rate=5e-2, lr_scheduler_type="constant", optim="sgd",
                weight_decay=0.0, max_grad_norm=0.0, logging_steps=1, save_strategy="no",
                report_to=[], use_cpu=True, seed=0, disable_tqdm=True,
                dataloader_num_workers=0)
    base.update(kw)
    return TrainingArguments(**base)


def lora_state(model):
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def make_trainer(tmp_path, model=None, rows=None, selector_kwargs=None, **kw):
    selector = {"method": "partitionsel", "ratio": 0.25, "sketch_dim": 16}
    selector.update(selector_kwargs or {})
    if "pool_size" in kw:
        del selector["ratio"]
    args_kw = {k: kw.pop(k) for k in list(kw) if k not in ("anchor_dataset", "pool_size")}
    return PartitionSelTrainer(
        model=model if model is not None else make_model(),
        args=make_args(tmp_path, **args_kw),
        train_dataset=rows if rows is not None else make_rows(),
        selector_kwargs=selector, **kw)


# --------------------------------------------------------------------------- every method
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_and_logs_diagnostics(tmp_path, method):
    model = make_model()
    before = lora_state(model)
    trainer = make_trainer(tmp_path, model=model, selector_kwargs={"method": method})
    assert trainer.pool_size == 16
    trainer.train()
    assert trainer.state.global_step == 3
    after = lora_state(model)
    assert any(not torch.equal(before[k], after[k]) for k in before), "no parameter moved"
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 3
    for h in logs:
        counts = {k: v for k, v in h.items() if k.startswith("sel/count/")}
        assert set(counts) <= {f"sel/count/{d}" for d in DOMAIN_NAMES}
        expected = 16 if method == "full" else 4
        assert sum(counts.values()) == pytest.approx(expected)
        assert h["sel/selection_seconds"] >= 0
        if method in ("random", "stratified", "full"):  # featureless: no F(S) to log
            assert "sel/F" not in h
        else:
            assert "sel/F" in h and "sel/conflicting_pairs" in h
            assert h["sel/conflicting_pairs"] >= 0
    assert len(trainer.selection_log) == 3
    for e in trainer.selection_log:
        assert len(set(e["indices"])) == len(e["indices"]) == (16 if method == "full" else 4)
        assert all(0 <= i < 16 for i in e["indices"])


def test_hf_dataset_keeps_its_domain_column_and_quotas_hold(tmp_path):
    ds = datasets.Dataset.from_list(make_rows(120))
    trainer = make_trainer(tmp_path, rows=ds, remove_unused_columns=True,
                           selector_kwargs={"budget_rule": "explicit",
                                            "quotas": {"math": 2, "code": 1, "chem": 1}})
    trainer.train()
    assert len(trainer.selection_log) == 3
    for e in trainer.selection_log:
        assert e["domain_counts"] == {"chem": 1, "code": 1, "math": 2}
    # anchors are held out of training (0.5 % of 120, at least n_anchors=4)
    assert len(trainer.anchor_indices) >= 4
    assert len(trainer.train_dataset) == 120 - len(trainer.anchor_indices)


# --------------------------------------------------------------------------- accumulation
def _record_selected(trainer):
    batches = []
    select_pool = trainer.select_pool

    def recording(pool, **kw):
        out = select_pool(pool, **kw)
        batches.append({k: v.clone() for k, v in out.items()})
        return out

    trainer.select_pool = recording
    return batches


def test_accumulated_step_equals_unaccumulated_step_on_the_same_selection(tmp_path):
    model = make_model(seed=1)
    start = copy.deepcopy(model)
    trainer = make_trainer(tmp_path, model=model, per_device_train_batch_size=2,
                           gradient_accumulation_steps=2, max_steps=1)
    selected = _record_selected(trainer)
    trainer.train()
    assert len(selected) == 2  # two micro-batches of two selected rows

    # the reference: one SGD step on the mean token loss over both selections together
    ref = start
    ref.train()
    total, count = 0.0, 0
    for batch in selected:
        logits = ref(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        targets = batch["labels"][:, 1:]
        total = total + torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
            ignore_index=-100, reduction="sum")
        count += int(targets.ne(-100).sum())
    (total / count).backward()
    with torch.no_grad():
        for (name, p), (_, q) in zip(ref.named_parameters(), model.named_parameters()):
            if p.requires_grad:
                expected = p - 5e-2 * p.grad
                torch.testing.assert_close(q, expected, rtol=1e-5, atol=1e-6, msg=name)


# --------------------------------------------------------------------------- checkpoints
def test_resume_makes_the_uninterrupted_selections(tmp_path):
    kw = dict(max_steps=4, save_strategy="steps", save_steps=2,
              selector_kwargs={"method": "partitionsel"})
    full = make_trainer(tmp_path / "full", model=make_model(), **kw)
    full.train()
    ckpt = tmp_path / "full" / "checkpoint-2"
    assert (ckpt / STATE_FILE).is_file()

    resumed = make_trainer(tmp_path / "resumed", model=make_model(), **kw)
    resumed.train(resume_from_checkpoint=str(ckpt))
    picks = {e["global_step"]: e["indices"] for e in full.selection_log}
    again = {e["global_step"]: e["indices"] for e in resumed.selection_log}
    assert sorted(again) == [2, 3]
    assert all(again[s] == picks[s] for s in again)
    assert resumed.selector.step == full.selector.step
    for (name, p), (_, q) in zip(full.model.named_parameters(), resumed.model.named_parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)


# --------------------------------------------------------------------------- bad input
def test_no_domain_column(tmp_path):
    with pytest.raises(InvalidInputError, match=r"domain_column.*'domain'.*input_ids"):
        make_trainer(tmp_path, rows=make_rows(with_domain=False))


def test_pool_smaller_than_batch(tmp_path):
    with pytest.raises(InvalidInputError, match="pool_size.*smaller than the batch"):
        make_trainer(tmp_path, pool_size=2)


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5, float("nan")])
def test_ratio_outside_unit_interval(tmp_path, ratio):
    with pytest.raises(InvalidInputError, match=r"^ratio\b"):
        make_trainer(tmp_path, selector_kwargs={"ratio": ratio})


def test_filter_matching_nothing(tmp_path):
    with pytest.raises(InvalidInputError, match=r"^param_filter\b"):
        make_trainer(tmp_path, model=make_model(lora=False))


def test_training_set_smaller_than_a_pool(tmp_path):
    with pytest.raises(InvalidInputError, match="cannot fill one pool"):
        make_trainer(tmp_path, rows=make_rows(14))


def test_reserved_and_unknown_selector_kwargs(tmp_path):
    with pytest.raises(InvalidInputError, match=r"^selector_kwargs\b"):
        make_trainer(tmp_path, selector_kwargs={"optimizer": None})
    with pytest.raises(InvalidInputError, match=r"^selector_kwargs\b"):
        make_trainer(tmp_path, selector_kwargs={"no_such_option": 1})


def test_pool_collator_rejects_mixed_domains():
    with pytest.raises(InvalidInputError, match=r"^features: examples \[1\] have no 'domain'"):
        PoolCollator()([{"input_ids": [1, 2], "domain": "a"}, {"input_ids": [3]}])


def test_the_selector_takes_exactly_the_per_device_batch(tmp_path):
    # b = 5, ratio 0.3: pool round(5 / 0.3) = 17; the selection is b rows, not round(0.3 · 17·w)
    trainer = make_trainer(tmp_path, per_device_train_batch_size=5, max_steps=1,
                           selector_kwargs={"ratio": 0.3})
    assert trainer.pool_size == 17 and trainer.selector.minibatch_size == 5
    trainer.train()
    assert len(trainer.selection_log[-1]["indices"]) == 5
    with pytest.raises(InvalidInputError, match=r"^selector_kwargs: \['minibatch_size'\]"):
        make_trainer(tmp_path, selector_kwargs={"minibatch_size": 3})


def test_pool_collator_ignores_masked_positions_in_default_labels():
    pool = PoolCollator()([{"input_ids": [0, 0, 5, 6], "attention_mask": [0, 0, 1, 1],
                            "domain": "a"}])
    assert pool["labels"].tolist() == [[-100, -100, 5, 6]]
    with pytest.raises(InvalidInputError, match=r"^features: example 0"):
        PoolCollator()([{"input_ids": [0.5, 1.0], "domain": "a"}])
