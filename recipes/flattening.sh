#!/bin/bash
# Why the shipped models' curve flattens at the top (results/flattening/): controlled fine-tunes of the shipped
# context-small (grm-small's transforms and hyperprior, the local context without the reference: the same
# question, cheaper steps), each changing one thing against the `wide` arm, same steps, data, batch and learning
# rate unless the thing changed is one of them. From-scratch runs at a CPU budget stay below 25 dB on Kodak, far
# from where the curve flattens (31-32 dB), so they cannot answer it; fine-tunes of the trained model can.
#
#   wide      variable rate over CompressAI's qualities 1 to 8 (lambda 0.0018-0.18, 8 gain anchors), the shipped
#             model's 6 anchors over 0.0018-0.0483 moved there by init_from; 4000 steps of 8 128x128 crops
#   wide-8k   the same, resumed to 8000 steps (more steps)
#   top       only the top of the range (0.0483-0.18, 2 anchors): all of the steps where wide spends about 29%
#             (2 of its 7 anchor intervals; what sharing the gains over the whole range costs the top)
#   fixed     a fixed-rate model at the top lambda (0.18) alone: every step there, no gains (models/gain_folding.py
#             folds context-small's, extrapolated to 0.18, into its layers)
#   crops256  wide on 256x256 crops, batch 2 (the same pixels a step)
#   png       wide on the PNG photographs only (urban100_rest; the rest of the training set is JPEG)
#   t128      wide with g_a and g_s grown to 128 channels (models/widening.py: it starts as the narrow model codes)
#   t128-8k   the same, resumed to 8000 steps (against wide-8k)
#
#   recipes/flattening.sh train                  # resumable; the arms one after the other on CORE (default 0)
#   ARMS="crops256 png" CORE=1 recipes/flattening.sh train
#   recipes/flattening.sh evaluate               # exports, Kodak with real files at qualities 1-8, the table
#   ARMS=t128 recipes/flattening.sh evaluate     # one arm again; the table and BD-rates of all
# RUNS (runs/flattening) holds the workdirs and models, OUT (results/flattening) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/flattening}
OUT=${OUT:-results/flattening}
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
QUALITIES=$($PY -c "from grm_jax.rd_lambda import QUALITY_LAMBDAS as q; print(*q)")  # CompressAI's, qualities 1 to 8
declare -A ARM=(  # each arm's change to configs/context_small_wide.py, 4000 steps; an arm X-8k resumes X to 8000
  [wide]=""
  [top]="--config.model.lambda_range=(0.0483,0.18) --config.model.gain_anchors=2"
  [fixed]="--config.model.lambda_range=() --config.lambda_=0.18"
  [crops256]="--config.patch_size=256 --config.batch_size=2"
  [png]="--config.train_data=folder:urban100_rest"
  [t128]="--config.model.transform_channels=128"
)
declare -A LAMBDAS=([top]="0.0483 0.0932 0.18" [fixed]="0.18")
ORDER="wide wide-8k top fixed crops256 png t128 t128-8k"

train() {
  for arm in ${ARMS:-$ORDER}; do
    base=${arm%-8k} steps=4000
    if [ "$arm" != "$base" ]; then
      steps=8000
      if [ ! -d "$RUNS/$arm" ]; then
        $PY -c "import json, sys; sys.exit(json.load(open('$RUNS/$base/provenance.json'))['steps'] != 4000)" \
            2>/dev/null || { echo "$arm resumes $base at step 4000: train $base first" >&2; exit 1; }
        rm -rf "$RUNS/$arm.copy" && cp -r "$RUNS/$base" "$RUNS/$arm.copy" && mv "$RUNS/$arm.copy" "$RUNS/$arm"
      fi
    fi
    nice taskset -c "${CORE:-0}" $PY train.py --config configs/context_small_wide.py --config.data_dir="$DATA" \
        --config.schedule=constant --config.num_steps=$steps --workdir "$RUNS/$arm" ${ARM[$base]?unknown arm $arm} \
        >> "$RUNS/$arm.log" 2>&1
  done
}

evaluate() {
  mkdir -p "$OUT" "$RUNS/models"
  for arm in ${ARMS:-$ORDER}; do
    [ -d "$RUNS/$arm/checkpoints" ] || continue
    rm -rf "$RUNS/models/$arm"  # this recipe's own export, from an earlier evaluate
    $PY -m grm_jax export "$RUNS/$arm" "$RUNS/models/$arm" > /dev/null
    lambdas=$(for l in ${LAMBDAS[$arm]:-$QUALITIES}; do echo --lambda $l; done)
    $PY evaluate.py --force --model "$RUNS/models/$arm" $lambdas --data "$KODAK" \
        --name "context-small fine-tuned: $arm" --out "$OUT/$arm.json"
  done
  $PY benchmarks/rd_table.py results/kodak/context_small.json "$OUT"/*.json
  $PY -m grm_jax.bd results/kodak/context_small.json "$OUT"/*.json --anchor results/kodak/grm_small.avif.json
}

mkdir -p "$RUNS"
"${1:?usage: recipes/flattening.sh train|evaluate}"
