"""Symbols a second of the project's range coder and of tensorflow-compression's op, on the same symbols, in one run.

  .venv-tf/bin/python benchmarks/range_coder_speed.py     # both (the TensorFlow stage has the op)
  .venv/bin/python benchmarks/range_coder_speed.py        # the project's coder only

The symbols are what the codec codes for y: latents drawn from the project's 64 Gaussian tables (tables.py) with
scale indexes spread over the bottom half of the table, as trained models use it, and 0.1% of values escaped past
the table. Decoding runs in one call and, as the autoregressive families decode, in pieces of `--piece` symbols
(one wavefront step of the paper-size model at 768x512 holds about 11 positions x 384 channels). Each coder runs
`--rounds` times alternately; the medians are printed, with their ratio.
"""
import argparse
import os
import time

import numpy as np

import alternate
from grm_jax.codec import range_coder, tables


def symbols(count, seed=0):
  rng = np.random.default_rng(seed)
  scales = tables.scale_table()
  lookup, offsets = tables.gaussian_tables(scales)
  indexes = rng.integers(0, len(scales) // 2, count).astype(np.int32)
  values = np.round(rng.normal(0, scales[indexes])).astype(np.int32)
  escaped = rng.random(count) < 0.001
  values[escaped] = (offsets[indexes[escaped]] - rng.integers(1, 100, int(escaped.sum())))
  return lookup, offsets, indexes, values


def time_coder(coder, lookup, offsets, indexes, values, piece):
  """(encode, decode in one call, decode in pieces) seconds; checks the round trip."""
  start = time.perf_counter()
  string = coder.encode(lookup, offsets, indexes, values)
  encode_seconds = time.perf_counter() - start
  start = time.perf_counter()
  decoded = coder.Decoder(string, lookup, offsets).decode(indexes)
  decode_seconds = time.perf_counter() - start
  start = time.perf_counter()
  decoder = coder.Decoder(string, lookup, offsets)
  pieces = [decoder.decode(indexes[i:i + piece]) for i in range(0, len(indexes), piece)]
  pieces_seconds = time.perf_counter() - start
  assert np.array_equal(decoded, values) and np.array_equal(np.concatenate(pieces), values)
  return encode_seconds, decode_seconds, pieces_seconds, string


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--symbols', type=int, default=2_000_000)
  parser.add_argument('--piece', type=int, default=4224)
  parser.add_argument('--rounds', type=int, default=5)
  args = parser.parse_args()
  data = symbols(args.symbols)
  coders = {'grm_jax (numba)': range_coder}
  try:
    from grm_jax.codec import tfc_reference  # pylint: disable=import-outside-toplevel
    tfc_reference.quantized_cdf([0.5, 0.5])  # imports TensorFlow, or says why it cannot
    coders["tensorflow-compression's op"] = tfc_reference
  except range_coder.GrmError as error:
    print(f"tensorflow-compression's op not timed: {str(error).splitlines()[0]}")
  strings = {}
  for name, coder in coders.items():  # warm-up: compiles, loads caches, creates TensorFlow's context
    strings[name] = time_coder(coder, *data, args.piece)[3]
  measures = [lambda coder=coder: time_coder(coder, *data, args.piece)[:3] for coder in coders.values()]
  times = dict(zip(coders, alternate.in_turn(measures, args.rounds)))
  if len(strings) == 2:
    print(f"same bytes: {len(set(strings.values())) == 1} ({len(next(iter(strings.values())))} bytes)")
  print(f"{args.symbols} symbols, medians of {args.rounds} rounds, million symbols a second "
        f"(machine: {os.cpu_count()} cores)")
  print(f"{'coder':<30} {'encode':>8} {'decode':>8} {f'decode in pieces of {args.piece}':>28}")
  medians = {}
  for name, rounds in times.items():
    medians[name] = alternate.medians(rounds)
    rates = [args.symbols / seconds / 1e6 for seconds in medians[name]]
    print(f"{name:<30} {rates[0]:>8.1f} {rates[1]:>8.1f} {rates[2]:>28.1f}")
  if len(medians) == 2:
    ours, theirs = medians.values()
    print(f"{'speed-up (op time / ours)':<30} " + ' '.join(
        f"{t / o:>{w}.2f}" for o, t, w in zip(ours, theirs, (8, 8, 28))))


if __name__ == '__main__':
  main()
