"""The `grm` command line (also `python -m grm_jax`). Errors are one line on stderr and exit status 1."""
import argparse
import os
import sys
import time

from grm_jax.errors import GrmError

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def _estimate(args):
  """A forward pass on each image: the estimated bpp and PSNR of a model (random weights until one is trained)."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel

  from grm_jax import image_io, metrics, models  # pylint: disable=import-outside-toplevel
  from grm_jax.config_io import load_config  # pylint: disable=import-outside-toplevel
  config = load_config(args.config)
  model = models.build(config)
  images = []
  for path in args.images:
    notes = []
    images.append((path, image_io.read_image(path, notes)))
    for note in notes:
      print(f"note: {note}", file=sys.stderr)
  variables = None
  forward = jax.jit(model.apply)
  print(f"model: {config.model.family} (N={config.model.channels}, M={config.model.latent_channels}, "
        f"{config.model.norm}), weights: random init, seed {args.seed}")
  for path, image in images:
    x = image_io.to_float(image)[None]
    if variables is None:
      variables = model.init(jax.random.PRNGKey(args.seed), x)
    start = time.perf_counter()
    out = jax.block_until_ready(forward(variables, x))
    seconds = time.perf_counter() - start
    x_hat = image_io.to_float(image_io.to_uint8(out['x_hat'][0]))[None]
    print(f"{path}: {image.shape[1]}x{image.shape[0]}  estimated {float(out['bpp']):.4f} bpp  "
          f"PSNR {float(metrics.psnr(x, x_hat)):.2f} dB  ({seconds:.1f} s, compile included on the first)")


def build_parser():
  parser = argparse.ArgumentParser(prog='grm', description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest='command', required=True)
  estimate = commands.add_parser('estimate', help='estimated bpp and PSNR of a model on images (no bitstream)')
  estimate.add_argument('images', nargs='+')
  estimate.add_argument('--config', default='configs/grm.py', help='config file (default: %(default)s)')
  estimate.add_argument('--seed', type=int, default=0, help='seed of the random initialisation')
  estimate.set_defaults(run=_estimate)
  return parser


def main(argv=None):
  args = build_parser().parse_args(argv)
  try:
    args.run(args)
  except GrmError as error:
    print(f"grm: error: {error}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print("grm: interrupted", file=sys.stderr)
    return 130
  return 0


if __name__ == '__main__':
  sys.exit(main())
