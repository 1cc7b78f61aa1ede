"""PartitionSel selection benchmark (model-free and on a tiny model).

1. Selection time for N = 256, b = 32, p = 1024 for every method (median over pools).
2. Feature time per pool on a tiny config-built Llama with LoRA (vmap per-example gradients
   of the last 3 blocks' adapters, sketched to p), one training step on b examples, and the
   ratio selection time / step time.
3. On synthetic multi-domain pools whose domains conflict: for every method, F(S) (one shared
   refit), conflicting pairs and per-domain counts, as means over pools and seeds.

Writes ``results/selection.json`` and ``results/selection.md`` (relative to this file's
folder, or ``--out``). ``--quick`` runs a smaller version.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

from llm_minibatch import METHODS, gradient_features, select_from_features, synthetic_pool

HERE = os.path.dirname(os.path.abspath(__file__))


def selection_times(n, b, p, pools, lr):
    out = {}
    for m in METHODS:
        ts = []
        for s in range(pools):
            pool = synthetic_pool(n, p, 4, seed=s)
            G = torch.from_numpy(pool.features).float()
            A = torch.from_numpy(pool.anchors).float()
            select_from_features(G, pool.domains, A, b, m, lr=lr, seed=s)  # warm
            t0 = time.perf_counter()
            select_from_features(G, pool.domains, A, b, m, lr=lr, seed=s)
            ts.append(time.perf_counter() - t0)
        out[m] = {"median_ms": 1e3 * statistics.median(ts), "min_ms": 1e3 * min(ts)}
    return out


def tiny_model_times(n, b, p, seq_len, reps):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=260, hidden_size=128, intermediate_size=256,
                      num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=seq_len)
    model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(
        r=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    ids = torch.randint(0, 260, (n, seq_len))
    domains = np.arange(n) % 4
    feat_t, sel_t, step_t = [], [], []
    for r in range(reps):
        t0 = time.perf_counter()
        G = gradient_features(model, ids, ids, sketch_dim=p, seed=r, chunk_size=16)
        A = gradient_features(model, ids[:4], ids[:4], sketch_dim=p, seed=r)
        t1 = time.perf_counter()
        sel = select_from_features(G, domains, A, b, "partitionsel", lr=1e-3, seed=r)
        t2 = time.perf_counter()
        batch = ids[sel.indices]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        feat_t.append(t1 - t0)
        sel_t.append(t2 - t1)
        step_t.append(t3 - t2)
    med = statistics.median
    return {"params": sum(q.numel() for q in model.parameters()), "seq_len": seq_len,
            "feature_s": med(feat_t), "selection_s": med(sel_t), "train_step_s": med(step_t),
            "selection_over_step": med(sel_t) / med(step_t),
            "features_over_step": med(feat_t) / med(step_t)}


def quality(n, b, p, pools, seeds, lr, conflict):
    rows = {m: {"F": [], "conflicts": [], "counts": []} for m in METHODS}
    for ps in range(pools):
        pool = synthetic_pool(n, p, 4, conflict=conflict, seed=100 + ps)
        for s in range(seeds):
            for m in METHODS:
                if m == "full" and s > 0:
                    continue
                sel = select_from_features(pool.features, pool.domains, pool.anchors, b, m,
                                           lr=lr, seed=s)
                rows[m]["F"].append(sel.utility_value)
                rows[m]["conflicts"].append(sel.conflicting_pairs)
                rows[m]["counts"].append(sel.domain_counts)
    out = {}
    for m, r in rows.items():
        doms = sorted({d for c in r["counts"] for d in c})
        out[m] = {"F_mean": float(np.mean(r["F"])), "F_std": float(np.std(r["F"])),
                  "conflicting_pairs_mean": float(np.mean(r["conflicts"])),
                  "domain_counts_mean": {d: float(np.mean([c.get(d, 0) for c in r["counts"]]))
                                         for d in doms}}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    q = args.quick
    res = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                       "threads": torch.get_num_threads(), "cpu": platform.processor()}}
    res["selection_time"] = selection_times(256, 32, 1024, 3 if q else 20, 1e-3)
    res["tiny_model"] = tiny_model_times(64 if q else 256, 8 if q else 32, 1024, 32,
                                         1 if q else 5)
    res["quality"] = quality(128 if q else 256, 16 if q else 32, 64, 2 if q else 10,
                             2 if q else 8, 1e-3, 0.7)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "selection.json"), "w") as fh:
        json.dump(res, fh, indent=2)
    lines = ["# PartitionSel selection benchmark", "",
             f"torch {res['machine']['torch']}, {res['machine']['threads']} threads, CPU.", "",
             "## Selection time, N = 256, b = 32, p = 1024 (float32)", "",
             "| method | median ms | min ms |", "|---|---|---|"]
    for m, r in res["selection_time"].items():
        lines.append(f"| {m} | {r['median_ms']:.1f} | {r['min_ms']:.1f} |")
    t = res["tiny_model"]
    lines += ["", "## Tiny model (Llama, LoRA r=8, 4 blocks), one pool per step", "",
              f"params {t['params']}, sequence length {t['seq_len']}: features "
              f"{t['feature_s']:.3f} s, selection {t['selection_s']:.3f} s, training step "
              f"{t['train_step_s']:.3f} s; selection / step = {t['selection_over_step']:.2f}, "
              f"features / step = {t['features_over_step']:.2f}", "",
              "## Synthetic conflicting pools: every method (means over pools and seeds)", "",
              "| method | F(S) | std | conflicting pairs | per-domain counts |",
              "|---|---|---|---|---|"]
    for m, r in res["quality"].items():
        counts = ", ".join(f"{d}: {c:.1f}" for d, c in r["domain_counts_mean"].items())
        lines.append(f"| {m} | {r['F_mean']:.4f} | {r['F_std']:.4f} | "
                     f"{r['conflicting_pairs_mean']:.1f} | {counts} |")
    with open(os.path.join(args.out, "selection.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
