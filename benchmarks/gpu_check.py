"""GPU checks, one prepared script (run where a CUDA device exists).

Core (matroidopt on CUDA):
  * facility location from features, n = 20 000, d = 64, k = 200: lazy greedy on CUDA
    (float32 and float64) against the same solve on CPU (float64): time, peak GPU memory,
    objective, whether the selections agree.
  * dense kernel n = 20 000 float32 on CUDA: lazy greedy time and peak memory.
PartitionSel (llm_minibatch on CUDA):
  * a random-initialised model of Qwen2.5-0.5B's shape (bf16, LoRA r = 16 on q/v of the last 3
    blocks), pool N = 256 sequences of length 256, b = 32: time per pool for the features
    (torch.func per-example gradients, SRHT sketch to p = 8192) and for the selection, peak
    GPU memory.
  * the Hugging Face Trainer integration: 50 steps of ``PartitionSelTrainer`` on the same
    model shape (bf16, LoRA), pool 256 -> batch 32, ``partitionsel`` against ``random``:
    seconds per step, their ratio, peak GPU memory.

``--tiny`` runs everything at toy sizes on the CPU (a smoke test of the script itself).

Writes ``gpu_check.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

import matroidopt as mo


def timed(fn, reps=3):
    ts, out = [], None
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def core_checks():
    res = {}
    n, d, k = 20_000, 64, 200
    X = np.random.default_rng(0).standard_normal((n, d))
    f_cpu = mo.FacilityLocation.from_features(X, metric="euclidean")
    t0 = time.perf_counter()
    r_cpu = mo.lazy_greedy(f_cpu, k)
    res["cpu_f64_from_features_s"] = time.perf_counter() - t0
    res["cpu_threads"] = torch.get_num_threads()
    for dt in (torch.float64, torch.float32):
        torch.cuda.reset_peak_memory_stats()
        f = mo.FacilityLocation.from_features(X, metric="euclidean", device="cuda", dtype=dt)
        s, r = timed(lambda f=f: mo.lazy_greedy(f, k))
        name = str(dt).split(".")[-1]
        res[f"cuda_{name}_from_features_s"] = s
        res[f"cuda_{name}_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        res[f"cuda_{name}_value_by_cpu_f64"] = f_cpu.evaluate(r.indices)
        res[f"cuda_{name}_same_selection_as_cpu"] = r.indices.tolist() == r_cpu.indices.tolist()
        res[f"cuda_{name}_oracle_calls"] = r.oracle_calls
    res["cpu_value"] = r_cpu.value
    Xt = torch.from_numpy(X).to("cuda", torch.float32)
    sq = (Xt * Xt).sum(1)
    K = torch.exp(-torch.sqrt((sq[:, None] + sq[None, :] - 2 * Xt @ Xt.T).clamp_min(0)) / d)
    torch.cuda.reset_peak_memory_stats()
    fk = mo.FacilityLocation(K)
    s, r = timed(lambda: mo.lazy_greedy(fk, k))
    res["cuda_dense_f32_s"] = s
    res["cuda_dense_f32_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    res["cuda_dense_f32_value_by_cpu_f64"] = f_cpu.evaluate(r.indices.cpu())
    return res


def partitionsel_checks(seq_len=256, n_pool=256, b=32, p=8192):
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from llm_minibatch import gradient_features, select_from_features

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864,
                      num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                      max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6,
                      tie_word_embeddings=True, torch_dtype=torch.bfloat16)
    model = Qwen2ForCausalLM(cfg).to("cuda", torch.bfloat16)
    last = [str(i) for i in range(cfg.num_hidden_layers - 3, cfg.num_hidden_layers)]
    lora = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                      layers_to_transform=[int(i) for i in last], init_lora_weights=False)
    model = get_peft_model(model, lora)
    ids = torch.randint(0, cfg.vocab_size, (n_pool, seq_len), device="cuda")
    labels = ids.clone()
    labels[:, : seq_len // 2] = -100  # prompt tokens masked
    anchors = torch.randint(0, cfg.vocab_size, (4, seq_len), device="cuda")
    domains = np.arange(n_pool) % 8
    res = {"model_params": sum(q.numel() for q in model.parameters()),
           "trainable_params": sum(q.numel() for q in model.parameters() if q.requires_grad),
           "seq_len": seq_len, "pool": n_pool, "b": b, "sketch_dim": p}
    out = {}
    for chunk in (16, 64):
        torch.cuda.reset_peak_memory_stats()

        def feats(chunk=chunk):
            G = gradient_features(model, ids, labels, sketch_dim=p, seed=0, chunk_size=chunk)
            A = gradient_features(model, anchors, anchors, sketch_dim=p, seed=0)
            return G, A

        s, (G, A) = timed(feats, reps=2)
        out[f"features_s_chunk{chunk}"] = s
        out[f"features_peak_mib_chunk{chunk}"] = torch.cuda.max_memory_allocated() / 2**20
    res.update(out)
    for method in ("partitionsel", "random", "greats", "per_domain", "iwd"):
        s, sel = timed(lambda m=method: select_from_features(G, domains, A, b, m, lr=1e-4,
                                                             seed=0), reps=5)
        res[f"selection_s_{method}"] = s
        res[f"F_{method}"] = sel.utility_value
        res[f"conflicting_pairs_{method}"] = sel.conflicting_pairs
    # one training step on the selection, for the overhead ratio
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
    sel = select_from_features(G, domains, A, b, "partitionsel", lr=1e-4, seed=0)

    def step():
        batch = ids[sel.indices]
        loss = model(input_ids=batch, labels=labels[sel.indices]).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    s, _ = timed(step, reps=3)
    res["train_step_s"] = s
    res["selection_over_step"] = res["selection_s_partitionsel"] / s
    res["features_over_step"] = res["features_s_chunk64"] / s
    res["peak_mib_total"] = torch.cuda.max_memory_allocated() / 2**20
    return res


def trainer_checks(steps=50, n_pool=256, b=32, seq_len=256, p=8192, tiny=False):
    import tempfile

    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM, TrainingArguments

    from llm_minibatch import PartitionSelTrainer

    device = "cpu" if tiny else "cuda"
    if tiny:
        steps, n_pool, b, seq_len, p = 3, 16, 4, 16, 64
        shape = dict(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                     num_attention_heads=4, num_key_value_heads=2)
    else:
        shape = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864,
                     num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2)
    cfg = Qwen2Config(**shape, max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6,
                      tie_word_embeddings=True)
    g = torch.Generator().manual_seed(0)
    n_rows = steps * n_pool + 64
    ids = torch.randint(3, cfg.vocab_size, (n_rows, seq_len), generator=g)
    rows = [{"input_ids": ids[i].tolist(),
             "labels": [-100] * (seq_len // 2) + ids[i, seq_len // 2:].tolist(),
             "domain": f"d{i % 8}"} for i in range(n_rows)]
    res = {"steps": steps, "pool": n_pool, "b": b, "seq_len": seq_len, "sketch_dim": p}
    for method in ("random", "partitionsel"):
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(cfg).to(device, torch.float32 if tiny else torch.bfloat16)
        last = list(range(cfg.num_hidden_layers - 3, cfg.num_hidden_layers))
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32,
                                                 target_modules=["q_proj", "v_proj"],
                                                 layers_to_transform=last))
        args = TrainingArguments(
            output_dir=tempfile.mkdtemp(), per_device_train_batch_size=b, max_steps=steps,
            learning_rate=1e-4, logging_steps=max(1, steps // 5), save_strategy="no",
            report_to=[], bf16=not tiny, use_cpu=tiny, disable_tqdm=True, seed=0,
            dataloader_num_workers=0)
        trainer = PartitionSelTrainer(
            model=model, args=args, train_dataset=rows,
            selector_kwargs={"method": method, "ratio": b / n_pool, "sketch_dim": p})
        if not tiny:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = trainer.train()
        if not tiny:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        res[f"{method}_s_per_step"] = seconds / steps
        res[f"{method}_train_runtime"] = out.metrics.get("train_runtime")
        res[f"{method}_peak_mib"] = (None if tiny
                                     else torch.cuda.max_memory_allocated() / 2**20)
        sel = [h for h in trainer.state.log_history if "sel/selection_seconds" in h]
        res[f"{method}_selection_s"] = float(np.mean([h["sel/selection_seconds"] for h in sel]))
        res[f"{method}_feature_s"] = float(np.mean([h["sel/feature_seconds"] for h in sel]))
        del trainer, model
        if not tiny:
            torch.cuda.empty_cache()
    res["step_time_ratio_partitionsel_over_random"] = (res["partitionsel_s_per_step"]
                                                       / res["random_s_per_step"])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=".")
    ap.add_argument("--skip-core", action="store_true")
    ap.add_argument("--skip-llm", action="store_true")
    ap.add_argument("--skip-trainer", action="store_true")
    ap.add_argument("--tiny", action="store_true",
                    help="toy sizes on the CPU: checks the script, measures nothing")
    args = ap.parse_args()
    if args.tiny:
        res = {"trainer": trainer_checks(tiny=True)}
        print(json.dumps(res, indent=1))
        return
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    if not args.skip_core:
        res["core"] = core_checks()
        print(json.dumps(res["core"], indent=1), flush=True)
    if not args.skip_llm:
        res["partitionsel"] = partitionsel_checks()
        print(json.dumps(res["partitionsel"], indent=1), flush=True)
    if not args.skip_trainer:
        res["trainer"] = trainer_checks()
        print(json.dumps(res["trainer"], indent=1), flush=True)
    with open(os.path.join(args.out, "gpu_check.json"), "w") as fh:
        json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
