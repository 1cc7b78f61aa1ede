"""Tests of ``llm_minibatch.features``: per-example gradients, filters, sketches, errors.

Models are tiny and built from configs (no download): a few layers, hidden 32, vocab 96.
Reference gradients come from a plain Python loop of ``backward()`` on the ordinary
Hugging Face loss (``model(..., labels=...).loss``), which is independent of our loss code.
"""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import (  # noqa: E402
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from llm_minibatch.features import (  # noqa: E402
    Sketch,
    gradient_features,
    lm_head_gradients,
    lora_last_blocks,
    normalize_rows,
    per_example_gradients,
    select_parameters,
)
from matroidopt.errors import InvalidInputError  # noqa: E402

# peft's get_peft_model calls a transformers method deprecated in 5.x; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")

VOCAB = 96
ATOL = 1e-5


def _common(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                tie_word_embeddings=False)
    base.update(kw)
    return base


def _with_lora(model, seed):
    model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                             lora_dropout=0.0, task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # peft initialises B = 0, which would zero lora_A's gradient
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model.eval()


def _llama(attn="sdpa", seed=0):
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**_common(), attn_implementation=attn)).eval()


@pytest.fixture(scope="module")
def llama_lora():
    return _with_lora(_llama(seed=0), seed=1)


@pytest.fixture(scope="module")
def qwen_lora():
    torch.manual_seed(2)
    model = Qwen2ForCausalLM(Qwen2Config(**_common()))
    return _with_lora(model, seed=3)


@pytest.fixture(scope="module")
def llama_plain():
    return _llama(seed=4)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, VOCAB, (5, 10), generator=g)
    labels = ids.clone()
    labels[0, :4] = -100  # a prompt that is not trained on
    labels[3, 7:] = -100
    return ids, labels


def _loop_grads(model, ids, labels, names, attention_mask=None):
    """Per-example gradients by a Python loop of backward() on the Hugging Face loss."""
    params = dict(model.named_parameters())
    rows = []
    for i in range(ids.shape[0]):
        model.zero_grad(set_to_none=True)
        kw = {} if attention_mask is None else {"attention_mask": attention_mask[i:i + 1]}
        out = model(input_ids=ids[i:i + 1], labels=labels[i:i + 1], **kw)
        out.loss.backward()
        rows.append(torch.cat([params[n].grad.reshape(-1) for n in names]))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


# --------------------------------------------------------------------------- filters
def test_default_filter_is_lora_of_last_three_blocks(llama_lora, qwen_lora):
    for model in (llama_lora, qwen_lora):
        sel = select_parameters(model)  # "lora"
        assert sel and all(("lora_A" in n or "lora_B" in n) for n in sel)
        blocks = {int(n.split("layers.")[1].split(".")[0]) for n in sel}
        assert blocks == {1, 2, 3}
        assert len(sel) == 3 * 2 * 2  # 3 blocks × (q_proj, v_proj) × (A, B)
        names = [n for n, _ in model.named_parameters()]
        assert list(sel) == [n for n in names if n in sel]  # named_parameters order
    keep = lora_last_blocks(llama_lora, n_blocks=1)
    assert {n.split("layers.")[1][0] for n in select_parameters(llama_lora, keep)} == {"3"}
    assert len(select_parameters(llama_lora, "lora_all")) == 4 * 2 * 2


def test_user_filters(llama_lora):
    pred = select_parameters(llama_lora, lambda n, p: n.endswith("norm.weight"))
    assert pred and all(n.endswith("norm.weight") for n in pred)
    name = next(iter(select_parameters(llama_lora)))
    assert list(select_parameters(llama_lora, [name])) == [name]
    (head,) = select_parameters(llama_lora, "lm_head")
    assert head.endswith("lm_head.weight")


# --------------------------------------------------------------------------- vmap vs loop
@pytest.mark.parametrize("which", ["llama_lora", "qwen_lora"])
def test_vmap_equals_backward_loop(which, request, batch):
    model = request.getfixturevalue(which)
    ids, labels = batch
    names = list(select_parameters(model))
    G = per_example_gradients(model, ids, labels, chunk_size=2)
    R = _loop_grads(model, ids, labels, names)
    assert G.shape == R.shape == (5, sum(p.numel() for p in select_parameters(model).values()))
    torch.testing.assert_close(G, R, atol=ATOL, rtol=1e-4)
    # lora_A receives a non-trivial gradient because lora_B was made non-zero
    a_cols = torch.cat([torch.full((p.numel(),), "lora_A" in n)
                        for n, p in select_parameters(model).items()])
    assert G[:, a_cols].abs().max() > 1e-4


