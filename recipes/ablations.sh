#!/bin/bash
# The paper's ablations at equal budget (results/README.md, "The global reference: ablations"): five variants of
# configs/grm_ablation.py, 8000 steps each, same data order, on this 2-core CPU, then real files on Kodak.
#
#   recipes/ablations.sh train      # resumable: run it again to go on (MINUTES=N stops each run after N minutes)
#   recipes/ablations.sh evaluate   # exports, evaluates on Kodak at 6 lambdas, prints BD-rates and the reference's share
# RUNS (default runs/ablation) holds the workdirs and models; OUT (results/ablation) the curves.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/ablation}
OUT=${OUT:-results/ablation}
KODAK=${KODAK:-../shared/data/kodak}
LAMBDAS="0.0018 0.0035 0.0067 0.013 0.025 0.0483"
declare -A VARIANT=(
  [grm]=""                                             # the paper's design: product gating, S and U, GSDN
  [context]="--config.model.family=context"            # no global reference
  [no-confidence]="--config.model.use_confidence=False"  # the reference gated by S alone
  [channels]="--config.model.gating=channels"          # S and U as inputs instead of a product
  [gdn]="--config.model.norm=gdn"                      # GDN instead of GSDN
  [blind]="--config.model.gating=blind"                # grm's networks and stage losses, the reference zeroed
)
declare -A CORE=([grm]=0 [context]=1 [no-confidence]=0 [channels]=1 [gdn]=1 [blind]=0)  # balances the steps left

train() {
  for name in "${!VARIANT[@]}"; do
    nice taskset -c "${CORE[$name]}" $PY train.py --config configs/grm_ablation.py --config.data_dir=../shared/data/train --workdir "$RUNS/$name" \
        --config.time_limit_minutes="${MINUTES:-0}" ${VARIANT[$name]} > "$RUNS/$name.log" 2>&1 &
  done
  wait
}

evaluate() {
  mkdir -p "$OUT"
  for name in "${!VARIANT[@]}"; do
    rm -rf "$RUNS/models/$name"  # this recipe's own export, from an earlier evaluate
    $PY -m grm_jax export "$RUNS/$name" "$RUNS/models/$name" > /dev/null
    $PY evaluate.py --force --model "$RUNS/models/$name" $(for l in $LAMBDAS; do echo --lambda $l; done) --data "$KODAK" \
        --name "$name" --out "$OUT/$name.json"
  done
  $PY -m grm_jax.bd "$OUT"/*.json --anchor "$OUT/grm.json"
  $PY -m grm_jax.bd "$OUT"/*.json --anchor "$OUT/context.json"
  $PY benchmarks/reference_share.py $(for name in grm no-confidence channels gdn blind; do
      echo --model "$RUNS/models/$name"; done) $(for l in 0.0035 0.013 0.0483; do echo --lambda $l; done) --data "$KODAK"
}

mkdir -p "$RUNS"
"$1"
