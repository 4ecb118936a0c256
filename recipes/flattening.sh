#!/bin/bash
# Why the shipped models' curve flattens at the top (results/flattening/): small controlled runs of
# configs/mean_scale_small.py (the shipped models' transforms and hyperprior, no context model, so a run and its
# Kodak files take minutes), each changing one thing against the base, same steps and data unless the thing
# changed is the steps or the data. A condition is a pair of fixed-rate models at CompressAI's qualities 6 and 8
# (lambda 0.0483 and 0.18): how much PSNR the top doubling of lambda buys is the slope the shipped curve lacks.
#
#   recipes/flattening.sh train                    # resumable; every arm, one after the other, on CORE (default 0)
#   ARMS="m192-0.18 m192-0.0483" CORE=1 recipes/flattening.sh train   # some arms on the other core
#   recipes/flattening.sh evaluate                 # exports, Kodak with real files, the table
# RUNS (runs/flattening) holds the workdirs and models, OUT (results/flattening) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/flattening}
OUT=${OUT:-results/flattening}
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
QUALITIES="0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932 0.18"  # CompressAI's lambdas, qualities 1 to 8
declare -A ARM=(
  [base-0.0483]="--config.lambda_=0.0483"
  [base-0.18]="--config.lambda_=0.18"
  [variable]="--config.model.lambda_range=(0.0018,0.18) --config.model.gain_anchors=8"  # the gains, over 1-8
  [m192-0.0483]="--config.lambda_=0.0483 --config.model.latent_channels=192"           # more latent channels
  [m192-0.18]="--config.lambda_=0.18 --config.model.latent_channels=192"
  [png-0.0483]="--config.lambda_=0.0483 --config.train_data=folder:urban100_rest"    # the PNG photographs only
  [png-0.18]="--config.lambda_=0.18 --config.train_data=folder:urban100_rest"
  [patch128-0.0483]="--config.lambda_=0.0483 --config.patch_size=128"                 # larger crops (3x a step)
  [patch128-0.18]="--config.lambda_=0.18 --config.patch_size=128"
  [steps16k-0.0483]="--config.lambda_=0.0483 --config.num_steps=16000"               # 4x the steps
  [steps16k-0.18]="--config.lambda_=0.18 --config.num_steps=16000"
)
ORDER="base-0.0483 base-0.18 variable m192-0.0483 m192-0.18 png-0.0483 png-0.18 patch128-0.0483 patch128-0.18
       steps16k-0.0483 steps16k-0.18"  # the cheapest answers first
CONDITIONS="base m192 png patch128 steps16k"

train() {
  for arm in ${ARMS:-$ORDER}; do
    nice taskset -c "${CORE:-0}" $PY train.py --config configs/mean_scale_small.py --config.data_dir="$DATA" \
        --workdir "$RUNS/$arm" ${ARM[$arm]:?unknown arm $arm} >> "$RUNS/$arm.log" 2>&1
  done
}

evaluate() {
  mkdir -p "$OUT" "$RUNS/models"
  for arm in $ORDER; do
    [ -d "$RUNS/$arm/checkpoints" ] || continue
    rm -rf "$RUNS/models/$arm"  # this recipe's own export, from an earlier evaluate
    $PY -m grm_jax export "$RUNS/$arm" "$RUNS/models/$arm" > /dev/null
  done
  for condition in $CONDITIONS; do
    [ -d "$RUNS/models/$condition-0.18" ] && [ -d "$RUNS/models/$condition-0.0483" ] || continue
    $PY evaluate.py --force --model "$RUNS/models/$condition-0.0483" --model "$RUNS/models/$condition-0.18" \
        --data "$KODAK" --name "$condition" --out "$OUT/$condition.json"
  done
  if [ -d "$RUNS/models/variable" ]; then
    $PY evaluate.py --force --model "$RUNS/models/variable" $(for l in $QUALITIES; do echo --lambda $l; done) \
        --data "$KODAK" --name "variable, qualities 1 to 8" --out "$OUT/variable.json"
  fi
  $PY benchmarks/rd_table.py "$OUT"/*.json
}

mkdir -p "$RUNS"
"${1:?usage: recipes/flattening.sh train|evaluate}"