def _unpadded_loop_grads(model, ids, labels, mask, names):
    """The backward loop on every row with its padding removed (the padding convention)."""
    params = dict(model.named_parameters())
    rows = []
    for i in range(ids.shape[0]):
        keep = mask[i].bool()
        model.zero_grad(set_to_none=True)
        model(input_ids=ids[i:i + 1, keep], labels=labels[i:i + 1, keep]).loss.backward()
        rows.append(torch.cat([params[n].grad.reshape(-1) for n in names]))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


@pytest.mark.parametrize("engine", ["capture", "reference"])
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_padded_rows_have_the_gradients_of_the_unpadded_rows(attn, engine, batch):
    model = _with_lora(_llama(attn=attn, seed=6), seed=7)
    ids, labels = batch
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding: the first real token (position 3) is no target
    mask[2, 6:] = 0  # right padding
    labels = labels.masked_fill(mask == 0, -100)
    names = list(select_parameters(model))
    G = per_example_gradients(model, ids, labels, attention_mask=mask, chunk_size=3,
                              engine=engine)
    R = _unpadded_loop_grads(model, ids, labels, mask, names)
    torch.testing.assert_close(G, R, atol=ATOL, rtol=1e-4)
    # the padded backward loop differs on the left-padded row only: its first real token is
    # a target there, predicted from the last padding position
    P = _loop_grads(model, ids, labels, names, attention_mask=mask)
    torch.testing.assert_close(G[[0, 2, 3, 4]], P[[0, 2, 3, 4]], atol=ATOL, rtol=1e-4)
    assert (G[1] - P[1]).abs().max() > 1e-3


