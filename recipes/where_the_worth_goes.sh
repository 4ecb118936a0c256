#!/bin/bash
# Where the global reference's training-time worth goes: grm's trained transforms (a seed of recipes/seeds.sh)
# with context's entropy model trained on them from scratch, the transforms frozen, at the ablation's budget
# (examples/swap_entropy_model.py), then evaluated on Kodak beside grm and context of the same seed; then the
# reverse (context's transforms, grm's entropy model); then the controls, each family's entropy model retrained
# the same way on its own frozen transforms (what the swaps' extra training alone gives). Resumable.
#
#   SEED=2 recipes/where_the_worth_goes.sh train      # one core, nice'd; ~55 min a run on this machine's CPU
#   SEED=2 recipes/where_the_worth_goes.sh evaluate
#   PAIRS="context:context grm:grm" SEED=2 recipes/where_the_worth_goes.sh train   # some pairs only
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/seeds}
OUT=${OUT:-results/seeds}
KODAK=${KODAK:-../shared/data/kodak}
DATA=${DATA:-../shared/data/train}
TRAIN="$DATA/bsds500/train,$DATA/bsds500/test,$DATA/urban100_rest,$DATA/sun_hays80"  # configs/grm_small.py's
SEED=${SEED:-1}
LAMBDAS="0.0018 0.0035 0.0067 0.013 0.025 0.0483"

# FROM:FAMILY, the family's entropy model on FROM's transforms
PAIRS=${PAIRS:-"grm:context context:grm context:context grm:grm"}

train() {
  for pair in $PAIRS; do
    from=${pair%%:*} family=${pair#*:}
    run=$RUNS/swap-$family-on-$from-s$SEED
    nice taskset -c "${CORE:-0}" $PY examples/swap_entropy_model.py --from "$RUNS/models/$from-s$SEED" \
        --family "$family" --data "$TRAIN" --workdir "$run" --steps 8000 >> "$run.log" 2>&1
  done
}

evaluate() {
  for pair in $PAIRS; do
    from=${pair%%:*} family=${pair#*:}
    run=$RUNS/swap-$family-on-$from-s$SEED
    [ -f "$run/model/model.json" ] || continue
    $PY evaluate.py --force --model "$run/model" $(for l in $LAMBDAS; do echo --lambda $l; done) --data "$KODAK" \
        --name "$family on $from-s$SEED's transforms" --out "$OUT/swap-$family-on-$from-s$SEED.json"
  done
  $PY -m grm_jax.bd "$OUT"/*-s$SEED.json --anchor "$OUT/context-s$SEED.json"
}

"$1"
