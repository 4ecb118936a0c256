"""Prints encode and decode times of one image, with the stage breakdown (network, entropy parameters, range coding).

  python benchmarks/codec_speed.py --config configs/grm.py            # random weights: timing only
  python benchmarks/codec_speed.py --config configs/grm.py --order wavefront
  python benchmarks/codec_speed.py --config configs/grm.py --portable --calibration-data ../shared/data/train
                                                                       # float and portable entropy paths, side by side
  python benchmarks/codec_speed.py --model grm-small                   # a shipped or exported model
  python benchmarks/codec_speed.py --model DIR --carrier int8          # the portable path's matmuls in int8
  python benchmarks/codec_speed.py --model DIR --replay                # range coder replayed: no TensorFlow needed
  python benchmarks/codec_speed.py --config configs/grm.py --portable --calibration-data ../shared/data/train \
      --references 1 3 --repeats 3    # one reference against three, portable, alternately, medians side by side
  python benchmarks/codec_speed.py --model DIR --carriers float32 int8 --repeats 3   # the two carriers, alternately
The first encode and decode compile; the figures are those of a second run.
"""
import argparse
import os
import resource
import tempfile
import time

import jax
import numpy as np

import alternate
import grm_jax
from grm_jax import image_io, models
from grm_jax.codec import model_dir, replay
from grm_jax.portable import conversion
from grm_jax.config_io import load_config
from grm_jax.evaluation import timed_round_trip


def _codecs(args, references=None):
  """[(codec, name)]: the model, and with --portable its float and portable entropy paths, one after the other
  (with references, --config's model reading that many references)."""
  if args.model:
    codec = grm_jax.load(args.model, carrier=args.carrier)
    return [(codec, f'{args.model} ({codec.carrier + " carrier" if codec.carrier else "float entropy path"})')]
  config = load_config(args.config)
  if args.order:
    config.model.order = args.order
  if references is not None:
    config.model.references = references
  model = models.build(config)
  params = model.init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))['params']
  folder = tempfile.mkdtemp()
  order = models.build(config).coding_order  # the checkerboard families are pinned to theirs
  name = f'{args.config} (random weights, {order} order, {config.model.references} reference(s))'
  model_dir.export(params, config, os.path.join(folder, 'model'))
  codecs = [(grm_jax.load(os.path.join(folder, 'model')), name + ', float32 entropy path')]
  if args.portable:
    if not args.calibration_data:
      raise SystemExit('codec_speed.py: error: --portable needs --calibration-data FOLDER (training photographs)')
    images = conversion.calibration_images(args.calibration_data, count=2)
    model_dir.export(params, config, os.path.join(folder, 'portable'), calibration_images=images)
    portable = grm_jax.load(os.path.join(folder, 'portable'), carrier=args.carrier)
    codecs.append((portable, f'{name}, portable (integer) entropy path, {portable.carrier} carrier'))
  return codecs


def _breakdown(seconds):
  return ', '.join(f"{stage} {value:.2f} s" for stage, value in seconds.items())


def _measure(codec, name, image, image_name, replayed):
  timed_round_trip(codec, image)  # compile
  codec.compress(image)
  start = time.perf_counter()
  compressed = codec.encode(image, reconstruct=False)
  compress_seconds = time.perf_counter() - start
  encoded, decoded, encode_seconds, decode_seconds = timed_round_trip(codec, image)
  assert np.array_equal(decoded.image, encoded.reconstruction)
  assert replayed or compressed.data == encoded.data  # replayed files hold tokens, not strings
  m = codec.config.model
  print(f"model: {name}: {m.family} N={m.channels} M={m.latent_channels} hidden={m.hidden}")
  print(f"image: {image_name} ({image.shape[1]}x{image.shape[0]}), {jax.devices()[0].device_kind}")
  print(f"encode: {compress_seconds:.2f} s ({_breakdown(compressed.seconds)})")
  print(f"encode + the decoder's reconstruction: {encode_seconds:.2f} s ({_breakdown(encoded.seconds)})")
  print(f"decode: {decode_seconds:.2f} s ({_breakdown(decoded.seconds)})")


def _side_by_side(codecs, image, repeats):
  """Median encode and decode times of each codec, timed in turn, and each against the first."""
  for codec, _ in codecs:
    timed_round_trip(codec, image)  # compile
  measures = [lambda codec=codec: timed_round_trip(codec, image)[2:] for codec, _ in codecs]
  times = [alternate.medians(rounds) for rounds in alternate.in_turn(measures, repeats)]
  print(f"side by side, medians of {repeats} alternate runs (real files, range coding included):")
  for (_, name), (encode_seconds, decode_seconds) in zip(codecs, times):
    print(f"  {name}: encode {encode_seconds:.2f} s ({encode_seconds / times[0][0]:.2f}x), "
          f"decode {decode_seconds:.2f} s ({decode_seconds / times[0][1]:.2f}x)")


def _positive(text):
  value = int(text)
  if value < 1:
    raise argparse.ArgumentTypeError(f'{text} is not a positive number')
  return value


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='configs/grm.py')
  parser.add_argument('--model', help='an exported model directory (instead of --config)')
  parser.add_argument('--order', help='override the coding order of --config (raster, wavefront; a checkerboard family keeps its own)')
  parser.add_argument('--image', default='samples/kodim23.png')
  parser.add_argument('--portable', action='store_true',
                      help='also export the random weights in the portable form and time both entropy paths')
  parser.add_argument('--replay', action='store_true',
                      help='replace the range coder by a recording and its replay (grm_jax/codec/replay.py)')
  parser.add_argument('--carrier', default=None, choices=('float32', 'int8'),
                      help="the portable path's matmuls: float32, or int8 (the same integers)")
  parser.add_argument('--calibration-data', metavar='FOLDER',
                      help='photographs for the portable export (two are used; needed with --portable)')
  parser.add_argument('--references', type=int, nargs='+', metavar='K',
                      help="time --config's model with each number of references, alternately (needs --config)")
  parser.add_argument('--carriers', nargs='+', choices=('float32', 'int8'),
                      help="time --model's portable entropy path with each carrier, alternately (the same bits)")
  parser.add_argument('--repeats', type=_positive, default=3,
                      help='alternate runs of --references or --carriers (default 3)')
  args = parser.parse_args()
  image = image_io.read_image(args.image)
  if args.references:
    if args.model:
      raise SystemExit('codec_speed.py: error: --references builds models from --config; it cannot change --model')
    codecs = [_codecs(args, k)[-1] for k in args.references]  # the portable entropy path where --portable
    _side_by_side(codecs, image, args.repeats)
    return
  if args.carriers:
    if not args.model:
      raise SystemExit('codec_speed.py: error: --carriers times an exported --model')
    codecs = [(grm_jax.load(args.model, carrier=c), f'{args.model} ({c} carrier)') for c in args.carriers]
    if not codecs[0][0].carrier:
      raise SystemExit(f'codec_speed.py: error: {args.model} has no portable entropy path, so no carrier to choose')
    _side_by_side(codecs, image, args.repeats)
    return
  for codec, name in _codecs(args):
    if args.replay:
      with replay.loopback():
        _measure(codec, name + ', range coding replayed', image, args.image, True)
    else:
      _measure(codec, name, image, args.image, False)
  print(f"peak memory (resident, this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == '__main__':
  main()
