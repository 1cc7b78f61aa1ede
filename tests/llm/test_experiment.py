"""The experiment: the stratified control, its statistics, scenarios, balanced anchors and a
tiny end-to-end run through the command line."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from scipy import stats as sps

from llm_minibatch.corpus import load_corpus, train_val_split
from llm_minibatch.experiment.scenarios import apply_scenario, corrupt_answers, imbalance
from llm_minibatch.experiment.stats import (
    bootstrap_ci,
    paired_differences,
    steps_to_target,
    t_interval,
)
from llm_minibatch.loop import AnchorSampler, PartitionSel
from llm_minibatch.selection.budgets import compute_quotas
from llm_minibatch.selection.methods import select_from_features, stratified_indices
from matroidopt.errors import InvalidInputError

DOMAINS = ["a"] * 12 + ["b"] * 6 + ["c"] * 2


# --------------------------------------------------------------------------- stratified
def _features(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).normal(size=(n, 8))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def test_stratified_respects_the_quotas_exactly_and_matches_a_reference_draw():
    G = _features(len(DOMAINS))
    for b in (1, 5, 7, 10):
        sel = select_from_features(G, DOMAINS, G[:3], b, "stratified", lr=1e-3, seed=4)
        quotas = compute_quotas(DOMAINS, b, "proportional")
        assert sel.quotas == quotas
        assert sel.domain_counts == {d: k for d, k in quotas.items() if k}
        rng = np.random.default_rng(4)  # the documented draw: domains in order, one generator
        ref = []
        for d in sorted(quotas):
            pos = [i for i, x in enumerate(DOMAINS) if x == d]
            if quotas[d]:
                ref += rng.choice(pos, size=quotas[d], replace=False).tolist()
        assert sel.indices.tolist() == ref


def test_stratified_is_deterministic_per_seed_and_uniform_inside_a_domain():
    quotas = {"a": 3, "b": 1, "c": 1}
    assert stratified_indices(DOMAINS, quotas, 7) == stratified_indices(DOMAINS, quotas, 7)
    assert stratified_indices(DOMAINS, quotas, 7) != stratified_indices(DOMAINS, quotas, 8)
    hits = Counter()
    reps = 3000
    for s in range(reps):
        hits.update(i for i in stratified_indices(DOMAINS, quotas, s) if DOMAINS[i] == "a")
    observed = np.array([hits[i] for i in range(12)])
    assert observed.sum() == 3 * reps
    assert sps.chisquare(observed).pvalue > 1e-3  # every row of "a" equally likely


def test_stratified_rejects_a_quota_above_the_domain_count():
    with pytest.raises(InvalidInputError, match=r"^quota_map\b"):
        stratified_indices(DOMAINS, {"c": 3}, 0)


def test_partitionsel_runs_stratified_without_features_anchors_or_lr():
    sel = PartitionSel(torch.nn.Linear(2, 2), method="stratified", minibatch_size=5, seed=3)
    pool = {"input_ids": torch.zeros(len(DOMAINS), 4, dtype=torch.long)}
    record = sel.select(pool, DOMAINS)
    idx = record.tolist()
    assert record.quotas == compute_quotas(DOMAINS, 5, "proportional")
    assert Counter(DOMAINS[i] for i in idx) == {"a": 3, "b": 1, "c": 1}
    assert record.utility is None and record.feature_seconds == 0.0
    assert sel.history[-1] == record.as_log()
    again = PartitionSel(torch.nn.Linear(2, 2), method="stratified", minibatch_size=5, seed=3)
    assert again.select(pool, DOMAINS).tolist() == idx


# --------------------------------------------------------------------------- statistics
def test_bootstrap_finds_a_known_difference_and_is_seeded():
    rng = np.random.default_rng(0)
    a = rng.normal(2.0, 0.1, size=8)
    d = paired_differences(a - 0.3 + rng.normal(0, 0.02, size=8), a)
    ci = bootstrap_ci(d, seed=1)
    assert ci.excludes_zero() and -0.4 < ci.low <= ci.mean <= ci.high < -0.2
    assert bootstrap_ci(d, seed=1) == ci
    assert bootstrap_ci(d, seed=2) != ci
    assert t_interval(d).excludes_zero()


def test_bootstrap_interval_covers_a_null_difference_in_most_repetitions():
    rng = np.random.default_rng(123)
    covered = sum(not bootstrap_ci(rng.normal(0.0, 1.0, size=20), seed=r,
                                   n_resamples=2000).excludes_zero() for r in range(100))
    assert covered >= 85


def test_degenerate_and_bad_inputs():
    assert bootstrap_ci([0.5]).low is None or np.isnan(bootstrap_ci([0.5]).low)
    ci = bootstrap_ci([0.2, 0.2, 0.2])
    assert ci.low == ci.high == pytest.approx(0.2)
    with pytest.raises(InvalidInputError, match=r"^b:"):
        paired_differences([1.0, 2.0], [1.0])
    with pytest.raises(InvalidInputError, match=r"^confidence\b"):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


def test_steps_to_target_on_hand_made_curves():
    steps = [0, 10, 20, 30]
    assert steps_to_target(steps, [3.0, 2.5, 2.0, 1.9], 2.0) == 20  # reached exactly
    assert steps_to_target(steps, [3.0, 1.0, 2.5, 2.5], 2.0) == 10  # first time counts
    assert steps_to_target(steps, [3.0, 2.9, 2.8, 2.7], 2.0) is None  # never
    assert steps_to_target(steps, [1.0, 2.9, 2.8, 2.7], 2.0) == 0
    with pytest.raises(InvalidInputError, match=r"^values\b"):
        steps_to_target(steps, [1.0, 2.0], 2.0)


# --------------------------------------------------------------------------- scenarios
@pytest.fixture(scope="module")
def train_rows():
    return train_val_split(load_corpus(), val_fraction=0.1, seed=0)[0]


@pytest.mark.parametrize("share", [0.5, 0.25, 0.33])
@pytest.mark.parametrize("mode", ["swap", "shuffle"])
def test_noisy_corrupts_the_share_of_one_domain_only(train_rows, share, mode):
    before = [dict(r) for r in train_rows]
    new, info = corrupt_answers(train_rows, "units", share=share, seed=5, mode=mode)
    assert train_rows == before  # pure: the input is untouched
    n_units = sum(r["domain"] == "units" for r in train_rows)
    changed = [i for i, (x, y) in enumerate(zip(train_rows, new)) if x != y]
    assert abs(len(changed) - share * n_units) <= 1
    assert changed == info["corrupted"] and info["unchanged"] == 0
    assert all(train_rows[i]["domain"] == "units" for i in changed)
    assert all(new[i]["prompt"] == train_rows[i]["prompt"] for i in changed)
    assert corrupt_answers(train_rows, "units", share=share, seed=5, mode=mode) == (new, info)


def test_noisy_defaults_to_the_largest_domain_and_names_bad_input(train_rows):
    assert corrupt_answers(train_rows, seed=0)[1]["domain"] == "arithmetic"
    with pytest.raises(InvalidInputError, match=r"^domain\b"):
        corrupt_answers(train_rows, "poetry")
    with pytest.raises(InvalidInputError, match=r"^share\b"):
        corrupt_answers(train_rows, share=1.5)


def test_imbalanced_has_the_claimed_skew(train_rows):
    new, info = imbalance(train_rows, seed=2)
    counts = Counter(r["domain"] for r in new)
    assert counts == info["counts"]
    sizes = [info["counts"][d] for d in info["ratios"]]  # largest domain first
    assert sizes == [1080, 540, 270, 135]  # 8 : 4 : 2 : 1 of the 1080 arithmetic rows
    assert [train_rows[i] for i in info["kept"]] == new
    with pytest.raises(InvalidInputError, match=r"^ratios\b"):
        imbalance(train_rows, ratios=[2, 1])


def test_scenarios_leave_validation_and_anchors_clean():
    from llm_minibatch.experiment.runner import ExperimentConfig, _prepare

    examples = load_corpus()
    cfg = ExperimentConfig(scenario="noisy", noise_domain="sorting", pool_size=16)
    prep = _prepare(cfg, examples, seed=1)
    clean = _prepare(ExperimentConfig(pool_size=16), examples, seed=1)
    assert prep["val"] == clean["val"] and prep["anchors"] == clean["anchors"]
    diff = [i for i, (x, y) in enumerate(zip(prep["fit"], clean["fit"])) if x != y]
    assert diff == prep["scenario"]["corrupted"]
    assert apply_scenario("embedded", clean["fit"])[0] == clean["fit"]


# --------------------------------------------------------------------------- anchors
def test_balanced_anchors_draw_equal_counts_per_domain():
    labels = ["x"] * 20 + ["y"] * 5 + ["z"] * 3
    batch = {"input_ids": torch.arange(28 * 2).reshape(28, 2)}
    bal = AnchorSampler(batch, n_anchors=6, seed=1, domains=labels, balance="domain")
    assert bal.n_anchors == 6
    seen = set()
    for step in range(20):
        rows = bal.sample_indices(step).tolist()
        assert Counter(labels[i] for i in rows) == {"x": 2, "y": 2, "z": 2}
        assert len(set(rows)) == 6
        seen.update(rows)
        assert bal.sample_indices(step).tolist() == rows
    assert len(seen) > 15  # not the same rows every step
    capped = AnchorSampler(batch, n_anchors=12, domains=labels, balance="domain")
    assert capped.n_anchors == 9  # 3 per domain: the smallest domain has 3 rows
    plain = AnchorSampler(batch, n_anchors=6, seed=1, domains=labels)
    assert plain.sample_indices(3).tolist() == AnchorSampler(batch, n_anchors=6,
                                                              seed=1).sample_indices(3).tolist()
    with pytest.raises(InvalidInputError, match=r"^domains\b"):
        AnchorSampler(batch, balance="domain")
    with pytest.raises(InvalidInputError, match=r"^balance\b"):
        AnchorSampler(batch, domains=labels, balance="mixture")


# --------------------------------------------------------------------------- end to end
pytest.importorskip("matplotlib")
pytest.importorskip("peft")


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")
def test_tiny_experiment_through_the_cli(tmp_path, capsys):
    from llm_minibatch.__main__ import main

    out = tmp_path / "exp"
    arms = ["random", "stratified", "partitionsel"]
    rc = main(["experiment", "--arms", *arms, "--seeds", "2", "--steps", "4",
               "--eval-every", "2", "--conflicts-every", "2", "--pretrain-steps", "2",
               "--hidden-size", "16", "--layers", "1", "--pool-size", "16", "--batch-size", "4",
               "--sketch-dim", "32", "--threads", "1", "--bootstrap-resamples", "200",
               "--anchors", "balanced", "--record-pools", "--no-progress", "--out", str(out)])
    assert rc == 0
    assert "Pass criterion" in capsys.readouterr().out
    for name in ("experiment.json", "experiment.md", "curves.png", "differences.png"):
        assert (out / name).stat().st_size > 0
    res = json.loads((out / "experiment.json").read_text())
    assert {"config", "seeds", "summary", "criterion", "files"} <= set(res)
    assert res["criterion"]["verdict"] in ("pass", "fail")
    assert "worst-domain" in res["criterion"]["text"]
    assert [s["seed"] for s in res["seeds"]] == [0, 1]
    for s in res["seeds"]:
        runs = s["arms"]
        assert list(runs) == arms
        pools = runs["random"]["pools"]
        assert len(pools) == 4 and all(len(p) == 16 for p in pools)
        for r in runs.values():  # every arm: the same pools in the same order
            assert r["pools"] == pools and r["pool_digest"] == runs["random"]["pool_digest"]
            assert r["curve"]["steps"] == [0, 2, 4]
            assert r["final"]["worst"] == max(r["final"]["domains"].values())
            assert set(r["seconds"]) >= {"features_per_step", "selection_per_step",
                                         "update_per_step"}
            assert r["steps_to_target"] in (None, 0, 2, 4)
        assert runs["random"]["steps_to_target"] == 4
        assert runs["partitionsel"]["seconds"]["features_per_step"] > 0
        assert runs["stratified"]["seconds"]["features_per_step"] == 0
        assert s["data"]["anchors_per_step"] % 4 == 0  # balanced: equal per domain
    assert res["seeds"][0]["arms"]["random"]["pools"] != res["seeds"][1]["arms"]["random"][
        "pools"]
    diffs = res["summary"]["differences"]
    assert set(diffs) == {"random", "stratified"}
    assert diffs["random"]["partitionsel"]["worst"]["per_seed"] == pytest.approx(
        [s["arms"]["partitionsel"]["final"]["worst"] - s["arms"]["random"]["final"]["worst"]
         for s in res["seeds"]])
    table = (out / "experiment.md").read_text()
    assert "| partitionsel |" in table and "Verdict" in table
    assert "](curves.png)" in table and "](differences.png)" in table


def test_experiment_cli_names_a_bad_setting(capsys):
    from llm_minibatch.__main__ import main

    assert main(["experiment", "--arms", "magic", "--no-progress"]) == 2
    assert "arms" in capsys.readouterr().err
    assert main(["experiment", "--scenario", "file", "--no-progress"]) == 2


# --------------------------------------------------------------------------- step 0 of a run
def test_a_fresh_lora_copy_has_the_base_models_losses_so_step_0_is_evaluated_once():
    """The experiment reuses the base model's validation losses as every arm's step 0: exact
    only because LoRA starts at B = 0 (a non-zero start would change the losses)."""
    import copy

    from llm_minibatch.evaluation import domain_losses
    from llm_minibatch.models import add_lora, tiny_llama
    from llm_minibatch.tokenization import ByteTokenizer, encode_examples

    rows = load_corpus()[:40]
    enc = encode_examples(rows, ByteTokenizer(), max_length=48)
    domains = [r["domain"] for r in rows]
    base = tiny_llama(hidden_size=32, layers=2, seed=3)
    lora = add_lora(copy.deepcopy(base), r=4, alpha=8,
                    target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=3)
    before, after = domain_losses(base, enc, domains), domain_losses(lora, enc, domains)
    assert set(before) == set(after) and len(before) > 1
    for d in before:
        assert after[d] == pytest.approx(before[d], rel=1e-6, abs=0)
    with torch.no_grad():  # the check can fail: a moved B changes them
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    moved = domain_losses(lora, enc, domains)
    assert any(abs(moved[d] - before[d]) > 1e-3 for d in before)
