"""Tests of the embedded corpus, loaders, byte tokenizer, tiny models and per-domain evaluation
(``llm_minibatch.corpus``, ``.tokenization``, ``.models``, ``.evaluation``).

Everything is local: the corpus is generated, the models are built from configs, the Hugging
Face tokenizer is trained offline on a few hundred strings, and ``datasets`` reads tmp files.
Answers are checked by recomputing them from the prompt text with code independent of the
generators.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from llm_minibatch.corpus import (  # noqa: E402
    CORPUS_SEED,
    CORPUS_SIZES,
    DOMAINS,
    GENERATORS,
    load_corpus,
    load_hf_dataset,
    load_jsonl,
    make_corpus,
    train_val_split,
    write_jsonl,
)
from llm_minibatch.corpus import shipped as data_mod  # noqa: E402
from llm_minibatch.evaluation import domain_losses, exact_match  # noqa: E402
from llm_minibatch.models import (  # noqa: E402
    add_lora,
    load_model,
    load_tokenizer,
    tiny_llama,
    tiny_qwen2,
)
from llm_minibatch.tokenization import ByteTokenizer, encode_examples  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

APP = Path(__file__).resolve().parents[2] / "applications"
SHIPPED = APP / "llm_minibatch" / "corpus" / "corpus.jsonl"


@pytest.fixture(scope="module")
def tok():
    return ByteTokenizer()


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def small_model(**kw):
    return tiny_llama(hidden_size=32, layers=2, **kw)


# --------------------------------------------------------------------------- answers, recomputed
def _solve_arithmetic(prompt: str) -> str:
    m = re.fullmatch(r"[A-Z][a-z]+ has (\d+) [a-z]+ and (buys|loses) (\d+)\. How many\? ", prompt)
    if m:
        a, op, b = int(m[1]), m[2], int(m[3])
        return str(a + b if op == "buys" else a - b)
    m = re.fullmatch(r"[A-Z][a-z]+ buys (\d+) bags of (\d+) [a-z]+\. How many\? ", prompt)
    assert m, prompt
    return str(int(m[1]) * int(m[2]))


def _solve_smiles(prompt: str) -> str:
    smiles = r"([CNOS=()]+)"
    if m := re.fullmatch(r"reverse " + smiles + r": ", prompt):
        return "".join(reversed(m[1]))
    if m := re.fullmatch(r"count ([CNOS]) in " + smiles + r": ", prompt):
        return str(sum(ch == m[1] for ch in m[2]))
    m = re.fullmatch(r"replace ([CNOS]) with ([CNOS]) in " + smiles + r": ", prompt)
    assert m and m[1] != m[2] and m[1] in m[3], prompt
    return "".join(m[2] if ch == m[1] else ch for ch in m[3])


_SECONDS = {"s": 1, "min": 60, "h": 3600, "day": 86400, "week": 604800}
_METRES = {"mm": 1, "cm": 10, "m": 1000, "km": 1_000_000}
_OTHER = {"g": 1, "kg": 1000, "mL": 1, "L": 1000}


def _in_base(unit: str) -> int:
    for table in (_SECONDS, _METRES, _OTHER):
        if unit in table:
            return table[unit]
    raise AssertionError(unit)


def _solve_units(prompt: str) -> str:
    m = re.fullmatch(r"(\d+) ([A-Za-z]+) in ([A-Za-z]+)\? ", prompt)
    assert m, prompt
    value = int(m[1]) * _in_base(m[2])
    assert value % _in_base(m[3]) == 0, prompt
    return str(value // _in_base(m[3]))


def _solve_sorting(prompt: str) -> str:
    m = re.fullmatch(r"sort( desc)? ((?:\d+ )*\d+): ", prompt)
    assert m, prompt
    nums = [int(t) for t in m[2].split(" ")]
    assert 3 <= len(nums) <= 5
    return " ".join(str(x) for x in sorted(nums, reverse=bool(m[1])))


SOLVERS = {"arithmetic": _solve_arithmetic, "smiles": _solve_smiles, "units": _solve_units,
           "sorting": _solve_sorting}


def test_domains_and_generators_agree():
    assert set(DOMAINS) == set(GENERATORS) == set(SOLVERS) == set(CORPUS_SIZES)


@pytest.mark.parametrize("domain", DOMAINS)
def test_generator_answers_are_exact(domain):
    rng = __import__("random").Random(123)
    for _ in range(400):
        ex = GENERATORS[domain](rng)
        assert set(ex) == {"prompt", "answer", "domain"} and ex["domain"] == domain
        assert SOLVERS[domain](ex["prompt"]) == ex["answer"]


def test_shipped_corpus_answers_exact_and_short(corpus):
    for ex in corpus:
        assert SOLVERS[ex["domain"]](ex["prompt"]) == ex["answer"]
        assert len((ex["prompt"] + ex["answer"]).encode()) <= 48
        assert 1 <= len(ex["answer"].encode()) <= 15  # fits 16 new tokens with its eos
        assert ex["prompt"].endswith(" ")


def test_generators_accept_int_seed_and_reject_junk():
    assert GENERATORS["units"](5) == GENERATORS["units"](5)
    with pytest.raises(InvalidInputError, match=r"^rng\b"):
        GENERATORS["units"]("five")


# --------------------------------------------------------------------------- corpus
def test_make_corpus_deterministic_sizes_unique():
    sizes = {"arithmetic": 30, "smiles": 7, "sorting": 12}
    a = make_corpus(sizes, seed=4)
    assert a == make_corpus(sizes, seed=4)
    assert a != make_corpus(sizes, seed=5)
    assert Counter(ex["domain"] for ex in a) == Counter(sizes)
    for d in sizes:
        prompts = [ex["prompt"] for ex in a if ex["domain"] == d]
        assert len(set(prompts)) == len(prompts)
    assert Counter(ex["domain"] for ex in make_corpus(3)) == dict.fromkeys(DOMAINS, 3)


def test_make_corpus_domains_independent_of_other_sizes():
    a = make_corpus({"units": 10, "smiles": 5}, seed=1)
    b = make_corpus({"units": 10, "smiles": 50, "sorting": 3}, seed=1)
    units = [ex for ex in a if ex["domain"] == "units"]
    assert sorted(map(str, units)) == sorted(str(ex) for ex in b if ex["domain"] == "units")


@pytest.mark.parametrize("bad, match", [
    ({"poetry": 3}, "n_per_domain.*poetry"),
    ({"units": -1}, "n_per_domain"),
    (0, "n_per_domain"),
    ({}, "n_per_domain"),
    (2.5, "n_per_domain"),
    ({"units": 3000}, "n_per_domain.*unique"),
])
def test_make_corpus_errors(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        make_corpus(bad)


def test_shipped_corpus_equals_make_corpus(corpus):
    assert corpus == make_corpus(CORPUS_SIZES, seed=CORPUS_SEED)
    assert Counter(ex["domain"] for ex in corpus) == Counter(CORPUS_SIZES)
    assert SHIPPED.stat().st_size < 300_000
    assert load_jsonl(SHIPPED) == corpus


def test_regenerate_script_writes_the_same_file(tmp_path):
    out = tmp_path / "corpus.jsonl"
    assert data_mod._main(["--regenerate", "--output", str(out)]) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()


def test_regenerate_entry_point_runs_as_module(tmp_path):
    out = tmp_path / "c.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "llm_minibatch.corpus.shipped", "--regenerate", "--output",
         str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == SHIPPED.read_bytes()


# --------------------------------------------------------------------------- split
def test_train_val_split_stratified(corpus):
    train, val = train_val_split(corpus, val_fraction=0.1, seed=0)
    assert len(train) + len(val) == len(corpus)
    assert {json.dumps(e) for e in train}.isdisjoint(json.dumps(e) for e in val)
    counts = Counter(ex["domain"] for ex in val)
    assert counts == {d: round(0.1 * n) for d, n in CORPUS_SIZES.items()}
    # input order kept in both parts
    pos = {json.dumps(e): i for i, e in enumerate(corpus)}
    assert [pos[json.dumps(e)] for e in train] == sorted(pos[json.dumps(e)] for e in train)
    assert train_val_split(corpus, 0.1, seed=0) == (train, val)
    assert train_val_split(corpus, 0.1, seed=1) != (train, val)


def test_train_val_split_small_domains():
    ex = ([{"domain": "big", "i": i} for i in range(20)] + [{"domain": "two", "i": 0},
          {"domain": "two", "i": 1}] + [{"domain": "one", "i": 0}])
    train, val = train_val_split(ex, val_fraction=0.05)
    vc, tc = Counter(e["domain"] for e in val), Counter(e["domain"] for e in train)
    assert vc == {"big": 1, "two": 1} and tc == {"big": 19, "two": 1, "one": 1}
    _, val = train_val_split(ex, val_fraction=0.99)
    assert Counter(e["domain"] for e in val) == {"big": 19, "two": 1}


@pytest.mark.parametrize("kwargs, match", [
    ({"val_fraction": 0.0}, "val_fraction"),
    ({"val_fraction": 1.0}, "val_fraction"),
    ({"examples": []}, "examples"),
    ({"examples": [{"prompt": "x"}]}, "examples.*domain"),
])
def test_train_val_split_errors(kwargs, match):
    args = {"examples": [{"domain": "a"}] * 3, "val_fraction": 0.5} | kwargs
    with pytest.raises(InvalidInputError, match=match):
        train_val_split(**args)


# --------------------------------------------------------------------------- loaders
ROWS = [
    {"q": "2+2? ", "a": "4", "task": "math"},
    {"q": "sort 2 1: ", "a": "1 2", "task": "sorting"},
    {"q": "3 km in m? ", "a": 3000, "task": "units"},
]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


EXPECTED = [
    {"prompt": "2+2? ", "answer": "4", "domain": "math"},
    {"prompt": "sort 2 1: ", "answer": "1 2", "domain": "sorting"},
    {"prompt": "3 km in m? ", "answer": "3000", "domain": "units"},
]
KEYS = {"domain_key": "task", "prompt_key": "q", "answer_key": "a"}
COLS = {"domain_column": "task", "prompt_column": "q", "answer_column": "a"}


def test_load_jsonl(tmp_path):
    p = _write(tmp_path / "d.jsonl", ROWS)
    p.write_text(p.read_text() + "\n\n")  # trailing blank lines are fine
    assert load_jsonl(p, **KEYS) == EXPECTED
    assert load_jsonl(str(p), **KEYS) == EXPECTED
    ex = make_corpus(2)
    assert load_jsonl(write_jsonl(ex, tmp_path / "c.jsonl")) == ex


def test_load_jsonl_errors(tmp_path):
    p = _write(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(InvalidInputError,
                       match=r"domain_key: column 'domain'.*\['q', 'a', 'task'\]"):
        load_jsonl(p, prompt_key="q", answer_key="a")
    with pytest.raises(InvalidInputError, match=r"^prompt_key: column 'prompt'"):
        load_jsonl(p, domain_key="task", answer_key="a")
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InvalidInputError, match=r"^path: file not found.*nope.jsonl"):
        load_jsonl(missing)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InvalidInputError, match=r"^path: no examples"):
        load_jsonl(tmp_path / "empty.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{oops\n')
    with pytest.raises(InvalidInputError, match="line 2"):
        load_jsonl(tmp_path / "bad.jsonl", domain_key="a", prompt_key="a", answer_key="a")
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    with pytest.raises(InvalidInputError, match="JSON object"):
        load_jsonl(tmp_path / "list.jsonl")
    _write(tmp_path / "none.jsonl", [{"q": "x", "a": "y", "task": None}])
    with pytest.raises(InvalidInputError, match=r"^domain_key\b"):
        load_jsonl(tmp_path / "none.jsonl", **KEYS)


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory):
    pytest.importorskip("datasets")
    return str(tmp_path_factory.mktemp("hf_cache"))


def test_load_hf_dataset_jsonl_csv_json(tmp_path, hf_cache):
    p = _write(tmp_path / "d.jsonl", ROWS)
    assert load_hf_dataset(p, cache_dir=hf_cache, **COLS) == EXPECTED
    csv = tmp_path / "d.csv"
    csv.write_text("q,a,task\n2+2? ,4,math\nsort 2 1: ,1 2,sorting\n3 km in m? ,3000,units\n")
    assert load_hf_dataset(str(csv), cache_dir=hf_cache, **COLS) == EXPECTED
    js = tmp_path / "d.json"
    js.write_text(json.dumps(ROWS))
    assert load_hf_dataset(js, cache_dir=hf_cache, **COLS) == EXPECTED
    assert load_hf_dataset(p, split="train[:2]", cache_dir=hf_cache, **COLS) == EXPECTED[:2]
    # the default column names, on the corpus format
    ex = make_corpus(2, seed=9)
    assert load_hf_dataset(write_jsonl(ex, tmp_path / "c.jsonl"), cache_dir=hf_cache) == ex


def test_load_hf_dataset_saved_to_disk(tmp_path, hf_cache):
    import datasets

    ds = datasets.Dataset.from_list(ROWS[:2])
    ds.save_to_disk(str(tmp_path / "saved"))
    assert load_hf_dataset(tmp_path / "saved", **COLS) == EXPECTED[:2]
    datasets.DatasetDict({"validation": ds}).save_to_disk(str(tmp_path / "dd"))
    assert load_hf_dataset(tmp_path / "dd", split="validation", **COLS) == EXPECTED[:2]
    with pytest.raises(InvalidInputError, match=r"split.*\['validation'\]"):
        load_hf_dataset(tmp_path / "dd", **COLS)


def test_load_hf_dataset_errors(tmp_path, hf_cache):
    p = _write(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(InvalidInputError,
                       match=r"domain_column: column 'domain'.*\['q', 'a', 'task'\]"):
        load_hf_dataset(p, prompt_column="q", answer_column="a", cache_dir=hf_cache)
    with pytest.raises(InvalidInputError, match=r"^answer_column: column 'answer'"):
        load_hf_dataset(p, domain_column="task", prompt_column="q", cache_dir=hf_cache)
    with pytest.raises(InvalidInputError, match=r"^path_or_name: .*not found.*missing.csv"):
        load_hf_dataset(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match=r"^path_or_name: .*not found"):
        load_hf_dataset(str(tmp_path / "missing.jsonl"))
    (tmp_path / "empty.csv").write_text("q,a,task\n")
    with pytest.raises(InvalidInputError, match="no examples"):
        load_hf_dataset(tmp_path / "empty.csv", cache_dir=hf_cache, **COLS)
    (tmp_path / "d.txt").write_text("hello\n")
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        load_hf_dataset(tmp_path / "d.txt")


# --------------------------------------------------------------------------- byte tokenizer
def test_byte_tokenizer_round_trip(tok):
    for text in ["", "sort 3 1 2: 1 2 3", "héllo → 世界 🙂", "CC(=O)N\n\t"]:
        ids = tok.encode(text)
        assert ids == list(text.encode("utf-8")) and all(0 <= i < 256 for i in ids)
        assert tok.decode(ids) == text
        assert tok.decode([tok.bos_token_id, *ids, tok.eos_token_id, tok.pad_token_id]) == text
    assert tok.decode(torch.tensor([257, 104, 105, 258])) == "hi"
    assert tok.decode([257, 104, 258], skip_special_tokens=False) == "<bos>h<eos>"
    assert (tok.vocab_size, len(tok), tok.pad_token_id, tok.bos_token_id, tok.eos_token_id) == (
        259, 259, 256, 257, 258)
    assert tok.decode([0xC3]) == "\ufffd"  # half a character
    with pytest.raises(InvalidInputError, match=r"^ids\b"):
        tok.decode([300])
    with pytest.raises(InvalidInputError, match=r"^text\b"):
        tok.encode(b"bytes")


# --------------------------------------------------------------------------- encoding
def test_encode_examples_masks_and_padding(tok):
    ex = [{"prompt": "ab ", "answer": "xyz"}, {"prompt": "a ", "answer": "q"}]
    for side in ("right", "left"):
        b = encode_examples(ex, tok, padding_side=side)
        assert set(b) == {"input_ids", "labels", "attention_mask"}
        assert all(t.dtype == torch.long and t.shape == (2, 8) for t in b.values())
        for r, e in enumerate(ex):
            m = b["attention_mask"][r].bool()
            ids, lab = b["input_ids"][r][m].tolist(), b["labels"][r][m].tolist()
            p, a = tok.encode(e["prompt"]), tok.encode(e["answer"])
            assert ids == [257, *p, *a, 258]
            assert lab == [-100] * (1 + len(p)) + [*a, 258]
            assert (b["labels"][r][~m] == -100).all() and (b["input_ids"][r][~m] == 256).all()
        # padding on the requested side
        assert b["attention_mask"][1].tolist() == (
            [1] * 5 + [0] * 3 if side == "right" else [0] * 3 + [1] * 5)
    fixed = encode_examples(ex, tok, max_length=12, pad_to_max_length=True)
    assert fixed["input_ids"].shape == (2, 12)


def test_encode_examples_truncates_prompt_from_left(tok):
    ex = [{"prompt": "0123456789", "answer": "AB"}]
    b = encode_examples(ex, tok, max_length=8)
    assert b["input_ids"][0].tolist() == [257, *tok.encode("6789AB"), 258]
    assert b["labels"][0].tolist() == [-100] * 5 + tok.encode("AB") + [258]
    # exactly room for bos + answer + eos: the prompt goes entirely
    b = encode_examples(ex, tok, max_length=4)
    assert b["input_ids"][0].tolist() == [257, 65, 66, 258]
    with pytest.raises(InvalidInputError, match="max_length.*answer"):
        encode_examples(ex, tok, max_length=3)


@pytest.mark.parametrize("examples, kwargs, match", [
    ([], {}, "examples"),
    ({"prompt": "a", "answer": "b"}, {}, "examples"),
    ([{"prompt": "a"}], {}, "examples.*answer"),
    ([{"prompt": "a", "answer": 3}], {}, "examples.*answer"),
    ([{"prompt": "a", "answer": "b"}], {"padding_side": "middle"}, "padding_side"),
    ([{"prompt": "a", "answer": "b"}], {"max_length": 0}, "max_length"),
])
def test_encode_examples_errors(tok, examples, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        encode_examples(examples, tok, **kwargs)


def test_encode_examples_loss_matches_hf(tok, corpus):
    model = small_model()
    enc = encode_examples(corpus[:6], tok)
    hf = model(**enc).loss.item()
    ours = domain_losses(model, enc, ["all"] * 6)["all"]
    assert math.isclose(hf, ours, rel_tol=1e-5)


@pytest.fixture(scope="module")
def hf_tokenizer_dir(tmp_path_factory, corpus):
    """A byte-level BPE tokenizer trained offline, saved as a Hugging Face tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tk.train_from_iterator([e["prompt"] + e["answer"] for e in corpus[:300]], trainer)
    d = tmp_path_factory.mktemp("hf_tok")
    PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>"
                            ).save_pretrained(str(d))
    return d


