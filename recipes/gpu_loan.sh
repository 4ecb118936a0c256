#!/bin/bash
# One GPU loan (one H200: 15 minutes of device time in all, the machine's start included; at most 10 minutes a
# command), spent in the order the open issues ask for, as two commands on the box from the repository root:
#
#   PHASE=checks,seeds bash recipes/gpu_loan.sh   # carry gpu_bundle and .xdev; at most 8.5 minutes: the
#                                                 # cross-device checks and the step benchmark (about 2), then
#                                                 # the reference ablation at more seeds (issue 26)
#   PHASE=train MINUTES=3 bash recipes/gpu_loan.sh   # carry gpu_bundle; MINUTES + 1.5 minutes: the shipped
#                                                 # families over qualities 1-8 (issue 27), from loans/
#
# Before the loan, here (about 59 MiB travel with the tracked files, 37.5 of them; gpu_box.py pack counts it, and
# refuses more than 64: once loans/ is committed, pack fewer --megabytes):
#   mkdir -p .xdev && cp ../shared/data/kodak/kodim0[1-9].png ../shared/data/kodak/kodim1[0-2].png .xdev/
#   python benchmarks/cross_device.py record --data .xdev --out .xdev/cpu.npz   # the default (portable) model
#   python recipes/gpu_box.py pack --megabytes 12                  # training photographs (JPEG) and wheels
# After it, here (OUT: the files that came back):
#   python benchmarks/cross_device.py check OUT/gpu.npz --data .xdev --real-files    # GPU -> CPU
#   tar -xf OUT/seeds.tar -C runs/   # runs/seeds_gpu/ARM-sSEED/run.json says the steps a run reached: a run
#                                    # that reached 8000 is exported (`grm export`) and evaluated as seeds.sh does
#   cat OUT/loans.tar.part-* | tar -x   # loans/FAMILY-SIZE (float16). small: commit it; the next loan's
#                                    # PHASE=train starts there. medium, small_m192: do not commit it (with the
#                                    # tracked tree it is more than a loan may carry); `grm export
#                                    # loans/FAMILY-SIZE DIR` keeps it;
#                                    # the steps and the Kodak figure after it go in grm_jax/pretrained/README.md
#
# What comes back in $OUT (at most 8 files, 16 MiB each):
#   checks  check_gpu_real.json (the CPU's real files decoded on the GPU: the same y_hat? median decode seconds),
#           gpu.npz (the same images encoded on the GPU, for the reverse check here), bench.txt (steps/s of what
#           a loan trains and the input pipeline's batches/s: which bounds a step)
#   seeds   seeds.tar: float32 parameters of grm, context and top3 of configs/grm_ablation.py at SEEDS (default
#           3 4), side by side on the one GPU, 8000 steps or what 3.5 minutes allow. They train on the bundle's
#           photographs (a subset of the CPU seeds' folders, as JPEG): compare them with each other, seed by
#           seed, not pooled with the CPU seeds.
#   train   loans.tar.part-NN (the tar split in files of 15 MiB): float16 parameters of grm and context of SIZE
#           over lambda 0.0018-0.18 (8 gain anchors), side by side for MINUTES, from loans/FAMILY-SIZE where an
#           earlier loan left it. SIZE=small (the default): the shipped size, the first loan from the shipped
#           FAMILY-small-wide (this range, 9000 CPU steps); 11 MB come back for both, in one part. SIZE=small_t128:
#           configs/*_small_t128.py, the small models with g_a and g_s grown to 128 channels (the first loan grows
#           FAMILY-small-wide; models/widening.py); 17 MB back for both (8.7M parameters), in two parts.
#           SIZE=small_m192: configs/*_small_m192.py, the small models with y grown to 192 channels (the first
#           loan grows FAMILY-small-wide); 29 MB back for both (14.3M parameters), in two parts, which like
#           medium's cannot travel to a later loan with the tracked tree.
#           SIZE=medium: configs/*_medium.py, the width the top of the range needs (results/flattening/), from random
#           parameters; 43 MB come back for both, in three parts, and cannot travel to a later loan with the
#           tracked tree: a medium run lasts one loan. A fresh optimiser each loan: Adam's moments would triple
#           what comes back.
set -euo pipefail
export PYTHONUNBUFFERED=1
SEEDS=${SEEDS:-3 4}
MINUTES=${MINUTES:-3}
SIZE=${SIZE:-small}
case $SIZE in
  small | small_t128 | small_m192 | medium) ;;
  *) echo "SIZE is small, small_t128, small_m192 or medium, not $SIZE" >&2; exit 2 ;;
