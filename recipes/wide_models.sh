#!/bin/bash
# The shipped models over CompressAI's qualities 1 to 8 (grm-small-wide, context-small-wide): the shipped
# grm-small and context-small fine-tuned to variable rate over lambda 0.0018-0.18 (8 gain anchors; init_from moves
# the 6 anchors of 0.0018-0.0483 there), 8000 steps of 8 128x128 crops, Adam 1e-4 constant after 200 warm-up steps,
# every parameter at the one rate. The context run is the `wide-8k` arm of recipes/flattening.sh, the same command:
# where that run is there, it is copied, not run again.
#
#   recipes/wide_models.sh train        # resumable; FAMILIES (default "grm context") one after the other on CORE
#   recipes/wide_models.sh export       # portable float16 model directories in MODELS
#   recipes/wide_models.sh evaluate     # Kodak with real files at qualities 1-8, BD-rates against the codecs
# RUNS (runs/wide) holds the workdirs; MODELS (runs/wide/models) the exports; OUT (results/kodak) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/wide}
MODELS=${MODELS:-$RUNS/models}
OUT=${OUT:-results/kodak}
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
FAMILIES=${FAMILIES:-grm context}
QUALITIES="0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932 0.18"  # CompressAI's lambdas, qualities 1 to 8
FLATTENING_RUN=runs/flattening/wide-8k

steps_of() {
  $PY -c "import json, sys; print(json.load(open(sys.argv[1] + '/provenance.json'))['steps'])" "$1" 2>/dev/null ||
      echo 0
}

train() {
  for family in $FAMILIES; do
    if [ "$family" = context ] && [ ! -d "$RUNS/context" ] && [ "$(steps_of $FLATTENING_RUN)" = 8000 ]; then
      rm -rf "$RUNS/context.copy" && cp -r "$FLATTENING_RUN" "$RUNS/context.copy" &&
          mv "$RUNS/context.copy" "$RUNS/context"
      continue
    fi
    nice taskset -c "${CORE:-0}" $PY train.py --config "configs/${family}_small.py" --config.data_dir="$DATA" \
        --config.init_from="grm_jax/pretrained/$family-small" --config.num_steps=8000 --config.learning_rate=1e-4 \
        --config.schedule=constant --config.warmup_steps=200 --config.transform_lr_scale=1.0 \
        --config.eval_every=0 --config.val_data= --config.loader_workers=1 \
        --config.model.lambda_range='(0.0018,0.18)' --config.model.gain_anchors=8 \
        --workdir "$RUNS/$family" >> "$RUNS/$family.log" 2>&1
  done
}

export_models() {
  mkdir -p "$MODELS"
  for family in $FAMILIES; do
    rm -rf "$MODELS/$family-small-wide"  # this recipe's own export, from an earlier run
    $PY -m grm_jax export "$RUNS/$family" "$MODELS/$family-small-wide" --portable --dtype float16 \
        --calibration-data "$DATA" > /dev/null
  done
}

evaluate() {
  for family in $FAMILIES; do
    lambdas=$(for l in $QUALITIES; do echo --lambda $l; done)
    $PY evaluate.py --force --model "$MODELS/$family-small-wide" $lambdas --data "$KODAK" \
        --name "$family-small-wide" --out "$OUT/${family}_small_wide.json"
  done
  $PY benchmarks/rd_table.py results/kodak/grm_small.json "$OUT"/*_small_wide.json
  # Pillow's curves are deterministic: those of the shipped models' evaluation (make kodak) serve here.
  for anchor in results/kodak/grm_small.{jpeg,webp,avif}.json ../shared/data/reference_rd/kodak/vtm.json; do
    $PY -m grm_jax.bd results/kodak/grm_small.json "$OUT"/*_small_wide.json --anchor "$anchor"
  done
}

mkdir -p "$RUNS"
case "${1:?usage: recipes/wide_models.sh train|export|evaluate}" in
  train) train ;;
  export) export_models ;;
  evaluate) evaluate ;;
  *) echo "usage: recipes/wide_models.sh train|export|evaluate" >&2; exit 2 ;;
esac