def test_hf_tokenizer_load_and_encode(hf_tokenizer_dir, corpus):
    hf = load_tokenizer(hf_tokenizer_dir)
    assert not isinstance(hf, ByteTokenizer)
    assert hf.pad_token_id == hf.eos_token_id  # no pad token: eos stands in
    ex = corpus[:5]
    b = encode_examples(ex, hf, padding_side="left")
    for r, e in enumerate(ex):
        m = b["attention_mask"][r].bool()
        ids, lab = b["input_ids"][r][m], b["labels"][r][m]
        assert ids[0].item() == hf.bos_token_id and ids[-1].item() == hf.eos_token_id
        assert hf.decode(ids[lab != -100], skip_special_tokens=True) == e["answer"]
        assert hf.decode(ids[1:][lab[1:] == -100]) == e["prompt"]
    # a model with the tokenizer's vocabulary scores and decodes through it
    model = small_model(vocab_size=len(hf))
    acc = exact_match(model, ex, hf, max_new_tokens=3)
    assert all(0.0 <= v <= 1.0 for v in acc.values())
    assert set(domain_losses(model, b, [e["domain"] for e in ex])) == {e["domain"] for e in ex}


def test_tokenizer_without_bos(tok):
    class NoBos:
        pad_token_id = None
        bos_token_id = None
        eos_token_id = 258

        def encode(self, text, add_special_tokens=True):
            assert add_special_tokens is False
            return tok.encode(text)

        def decode(self, ids, skip_special_tokens=True):
            return tok.decode(ids)

    b = encode_examples([{"prompt": "ab", "answer": "c"}, {"prompt": "a", "answer": "c"}],
                        NoBos())
    assert b["input_ids"].tolist() == [[97, 98, 99, 258], [97, 99, 258, 258]]
    assert b["labels"].tolist() == [[-100, -100, 99, 258], [-100, 99, 258, -100]]
    with pytest.raises(InvalidInputError, match=r"^tokenizer\b"):
        encode_examples([{"prompt": "a", "answer": "b"}], object())


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("builder", [tiny_llama, tiny_qwen2])
def test_tiny_models_forward(builder, tok):
    model = builder(hidden_size=32, layers=2)
    cfg = model.config
    assert (cfg.vocab_size, cfg.num_hidden_layers, cfg.tie_word_embeddings) == (259, 2, False)
    assert (cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (256, 257, 258)
    enc = encode_examples(make_corpus(2), tok)
    out = model(**enc)
    assert out.logits.shape == (*enc["input_ids"].shape, 259)
    assert torch.isfinite(out.loss)
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    same = builder(hidden_size=32, layers=2)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), same.parameters()))
    other = builder(hidden_size=32, layers=2, seed=1)
    assert not torch.equal(model.lm_head.weight, other.lm_head.weight)


