#!/bin/bash
# Error bars for the ablation table: grm, context and blind of configs/grm_ablation.py at more seeds (parameter
# initialisation and data order: config.seed), each arm on the same seeds; seed 0 is recipes/ablations.sh's run.
# top3 reads the three most similar earlier positions instead of one (model.references=3). The parallel arms decode
# in two checkerboard passes: grm_checkerboard (the reference searched among the anchors) and checkerboard, its
# context baseline (He 2021).
#
#   recipes/seeds.sh train      # resumable: run it again to go on; one run at a time per core, nice'd
#   recipes/seeds.sh evaluate   # exports and evaluates every finished run on Kodak at 6 lambdas
#   CORES="0:grm_checkerboard 1:checkerboard" SEEDS="0 1 2" recipes/seeds.sh train   # the parallel arms
# RUNS (default runs/seeds) holds the workdirs (ARM-sSEED) and models; OUT (results/seeds) the curves. CORES says
# which arms run on which core, one after the other (default "0:grm,blind 1:context,top3").
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
  [grm_checkerboard]="--config.model.family=grm_checkerboard"  # issue 40's parallel arms
  [checkerboard]="--config.model.family=checkerboard"
)
CORES=${CORES:-"0:grm,blind 1:context,top3"}

train() {  # seed by seed, the arms of CORES on their cores
  for seed in $SEEDS; do
    for core_arms in $CORES; do
      core=${core_arms%%:*}
      arms=${core_arms#*:}
      (for arm in ${arms//,/ }; do
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
      [ -d "$RUNS/$arm-s$seed/checkpoints" ] || continue  # an arm not trained at this seed
      rm -rf "$RUNS/models/$arm-s$seed"  # this recipe's own export, from an earlier evaluate
      $PY -m grm_jax export "$RUNS/$arm-s$seed" "$RUNS/models/$arm-s$seed" > /dev/null
      $PY evaluate.py --force --model "$RUNS/models/$arm-s$seed" $(for l in $LAMBDAS; do echo --lambda $l; done) \
          --data "$KODAK" --name "$arm seed $seed" --out "$OUT/$arm-s$seed.json"
    done
    anchor="$OUT/context-s$seed.json"
    [ "$seed" != 0 ] || anchor=results/ablation/context.json  # seed 0's context: recipes/ablations.sh's run
    $PY -m grm_jax.bd "$OUT"/*-s"$seed".json --anchor "$anchor"
  done
}

mkdir -p "$RUNS"
"$1"
