"""Encode and decode time per pixel for thin images against a square one of as many pixels, side by side in one
process: what folding thin images (grm_jax/codec/layout.py) buys.

  python benchmarks/shape_speed.py --pixels 65536          # square 256x256, 1x65536, 65536x1
  python benchmarks/shape_speed.py --pixels 65536 --unfolded   # also the thin images as they were coded before

Images are a photograph's pixels (kodim23) laid out in the shape. Each shape is compiled and coded once first;
the figures are the second run's. --unfolded codes the thin images without folding, once (compile included): that
is slow by design.
"""
import argparse
import math
import os
import time

import numpy as np

import grm_jax
from grm_jax import image_io, zoo
from grm_jax.codec import layout

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'samples', 'kodim23.png')


def _timed(codec, image, warm=True):
  if warm:
    codec.decompress(codec.compress(image))
  start = time.perf_counter()
  data = codec.compress(image)
  encode = time.perf_counter() - start
  start = time.perf_counter()
  codec.decompress(data)
  return encode, time.perf_counter() - start, len(data)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', default=zoo.DEFAULT)
  parser.add_argument('--pixels', type=int, default=65536)
  parser.add_argument('--unfolded', action='store_true')
  args = parser.parse_args()
  codec = grm_jax.load(args.model)
  photo = image_io.read_image(SAMPLE)
  side = math.isqrt(args.pixels)
  shapes = [(side, side), (1, args.pixels), (args.pixels, 1)]
  print(f"model {zoo.display_name(zoo.resolve(args.model))}; times per megapixel, second run")
  print("| shape | fold | encode s/MP | decode s/MP | bytes |\n| --- | --- | --- | --- | --- |")
  rows = [(shape, True) for shape in shapes] + ([(shape, False) for shape in shapes[1:]] if args.unfolded else [])
  for (height, width), folded in rows:
    image = np.resize(photo, (height * width, 3)).reshape(height, width, 3)  # the photograph's pixels, in order
    fold = layout.fold_for(height, width)
    if folded:
      encode, decode, size = _timed(codec, image)
    else:
      original, layout.fold_for = layout.fold_for, lambda h, w: layout.Fold()
      try:
        encode, decode, size = _timed(codec, image, warm=False)
      finally:
        layout.fold_for = original
      fold = layout.Fold()
    megapixels = height * width / 1e6
    print(f"| {height}x{width} | {fold.strips} strips{'' if folded else ' (unfolded, compile included)'} | "
          f"{encode / megapixels:.1f} | {decode / megapixels:.1f} | {size} |", flush=True)


if __name__ == '__main__':
  main()