def test_tiny_model_leaves_global_rng_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    small_model()
    assert torch.equal(torch.rand(3), expected)


def test_tiny_model_errors():
    with pytest.raises(InvalidInputError, match=r"^heads\b"):
        tiny_llama(hidden_size=30, heads=4)
    with pytest.raises(InvalidInputError, match=r"^kv_heads\b"):
        tiny_llama(heads=4, kv_heads=3)
    with pytest.raises(InvalidInputError, match=r"^layers\b"):
        tiny_qwen2(layers=0)


def test_add_lora_only_adapters_trainable_and_starts_from_base(tok):
    base = tiny_llama(hidden_size=32, layers=3)
    enc = encode_examples(make_corpus(1), tok)
    with torch.no_grad():
        before = base(**enc).logits
    model = add_lora(base, r=4, alpha=8)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert len(trainable) == 3 * 2 * 2  # blocks × (q, v) × (A, B)
    with torch.no_grad():
        assert torch.allclose(model(**enc).logits, before)
    # B = 0 at init, hence dL/dA = 0: only the B matrices carry gradient at step 0
    model(**enc).loss.backward()
    for n, p in model.named_parameters():
        if ".lora_A." in n:
            assert torch.count_nonzero(p.grad) == 0 and torch.count_nonzero(p) > 0
        elif ".lora_B." in n:
            assert torch.count_nonzero(p) == 0 and torch.count_nonzero(p.grad) > 0


