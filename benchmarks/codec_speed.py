"""Prints encode and decode times of one image, with the stage breakdown (network, entropy parameters, range coding).

  python benchmarks/codec_speed.py --config configs/grm.py            # random weights: timing only
  python benchmarks/codec_speed.py --config configs/grm.py --order wavefront
  python benchmarks/codec_speed.py --model grm-small                   # a shipped or exported model
The first encode and decode compile; the figures are those of a second run.
"""
import argparse
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import jax  # noqa: E402
import numpy as np  # noqa: E402

import grm_jax  # noqa: E402
from grm_jax import image_io, models  # noqa: E402
from grm_jax.codec import model_dir  # noqa: E402
from grm_jax.config_io import load_config  # noqa: E402
from grm_jax.evaluation import timed_round_trip  # noqa: E402


def _codec(args):
  if args.model:
    return grm_jax.load(args.model), args.model
  config = load_config(args.config)
  if args.order:
    config.model.order = args.order
  model = models.build(config)
  params = model.init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))['params']
  folder = tempfile.mkdtemp()
  model_dir.export(params, config, os.path.join(folder, 'model'))
  return grm_jax.load(os.path.join(folder, 'model')), f'{args.config} (random weights, {config.model.order} order)'


def _breakdown(seconds):
  return ', '.join(f"{stage} {value:.2f} s" for stage, value in seconds.items())


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='configs/grm.py')
  parser.add_argument('--model', help='an exported model directory (instead of --config)')
  parser.add_argument('--order', help='override the coding order of --config (raster, wavefront)')
  parser.add_argument('--image', default='samples/kodim23.png')
  args = parser.parse_args()
  codec, name = _codec(args)
  image = image_io.read_image(args.image)
  timed_round_trip(codec, image)  # compile
  codec.compress(image)
  start = time.perf_counter()
  compressed = codec.encode(image, reconstruct=False)
  compress_seconds = time.perf_counter() - start
  encoded, decoded, encode_seconds, decode_seconds = timed_round_trip(codec, image)
  assert np.array_equal(decoded.image, encoded.reconstruction) and compressed.data == encoded.data
  m = codec.config.model
  print(f"model: {name}: {m.family} N={m.channels} M={m.latent_channels} hidden={m.hidden}")
  print(f"image: {args.image} ({image.shape[1]}x{image.shape[0]}), {jax.devices()[0].device_kind}")
  print(f"encode: {compress_seconds:.2f} s ({_breakdown(compressed.seconds)})")
  print(f"encode + the decoder's reconstruction: {encode_seconds:.2f} s ({_breakdown(encoded.seconds)})")
  print(f"decode: {decode_seconds:.2f} s ({_breakdown(decoded.seconds)})")
  print(f"peak memory (resident, this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == '__main__':
  main()
