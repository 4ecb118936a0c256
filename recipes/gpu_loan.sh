#!/bin/bash
# One GPU loan (one H200: 15 minutes of device time in all, starts included; at most 10 a command), spent in the
# order the open issues ask for, as two commands on the box from the repository root, with gpu_bundle/ and .xdev/
# carried (both ignored by git):
#
#   PHASE=checks,seeds bash recipes/gpu_loan.sh   # ~2 min: cross-device decoding and the step benchmark;
#                                                 # then ~5 min: the reference ablation at more seeds (issue 26)
#   PHASE=train bash recipes/gpu_loan.sh          # the shipped families over qualities 1-8 (issue 27), resumed
#                                                 # from the parameters the last loan brought back (loans/)
#
# Before the loan, here:
#   python recipes/gpu_box.py pack --megabytes 20                  # training photographs (JPEG) and wheels
#   mkdir -p .xdev && cp -r ../shared/data/kodak .xdev/kodak
#   python benchmarks/cross_device.py record --data .xdev/kodak --out .xdev/cpu.npz   # the default (portable) model
# After it, here (OUT: the files that came back):
#   python benchmarks/cross_device.py check OUT/gpu.npz --data ../shared/data/kodak --real-files   # GPU -> CPU
#   tar -xf OUT/seeds.tar -C runs/       # runs/seeds_gpu/ARM-sSEED: `grm export` each, then evaluate.py as seeds.sh
#   tar -xf OUT/loans.tar                # loans/FAMILY: commit them; `grm export loans/FAMILY ...` for a model;
#                                        # the steps and the Kodak figure go in grm_jax/pretrained/README.md
#
# What each part writes to $OUT (at most 8 files come back, 16 MiB each):
#   checks  check_gpu_real.json (the CPU's real files decoded on the GPU: same y_hat? median decode seconds),
#           gpu.npz (Kodak encoded on the GPU, for the reverse check here), bench.txt (steps/s and what bounds them)
#   seeds   seeds.tar: float32 parameters of grm, context and top3 of configs/grm_ablation.py at SEEDS (default
#           3 4), trained side by side on the one GPU, 8000 steps each as on the CPU
#   train   loans.tar: float32 parameters of grm-small and context-small, variable rate over lambda 0.0018-0.18
#           (8 gain anchors), trained side by side for MINUTES, from loans/FAMILY where an earlier loan left it,
#           else from the shipped model (its gains moved to the wider range by init_from)
set -u
export PYTHONUNBUFFERED=1
PHASE=${PHASE:-checks,seeds,train}
SEEDS=${SEEDS:-3 4}
MINUTES=${MINUTES:-7}
LR=${LR:-1e-4}
ablation_arms=("grm:" "context:--set model.family=context" "top3:--set model.references=3")
nvidia-smi -L

checks() {
  export PYTHONPATH=/tmp/grm_site:$PWD  # ml-collections and numba, installed by gpu_box.py bench from the bundle
  timeout 170 python3 recipes/gpu_box.py bench --out "$OUT" --seconds 30 > /dev/null
  timeout 90 python3 benchmarks/cross_device.py check .xdev/cpu.npz --data .xdev/kodak --real-files \
      --out "$OUT/check_gpu_real.json" | tail -n 3
  timeout 60 python3 benchmarks/cross_device.py record --data .xdev/kodak --out "$OUT/gpu.npz" | tail -n 1
}

seeds() {
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.12  # six small runs share the one GPU
  for seed in $SEEDS; do
    for arm in "${ablation_arms[@]}"; do
      name=${arm%%:*}-s$seed
      timeout 330 python3 recipes/gpu_box.py train --minutes 5 --config configs/grm_ablation.py --set seed="$seed" \
          ${arm#*:} --set loader_workers=2 --dtype float32 --workdir "/tmp/seeds/$name" \
          --out "/tmp/seeds_gpu/$name" > "/tmp/seeds_$name.log" 2>&1 &
    done
  done
  wait
  tail -q -n 1 /tmp/seeds_*.log
  tar -C /tmp -cf "$OUT/seeds.tar" seeds_gpu
}

train() {
  export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
  for family in grm context; do
    start=loans/$family
    [ -d "$start" ] || start=$family-small
    timeout $(((MINUTES + 2) * 60)) python3 recipes/gpu_box.py train --minutes "$MINUTES" \
        --config configs/${family}_small.py --init-from "$start" --set "model.lambda_range=(0.0018,0.18)" \
        --set model.gain_anchors=8 --set patch_size=256 --set batch_size=16 --set learning_rate="$LR" \
        --set transform_lr_scale=1.0 --set warmup_steps=200 --set schedule=constant --set num_steps=1000000 \
        --set loader_workers=6 --set checkpoint_every=2000 --dtype float32 --workdir "/tmp/work_$family" \
        --out "/tmp/loans/$family" > "/tmp/train_$family.log" 2>&1 &
  done
  wait
  tail -q -n 2 /tmp/train_*.log
  tar -C /tmp -cf "$OUT/loans.tar" loans
}

for part in ${PHASE//,/ }; do
  echo "== $part"
  "$part"
done
