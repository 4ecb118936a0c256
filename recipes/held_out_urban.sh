#!/bin/bash
# The global reference on photographs of buildings it never saw: grm and context of configs/grm_ablation.py trained
# with 17 Urban100 photographs held out of the training folders (config.held_out), then evaluated on them and on
# Kodak with real files at the ablation's 6 lambdas, and the reference's share of y on them.
#
#   recipes/held_out_urban.sh train      # resumable, one run after the other on one core, nice'd (~55 min a run)
#   ARMS=context CORE=1 recipes/held_out_urban.sh train   # one arm on another core
#   recipes/held_out_urban.sh evaluate
# SEED (default 0) is config.seed; RUNS (runs/held_out) holds the workdirs and models, OUT (results/held_out) the
# curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/held_out}
OUT=${OUT:-results/held_out}
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
SEED=${SEED:-0}
ARMS=${ARMS:-grm context}
HELD_OUT='urban100_rest/img_0[12]*.png'  # img_013 to img_029: the first 17 of the folder
LAMBDAS="0.0018 0.0035 0.0067 0.013 0.025 0.0483"
declare -A ARM=([grm]="" [context]="--config.model.family=context")

train() {
  for arm in $ARMS; do
    nice taskset -c "${CORE:-0}" $PY train.py --config configs/grm_ablation.py --config.data_dir="$DATA" \
        --config.held_out="$HELD_OUT" --config.seed="$SEED" --workdir "$RUNS/$arm-s$SEED" \
        ${ARM[$arm]?unknown arm $arm} >> "$RUNS/$arm-s$SEED.log" 2>&1
  done
}

evaluate() {
  mkdir -p "$OUT"
  for arm in grm context; do
    rm -rf "$RUNS/models/$arm-s$SEED"  # this recipe's own export, from an earlier evaluate
    $PY -m grm_jax export "$RUNS/$arm-s$SEED" "$RUNS/models/$arm-s$SEED" > /dev/null
    for set in "urban:$DATA/$HELD_OUT" "kodak:$KODAK"; do
      $PY evaluate.py --force --model "$RUNS/models/$arm-s$SEED" $(for l in $LAMBDAS; do echo --lambda $l; done) \
          --data "${set#*:}" --name "$arm seed $SEED" --out "$OUT/${set%%:*}-$arm-s$SEED.json"
    done
  done
  for set in urban kodak; do
    $PY -m grm_jax.bd "$OUT/$set-grm-s$SEED.json" --anchor "$OUT/$set-context-s$SEED.json"
  done
  $PY benchmarks/reference_share.py --model "$RUNS/models/grm-s$SEED" --lambda 0.0035 --lambda 0.013 --lambda 0.0483 \
      --data "$DATA/$HELD_OUT"
}

mkdir -p "$RUNS"
"${1:?usage: recipes/held_out_urban.sh train|evaluate}"
