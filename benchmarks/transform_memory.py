"""The memory the transforms need for one image, by XLA's own account of the compiled programs (what
grm_jax/codec/memory.py checks against free memory before coding), for square images of several sizes.

  python benchmarks/transform_memory.py --sides 256 1024 2048 10000

Nothing is run: each program is only compiled, so sizes far beyond this machine's memory can be asked about.
"""
import argparse

import grm_jax
from grm_jax import zoo
from grm_jax.codec import memory


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', default=zoo.DEFAULT)
  parser.add_argument('--sides', type=int, nargs='+', default=[256, 1024, 2048, 10000])
  args = parser.parse_args()
  codec = grm_jax.load(args.model)
  free = memory.available_bytes()
  print(f"model {zoo.display_name(zoo.resolve(args.model))}; free memory now "
        f"{'unknown' if free is None else f'{free / 2 ** 30:.1f} GiB'}")
  print("| image | analysis GiB | synthesis GiB | bytes per pixel (larger) |\n| --- | --- | --- | --- |")
  for side in args.sides:
    needs = list(codec.transform_bytes(side, side).values())
    print(f"| {side}x{side} | {needs[0] / 2 ** 30:.2f} | {needs[1] / 2 ** 30:.2f} | {max(needs) / side ** 2:.0f} |",
          flush=True)


if __name__ == '__main__':
  main()
