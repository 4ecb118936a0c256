"""The command line from a cold start: a fresh `grm` process per command, wall time, beside CompressAI's peer doing
the same in a fresh process, and a folder of photos in one process against the sum of their warm per-image times.

  python benchmarks/cold_start.py --peer-python /path/to/torch-venv/bin/python --folder ../shared/data/kodak

Ours: `grm compress IMAGE OUT` and `grm decompress OUT PNG` with the default model, timed from the process's start
to its end, with the compilation cache empty (a new folder each round: the first run ever), warm (the folder the
warm-up filled), and off (GRM_CACHE_DIR=off). The peer: a fresh Python that imports torch and compressai, builds
CompressAI 1.2.8's mbt2018-mean network (MeanScaleHyperprior(192, 320), random weights: the zoo's weights are a
download), reads the image, codes it and writes the result, the same two jobs. Each measurement runs once a round,
in turn (benchmarks/alternate.py), and the medians of the rounds are printed. The folder: its photos cropped to
mixed sizes, coded by one `grm compress --out-dir` process (cache warm), against the sum over the photos of one
warm encode each (a process that has compiled for that shape already).
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

import alternate

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent

PEER = r'''
import sys, time
start = time.perf_counter()
import numpy as np, torch
from PIL import Image
from compressai.models import MeanScaleHyperprior
torch.manual_seed(0)
net = MeanScaleHyperprior(192, 320).eval()
net.update(force=True)
job, source, target = sys.argv[1:4]
with torch.no_grad():
  if job == 'compress':
    x = torch.from_numpy(np.asarray(Image.open(source).convert('RGB'), np.float32) / 255).permute(2, 0, 1)[None]
    h, w = x.shape[2:]
    x = torch.nn.functional.pad(x, (0, (-w) % 64, 0, (-h) % 64))
    out = net.compress(x)
    with open(target, 'wb') as f:
      f.write(np.array([h, w, len(out['strings'][0][0]), *out['shape']], np.int32).tobytes())
      f.write(out['strings'][0][0] + out['strings'][1][0])
  else:
    data = open(source, 'rb').read()
    h, w, n, sh, sw = np.frombuffer(data[:20], np.int32)
    x = net.decompress([[data[20:20 + n]], [data[20 + n:]]], (int(sh), int(sw)))['x_hat'][0, :, :h, :w]
    Image.fromarray((x.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(target)
'''


def _timed(command, env=None):
  """Seconds from a process's start to its end; the command must succeed."""
  start = time.perf_counter()
  result = subprocess.run(command, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          check=False)
  seconds = time.perf_counter() - start
  if result.returncode:
    sys.exit(f"cold_start.py: {' '.join(map(str, command))} failed: {result.stderr.strip()[-500:]}")
  return seconds


def _grm(*args):
  return [sys.executable, '-m', 'grm_jax', *map(str, args), '--force']


def _mixed_sizes(folder, out, count):
  """The folder's first `count` photos, cropped to sizes that differ from photo to photo (multiples of 16 and
  not), as PNG files in `out`."""
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  paths = image_io.list_images(folder)[:count]
  for i, path in enumerate(paths):
    image = image_io.read_image(path)
    h, w = image.shape[:2]
    crop = image[:h - 40 * (i % 4) - 3 * (i % 2), :w - 56 * (i % 3)]
    image_io.write_png(pathlib.Path(out) / f'{pathlib.Path(path).stem}.png', crop)
  return sorted(pathlib.Path(out).iterdir())


def _warm_encode_seconds(paths):
  """Per photo, the encode time of a process that has compiled for its shape (the second of two encodes)."""
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  codec = grm_jax.load()
  seconds = []
  for path in paths:
    image = image_io.read_image(path)
    codec.compress(image)
    start = time.perf_counter()
    codec.compress(image)
    seconds.append(time.perf_counter() - start)
  return seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image', default=str(REPO / 'samples' / 'kodim23.png'))
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--peer-python', help="a Python with torch and compressai 1.2.8 (the peer is skipped without)")
  parser.add_argument('--folder', help='photos for the folder measurement (its first --count, cropped to mixed sizes)')
  parser.add_argument('--count', type=int, default=24)
  args = parser.parse_args()
  work = pathlib.Path(tempfile.mkdtemp())
  warm_cache = work / 'warm'
  grm_file, png = work / 'a.grm', work / 'a.png'
  _timed(_grm('compress', args.image, grm_file), {'GRM_CACHE_DIR': str(warm_cache)})  # fills the warm cache
  _timed(_grm('decompress', grm_file, png), {'GRM_CACHE_DIR': str(warm_cache)})
  empty = iter(range(10**6))

  def ours(cache):
    def measure():
      env = {'GRM_CACHE_DIR': cache() if callable(cache) else cache}
      return (_timed(_grm('compress', args.image, grm_file), env), _timed(_grm('decompress', grm_file, png), env))
    return measure

  measures = {'grm, cache empty (first run)': ours(lambda: str(work / f'empty{next(empty)}')),
              'grm, cache warm': ours(str(warm_cache)),
              'grm, cache off': ours('off')}
  if args.peer_python:
    script = work / 'peer.py'
    script.write_text(PEER)
    peer_file = work / 'peer.bin'
    _timed([args.peer_python, script, 'compress', args.image, peer_file])  # its own caches (the OS's) warm too
    measures['CompressAI 1.2.8 mbt2018-mean'] = lambda: (
        _timed([args.peer_python, script, 'compress', args.image, peer_file]),
        _timed([args.peer_python, script, 'decompress', peer_file, work / 'peer.png']))
  rounds = alternate.in_turn(list(measures.values()), args.rounds)
  print(f"{pathlib.Path(args.image).name}, fresh process per command, wall seconds, median of {args.rounds} rounds")
  print("| | compress | decompress |\n| --- | --- | --- |")
  for name, result in zip(measures, rounds):
    compress, decompress = alternate.medians(result)
    print(f"| {name} | {compress:.2f} | {decompress:.2f} |")
  if args.folder:
    (work / 'photos').mkdir()
    photos = _mixed_sizes(args.folder, work / 'photos', args.count)
    (work / 'out').mkdir()
    env = {'GRM_CACHE_DIR': str(warm_cache)}
    _timed([sys.executable, '-m', 'grm_jax', 'compress', *map(str, photos), '--out-dir', str(work / 'out')], env)
    shutil.rmtree(work / 'out')
    (work / 'out').mkdir()
    batch = _timed([sys.executable, '-m', 'grm_jax', 'compress', *map(str, photos), '--out-dir', str(work / 'out')],
                   env)
    warm = sum(_warm_encode_seconds(photos))
    shapes = len({Image.open(p).size for p in photos})
    print(f"\nfolder of {len(photos)} photos ({shapes} sizes), one process, cache warm: {batch:.2f} s; the sum of "
          f"their warm encodes: {warm:.2f} s; ratio {batch / warm:.2f}")
  shutil.rmtree(work)


if __name__ == '__main__':
  main()
