"""Encode and decode time of a real file: paper-size models of ours against CompressAI's mbt2018-mean, same image,
same run.

  python benchmarks/peer_decode.py --peer-python /path/to/torch-venv/bin/python \
      --config configs/grm.py --config configs/grm_checkerboard.py

Ours: each --config (default configs/grm.py: N=192, M=384, the global reference and the local context, wavefront
order; configs/grm_checkerboard.py decodes in two checkerboard passes), random weights, exported in the portable
form (integer entropy path, the default carrier), coding a real .grm file with the project's range coder; the
decode's parts (networks, entropy parameters, range coding) are the codec's own stopwatch.
The peer: CompressAI 1.2.8's MeanScaleHyperprior(192, 320), the network of its mbt2018-mean zoo models at
qualities 5-8 (no context model: it decodes in one pass), random weights, its own compress/decompress with its C++
rANS coder. Each side runs in its own process, alternately, `--rounds` times; each process times `--repeats`
encodes and decodes after a warm-up (compiles) and reports the medians. Where PyTorch or CompressAI is missing,
the script says so and times only ours.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import alternate

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _medians(encode, decode, repeats):
  """Median seconds of encode() and of decode(encode()) over `repeats` runs, after one warm-up run."""
  decode(encode())
  encode_times, decode_times = [], []
  for _ in range(repeats):
    start = time.perf_counter()
    data = encode()
    encode_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    decode(data)
    decode_times.append(time.perf_counter() - start)
  return statistics.median(encode_times), statistics.median(decode_times)


def _median_parts(parts):
  return {stage: statistics.median(run[stage] for run in parts) for stage in parts[0]}


def ours(image, repeats, calibration, config_path):
  import jax  # pylint: disable=import-outside-toplevel
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import model_dir  # pylint: disable=import-outside-toplevel
  from grm_jax.portable import conversion  # pylint: disable=import-outside-toplevel
  from grm_jax.config_io import load_config  # pylint: disable=import-outside-toplevel
  config = load_config(os.path.join(REPO, config_path))
  params = models.build(config).init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))['params']
  folder = tempfile.mkdtemp()
  model_dir.export(params, config, os.path.join(folder, 'model'),
                   calibration_images=conversion.calibration_images(calibration, count=2))
  codec = grm_jax.load(os.path.join(folder, 'model'))
  size, parts = [], []

  def encode():
    data = codec.encode(image, reconstruct=False).data
    size.append(len(data))
    return data

  def decode(data):
    decoded = codec.decode(data)
    parts.append(decoded.seconds)
    return decoded.image

  seconds = _medians(encode, decode, repeats)
  decode_parts = ', '.join(f'{stage} {value:.3f}' for stage, value in _median_parts(parts[1:]).items())
  what = (f"grm_jax {config.model.family}, jax {jax.__version__}, {codec.carrier} carrier, {size[-1]} bytes; "
          f"decode parts (s): {decode_parts}")
  return seconds, what


def peer(image, repeats):
  import torch  # pylint: disable=import-outside-toplevel
  import compressai  # pylint: disable=import-outside-toplevel
  from compressai.models import MeanScaleHyperprior  # pylint: disable=import-outside-toplevel
  torch.manual_seed(0)
  net = MeanScaleHyperprior(192, 320).eval()
  net.update(force=True)
  x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
  size = []

  def encode():
    with torch.no_grad():
      out = net.compress(x)
    size.append(sum(len(s[0]) for s in out['strings']))
    return out

  def decode(out):
    with torch.no_grad():
      return (net.decompress(out['strings'], out['shape'])['x_hat'].clamp(0, 1) * 255).round().to(torch.uint8)

  seconds = _medians(encode, decode, repeats)
  what = f"CompressAI {compressai.__version__}, PyTorch {torch.__version__}, {torch.get_num_threads()} threads, " \
         f"{size[-1]} bytes"
  return seconds, what


def _child(python, args, side, config_path=None):
  command = [python, os.path.abspath(__file__), '--side', side, '--image', args.image, '--repeats',
             str(args.repeats), '--calibration-data', args.calibration_data]
  command += ['--config', config_path] if config_path else []
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
  match = re.search(r'^RESULT ([0-9.]+) ([0-9.]+) (.*)$', result.stdout, re.MULTILINE)
  if not match:
    return None, (result.stdout + result.stderr).strip().splitlines()[-1]
  return (float(match.group(1)), float(match.group(2))), match.group(3)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image', default='samples/kodim23.png')
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--repeats', type=int, default=3, help='timed encodes and decodes per round, after a warm-up')
  parser.add_argument('--peer-python', default=sys.executable, help='interpreter with PyTorch and CompressAI')
  parser.add_argument('--calibration-data', metavar='FOLDER', required=True,
                      help='training photographs for the portable export (two are used)')
  parser.add_argument('--config', action='append', metavar='CONFIG',
                      help='a paper-size config of ours to time (repeatable; default configs/grm.py)')
  parser.add_argument('--side', choices=('ours', 'peer'), help=argparse.SUPPRESS)
  args = parser.parse_args()
  configs = args.config or ['configs/grm.py']
  for config_path in configs:
    if not os.path.isfile(os.path.join(REPO, config_path)):
      parser.error(f"--config {config_path}: no such config (paths are relative to the repository)")

  if args.side:
    from PIL import Image  # pylint: disable=import-outside-toplevel
    image = np.asarray(Image.open(os.path.join(REPO, args.image)).convert('RGB'))
    try:
      seconds, what = ours(image, args.repeats, args.calibration_data, configs[0]) if args.side == 'ours' else \
          peer(image, args.repeats)
    except ImportError as error:
      print(f"{args.side}: not timed, {error} (in {sys.executable})")
      return
    print(f"RESULT {seconds[0]:.4f} {seconds[1]:.4f} {what}")
    return

  sides = [(config_path, 'ours', sys.executable, config_path) for config_path in configs]
  sides.append(('peer', 'peer', args.peer_python, None))
  times, described = {name: [] for name, *_ in sides}, {}
  for _ in range(args.rounds):
    for name, side, python, config_path in sides:
      seconds, described[name] = _child(python, args, side, config_path)
      if seconds is not None:
        times[name].append(seconds)
  print(f"image: {args.image}; medians of {args.rounds} rounds, each the median of {args.repeats} runs")
  medians = {}
  for side, rounds in times.items():
    if not rounds:
      print(f"{side}: {described[side]}")
      continue
    medians[side] = alternate.medians(rounds)
    print(f"{side} ({described[side]}): encode {medians[side][0]:.3f} s, decode {medians[side][1]:.3f} s  "
          f"(rounds: {', '.join(f'{e:.2f}/{d:.2f}' for e, d in rounds)})")
  for name in configs:
    if name in medians and 'peer' in medians:
      print(f"{name} / peer: encode {medians[name][0] / medians['peer'][0]:.2f}x, "
            f"decode {medians[name][1] / medians['peer'][1]:.2f}x the peer's time")
  for name in configs[1:]:
    if name in medians and configs[0] in medians:
      print(f"{name} / {configs[0]}: encode {medians[name][0] / medians[configs[0]][0]:.2f}x, "
            f"decode {medians[name][1] / medians[configs[0]][1]:.2f}x its time")


if __name__ == '__main__':
  main()
