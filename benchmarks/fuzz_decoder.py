"""Fuzzes the decoder with mutations of valid .grm files and prints what happened (grm_jax/codec/fuzzing.py).

  python benchmarks/fuzz_decoder.py --mutations 3000 --seed 0      # the shipped default model

Files: crops of the two sample photographs (one of them two rows high: a folded file), and a flat image, coded
by the model. Every mutation must decode or be refused with a GrmError (one line on the command line); anything
else is listed as a failure, and the exit status is 1.
"""
import argparse
import os
import sys
import time

import numpy as np

import grm_jax
from grm_jax import image_io, zoo
from grm_jax.codec import fuzzing

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'samples')


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', default=zoo.DEFAULT)
  parser.add_argument('--mutations', type=int, default=3000)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  codec = grm_jax.load(args.model)
  images = [image_io.read_image(os.path.join(SAMPLES, 'kodim23.png'))[:128, :192],
            image_io.read_image(os.path.join(SAMPLES, 'kodim15.png'))[64:192, :128],
            np.full((64, 64, 3), 90, np.uint8),
            image_io.read_image(os.path.join(SAMPLES, 'kodim15.png'))[300:302, :]]  # thin: a folded, version-3 file
  files = [codec.compress(image) for image in images]
  for data in files:
    codec.decode(data)  # compiles
  start = time.perf_counter()
  report = fuzzing.fuzz(codec, files, args.mutations, seed=args.seed)
  seconds = time.perf_counter() - start
  print(f"{report.tried} mutations of {len(files)} files ({', '.join(f'{len(d)} bytes' for d in files)}), model "
        f"{args.model}, seed {args.seed}: {seconds:.0f} s")
  print("by kind: " + ', '.join(f"{kind} {n}" for kind, n in sorted(report.kinds.items())))
  print("| outcome | mutations |\n| --- | --- |")
  for outcome, n in report.outcomes.most_common():
    print(f"| {outcome} | {n} |")
  print(f"slowest decode {report.slowest_seconds:.2f} s ({report.slowest_kind}); peak resident memory of the "
        f"process {report.peak_rss_mb:.0f} MB; failures (neither decoded nor refused): {len(report.failures)}")
  for kind, text in report.failures[:20]:
    print(f"  {kind}: {text}")
  return 1 if report.failures else 0


if __name__ == '__main__':
  sys.exit(main())