def test_add_lora_last_blocks_and_seed():
    m1 = add_lora(tiny_llama(hidden_size=32, layers=4), r=2, last_n_blocks=2,
                  target_modules=("q_proj", "k_proj", "v_proj"))
    names = [n for n, _ in m1.named_parameters() if "lora_" in n]
    assert {int(re.search(r"layers\.(\d+)\.", n)[1]) for n in names} == {2, 3}
    assert {re.search(r"\.(\w_proj)\.", n)[1] for n in names} == {"q_proj", "k_proj", "v_proj"}
    m2 = add_lora(tiny_llama(hidden_size=32, layers=4), r=2, last_n_blocks=2,
                  target_modules=("q_proj", "k_proj", "v_proj"))
    a1 = dict(m1.named_parameters())
    assert all(torch.equal(a1[n], p) for n, p in m2.named_parameters() if "lora_A" in n)
    m3 = add_lora(tiny_llama(hidden_size=32, layers=4), r=2, seed=3)
    a3 = [p for n, p in m3.named_parameters() if "layers.3.self_attn.q_proj.lora_A" in n][0]
    a1q = [p for n, p in a1.items() if "layers.3.self_attn.q_proj.lora_A" in n][0]
    assert not torch.equal(a1q, a3)
    with pytest.raises(InvalidInputError, match=r"^last_n_blocks\b"):
        add_lora(small_model(), last_n_blocks=0)
    with pytest.raises(InvalidInputError, match=r"^r\b"):
        add_lora(small_model(), r=0)


