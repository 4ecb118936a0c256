"""Prints train steps/s and images/s for a config, batch and patch, on whatever devices JAX sees.

  python benchmarks/train_step.py --config configs/grm.py --batch 8 --patch 256 --steps 3
  python benchmarks/train_step.py --config configs/grm_small.py --transform-dtype bfloat16
The step is the trainer's own (`parallel.data_parallel` over every local device), dispatched back to back as
train.py does. Also times the folder input pipeline alone (batches/s), to check that it keeps up with training.
"""
import argparse
import resource
import time

import jax
import numpy as np

from grm_jax import models
from grm_jax.config_io import load_config
from grm_jax.training import input_pipeline, optim, parallel, trainer


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='configs/grm.py')
  parser.add_argument('--batch', type=int, default=8, help='global batch')
  parser.add_argument('--patch', type=int, default=256)
  parser.add_argument('--steps', type=int, default=3, help='timed steps (after one compile step)')
  parser.add_argument('--transform-dtype', choices=('float32', 'bfloat16'), default=None,
                      help="the config's model.transform_dtype (mixed precision of g_a, g_s, h_a, h_s)")
  parser.add_argument('--data', default='', help='folder: also time the input pipeline on it')
  args = parser.parse_args()

  config = load_config(args.config)
  config.batch_size, config.patch_size = args.batch, args.patch
  if args.transform_dtype:
    config.model.transform_dtype = args.transform_dtype
  devices = jax.local_devices()
  model = models.build(config)
  optimizer, _ = optim.make_optimizer(config)
  mesh = parallel.data_mesh(devices)
  state = parallel.replicate(trainer.init_state(model, optimizer, config), mesh)
  step = parallel.data_parallel(trainer.make_train_step(model, optimizer, config), mesh, donate_first=True)
  n = len(devices)
  images, ids = parallel.shard_batch(
      (np.random.default_rng(0).integers(0, 256, (args.batch, args.patch, args.patch, 3), np.uint8),
       np.arange(args.batch, dtype=np.int32)), mesh)

  start = time.perf_counter()
  state, summary = step(state, images, ids)
  jax.block_until_ready(summary)
  compile_seconds = time.perf_counter() - start
  start = time.perf_counter()
  for _ in range(args.steps):
    state, summary = step(state, images, ids)
  jax.block_until_ready(summary)
  seconds = (time.perf_counter() - start) / args.steps
  m = config.model
  print(f"config {args.config}: {m.family} N={m.channels} M={m.latent_channels} hidden={m.hidden} {m.norm}, "
        f"transforms in {m.get('transform_dtype', 'float32')}")
  print(f"jax {jax.__version__}, devices: {n} x {devices[0].device_kind}; batch {args.batch}, patch {args.patch}")
  print(f"first step (compile included): {compile_seconds:.1f} s")
  print(f"train step: {seconds:.3f} s  ->  {1 / seconds:.3f} steps/s, {args.batch / seconds:.2f} images/s")
  print(f"peak memory (resident, this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

  if args.data:
    loader = input_pipeline.BatchLoader(input_pipeline.open_source(args.data), args.batch, args.patch,
                                        workers=config.loader_workers)
    batches = loader.iterate(0)
    next(batches)
    start = time.perf_counter()
    for _ in range(20):
      next(batches)
    loader_seconds = (time.perf_counter() - start) / 20
    print(f"input pipeline alone: {loader_seconds:.4f} s per batch  ->  {seconds / loader_seconds:.0f}x faster "
          f"than the train step")


if __name__ == '__main__':
  main()
