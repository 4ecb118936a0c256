"""What a model's transforms can reconstruct when rate does not count: g_a and g_s alone, from the model's
parameters, trained on the squared error of g_s(g_a(x)) with y continuous (the gains of --lambda applied and
undone, the entropy model unused), on training photographs; the unquantised PSNR on a test folder before and after.

  python benchmarks/transform_capacity.py --model context-small --lambda 0.18 --data ../shared/data/kodak \
      --train ../shared/data/train/bsds500/train --steps 2000

If the transforms reach well above where the coded curve flattens, their size is not what caps it; their training
(at rates where they need not reconstruct finely) is. Batches of 8 random 128x128 crops, Adam at --learning-rate.

With --config instead of --model, the transforms of that config start from random parameters (widths from
--channels and --latent-channels where given): what an autoencoder of a size learns in the same steps.

  python benchmarks/transform_capacity.py --config grm_small --latent-channels 192 --data ../shared/data/kodak \
      --train ../shared/data/train/bsds500/train --steps 3000 --learning-rate 3e-4
"""
import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import grm_jax
from grm_jax import image_io, models
from grm_jax.config_io import load_config
from grm_jax.errors import report_errors
from grm_jax.training import input_pipeline
from transform_ceiling import mean_psnr, unquantised_reconstruction

TRANSFORMS = ('g_a', 'g_s')


def fresh_model(args):
  """A config's model, its transforms as wide as asked, and random parameters."""
  config = load_config(args.config)
  if args.channels:
    config.model.transform_channels = args.channels
  if args.latent_channels:
    config.model.latent_channels = args.latent_channels
  model = models.build(config)
  params = model.init(jax.random.PRNGKey(args.seed), jnp.zeros((1, 64, 64, 3), jnp.float32))['params']
  return model, dict(params), f"{args.config} (g_a/g_s {model.transform_channels or model.channels} channels, M=" \
                              f"{model.latent_channels}, random parameters)"


def run(args):
  if args.config:
    model, params, name = fresh_model(args)
  else:
    codec = grm_jax.load(args.model)
    model, params, name = codec.model, dict(codec.params), args.model
  images = [image_io.read_image(path) for path in image_io.list_images(args.data)]
  lambdas = None if args.lambda_ is None else jnp.full((args.batch,), args.lambda_, jnp.float32)
  loader = input_pipeline.BatchLoader(input_pipeline.open_source(f'folder:{args.train}'), args.batch, args.patch)
  optimizer = optax.adam(args.learning_rate)
  trained = {name: params[name] for name in TRANSFORMS}
  fixed = {name: value for name, value in params.items() if name not in TRANSFORMS}

  def loss(trained, x):
    merged = {**fixed, **trained}
    y = model.apply({'params': merged}, x, lambdas, method=model.analysis)
    return jnp.mean(jnp.square(model.apply({'params': merged}, y, lambdas, method=model.synthesis) - x))

  @jax.jit
  def step(trained, opt_state, x):
    value, grads = jax.value_and_grad(loss)(trained, x)
    updates, opt_state = optimizer.update(grads, opt_state, trained)
    return optax.apply_updates(trained, updates), opt_state, value

  before = mean_psnr(unquantised_reconstruction(model, params, args.lambda_), images)
  print(f"{name} at lambda {args.lambda_}: y unquantised {before:.2f} dB on {args.data} before", flush=True)
  opt_state, start = optimizer.init(trained), time.perf_counter()
  for i, (crops, _) in enumerate(loader.iterate(0)):
    if i == args.steps:
      break
    trained, opt_state, value = step(trained, opt_state, image_io.to_float(crops))
    if (i + 1) % args.log_every == 0:
      print(f"step {i + 1}: training crops {10 * np.log10(1 / float(value)):.2f} dB "
            f"({(i + 1) / (time.perf_counter() - start):.1f} steps/s)", flush=True)
  after = mean_psnr(unquantised_reconstruction(model, {**params, **trained}, args.lambda_), images)
  print(f"after {args.steps} steps of the transforms alone: {after:.2f} dB ({after - before:+.2f} dB)")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group()
  source.add_argument('--model', default=None, help='a shipped model name or a model directory (default model)')
  source.add_argument('--config', help="a config's name or file: its transforms from random parameters")
  parser.add_argument('--channels', type=int, default=0, help="with --config: g_a and g_s's width (default N)")
  parser.add_argument('--latent-channels', type=int, default=0, help="with --config: M, y's channels")
  parser.add_argument('--seed', type=int, default=0, help='with --config: the random parameters')
  parser.add_argument('--lambda', dest='lambda_', type=float, help="the gains' lambda (variable-rate models)")
  parser.add_argument('--data', required=True, help='test images, for the PSNR before and after')
  parser.add_argument('--train', required=True, help='training photographs: folders, comma-separated')
  parser.add_argument('--steps', type=int, default=2000)
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--patch', type=int, default=128)
  parser.add_argument('--learning-rate', type=float, default=1e-4)
  parser.add_argument('--log-every', type=int, default=250)
  args = parser.parse_args()
  sys.exit(report_errors('transform_capacity.py', run, args))


if __name__ == '__main__':
  main()
