"""The capture engine against an independent oracle: a Python loop of ``backward()`` on the
Hugging Face loss of each row alone (unpadded), on Llama and Qwen2 shapes with grouped-query
attention, several LoRA targets, prompt masks, padding on both sides and a row without targets.
"""

from __future__ import annotations

import warnings

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM  # noqa: E402

from llm_minibatch.features import (  # noqa: E402
    Sketch,
    gradient_features,
    per_example_gradients,
    select_parameters,
)
from llm_minibatch.features import head as head_module  # noqa: E402
from matroidopt.errors import InvalidInputError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")

VOCAB = 80
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _cfg(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=5,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                tie_word_embeddings=False)
    base.update(kw)
    return base


def _lora(model, seed, targets=TARGETS, r=3):
    model = get_peft_model(model, LoraConfig(r=r, target_modules=targets, lora_dropout=0.0,
                                             task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # B = 0 at peft's init would zero every lora_A gradient
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def llama():
    torch.manual_seed(0)
    return _lora(LlamaForCausalLM(LlamaConfig(**_cfg())), seed=1)


@pytest.fixture(scope="module")
def qwen():
    torch.manual_seed(2)
    return _lora(Qwen2ForCausalLM(Qwen2Config(**_cfg())), seed=3)


@pytest.fixture(scope="module")
def pool():
    """Seven rows: prompts masked, left and right padding, one row without a target."""
    g = torch.Generator().manual_seed(4)
    n, t = 7, 14
    ids = torch.randint(0, VOCAB, (n, t), generator=g)
    mask = torch.ones(n, t, dtype=torch.long)
    mask[1, :4] = 0      # left padded
    mask[2, 9:] = 0      # right padded
    mask[5, :2] = 0      # left padded, and a prompt
    labels = ids.clone().masked_fill(mask == 0, -100)
    labels[0, :6] = -100  # prompt not trained on
    labels[5, 2:8] = -100
    labels[3] = -100      # no target at all: a zero row
    return ids, labels, mask


def _oracle(model, ids, labels, mask, names):
    params = dict(model.named_parameters())
    rows = []
    for i in range(ids.shape[0]):
        keep = mask[i].bool()
        lab = labels[i:i + 1, keep]
        if not (lab[:, 1:] != -100).any():
            rows.append(torch.zeros(sum(params[n].numel() for n in names)))
            continue
        model.zero_grad(set_to_none=True)
        model(input_ids=ids[i:i + 1, keep], labels=lab).loss.backward()
        rows.append(torch.cat([params[n].grad.reshape(-1) for n in names]))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


@pytest.mark.parametrize("which", ["llama", "qwen"])
@pytest.mark.parametrize("param_filter", ["lora", "lora_all"])
def test_capture_equals_the_backward_loop(which, param_filter, request, pool):
    model = request.getfixturevalue(which)
    ids, labels, mask = pool
    names = list(select_parameters(model, param_filter))
    assert len(names) >= 2 * len(TARGETS) * 3  # A and B of 7 targets in >= 3 blocks
    G = per_example_gradients(model, ids, labels, attention_mask=mask, engine="capture",
                              param_filter=param_filter)
    R = _oracle(model, ids, labels, mask, names)
    assert G.shape == R.shape
    torch.testing.assert_close(G, R, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(G @ G.T, R @ R.T, atol=1e-5, rtol=1e-4)
    assert G[3].eq(0).all() and (G.norm(dim=1)[[0, 1, 2, 4, 5, 6]] > 1e-3).all()
    a_cols = torch.cat([torch.full((p.numel(),), "lora_A" in n)
                        for n, p in select_parameters(model, param_filter).items()])
    assert G[:, a_cols].abs().max() > 1e-4 and G[:, ~a_cols].abs().max() > 1e-4


@pytest.mark.parametrize("which", ["llama", "qwen"])
@pytest.mark.parametrize("kind", ["srht", "rademacher"])
def test_sketched_capture_features_are_the_sketch_of_the_exact_gradients(which, kind, request,
                                                                         pool):
    model = request.getfixturevalue(which)
    ids, labels, mask = pool
    names = list(select_parameters(model))
    R = _oracle(model, ids, labels, mask, names)
    F = gradient_features(model, ids, labels, attention_mask=mask, sketch_dim=64, sketch=kind,
                          seed=9, normalize=False, engine="capture", chunk_size=3)
    S = Sketch(R.shape[1], 64, kind=kind, seed=9)(R)
    torch.testing.assert_close(F, S, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(F @ F.T, S @ S.T, atol=1e-5, rtol=1e-4)
    Fn = gradient_features(model, ids, labels, attention_mask=mask, sketch_dim=64, sketch=kind,
                           seed=9, engine="capture")
    torch.testing.assert_close(Fn.norm(dim=1)[[0, 1, 2, 4, 5, 6]], torch.ones(6))


def test_engines_agree_and_chunks_do_not_matter(llama, pool):
    ids, labels, mask = pool
    ref = per_example_gradients(llama, ids, labels, attention_mask=mask, engine="reference")
    for c in (None, 1, 2, 7, 64):
        G = per_example_gradients(llama, ids, labels, attention_mask=mask, chunk_size=c)
        torch.testing.assert_close(G, ref, atol=1e-5, rtol=1e-4)


def test_logits_at_targets_shortcut_is_exact(llama, pool, monkeypatch):
    ids, labels, mask = pool
    assert head_module.plain_head(llama, select_parameters(llama).values()) is not None
    fast = per_example_gradients(llama, ids, labels, attention_mask=mask, engine="capture")
    monkeypatch.setattr(head_module, "PLAIN_HEAD_MODEL_TYPES", frozenset())
    assert head_module.plain_head(llama, select_parameters(llama).values()) is None
    full = per_example_gradients(llama, ids, labels, attention_mask=mask, engine="capture")
    torch.testing.assert_close(fast, full, atol=1e-6, rtol=1e-5)


def test_a_linear_bias_and_a_module_called_twice():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = None
            self.emb = torch.nn.Embedding(11, 6)
            self.mid = torch.nn.Linear(6, 6)
            self.out = torch.nn.Linear(6, 11)

        def forward(self, input_ids, use_cache=False, **_):
            h = self.emb(input_ids)
            h = torch.tanh(self.mid(h))
            h = torch.tanh(self.mid(h))  # the same Linear again: gradients of both calls add
            return (self.out(h),)

    torch.manual_seed(5)
    model = Twice()
    ids = torch.randint(0, 11, (4, 5))
    names = ["mid.weight", "mid.bias"]
    G = per_example_gradients(model, ids, ids, param_filter=names, engine="capture")
    R = per_example_gradients(model, ids, ids, param_filter=names, engine="reference")
    torch.testing.assert_close(G, R, atol=1e-6, rtol=1e-5)
    assert G[:, 36:].abs().max() > 1e-4  # the bias columns are filled


def test_other_modules_fall_back_to_the_reference_engine_with_a_warning(llama, pool):
    ids, labels, mask = pool
    names = [n for n in select_parameters(llama, lambda n, p: True)
             if n.endswith("layers.4.input_layernorm.weight")]
    assert names
    with pytest.warns(UserWarning, match="RMSNorm.*fall back"):
        G = per_example_gradients(llama, ids, labels, attention_mask=mask, param_filter=names)
    R = per_example_gradients(llama, ids, labels, attention_mask=mask, param_filter=names,
                              engine="reference")
    torch.testing.assert_close(G, R, atol=0.0, rtol=0.0)
    with pytest.raises(InvalidInputError, match=r"^engine: the capture engine cannot serve"):
        per_example_gradients(llama, ids, labels, param_filter=names, engine="capture")
    with pytest.raises(InvalidInputError, match=r"^engine: expected one of"):
        per_example_gradients(llama, ids, labels, engine="vmap")


def test_tied_embeddings_are_not_served_by_hooks():
    torch.manual_seed(6)
    model = LlamaForCausalLM(LlamaConfig(**_cfg(tie_word_embeddings=True))).eval()
    ids = torch.randint(0, VOCAB, (3, 6))
    (name,) = [n for n, _ in model.named_parameters() if "embed_tokens" in n]
    with pytest.warns(UserWarning, match="shared by 2 modules"):
        per_example_gradients(model, ids, ids, param_filter=[name])


def test_no_side_effects_and_hooks_removed_even_on_error(pool):
    torch.manual_seed(7)
    model = _lora(LlamaForCausalLM(LlamaConfig(**_cfg())), seed=8).train()
    for n, p in model.named_parameters():  # a mixed set of flags must come back unchanged
        if "layers.0." in n and "lora_A" in n:
            p.requires_grad_(False)
    model.base_model.model.model.layers[1].eval()
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    modes = {n: m.training for n, m in model.named_modules()}

    def hooks():
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())

    before_hooks = hooks()
    ids, labels, mask = pool
    rng = torch.get_rng_state()
    gradient_features(model, ids, labels, attention_mask=mask, sketch_dim=32)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(p.grad is None for p in model.parameters())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert hooks() == before_hooks

    class Boom(RuntimeError):
        pass

    def explode(*_):
        raise Boom

    layer = model.base_model.model.model.layers[4].mlp
    handle = layer.register_forward_hook(explode)
    try:
        with pytest.raises(Boom):
            gradient_features(model, ids, labels, attention_mask=mask)
    finally:
        handle.remove()
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert hooks() == before_hooks
    assert all(p.grad is None for p in model.parameters())


def test_only_the_selected_layers_keep_activations(llama, pool):
    """The pass freezes everything but the selected parameters: no graph below them."""
    ids, labels, mask = pool
    seen = []
    first = llama.base_model.model.model.layers[0].self_attn.q_proj.base_layer

    def record(module, args, output):
        seen.append(output.requires_grad)

    handle = first.register_forward_hook(record)
    try:
        per_example_gradients(llama, ids, labels, attention_mask=mask, engine="capture")
    finally:
        handle.remove()
    assert seen and not any(seen)  # block 0 is below the last three blocks: no graph there


def test_capture_under_no_grad_and_inference_inputs(llama, pool):
    ids, labels, mask = pool
    ref = per_example_gradients(llama, ids, labels, attention_mask=mask)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        G = per_example_gradients(llama, ids, labels, attention_mask=mask)
    torch.testing.assert_close(G, ref, atol=0.0, rtol=0.0)


def test_partitionsel_scores_pool_and_anchors_in_one_pass(llama, pool, monkeypatch):
    """One feature pass per step, and each row's features equal those it gets alone."""
    from llm_minibatch.loop import AnchorSampler, PartitionSel
    from llm_minibatch.loop import selector as training

    ids, labels, mask = pool
    held_out = {"input_ids": ids[:, :9], "labels": labels[:, :9],
                "attention_mask": mask[:, :9]}  # shorter than the pool: padded to match
    calls = []
    real = training.gradient_features

    def counting(*args, **kwargs):
        calls.append(args[1].shape[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "gradient_features", counting)
    sel = PartitionSel(llama, lr=1e-3, anchors=AnchorSampler(held_out, n_anchors=3, seed=0),
                       ratio=3 / 7, seed=0)
    sel.select({"input_ids": ids, "labels": labels, "attention_mask": mask}, [0, 0, 0, 1, 1, 1, 1])
    assert calls == [7 + 3]
    G, A = sel._features({"input_ids": ids, "labels": labels, "attention_mask": mask},
                         sel.anchors.take(sel.anchors.sample_indices(0)), 5)
    alone = real(llama, ids, labels, attention_mask=mask, seed=5)
    torch.testing.assert_close(G, alone, atol=1e-6, rtol=1e-5)
    rows = sel.anchors.sample_indices(0)
    anchors_alone = real(llama, held_out["input_ids"][rows], held_out["labels"][rows],
                         attention_mask=held_out["attention_mask"][rows], seed=5)
    torch.testing.assert_close(A, anchors_alone, atol=1e-6, rtol=1e-5)
