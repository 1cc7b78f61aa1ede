"""Feature engine benchmark: how close PartitionSel's per-example gradients are to the floor.

For one model and one pool of real encoded examples (the embedded corpus; the chat template
for instruct models), median wall time over ``--repeats`` runs of:

``floor``
    One batched forward + backward of the pool's mean loss (the model's own loss,
    ``model(..., labels=...).loss``) with only the feature parameters trainable, gradients
    w.r.t. them by ``torch.autograd.grad``: what one training-style pass over the pool costs.
``capture``
    ``gradient_features`` of the pool with the capture engine (the default), unsketched.
``capture_full_logits``
    The same with the logits-at-targets shortcut switched off (full vocabulary projection at
    every position, as the floor computes it).
``reference``
    The ``torch.func`` engine (what the features cost before the capture engine).
``select_step`` / ``random_step``
    One PartitionSel step — features of pool and anchors in one pass, sketched to
    ``--sketch-dim``, selection, then one AdamW step on the ``b`` selected rows — against one
    step of ``method="random"`` (the same AdamW step on ``b`` random rows).

Ratios: ``capture / floor`` (target ≤ 1.25) and ``select_step / random_step`` (target ≤ 4.5 on a
deep model at ratio 1/8). Each configuration runs in its own process with ``--threads``
intra-op threads; ``--busy`` starts one process spinning on a core beside it (users' machines
are never idle). ``--all`` runs the matrix {threads 1, default} × {quiet, busy} for the model
and writes ``results/features_<model>.json`` and ``.md``.

Usage::

    python benchmarks/features.py --all --model tiny
    python benchmarks/features.py --all --model smollm2-135m --pool 64 --batch 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def _build(model_name: str, lora_r: int, seed: int):
    from llm_minibatch.models import add_lora, load_model, load_tokenizer, tiny_llama
    from llm_minibatch.tokenization import ByteTokenizer

    if model_name == "tiny":  # the demo's model: Llama shape, hidden 64, 4 blocks, byte vocab
        tok = ByteTokenizer()
        base = tiny_llama(vocab_size=tok.vocab_size, hidden_size=64, layers=4, heads=4,
                          kv_heads=2, max_position_embeddings=128, seed=seed)
    else:
        tok = load_tokenizer(model_name)
        base = load_model(model_name, dtype=torch.float32)
    model = add_lora(base, r=lora_r, alpha=2 * lora_r,
                     target_modules=("q_proj", "k_proj", "v_proj", "o_proj"), seed=seed)
    with torch.no_grad():  # a trained adapter: B != 0, so the A gradients are not all zero
        g = torch.Generator().manual_seed(seed + 1)
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 1e-2)
    return model, tok


def _pool(tok, n: int, max_length: int, seed: int):
    import numpy as np

    from llm_minibatch.corpus import load_corpus
    from llm_minibatch.loop import trim_padding
    from llm_minibatch.tokenization import encode_examples

    rows = load_corpus()
    pick = np.random.default_rng(seed).choice(len(rows), size=n, replace=False)
    chosen = [rows[i] for i in pick]
    batch = trim_padding(encode_examples(chosen, tok, max_length=max_length))
    return batch, [r["domain"] for r in chosen]


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _median_time(fn, repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up: allocator, kernels, caches
    ts = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        fn()
        _sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def measure(args) -> dict:
    from llm_minibatch import AnchorSampler, PartitionSel, gradient_features, select_parameters
    from llm_minibatch.features import head as head_module

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, tok = _build(args.model, args.lora_r, args.seed)
    model.to(device).eval()
    pool, domains = _pool(tok, args.pool, args.max_length, args.seed)
    pool = {k: v.to(device) for k, v in pool.items()}
    anchors_batch, _ = _pool(tok, 64, args.max_length, args.seed + 7)
    ids, labels, mask = pool["input_ids"], pool["labels"], pool["attention_mask"]
    selected = select_parameters(model, "lora")
    trainable = [p for p in model.parameters() if p.requires_grad]

    @contextlib.contextmanager
    def only_selected():
        flags = [(p, p.requires_grad) for p in model.parameters()]
        chosen = {id(p) for p in selected.values()}
        for p, _ in flags:
            p.requires_grad_(id(p) in chosen)
        try:
            yield
        finally:
            for p, f in flags:
                p.requires_grad_(f)

    def floor():
        with only_selected():
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            torch.autograd.grad(loss, list(selected.values()))

    def capture():
        gradient_features(model, ids, labels, attention_mask=mask, engine="capture")

    def capture_full_logits():
        saved = head_module.PLAIN_HEAD_MODEL_TYPES
        head_module.PLAIN_HEAD_MODEL_TYPES = frozenset()
        try:
            capture()
        finally:
            head_module.PLAIN_HEAD_MODEL_TYPES = saved

    def reference():
        gradient_features(model, ids, labels, attention_mask=mask, engine="reference")

    opt = torch.optim.AdamW(trainable, lr=1e-4)
    anchors = AnchorSampler(anchors_batch, n_anchors=4, seed=args.seed)
    selectors = {m: PartitionSel(model, optimizer=opt, method=m, anchors=anchors,
                                 sketch_dim=args.sketch_dim, seed=args.seed,
                                 minibatch_size=args.batch)
                 for m in ("partitionsel", "random")}
    split: dict[str, list[float]] = {"select": [], "update": []}

    def step(method):
        def run():
            model.train()
            t0 = time.perf_counter()
            batch = selectors[method].select_batch(pool, domains)
            _sync()
            t1 = time.perf_counter()
            model(**batch).loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            _sync()
            split["select"].append(t1 - t0)
            split["update"].append(time.perf_counter() - t1)
        return run

    res = {"model": args.model, "pool": args.pool, "b": args.batch,
           "tokens": int(mask.sum()), "seq_len": int(ids.shape[1]),
           "target_tokens": int((labels[:, 1:] != -100).sum()),
           "feature_params": int(sum(p.numel() for p in selected.values())),
           "model_params": int(sum(p.numel() for p in model.parameters())),
           "threads": torch.get_num_threads(), "busy": bool(args.busy_flag),
           "device": str(device),
           "repeats": args.repeats}
    parts = [("floor", floor), ("capture", capture), ("capture_full_logits",
                                                      capture_full_logits)]
    if not args.skip_reference:
        parts.append(("reference", reference))
    for name, fn in parts:
        res[name], res[name + "_all"] = _median_time(fn, args.repeats)
    for method, key in (("partitionsel", "select_step"), ("random", "random_step")):
        split["select"].clear()
        split["update"].clear()
        res[key], res[key + "_all"] = _median_time(step(method), args.repeats)
        res[key + "_select"] = statistics.median(split["select"][1:])
        res[key + "_update"] = statistics.median(split["update"][1:])
    res["capture_over_floor"] = res["capture"] / res["floor"]
    res["capture_full_logits_over_floor"] = res["capture_full_logits"] / res["floor"]
    if "reference" in res:
        res["reference_over_floor"] = res["reference"] / res["floor"]
    res["select_over_random_step"] = res["select_step"] / res["random_step"]
    return res


def run_matrix(args) -> list[dict]:
    out = []
    default_threads = os.cpu_count() or 1
    for threads in (1, default_threads):
        for busy in (False, True):
            cmd = [sys.executable, os.path.abspath(__file__), "--model", args.model,
                   "--pool", str(args.pool), "--batch", str(args.batch),
                   "--repeats", str(args.repeats), "--threads", str(threads),
                   "--max-length", str(args.max_length), "--sketch-dim", str(args.sketch_dim),
                   "--seed", str(args.seed), "--json"]
            if args.skip_reference or (busy or threads != 1) and args.reference_once:
                cmd.append("--skip-reference")
            if busy:
                cmd.append("--busy-flag")
            spinner = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                       if busy else None)
            try:
                text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
            row = json.loads(text.strip().splitlines()[-1])
            print(_line(row), flush=True)
            out.append(row)
    return out


def _line(r: dict) -> str:
    ref = f"{r['reference_over_floor']:.2f}" if "reference_over_floor" in r else "—"
    return (f"| {r['threads']} | {'busy' if r['busy'] else 'quiet'} | {r['floor']:.3f} | "
            f"{r['capture']:.3f} | **{r['capture_over_floor']:.2f}** | "
            f"{r['capture_full_logits_over_floor']:.2f} | {ref} | "
            f"{r['random_step']:.3f} | {r['select_step']:.3f} "
            f"({r['select_step_select']:.3f} + {r['select_step_update']:.3f}) | "
            f"**{r['select_over_random_step']:.2f}** |")


HEADER = ("| threads | machine | floor s | capture s | capture ÷ floor | full-logits ÷ floor | "
          "reference ÷ floor | random step s | selecting step s (select + update) | "
          "selecting ÷ random step |\n|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny", help="'tiny' (the demo's model) or a name/path "
                    "for load_model, e.g. smollm2-135m")
    ap.add_argument("--pool", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="0: torch's default")
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--sketch-dim", type=int, default=512)
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (one configuration, no --all)")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--reference-once", action="store_true",
                    help="with --all: time the reference engine only single-threaded, quiet")
    ap.add_argument("--busy-flag", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--all", action="store_true", help="threads {1, all} x {quiet, busy}")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    if not args.all:
        res = measure(args)
        print(json.dumps(res) if args.json else HEADER + "\n" + _line(res))
        return 0
    print(HEADER)
    rows = run_matrix(args)
    tag = args.model.replace("/", "_")
    os.makedirs(args.out, exist_ok=True)
    meta = {"machine": platform.platform(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "rows": rows}
    with open(os.path.join(args.out, f"features_{tag}.json"), "w") as f:
        json.dump(meta, f, indent=1)
    r0 = rows[0]
    with open(os.path.join(args.out, f"features_{tag}.md"), "w") as f:
        f.write(f"# Feature engine, {args.model}: pool {r0['pool']} → b = {r0['b']}, "
                f"{r0['tokens']} tokens ({r0['target_tokens']} targets), "
                f"{r0['feature_params']:,} feature parameters of {r0['model_params']:,}\n\n")
        f.write(f"Median of {args.repeats} runs after one warm-up; {os.cpu_count()} CPUs, "
                f"torch {torch.__version__}. `busy`: one other process spinning on a core.\n\n")
        f.write(HEADER + "\n" + "\n".join(_line(r) for r in rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
