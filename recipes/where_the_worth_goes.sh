#!/bin/bash
# Where the global reference's training-time worth goes: grm's trained transforms (seed 1 of recipes/seeds.sh)
# with context's entropy model trained on them from scratch, the transforms frozen, at the ablation's budget
# (examples/swap_entropy_model.py), then evaluated on Kodak beside grm-s1 and context-s1. Resumable.
#
#   recipes/where_the_worth_goes.sh train      # one core, nice'd; ~55 min on this machine's CPU
#   recipes/where_the_worth_goes.sh evaluate
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/seeds}
OUT=${OUT:-results/seeds}
KODAK=${KODAK:-../shared/data/kodak}
DATA=${DATA:-../shared/data/train}
TRAIN="$DATA/bsds500/train,$DATA/bsds500/test,$DATA/urban100_rest,$DATA/sun_hays80"  # configs/grm_small.py's
LAMBDAS="0.0018 0.0035 0.0067 0.013 0.025 0.0483"

train() {  # context's entropy model on grm-s1's transforms; then grm's on context-s1's
  for pair in "grm:context" "context:grm"; do
    from=${pair%%:*} family=${pair#*:}
    nice taskset -c "${CORE:-0}" $PY examples/swap_entropy_model.py --from "$RUNS/models/$from-s1" --family "$family" \
        --data "$TRAIN" --workdir "$RUNS/swap-$family-on-$from-s1" --steps 8000 >> "$RUNS/swap-$family-on-$from-s1.log" 2>&1
  done
}

evaluate() {
  for pair in "grm:context" "context:grm"; do
    from=${pair%%:*} family=${pair#*:}
    [ -f "$RUNS/swap-$family-on-$from-s1/model/model.json" ] || continue
    $PY evaluate.py --force --model "$RUNS/swap-$family-on-$from-s1/model" $(for l in $LAMBDAS; do echo --lambda $l; done) \
        --data "$KODAK" --name "$family on $from-s1's transforms" --out "$OUT/swap-$family-on-$from-s1.json"
  done
  $PY -m grm_jax.bd "$OUT"/*-s1.json --anchor "$OUT/context-s1.json"
}

"$1"
