#!/bin/bash
# grm and context at twice the shipped width (configs/grm_medium.py, configs/context_medium.py), from random
# parameters, variable rate over CompressAI's qualities 1 to 8: the width the top of the range needs
# (results/flattening/). About 0.75 steps/s on one core of this machine (the runs' logs) against about 3 for the
# small models, so the config's 40000 steps take about 15 hours a family: the CPU trains them in the background,
# nice'd, one core a family, resumed session after session from their checkpoints (every 500 steps).
#
#   FAMILIES=grm CORE=0 recipes/medium_models.sh train        # one family a core, never one workdir twice
#   FAMILIES=context CORE=1 recipes/medium_models.sh train
#   grm export runs/medium/grm OUT --portable --dtype float16 --calibration-data ../shared/data/train
# RUNS (runs/medium) holds the workdirs and logs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/medium}
DATA=${DATA:-../shared/data/train}
FAMILIES=${FAMILIES:-grm context}

train() {
  for family in $FAMILIES; do
    nice taskset -c "${CORE:-0}" $PY train.py --config "configs/${family}_medium.py" --config.data_dir="$DATA" \
        --config.loader_workers=1 --workdir "$RUNS/$family" >> "$RUNS/$family.log" 2>&1
  done
}

mkdir -p "$RUNS"
case "${1:?usage: recipes/medium_models.sh train}" in
  train) train ;;
  *) echo "usage: recipes/medium_models.sh train" >&2; exit 2 ;;
esac
