#!/bin/bash
# The variable-rate measurement of docs/training.md ("Variable rate, measured"): three fixed-rate models of
# configs/mean_scale_small.py against one variable-rate model over the same range, at equal steps per model (4000;
# three weightings of the examples' losses) and at equal total compute (the unweighted variable model trained 8000
# more steps, 12000 in all), on Kodak, real files.
#
#   recipes/variable_rate.sh train      # resumable; about 75 minutes on this 2-core machine, one run per core
#   recipes/variable_rate.sh evaluate   # exports, evaluates on Kodak, prints the tables and BD-rates
# RUNS (default runs/variable_rate) holds the workdirs and models; OUT (results/variable_rate) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/variable_rate}
OUT=${OUT:-results/variable_rate}
KODAK=${KODAK:-../shared/data/kodak}
FIXED="0.0018 0.0093 0.0483"
KNOB="0.0018 0.0029 0.0046 0.0073 0.0117 0.0187 0.03 0.0483"
CONFIG="--config configs/mean_scale_small.py --config.data_dir=../shared/data/train"
VARIABLE="$CONFIG --config.model.lambda_range=(0.0018,0.0483)"

train() {
  # two at a time, one per core
  for l in $FIXED; do
    taskset -c 0 $PY train.py $CONFIG --workdir "$RUNS/fixed-$l" --config.lambda_=$l
  done &
  # unweighted (exponent 0, the default when these were trained), then its equal-compute continuation
  taskset -c 1 $PY train.py $VARIABLE --workdir "$RUNS/variable-4k" --config.lambda_weight_exponent=0
  taskset -c 1 $PY train.py $VARIABLE --workdir "$RUNS/variable-12k" --config.num_steps=8000 \
      --config.init_from="$RUNS/variable-4k" --config.lambda_weight_exponent=0
  wait
  for w in 0.5 1; do
    taskset -c 0 $PY train.py $VARIABLE --workdir "$RUNS/variable-4k-w$w" --config.lambda_weight_exponent=$w &
  done
  wait
}

evaluate() {
  mkdir -p "$OUT"
  for run in $(for l in $FIXED; do echo fixed-$l; done) variable-4k variable-4k-w0.5 variable-4k-w1 variable-12k; do
    rm -rf "$RUNS/models/$run"  # this recipe's own export, from an earlier evaluate
    $PY -m grm_jax export "$RUNS/$run" "$RUNS/models/$run" > /dev/null
  done
  $PY evaluate.py --force $(for l in $FIXED; do echo --model "$RUNS/models/fixed-$l"; done) --data "$KODAK" \
      --name "3 fixed-rate models, 4000 steps each" --out "$OUT/fixed.json"
  for run in variable-4k variable-4k-w0.5 variable-4k-w1 variable-12k; do
    $PY evaluate.py --force --model "$RUNS/models/$run" $(for l in $KNOB; do echo --lambda $l; done) --data "$KODAK" \
        --name "$run" --out "$OUT/$run.json"
  done
  $PY benchmarks/rd_table.py "$OUT"/fixed.json "$OUT"/variable-*.json
  $PY -m grm_jax.bd "$OUT"/variable-*.json --anchor "$OUT/fixed.json"
}

"${1:?usage: recipes/variable_rate.sh train|evaluate}"
