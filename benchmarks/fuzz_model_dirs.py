"""Fuzzes model directories: every named craft and random mutations of a valid one (grm_jax/codec/
model_dir_fuzzing.py), each loaded and used in a process of its own, and prints what happened.

  python benchmarks/fuzz_model_dirs.py --mutations 60 --seed 0      # the shipped default model
  python benchmarks/fuzz_model_dirs.py --crafts --model context-small  # each named craft's refusal, in this process

Each crafted directory must either be refused with one line on the command line (exit 1), or load and round-trip
a photograph crop exactly (the decoder's output equals the encoder's reconstruction). A crash, a signal, a
traceback, a hang past --timeout or a peak memory above --max-rss-mb is a failure, and the exit status is 1.
"""
import argparse
import collections
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from grm_jax import zoo
from grm_jax.codec import model_dir_fuzzing

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'samples', 'kodim23.png')


def probe(folder):
  """In the child process: load the model and round-trip a crop; exit 0 exact, 1 refused (one line), 3 inexact."""
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  from grm_jax.errors import GrmError  # pylint: disable=import-outside-toplevel
  try:
    codec = grm_jax.load(folder)
    image = image_io.read_image(SAMPLE)[:64, :96]
    encoded = codec.encode(image)
    exact = np.array_equal(codec.decompress(encoded.data), encoded.reconstruction)
  except GrmError as error:
    print(f"grm: error: {error}", file=sys.stderr)
    exact = None
  print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
  return {True: 0, None: 1, False: 3}[exact]


def _refusal_kind(stderr):
  text = stderr.strip().split('not a model this version of grm_jax can load (')[-1]
  text = re.sub(r'(?<![\w])/[^ ]*', 'PATH', text)  # absolute paths; not parameter names such as g_a/conv_0
  text = re.sub(r'\d+(\.\d+)?', 'N', text)
  text = re.sub(r"'[^']*'", "'X'", text)
  return text[:70]


def run_one(folder, timeout, max_rss_mb):
  """(outcome, detail) of one directory probed in a child process (which reports its own peak memory)."""
  start = time.perf_counter()
  try:
    done = subprocess.run([sys.executable, __file__, '--probe', str(folder)], capture_output=True, text=True,
                          timeout=timeout, check=False)
  except subprocess.TimeoutExpired:
    return 'failure: hang', f'over {timeout} s'
  seconds = time.perf_counter() - start
  rss = re.search(r'peak_rss_mb (\d+)', done.stdout)
  lines = done.stderr.strip().splitlines()
  if rss and float(rss.group(1)) > max_rss_mb:
    return 'failure: memory', f'{rss.group(1)} MB'
  if done.returncode == 0:
    return 'loaded, round trip exact', f'{seconds:.1f} s'
  if done.returncode == 1 and len(lines) == 1 and lines[0].startswith('grm: error: '):
    return 'refused in one line', _refusal_kind(lines[0])
  return f'failure: exit {done.returncode}', (lines[-1] if lines else '')[:200]


def crafts_table(source):
  """Each named craft loaded in this process: its refusal (the directory's path taken out) and the time taken."""
  from grm_jax.codec import model_dir  # pylint: disable=import-outside-toplevel
  from grm_jax.errors import GrmError  # pylint: disable=import-outside-toplevel
  print('| craft | refusal (after "DIR: ") | load time |\n| --- | --- | --- |')
  with tempfile.TemporaryDirectory() as scratch:
    for i, name in enumerate(model_dir_fuzzing.CRAFTS):
      folder = model_dir_fuzzing.craft(source, os.path.join(scratch, str(i)), name)
      start = time.perf_counter()
      try:
        model_dir.load(folder)
        message = 'LOADED: a failure'
      except GrmError as error:
        message = str(error).split(': ', 1)[1]
      print(f"| {name} | {message.replace('|', '/')} | {time.perf_counter() - start:.2f} s |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', default=zoo.DEFAULT)
  parser.add_argument('--mutations', type=int, default=60)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--timeout', type=float, default=120.0)
  parser.add_argument('--max-rss-mb', type=float, default=4000.0)
  parser.add_argument('--crafts', action='store_true', help="print each named craft's refusal and stop")
  parser.add_argument('--probe', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.probe:
    return probe(args.probe)
  source = zoo.resolve(args.model)
  if args.crafts:
    return crafts_table(source)
  outcomes, refusals, failures, slowest = collections.Counter(), collections.Counter(), [], (0.0, '')
  rng = np.random.default_rng(args.seed)
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as scratch:
    jobs = [(f'craft: {name}', lambda folder, name=name: model_dir_fuzzing.craft(source, folder, name))
            for name in model_dir_fuzzing.CRAFTS]
    jobs += [('mutation', lambda folder: model_dir_fuzzing.mutated(source, folder, rng))] * args.mutations
    for i, (label, make) in enumerate(jobs):
      folder = os.path.join(scratch, str(i))
      kind = make(folder)
      label = label if label != 'mutation' else f'mutation: {kind}'
      one_start = time.perf_counter()
      outcome, detail = run_one(folder, args.timeout, args.max_rss_mb)
      seconds = time.perf_counter() - one_start
      slowest = max(slowest, (seconds, label))
      outcomes[(label.split(':')[0], outcome)] += 1
      if outcome.startswith('refused'):
        refusals[detail] += 1
      if outcome.startswith('failure'):
        failures.append((label, outcome, detail))
      print(f"{i + 1}/{len(jobs)} {label}: {outcome} ({detail})", file=sys.stderr, flush=True)
  print(f"{len(jobs)} model directories ({len(model_dir_fuzzing.CRAFTS)} named crafts, {args.mutations} random "
        f"mutations, seed {args.seed}) of {zoo.display_name(source)}, each in its own process: "
        f"{time.perf_counter() - start:.0f} s; slowest {slowest[0]:.1f} s ({slowest[1]})")
  print("| directories | outcome | count |\n| --- | --- | --- |")
  for (label, outcome), n in sorted(outcomes.items()):
    print(f"| {label} | {outcome} | {n} |")
  print("\n| refusal (numbers, paths and names taken out) | count |\n| --- | --- |")
  for text, n in refusals.most_common():
    print(f"| {text} | {n} |")
  print(f"\nfailures: {len(failures)}")
  for label, outcome, detail in failures:
    print(f"  {label}: {outcome}: {detail}")
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main())
