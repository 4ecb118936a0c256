"""Turns a short loan of a GPU box into a trained model: pack here, train there, export here.

The box (one H100 or H200, Python 3.12, current JAX, no TensorFlow, no ml-collections, no network) receives the
working tree, at most 64 MiB, and returns at most 64 MiB, 16 MiB a file, 8 files. So:

  1. here, on the CPU machine:
       python recipes/gpu_box.py pack                    # gpu_bundle/: a packed subset of the training set + wheels
  2. on the box, in the repository root (the device tool: carry gpu_bundle):
       python3 recipes/gpu_box.py train --minutes 8 --config configs/grm_small.py \
           --init-from grm-small --out $OUT/run
       python3 recipes/gpu_box.py bench --out $OUT       # steps/s of what a loan trains, the input pipeline, the peer
  3. here again:
       grm export OUT/run grm_jax/pretrained/my-gpu-model --dtype float16

`train` installs the missing wheels from the bundle, runs train.py on the bundle's images for the given minutes (from
scratch, or from a shipped model or model directory with --init-from; the config's schedule is kept, so a second
loan with the same command and a workdir that survived resumes it), and writes the parameters (float16, or --dtype
float32) in chunks of at most 15 MiB (training/params_bundle.py), the run record and the steps done to --out.
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
# The box has grm_jax as a checkout, not installed: this script and the benchmarks it starts import it from here.
sys.path.insert(0, str(REPO))
os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')]))

BUNDLE = REPO / 'gpu_bundle'
# What the box lacks (its image has jax, flax, optax, orbax-checkpoint, pillow, absl-py, PyYAML, tqdm, scipy,
# numba with llvmlite for the range coder, and PyTorch): ml-collections for the configs, and CompressAI with the
# small package it needs for the peer. (llvmlite's wheel alone is 57 MiB, most of what may travel.)
WHEELS = ('ml-collections==1.1.0', 'compressai==1.2.8', 'pytorch-msssim==1.0.0')
PLATFORMS = ('manylinux_2_34_x86_64', 'manylinux_2_28_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64')
TREE_LIMIT = 64 * 2**20


def _as_jpeg(path):
  """A JPEG file as it is; anything else (large PNGs) as a JPEG of quality 95, to fit more photographs."""
  import io  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  from PIL import Image  # pylint: disable=import-outside-toplevel
  if path.suffix.lower() in ('.jpg', '.jpeg'):
    return path.read_bytes()
  buffer = io.BytesIO()
  Image.fromarray(image_io.read_image(path)).save(buffer, format='JPEG', quality=95)
  return buffer.getvalue()


def pack(args):
  """A deterministic random subset of the config's training images up to --megabytes, and the wheels."""
  from grm_jax.config_io import load_config  # pylint: disable=import-outside-toplevel
  from grm_jax.training import input_pipeline  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  config = load_config(args.config)
  source = input_pipeline.open_source(config.train_data, args.data_dir, config.get('held_out', ''))  # never packed
  out = pathlib.Path(args.out)
  shutil.rmtree(out / 'data', ignore_errors=True)
  (out / 'data').mkdir(parents=True)
  budget, used, count = args.megabytes * 2**20, 0, 0
  for index in np.random.default_rng(0).permutation(len(source.paths)):
    path = pathlib.Path(source.paths[index])
    data = _as_jpeg(path)
    if used + len(data) > budget:
      continue
    (out / 'data' / f'{count:04d}_{path.stem}.jpg').write_bytes(data)
    used, count = used + len(data), count + 1
  wheels = out / 'wheels'
  shutil.rmtree(wheels, ignore_errors=True)  # an earlier pack's wheels would travel and be installed too
  wheels.mkdir()
  platforms = [flag for platform in PLATFORMS for flag in ('--platform', platform)]
  subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:',
                  '--python-version', '3.12', '--implementation', 'cp', *platforms, '-d', str(wheels), *WHEELS],
                 check=True)
  tracked = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO, capture_output=True, check=True).stdout
  tree = sum((REPO / name).stat().st_size for name in tracked.decode().split('\0') if name and
             (REPO / name).is_file())
  bundle = sum(p.stat().st_size for folder in (out, REPO / '.xdev') for p in folder.rglob('*') if p.is_file())
  print(f"{out}: {count} of {len(source.paths)} training images ({used / 2**20:.1f} MiB) and "
        f"{len(list(wheels.glob('*.whl')))} wheels; with the tracked files and .xdev/ {(tree + bundle) / 2**20:.1f} "
        f"MiB travel (limit {TREE_LIMIT / 2**20:.0f} MiB)")
  if tree + bundle > TREE_LIMIT:
    sys.exit(f"gpu_box.py: error: {(tree + bundle) / 2**20:.1f} MiB is over the {TREE_LIMIT / 2**20:.0f} MiB the box "
             "accepts; pack with fewer --megabytes")


def _install_wheels(bundle):
  """Makes the bundle's wheels importable (pip into a private folder; no network needed)."""
  try:
    import ml_collections  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    return
  except ImportError:
    pass
  site = pathlib.Path('/tmp/grm_site')
  subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile',
                  '--target', str(site), *map(str, sorted((bundle / 'wheels').glob('*.whl')))], check=True)
  sys.path.insert(0, str(site))
  os.environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(site), os.environ.get('PYTHONPATH')]))