def test_chunk_size_does_not_change_results(llama_lora, batch):
    ids, labels = batch
    ref = per_example_gradients(llama_lora, ids, labels, chunk_size=5)
    for c in (1, 3, 64):
        torch.testing.assert_close(per_example_gradients(llama_lora, ids, labels, chunk_size=c),
                                   ref, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------- lm_head
def test_lm_head_closed_form_equals_autograd(llama_plain, batch):
    ids, labels = batch
    (name,) = select_parameters(llama_plain, "lm_head")
    assert name == "lm_head.weight"
    A = lm_head_gradients(llama_plain, ids, labels, chunk_size=2)
    B = per_example_gradients(llama_plain, ids, labels, param_filter="lm_head")
    R = _loop_grads(llama_plain, ids, labels, [name])
    assert A.shape == (5, VOCAB * 32)
    torch.testing.assert_close(A, R, atol=ATOL, rtol=1e-4)
    torch.testing.assert_close(B, R, atol=ATOL, rtol=1e-4)
    F = gradient_features(llama_plain, ids, labels, param_filter="lm_head", normalize=False)
    torch.testing.assert_close(F, A, atol=1e-6, rtol=1e-5)


def test_lm_head_closed_form_with_padding(llama_plain, batch):
    ids, labels = batch
    mask = torch.ones_like(ids)
    mask[4, :2] = 0
    labels = labels.masked_fill(mask == 0, -100)
    A = lm_head_gradients(llama_plain, ids, labels, attention_mask=mask)
    R = _unpadded_loop_grads(llama_plain, ids, labels, mask, ["lm_head.weight"])
    torch.testing.assert_close(A, R, atol=ATOL, rtol=1e-4)


# --------------------------------------------------------------------------- masking
def test_ignored_labels_are_ignored(llama_lora, batch):
    ids, labels = batch
    G = per_example_gradients(llama_lora, ids, labels)
    # labels[:, 0] is never a target (the causal shift): any value there changes nothing
    other = labels.clone()
    other[:, 0] = torch.tensor([-100, 5, 17, -100, 90])
    torch.testing.assert_close(per_example_gradients(llama_lora, ids, other), G,
                               atol=0.0, rtol=0.0)
    # masking one more target changes that example's row only
    more = labels.clone()
    more[2, 5] = -100
    H = per_example_gradients(llama_lora, ids, more)
    keep = [0, 1, 3, 4]
    torch.testing.assert_close(H[keep], G[keep], atol=0.0, rtol=0.0)
    assert (H[2] - G[2]).abs().max() > 1e-5


def test_zero_target_example_gives_zero_row(llama_lora, batch):
    ids, labels = batch
    labels = labels.clone()
    labels[1] = -100
    G = per_example_gradients(llama_lora, ids, labels)
    assert torch.isfinite(G).all()
    assert G[1].eq(0).all() and G[0].abs().max() > 0
    F = gradient_features(llama_lora, ids, labels, sketch_dim=64)
    assert torch.isfinite(F).all() and F[1].eq(0).all()
    torch.testing.assert_close(F[[0, 2, 3, 4]].norm(dim=1), torch.ones(4))


# --------------------------------------------------------------------------- side effects
def test_no_grad_left_and_modes_restored(batch):
    model = _with_lora(_llama(seed=8), seed=9)
    for p in model.parameters():
        p.grad = None
    model.train()
    frozen_sub = model.base_model.model.model.layers[0]
    frozen_sub.eval()  # a mixed-mode model: every module's own flag must come back
    before = {n: m.training for n, m in model.named_modules()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    ids, labels = batch
    per_example_gradients(model, ids, labels, eval_mode=True)
    gradient_features(model, ids, labels, sketch_dim=16)
    per_example_gradients(model, ids, labels)  # current (train) mode
    lm_head_gradients(model, ids, labels, eval_mode=True)
    assert all(p.grad is None for p in model.parameters())
    assert {n: m.training for n, m in model.named_modules()} == before
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags


def test_train_mode_dropout_is_stochastic_and_eval_mode_is_not(batch):
    torch.manual_seed(10)
    cfg = LlamaConfig(**_common(attention_dropout=0.3))
    model = _with_lora(LlamaForCausalLM(cfg), seed=11).train()
    ids, labels = batch
    A = per_example_gradients(model, ids, labels)
    B = per_example_gradients(model, ids, labels)
    assert torch.isfinite(A).all() and not torch.allclose(A, B)
    C = per_example_gradients(model, ids, labels, eval_mode=True)
    D = gradient_features(model, ids, labels, normalize=False)  # eval_mode=True by default
    torch.testing.assert_close(C, D, atol=0.0, rtol=0.0)
    assert model.training


# --------------------------------------------------------------------------- composition
def test_gradient_features_composition(llama_lora, batch):
    ids, labels = batch
    G = per_example_gradients(llama_lora, ids, labels, eval_mode=True)
    for kind in ("srht", "rademacher"):
        F = gradient_features(llama_lora, ids, labels, sketch_dim=48, sketch=kind, seed=3,
                              chunk_size=2)
        expect = normalize_rows(Sketch(G.shape[1], 48, kind=kind, seed=3)(G))
        torch.testing.assert_close(F, expect, atol=1e-5, rtol=1e-4)
    F = gradient_features(llama_lora, ids, labels)
    torch.testing.assert_close(F, normalize_rows(G), atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------- sketches
@pytest.mark.parametrize("kind", ["srht", "rademacher"])
def test_sketch_is_deterministic_per_seed(kind):
    X = torch.randn(6, 300, generator=torch.Generator().manual_seed(0))
    S = Sketch(300, 40, kind=kind, seed=7)
    Y = S(X)
    assert Y.shape == (6, 40) and Y.dtype == torch.float32
    torch.testing.assert_close(S(X), Y, atol=0.0, rtol=0.0)
    torch.testing.assert_close(Sketch(300, 40, kind=kind, seed=7)(X), Y, atol=0.0, rtol=0.0)
    assert not torch.allclose(Sketch(300, 40, kind=kind, seed=8)(X), Y)
    torch.testing.assert_close(S(X[2]), Y[2])  # one vector
    torch.testing.assert_close(X @ S.matrix(), Y, atol=1e-5, rtol=1e-5)  # linear


def test_rademacher_blockwise_path_equals_cached_matrix():
    X = torch.randn(3, 500, generator=torch.Generator().manual_seed(1))
    cached = Sketch(500, 30, kind="rademacher", seed=2)
    streamed = Sketch(500, 30, kind="rademacher", seed=2)
    streamed._CACHE_LIMIT = 0  # force the block-by-block generation
    streamed._block = cached._block = 64  # several blocks
    torch.testing.assert_close(streamed(X), cached(X), atol=1e-5, rtol=1e-5)
    assert not streamed._cache
    M = cached.matrix()
    torch.testing.assert_close(M.abs(), torch.full_like(M, 1 / math.sqrt(30)))


def test_srht_structure():
    # out_dim == padded dim: an exact isometry, entries ±1/sqrt(n) (signed Hadamard)
    S = Sketch(16, 16, kind="srht", seed=4)
    M = S.matrix()
    torch.testing.assert_close(M @ M.T, torch.eye(16), atol=1e-6, rtol=0)
    torch.testing.assert_close(M.abs(), torch.full_like(M, 0.25))
    X = torch.randn(4, 13)
    Y = Sketch(13, 16, kind="srht", seed=5)(X)  # padded to 16: still an isometry
    torch.testing.assert_close(Y.norm(dim=1), X.norm(dim=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["srht", "rademacher"])
def test_sketch_johnson_lindenstrauss(kind):
    """Norms and inner products of unit vectors are kept to within 6/sqrt(k).

    For unit x, y both sketches satisfy E<Sx, Sy> = <x, y> and Var<Sx, Sy> <= 2/k
    (Rademacher: exactly (1 + <x,y>² − 2 Σ x_i² y_i²)/k; SRHT: sampling k coordinates without
    replacement has at most the variance of sampling with replacement, which after the random
    signs is at most 2/k in expectation). The bound 6/sqrt(k) is ≥ 4.2 standard deviations, so
    a seed violates it for a given pair with probability ≈ 3e-5 (Gaussian approximation of a
    sum of k independent sub-exponential terms; the rigorous JL/Bernstein tail has the same
    exp(−c·k·ε²) shape), about 1e-2 for all 210 checks below by a union bound. The seeds are
    fixed, so the test is deterministic.
    """
    d, k, m = 1000, 256, 20
    X = normalize_rows(torch.randn(m, d, generator=torch.Generator().manual_seed(11),
                                   dtype=torch.float64).float())
    Y = Sketch(d, k, kind=kind, seed=12)(X)
    err_ip = (Y @ Y.T - X @ X.T).abs()
    bound = 6 / math.sqrt(k)
    assert err_ip.max() <= bound  # includes | |Sx|² − 1 | on the diagonal
    assert (Y.norm(dim=1) ** 2 - 1).abs().max() <= bound
    # unbiasedness: the mean over independent seeds approaches <x, y> like 1/sqrt(seeds)
    x, y = X[0], X[1]
    vals = torch.stack([(Sketch(d, k, kind=kind, seed=s)(torch.stack([x, y])).prod(0)).sum()
                        for s in range(40)])
    assert abs(vals.mean() - x @ y) <= 6 * math.sqrt(2 / k) / math.sqrt(40)


def test_normalize_rows():
    G = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1e-3, 0.0, 0.0]])
    N = normalize_rows(G)
    torch.testing.assert_close(N.norm(dim=1), torch.tensor([1.0, 0.0, 1.0]))
    torch.testing.assert_close(N[0], torch.tensor([0.6, 0.8, 0.0]))
    assert torch.isfinite(N).all() and N[1].eq(0).all()
    with pytest.raises(InvalidInputError, match=r"^G\b"):
        normalize_rows(torch.ones(3))


# --------------------------------------------------------------------------- errors
def test_bad_inputs_raise_invalid_input_error(llama_lora, llama_plain, batch):
    ids, labels = batch
    cases = [
        (lambda: per_example_gradients(llama_lora, ids, labels[:, :-1]), "labels"),
        (lambda: per_example_gradients(llama_lora, ids[:0], labels[:0]), "input_ids"),
        (lambda: per_example_gradients(llama_lora, ids[0], labels[0]), "input_ids"),
        (lambda: per_example_gradients(llama_lora, ids.float(), labels), "input_ids"),
        (lambda: per_example_gradients(llama_lora, ids + VOCAB, labels), "input_ids"),
        (lambda: per_example_gradients(llama_lora, ids, labels - 200), "labels"),
        (lambda: per_example_gradients(llama_lora, ids, labels, chunk_size=0), "chunk_size"),
        (lambda: per_example_gradients(llama_lora, ids, labels,
                                       attention_mask=torch.ones(5, 3)), "attention_mask"),
        (lambda: per_example_gradients(llama_lora, ids, labels,
                                       param_filter=lambda n, p: False), "param_filter"),
        (lambda: per_example_gradients(llama_plain, ids, labels), "param_filter"),
        (lambda: select_parameters(llama_lora, "nonsense"), "param_filter"),
        (lambda: select_parameters(llama_lora, ["no.such.weight"]), "param_filter"),
        (lambda: select_parameters(llama_lora, 3), "param_filter"),
        (lambda: lora_last_blocks(llama_lora, n_blocks=0), "n_blocks"),
        (lambda: gradient_features(llama_lora, ids, labels, sketch_dim=0), "sketch_dim"),
        (lambda: gradient_features(llama_lora, ids, labels, sketch_dim=10**6), "sketch_dim"),
        (lambda: gradient_features(llama_lora, ids, labels, sketch_dim=8, sketch="fft"),
         "sketch"),
        (lambda: Sketch(10, 4, kind="gaussian"), "kind"),
        (lambda: Sketch(10, 0), "out_dim"),
        (lambda: Sketch(0, 4), "in_dim"),
        (lambda: Sketch(10, 4)(torch.ones(2, 11)), "X"),
    ]
    for fn, arg in cases:
        with pytest.raises(InvalidInputError, match=arg):
            fn()


def test_no_parameter_message_lists_names(llama_plain, batch):
    ids, labels = batch
    with pytest.raises(InvalidInputError, match=r"^param_filter\b") as info:
        gradient_features(llama_plain, ids, labels)
    msg = str(info.value)
    assert "model.embed_tokens.weight" in msg and "get_peft_model" in msg