@pytest.mark.parametrize("builder", [tiny_llama, tiny_qwen2])
def test_save_load_round_trip(builder, tmp_path, tok):
    model = builder(hidden_size=32, layers=2, seed=2)
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model)
    enc = encode_examples(make_corpus(2), tok)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(**enc).logits, loaded(**enc).logits)
    half = load_model(str(tmp_path / "m"), dtype="bfloat16")
    assert half.lm_head.weight.dtype == torch.bfloat16
    assert isinstance(load_tokenizer(tmp_path / "m"), ByteTokenizer)


def test_load_model_and_tokenizer_errors_and_names(tmp_path):
    with pytest.raises(InvalidInputError, match=r"^path_or_name: .*not found"):
        load_model(tmp_path / "missing")
    with pytest.raises(InvalidInputError, match=r"^path_or_name: .*not found"):
        load_tokenizer(str(tmp_path / "missing"))
    with pytest.raises(InvalidInputError, match=r"^dtype\b"):
        load_model(tmp_path, dtype="float99")
    m = load_model("tiny-qwen2", hidden_size=32, layers=1)
    assert type(m).__name__ == "Qwen2ForCausalLM" and m.config.num_hidden_layers == 1
    assert isinstance(load_tokenizer("byte"), ByteTokenizer)