def train(args):
  """train.py itself, on the bundle's images for --minutes, then its last checkpoint as a parameter bundle."""
  bundle = pathlib.Path(args.bundle)
  _install_wheels(bundle)
  from grm_jax import zoo  # pylint: disable=import-outside-toplevel
  command = [sys.executable, 'train.py', '--config', args.config, '--workdir', args.workdir,
             f'--config.train_data=folder:{bundle / "data"}', '--config.val_data=', '--config.held_out=',
             f'--config.time_limit_minutes={args.minutes}', *(f'--config.{pair}' for pair in args.set)]
  if args.init_from:
    # relative to the checkout: the run's record keeps no path of the box
    command.append(f'--config.init_from={os.path.relpath(zoo.resolve(args.init_from), REPO)}')
  start = time.perf_counter()
  subprocess.run(command, cwd=REPO, check=True)
  seconds = time.perf_counter() - start

  import ml_collections  # pylint: disable=import-outside-toplevel
  from grm_jax.training import checkpoints, params_bundle  # pylint: disable=import-outside-toplevel
  params, config, step = checkpoints.restore_latest_params(str(pathlib.Path(args.workdir) / 'checkpoints'))
  out = pathlib.Path(args.out)
  params_bundle.write(out, params, ml_collections.ConfigDict(config), step, dtype=args.dtype)
  shutil.copyfile(pathlib.Path(args.workdir) / 'provenance.json', out / 'provenance.json')
  (out / 'run.json').write_text(json.dumps({'steps': step, 'wall_seconds': round(seconds, 1)}, indent=2) + '\n')
  print(f"wrote {out}: step {step} after {seconds:.0f} s (train.py, compiles included); here: "
        f"grm export {out} grm_jax/pretrained/NAME --dtype float16")


def bench(args):
  """Steps/s of what the loan trains, first (grm_small at the shipped models' batch, float32 and bfloat16
  transforms, with the input pipeline's batches/s on the bundle's photographs beside it: which one bounds a step;
  grm_medium, which the train phase trains, at the same batch), then the paper-size grm and the PyTorch peer.
  Each run has at most --seconds, so the whole stays inside its share of a loan."""
  bundle = pathlib.Path(args.bundle)
  _install_wheels(bundle)
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  step = ['benchmarks/train_step.py', '--patch', '256', '--steps', '20']
  runs = [step + ['--config', 'configs/grm_small.py', '--batch', '16', '--transform-dtype', 'float32',
                  '--data', str(bundle / 'data')],
          step + ['--config', 'configs/grm_small.py', '--batch', '16', '--transform-dtype', 'bfloat16'],
          step + ['--config', 'configs/grm_medium.py', '--batch', '16'],
          step + ['--config', 'configs/grm.py', '--batch', '8'],
          ['benchmarks/peer_train_step.py', '--device', 'cuda', '--steps', '20', '--rounds', '1']]
  with open(out / 'bench.txt', 'w', encoding='utf-8') as log:
    for run in runs:
      try:
        result = subprocess.run([sys.executable, *run], cwd=REPO, capture_output=True, text=True, check=False,
                                timeout=args.seconds)
        text = f"{result.stdout}{result.stderr[-2000:] if result.returncode else ''}"
      except subprocess.TimeoutExpired as stopped:
        printed = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else stopped.stdout or ''
        text = f"{printed}(stopped after {args.seconds} s)\n"
      text = f"$ python {' '.join(run)}\n{text}\n"
      print(text, flush=True)
      log.write(text)


def params_bundle_dtypes():
  from grm_jax.training import params_bundle  # pylint: disable=import-outside-toplevel
  return params_bundle.DTYPES


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest='command', required=True)
  packing = commands.add_parser('pack', help='here: the training subset and the wheels, into gpu_bundle/')
  packing.add_argument('--config', default='configs/grm_small.py', help='whose train_data to sample')
  packing.add_argument('--data-dir', default='../shared/data/train', help="where the config's folders are")
  packing.add_argument('--megabytes', type=float, default=20.0, help='size of the training subset')
  packing.add_argument('--out', default=str(BUNDLE))
  packing.set_defaults(run=pack)
  training = commands.add_parser('train', help='on the box: train for some minutes, write a parameter bundle')
  training.add_argument('--minutes', type=float, required=True)
  training.add_argument('--config', default='configs/grm_small.py')
  training.add_argument('--init-from', default='', help='a shipped model name or a model directory')
  training.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE',
                        help="config overrides, as train.py's --config.FIELD=VALUE")
  training.add_argument('--workdir', default='/tmp/grm_gpu_run')
  training.add_argument('--bundle', default=str(BUNDLE))
  training.add_argument('--dtype', default='float16', choices=params_bundle_dtypes(),
                        help='of the parameters written (float32 to go on training elsewhere; twice the bytes)')
  training.add_argument('--out', required=True)
  training.set_defaults(run=train)
  benchmark = commands.add_parser('bench', help='on the box: train-step speed, ours and the peer')
  benchmark.add_argument('--bundle', default=str(BUNDLE))
  benchmark.add_argument('--out', required=True)
  benchmark.add_argument('--seconds', type=float, default=40, help='the most one run may take')
  benchmark.set_defaults(run=bench)
  args = parser.parse_args()
  args.run(args)


if __name__ == '__main__':
  main()
