#!/bin/bash
# Error bars for the ablation table: grm, context and blind of configs/grm_ablation.py at more seeds (parameter
# initialisation and data order: config.seed), each arm on the same seeds; seed 0 is recipes/ablations.sh's run.
# top3 reads the three most similar earlier positions instead of one (model.references=3).
#
#   recipes/seeds.sh train      # resumable: run it again to go on; one run at a time per core, nice'd
#   recipes/seeds.sh evaluate   # exports and evaluates every finished run on Kodak at 6 lambdas
# RUNS (default runs/seeds) holds the workdirs (ARM-sSEED) and models; OUT (results/seeds) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/seeds}
OUT=${OUT:-results/seeds}
KODAK=${KODAK:-../shared/data/kodak}
SEEDS=${SEEDS:-"1 2"}
LAMBDAS="0.0018 0.0035 0.0067 0.013 0.025 0.0483"
declare -A ARM=(
  [grm]=""
  [context]="--config.model.family=context"
  [blind]="--config.model.gating=blind"
  [top3]="--config.model.references=3"  # beyond the paper: the three most similar earlier positions
)

train() {  # core 0: grm, blind; core 1: context, top3; seed by seed
  for seed in $SEEDS; do
    for core_arms in "0:grm blind" "1:context top3"; do
      core=${core_arms%%:*}
      (for arm in ${core_arms#*:}; do
         nice taskset -c "$core" $PY train.py --config configs/grm_ablation.py --config.data_dir=../shared/data/train --workdir "$RUNS/$arm-s$seed" \
             --config.seed="$seed" --config.time_limit_minutes="${MINUTES:-0}" ${ARM[$arm]} \
             >> "$RUNS/$arm-s$seed.log" 2>&1
       done) &
    done
    wait
  done
}

evaluate() {
  mkdir -p "$OUT"
  for seed in $SEEDS; do
    for arm in "${!ARM[@]}"; do
      rm -rf "$RUNS/models/$arm-s$seed"  # this recipe's own export, from an earlier evaluate
      $PY -m grm_jax export "$RUNS/$arm-s$seed" "$RUNS/models/$arm-s$seed" > /dev/null
      $PY evaluate.py --force --model "$RUNS/models/$arm-s$seed" $(for l in $LAMBDAS; do echo --lambda $l; done) \
          --data "$KODAK" --name "$arm seed $seed" --out "$OUT/$arm-s$seed.json"
    done
    $PY -m grm_jax.bd "$OUT"/*-s"$seed".json --anchor "$OUT/context-s$seed.json"
  done
}

mkdir -p "$RUNS"
"$1"