# --------------------------------------------------------------------------- evaluation
def test_domain_losses_forms_agree_and_restore_mode(tok, corpus):
    model = add_lora(small_model(), r=2)
    ex = corpus[:12]
    domains = [e["domain"] for e in ex]
    enc = encode_examples(ex, tok)
    model.train()
    flags = [m.training for m in model.modules()]
    a = domain_losses(model, enc, domains, batch_size=5)
    assert [m.training for m in model.modules()] == flags
    assert list(a) == list(dict.fromkeys(domains))
    b = domain_losses(model, (enc, domains))
    by = {d: encode_examples([e for e in ex if e["domain"] == d], tok, padding_side="left")
          for d in a}
    c = domain_losses(model, by)
    for d in a:
        assert math.isclose(a[d], b[d], rel_tol=1e-9) and math.isclose(a[d], c[d], rel_tol=1e-4)
        # token-weighted mean: the HF loss over the domain's rows
        rows = [e for e in ex if e["domain"] == d]
        with torch.no_grad():
            model.eval()
            ref = model(**encode_examples(rows, tok)).loss.item()
            model.train()
        assert math.isclose(a[d], ref, rel_tol=1e-4)
    assert all(p.grad is None for p in model.parameters())


def test_domain_losses_errors(tok):
    model = small_model()
    enc = encode_examples([{"prompt": "a", "answer": "b"}] * 2, tok)
    with pytest.raises(InvalidInputError, match=r"^domains\b"):
        domain_losses(model, enc)
    with pytest.raises(InvalidInputError, match=r"^domains\b"):
        domain_losses(model, enc, ["x"])
    masked = dict(enc, labels=torch.full_like(enc["labels"], -100))
    with pytest.raises(InvalidInputError, match="no answer token"):
        domain_losses(model, {"x": masked})
    with pytest.raises(InvalidInputError, match=r"^data\b"):
        domain_losses(model, [1, 2])
    with pytest.raises(InvalidInputError, match=r"^data\b"):
        domain_losses(model, {})


