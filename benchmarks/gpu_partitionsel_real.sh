#!/usr/bin/env bash
# The prepared GPU check of the real-run work (run on a machine with one CUDA device, from the
# repository root, after `make venv`): SmolLM2-135M with LoRA, pool 256 -> 32 — features,
# selection and update times and the selecting-step / random-step ratio — then the noisy
# scenario, 5 seeds x 300 steps, partitionsel random stratified greats. Results under $OUT.
set -euo pipefail
OUT=${OUT:-gpu_out}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
"$PY" benchmarks/features.py --model smollm2-135m --device cuda --pool 256 --batch 32 \
    --repeats 5 --sketch-dim 1024 --skip-reference --json | tail -n 1 > "$OUT/features_smollm2_cuda.json"
"$PY" -m llm_minibatch experiment --model smollm2-135m --device cuda --scenario noisy \
    --arms partitionsel random stratified greats --seeds 5 --steps 300 --pool-size 256 \
    --batch-size 32 --lr 1e-4 --sketch-dim 1024 --eval-every 50 --conflicts-every 25 \
    --no-progress --out "$OUT/experiment_noisy_smollm2"
