#!/bin/bash
# The shipped model families over CompressAI's qualities 1 to 8, from their configs (configs/FAMILY_SIZE.py):
#   SIZE=small_wide  grm-small-wide, context-small-wide: the shipped small models fine-tuned to lambda 0.0018-0.18,
#                    9000 steps, the last 1000 at a tenth of the rate (about an hour a family on one core of
#                    this machine)
#   SIZE=small_t128  grm-small-t128, context-small-t128: the wide models with g_a and g_s grown to 128 channels,
#                    fine-tuned (about 1 step/s a family on one core)
#   SIZE=small_m192  grm-small-m192, context-small-m192: the wide models with y grown to 192 channels (and the
#                    parameter networks with it), fine-tuned (1.2 and 1.4 steps/s side by side, one core each)
#   SIZE=small_msssim  grm-small-msssim, context-small-msssim: the wide models fine-tuned for MS-SSIM over
#                    CompressAI's MS-SSIM qualities 1 to 8 (lambda 2.40-220), 1000 steps of 192x192 crops
#   FAMILIES="grm_checkerboard checkerboard" SIZE=small_wide  grm-checkerboard-small-wide, checkerboard-small-wide:
#                    the wide models decoded in two checkerboard passes, their entropy models (with the hyperprior
#                    and the gains) fine-tuned on the frozen transforms, 2000 steps; where a second stage's config
#                    is there (configs/FAMILY_SIZE_joint.py: grm_checkerboard's, the transforms fine-tuned too),
#                    it runs from the first's export (MODELS/NAME-frozen), and is the model exported
#   SIZE=medium      grm-medium, context-medium: twice the width, from random parameters, 40000 steps (about 15
#                    hours a family on one core: trained in the background, resumed session after session from
#                    the checkpoints every 500 steps)
#
#   SIZE=medium FAMILIES=grm CORE=0 recipes/shipped_models.sh train   # resumable; never one workdir twice
#   SIZE=medium recipes/shipped_models.sh export      # portable float16 model directories in MODELS
#   SIZE=medium recipes/shipped_models.sh evaluate    # Kodak with real files at qualities 1-8, BD-rates
# FAMILIES (default "grm context") run one after the other on CORE (default 0). RUNS (runs/SIZE) holds the
# workdirs and logs, MODELS (RUNS/models) the exports, OUT (results/kodak) the curves, FAMILY_SIZE.json.
# (The shipped wide models were trained in two runs: 8000 steps at the constant rate, by this recipe's former form
# in runs/wide, context-small-wide as the wide-8k arm of recipes/flattening.sh; then the 1000-step tail at 1e-5
# from that run's export, `--config.learning_rate=1e-5 --config.warmup_steps=0 --config.num_steps=1000` with the
# config's schedule then constant. Their model.json records both; grm_jax/pretrained/README.md says how.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SIZES="small_wide, small_t128, small_m192, small_msssim or medium"
SIZE=${SIZE:?SIZE=$SIZES}
case $SIZE in
  small_wide | small_t128 | small_m192 | small_msssim | medium) ;;
  *) echo "SIZE is $SIZES" >&2; exit 2 ;;
esac
SUFFIX=${SIZE//_/-}  # the models' names: FAMILY-SUFFIX
RUNS=${RUNS:-runs/$SIZE}
MODELS=${MODELS:-$RUNS/models}
OUT=${OUT:-results/kodak}
DATA=${DATA:-../shared/data/train}
KODAK=${KODAK:-../shared/data/kodak}
FAMILIES=${FAMILIES:-grm context}
METRIC=$([ "$SIZE" = small_msssim ] && echo ms-ssim || echo mse)
QUALITIES=$($PY -c "from grm_jax.rd_lambda import quality_lambdas; print(*quality_lambdas('$METRIC'))")  # CompressAI's, 1 to 8

train() {
  mkdir -p "$RUNS"
  for family in $FAMILIES; do
    run_stage "$family" "configs/${family}_$SIZE.py"
    if [ -f "configs/${family}_${SIZE}_joint.py" ]; then  # stage 2, from stage 1's export
      frozen="$MODELS/${family//_/-}-$SUFFIX-frozen"
      export_one "$RUNS/$family" "$frozen"
      run_stage "${family}_joint" "configs/${family}_${SIZE}_joint.py" --config.init_from="$frozen"
    fi
  done
}

run_stage() {  # workdir name, config, more flags
  local name=$1 config=$2
  shift 2
  nice taskset -c "${CORE:-0}" $PY train.py --config "$config" --config.data_dir="$DATA" \
      --config.loader_workers=1 --workdir "$RUNS/$name" "$@" >> "$RUNS/$name.log" 2>&1
}

export_one() {  # workdir, model directory
  rm -rf "$2"  # this recipe's own export, from an earlier run
  mkdir -p "$MODELS"
  $PY -m grm_jax export "$1" "$2" --portable --dtype float16 --calibration-data "$DATA" > /dev/null
}

export_models() {  # a family trained in two stages is its second stage's run
  for family in $FAMILIES; do
    workdir="$RUNS/$family"
    [ ! -f "configs/${family}_${SIZE}_joint.py" ] || workdir="$RUNS/${family}_joint"
    export_one "$workdir" "$MODELS/${family//_/-}-$SUFFIX"
  done
}

evaluate() {
  for family in $FAMILIES; do
    lambdas=$(for l in $QUALITIES; do echo --lambda $l; done)
    $PY evaluate.py --force --model "$MODELS/${family//_/-}-$SUFFIX" $lambdas --data "$KODAK" \
        --name "${family//_/-}-$SUFFIX" --out "$OUT/${family}_$SIZE.json"
  done
  $PY benchmarks/rd_table.py results/kodak/grm_small.json "$OUT"/*_"$SIZE".json
  # Pillow's curves are deterministic: those of the shipped models' evaluation (make kodak) serve here. An MS-SSIM
  # model is compared in both metrics, and with the MSE model it was fine-tuned from.
  metrics=$([ "$METRIC" = ms-ssim ] && echo "ms-ssim-rgb psnr-rgb" || echo psnr-rgb)
  for metric in $metrics; do
    for anchor in results/kodak/grm_small.{jpeg,webp,avif}.json ../shared/data/reference_rd/kodak/vtm.json; do
      $PY -m grm_jax.bd results/kodak/grm_small.json "$OUT"/*_"$SIZE".json --anchor "$anchor" --metric "$metric"
    done
  done
}

case "${1:-}" in
  train) train ;;
  export) export_models ;;
  evaluate) evaluate ;;
  *) echo "usage: SIZE=small_wide|small_t128|small_m192|small_msssim|medium recipes/shipped_models.sh train|export|evaluate" >&2
     exit 2 ;;
esac
