#!/bin/bash
# grm and context at twice the shipped width (configs/grm_medium.py, configs/context_medium.py), from random
# parameters, variable rate over CompressAI's qualities 1 to 8: the width the top of the range needs
# (results/flattening/). About 0.9 steps/s on one core of this machine against 3 for the small models, so the
# config's 40000 steps take about 12 hours a family: the CPU trains them in the background, nice'd, one core a
# family, resumed session after session from their checkpoints (every 500 steps).
#
#   recipes/medium_models.sh train                     # FAMILIES (default "grm context") one after the other
#   FAMILIES=context CORE=1 recipes/medium_models.sh train
#   recipes/medium_models.sh export                    # portable float16 model directories in MODELS
# RUNS (runs/medium) holds the workdirs and logs; MODELS (runs/medium/models) the exports.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/medium}
MODELS=${MODELS:-$RUNS/models}
DATA=${DATA:-../shared/data/train}
FAMILIES=${FAMILIES:-grm context}

train() {
  for family in $FAMILIES; do
    nice taskset -c "${CORE:-0}" $PY train.py --config "configs/${family}_medium.py" --config.data_dir="$DATA" \
        --config.loader_workers=1 --workdir "$RUNS/$family" >> "$RUNS/$family.log" 2>&1
  done
}

export_models() {
  mkdir -p "$MODELS"
  for family in $FAMILIES; do
    rm -rf "$MODELS/$family-medium"  # this recipe's own export, from an earlier run
    $PY -m grm_jax export "$RUNS/$family" "$MODELS/$family-medium" --portable --dtype float16 \
        --calibration-data "$DATA" > /dev/null
  done
}

mkdir -p "$RUNS"
case "${1:?usage: recipes/medium_models.sh train|export}" in
  train) train ;;
  export) export_models ;;
  *) echo "usage: recipes/medium_models.sh train|export" >&2; exit 2 ;;
esac