def test_exact_match_range_batching_and_mode(tok, corpus):
    model = tiny_qwen2(hidden_size=32, layers=2)
    ex = corpus[:10]
    model.train()
    acc, preds = exact_match(model, ex, tok, max_new_tokens=6, batch_size=4,
                             return_predictions=True)
    assert model.training and all(m.training for m in model.modules())
    assert set(acc) == {e["domain"] for e in ex} and all(0.0 <= v <= 1.0 for v in acc.values())
    # left-padded batches decode exactly what one-by-one decoding does
    _, single = exact_match(model, ex, tok, max_new_tokens=6, batch_size=1,
                            return_predictions=True)
    assert preds == single
    with pytest.raises(InvalidInputError, match=r"^examples\b"):
        exact_match(model, [], tok)
    with pytest.raises(InvalidInputError, match=r"^max_new_tokens\b"):
        exact_match(model, ex, tok, max_new_tokens=0)


def test_exact_match_after_memorising_one_example(tok):
    ex = [{"prompt": "sort 3 1 2: ", "answer": "1 2 3", "domain": "sorting"}]
    other = [{"prompt": "count C in CCOC: ", "answer": "3", "domain": "smiles"}]
    model = small_model()
    assert exact_match(model, ex, tok) == {"sorting": 0.0}
    enc = encode_examples(ex, tok)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(100):
        opt.zero_grad()
        model(**enc).loss.backward()
        opt.step()
    acc, preds = exact_match(model, ex + other, tok, return_predictions=True)
    assert acc["sorting"] == 1.0 and preds[0] == "1 2 3"
    assert domain_losses(model, enc, ["sorting"])["sorting"] < 0.05
