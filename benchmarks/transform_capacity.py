"""What a model's transforms can reconstruct when rate does not count: g_a and g_s alone, from the model's
parameters, trained on the squared error of g_s(g_a(x)) with y continuous (the gains of --lambda applied and
undone, the entropy model unused), on training photographs; the unquantised PSNR on a test folder before and after.

  python benchmarks/transform_capacity.py --model context-small --lambda 0.18 --data ../shared/data/kodak \
      --train ../shared/data/train/bsds500/train --steps 2000

If the transforms reach well above where the coded curve flattens, their size is not what caps it; their training
(at rates where they need not reconstruct finely) is. Batches of 8 random 128x128 crops, Adam at --learning-rate.

--channels and --latent-channels give g_a and g_s more channels (h_a, h_s and the entropy model are not used):
with --model, the trained transforms grown so that they reconstruct exactly as before (models/widening.py; a
variable-rate model's gains at --lambda folded into them first, models/gain_folding.py); with --config instead, a
config's transforms from random parameters.

  python benchmarks/transform_capacity.py --model context-small-wide --lambda 0.18 --latent-channels 192 \
      --data ../shared/data/kodak --train ../shared/data/train/bsds500/train --steps 1500
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
from grm_jax import image_io, models, rd_lambda
from grm_jax.config_io import load_config
from grm_jax.errors import GrmError, report_errors
from grm_jax.models import gain_folding, widening
from grm_jax.training import input_pipeline
from transform_ceiling import mean_psnr, unquantised_reconstruction

TRANSFORMS = ('g_a', 'g_s')


def _sized(model_config, args):
  """A model section with g_a and g_s as wide as asked."""
  model_config = dict(model_config)
  if args.channels:
    model_config['transform_channels'] = args.channels
  if args.latent_channels:
    model_config['latent_channels'] = args.latent_channels
  return model_config


def _random_params(model, seed):
  return dict(model.init(jax.random.PRNGKey(seed), jnp.zeros((1, 64, 64, 3), jnp.float32))['params'])


def fresh_model(args):
  """A config's model, its transforms as wide as asked, random parameters."""
  try:
    model = models.build(_sized(load_config(args.config).model.to_dict(), args))
  except ValueError as error:
    raise GrmError(f"--config {args.config}: {error}") from None
  return model, _random_params(model, args.seed), 'random parameters'


def gains_lambda(model, args):
  """The lambda of a model's gains: --lambda, or the middle of its range; None for a fixed-rate model, which takes
  no --lambda."""
  if not model.variable_rate:
    if args.lambda_ is not None:
      raise GrmError("--lambda is for a variable-rate model; this one is fixed-rate")
    return None
  return args.lambda_ if args.lambda_ is not None else rd_lambda.middle(model.lambda_range)


def grown_model(args):
  """A trained model's transforms grown to the widths asked, as a fixed-rate model of --lambda."""
  codec = grm_jax.load(args.model)
  if codec.model.variable_rate and args.lambda_ is None:
    raise GrmError("--lambda is needed to grow a variable-rate model's transforms")
  lambda_ = gains_lambda(codec.model, args)
  params, model_config = dict(codec.params), dict(codec.config['model'])
  if lambda_ is not None:
    codec.check_lambda(lambda_)
    params = gain_folding.folded_gains(params, models.check_model_config(model_config), lambda_)
    model_config['lambda_range'] = ()
  try:
    model = models.build(_sized(model_config, args))
    return model, widening.grown_params(params, _random_params(model, args.seed), model), f'{args.model}, grown'
  except ValueError as error:
    raise GrmError(f"cannot grow the transforms of {args.model}: {error}") from None


def source_model(args):
  """(model, params, lambda for its gains, description)."""
  if args.config:
    model, params, source = fresh_model(args)
    lambda_ = gains_lambda(model, args)
  elif args.channels or args.latent_channels:
    model, params, source = grown_model(args)
    lambda_ = None  # the gains are folded in
  else:
    codec = grm_jax.load(args.model)
    model, params, source = codec.model, dict(codec.params), args.model
    lambda_ = gains_lambda(model, args)
  return model, params, lambda_, (f"{source} (g_a/g_s {model.transform_channels or model.channels} channels, "
                                  f"M={model.latent_channels})")


def run(args):
  model, params, lambda_, name = source_model(args)
  images = [image_io.read_image(path) for path in image_io.list_images(args.data)]
  lambdas = None if lambda_ is None else jnp.full((args.batch,), lambda_, jnp.float32)
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

  before = mean_psnr(unquantised_reconstruction(model, params, lambda_), images)
  at = '' if lambda_ is None else f' at lambda {lambda_:g}'
  print(f"{name}{at}: y unquantised {before:.2f} dB on {args.data} before", flush=True)
  opt_state, start = optimizer.init(trained), time.perf_counter()
  for i, (crops, _) in enumerate(loader.iterate(0)):
    if i == args.steps:
      break
    trained, opt_state, value = step(trained, opt_state, image_io.to_float(crops))
    if (i + 1) % args.log_every == 0:
      print(f"step {i + 1}: training crops {10 * np.log10(1 / float(value)):.2f} dB "
            f"({(i + 1) / (time.perf_counter() - start):.1f} steps/s)", flush=True)
  after = mean_psnr(unquantised_reconstruction(model, {**params, **trained}, lambda_), images)
  print(f"after {args.steps} steps of the transforms alone: {after:.2f} dB ({after - before:+.2f} dB)")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  source = parser.add_mutually_exclusive_group()
  source.add_argument('--model', default=None, help='a shipped model name or a model directory (default model)')
  source.add_argument('--config', help="a config's name or file: its transforms from random parameters")
  parser.add_argument('--lambda', dest='lambda_', type=float,
                      help="the gains' lambda (variable-rate models; default the middle of the range)")
  parser.add_argument('--channels', type=int, default=0,
                      help="g_a and g_s's width: a trained model's grown to it, a config's set to it")
  parser.add_argument('--latent-channels', type=int, default=0, help="M, y's channels: the same")
  parser.add_argument('--seed', type=int, default=0, help='the random parameters (of new channels, or all)')
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