esac
if [ "$SIZE" = medium ]; then LR=${LR:-3e-4}; else LR=${LR:-1e-4}; fi  # a run from random parameters; a fine-tune
ablation_arms=("grm:" "context:--set model.family=context" "top3:--set model.references=3")

checks() {
  timeout 120 python3 recipes/gpu_box.py bench --out "$OUT" --seconds 25 > /dev/null || true
  timeout 70 python3 benchmarks/cross_device.py check .xdev/cpu.npz --data .xdev --real-files \
      --out "$OUT/check_gpu_real.json" | tail -n 3 || true
  timeout 45 python3 benchmarks/cross_device.py record --data .xdev --out "$OUT/gpu.npz" | tail -n 1 || true
}

seeds() {
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.12  # six small runs share the one GPU
  for seed in $SEEDS; do
    for arm in "${ablation_arms[@]}"; do
      name=${arm%%:*}-s$seed
      timeout 255 python3 recipes/gpu_box.py train --minutes 3.5 --config configs/grm_ablation.py --set seed="$seed" \
          ${arm#*:} --set loader_workers=2 --dtype float32 --workdir "/tmp/seeds/$name" \
          --out "/tmp/seeds_gpu/$name" > "/tmp/seeds_$name.log" 2>&1 &
    done
  done
  wait || true
  grep -h "^wrote" /tmp/seeds_*.log || true
  tar -C /tmp -cf "$OUT/seeds.tar" seeds_gpu
}

train() {
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
  for family in grm context; do
    start=loans/$family-$SIZE
    if [ -d "$start" ]; then init=(--init-from "$start")
    elif [ "$SIZE" != medium ]; then init=(--init-from "$family-small-wide")  # small_t128 and small_m192 grow it
    else init=(); fi  # the first loan of a new size starts from random parameters (bash 4.4+: "${init[@]}" empty)
    timeout "$(awk "BEGIN {print ($MINUTES + 1.5) * 60}")" python3 recipes/gpu_box.py train --minutes "$MINUTES" \
        --config "configs/${family}_$SIZE.py" "${init[@]}" --set "model.lambda_range=(0.0018,0.18)" \
        --set model.gain_anchors=8 --set patch_size=256 --set batch_size=16 --set learning_rate="$LR" \
        --set transform_lr_scale=1.0 --set warmup_steps=200 --set schedule=constant --set num_steps=1000000 \
        --set loader_workers=6 --set checkpoint_every=2000 --dtype float16 --workdir "/tmp/work_$family" \
        --out "/tmp/loans/$family-$SIZE" > "/tmp/train_$family.log" 2>&1 &
  done
  wait || true
  grep -h "^wrote\|^step" /tmp/train_*.log | tail -n 4 || true
  tar -C /tmp -cf - loans | split -b 15M -d - "$OUT/loans.tar.part-"  # a file that comes back is at most 16 MiB
}

parts=${PHASE:?usage: PHASE=checks,seeds or PHASE=train bash recipes/gpu_loan.sh (see its header)}
for part in ${parts//,/ }; do
  case $part in checks | seeds | train) ;; *) echo "unknown PHASE part: $part" >&2; exit 2 ;; esac
done
nvidia-smi -L || true  # (absent where the script is tried on a CPU)
# The wheels the box lacks (ml-collections, CompressAI), once, before the runs that share them start.
python3 -c "import ml_collections" 2> /dev/null ||
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/grm_site gpu_bundle/wheels/*.whl
export PYTHONPATH=/tmp/grm_site:$PWD
for part in ${parts//,/ }; do
  echo "== $part"
  "$part"
done
