"""What one decoding step of an autoregressive model costs, by the number of positions it decodes at once.

  python benchmarks/step_cost.py --model DIR                 # a model exported with --portable
  python benchmarks/step_cost.py --config configs/grm.py --calibration-data ../shared/data/train
                                                             # the paper-size model, random weights, portable
Prints the coding order's group sizes at that image size, then for each --sizes K the median time of one
compiled step (commit a group of K positions and predict the next K; the sizes timed in turn) and XLA's count of
its flops and bytes; then the floor that reading the step's weights sets: their bytes in the carrier's form, over
the rate at which the exact matmul of the largest of them, alone, reads them.
A decode is the sum of its steps; every step is padded to the largest group.
"""
import argparse
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

import alternate
import grm_jax
from grm_jax import models
from grm_jax.codec import latent_coders, model_dir
from grm_jax.config_io import load_config
from grm_jax.entropy_models import coding_order
from grm_jax.portable import conversion, entropy_path, exact


def _codec(args):
  if args.model:
    return grm_jax.load(args.model, carrier=args.carrier)
  if not args.calibration_data:
    raise SystemExit('step_cost.py: error: --config needs --calibration-data FOLDER (for the portable export)')
  config = load_config(args.config)
  model = models.build(config)
  params = model.init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))['params']
  folder = tempfile.mkdtemp()
  model_dir.export(params, config, folder, calibration_images=conversion.calibration_images(args.calibration_data,
                                                                                              count=2))
  return grm_jax.load(folder, carrier=args.carrier)


def _medians_ms(steps, repeats):
  """The median time of each step, timed in turn."""
  for step in steps:
    step()  # compiles
  rounds_of_each = alternate.in_turn([_timed(step) for step in steps], repeats)
  return [1e3 * alternate.medians(rounds)[0] for rounds in rounds_of_each]


def _timed(step):
  def measure():
    start = time.perf_counter()
    jax.block_until_ready(step())
    return (time.perf_counter() - start,)
  return measure


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', help='an exported model directory (instead of --config)')
  parser.add_argument('--config', default='configs/grm.py')
  parser.add_argument('--calibration-data', metavar='FOLDER')
  parser.add_argument('--carrier', choices=('float32', 'int8'), help="the portable path's matmuls (default: faster)")
  parser.add_argument('--size', type=int, nargs=2, default=(768, 512), metavar=('WIDTH', 'HEIGHT'),
                      help='image size (default 768 512)')
  parser.add_argument('--sizes', type=int, nargs='+', default=(4, 8, 12, 16), help='positions a step (K)')
  parser.add_argument('--repeats', type=lambda text: max(1, int(text)), default=30)
  args = parser.parse_args()
  codec = _codec(args)
  coder = codec.y_coder
  if not isinstance(coder, latent_coders.AutoregressiveCoder):
    raise SystemExit(f'step_cost.py: error: the {codec.family} family decodes y in one pass, not step by step')
  if not coder.path.carrier:
    raise SystemExit('step_cost.py: error: it times the portable path\'s fused step; export the model with --portable')
  h, w = args.size[1] // 16, args.size[0] // 16
  sizes = [len(rows) for rows, _ in coding_order.decoding_steps(h, w, coder.order)]
  print(f"{codec.family}, {coder.order} order, {w}x{h} latent: {len(sizes)} steps of 1 to {max(sizes)} positions "
        f"(mean {np.mean(sizes):.1f}); {coder.path.carrier} carrier")
  p, ranks = coder.path.params, jnp.asarray(coding_order.position_ranks(h, w, coder.order))
  hyper = jnp.zeros((h, w, 2 * codec.config.model.latent_channels), jnp.int32)
  rows_all, cols_all, _ = max(latent_coders.decoding_groups(h, w, coder.order), key=lambda group: group[2])
  predict, advance = coder._predict, coder._advance  # pylint: disable=protected-access
  steps, costs = [], []
  for k in args.sizes:
    rows, cols = rows_all[:k], cols_all[:k]
    full = coding_order.StepWork()  # every part of a step timed: a causal order's step (checkerboard: less)
    mu, _, _, pending = predict(p, coder.path.initial_state(h, w), hyper, rows, cols, ranks, full)
    symbols = jnp.zeros(mu.shape, jnp.int32)
    arguments = [p, coder.path.initial_state(h, w), rows, cols, mu, symbols, pending, hyper, rows, cols, ranks,
                 full, full]
    costs.append(_cost(advance, arguments))

    def step(arguments=arguments):
      arguments[1], predicted = advance(*arguments)
      return predicted

    steps.append(step)
  for k, ms, cost in zip(args.sizes, _medians_ms(steps, args.repeats), costs):
    print(f"K={k}: {ms:.1f} ms a step{cost}")
  _weight_floor(p, max(args.sizes), len(sizes), args.repeats)


def _weight_floor(qparams, positions, steps, repeats):
  """Prints what reading the weights of the layers every step runs costs."""
  weights = {name: value for name, value in qparams.items() if entropy_path.runs_every_step(name)}
  step_bytes = sum(value.nbytes for value in weights.values())
  largest = max(weights.values(), key=lambda value: value.nbytes)
  activations = jnp.zeros((positions, largest.shape[0]), jnp.int32)
  dot = jax.jit(exact.exact_dot)
  [ms] = _medians_ms([lambda: dot(activations, largest)], repeats)
  rate = largest.nbytes / ms / 1e6  # GB/s
  floor_ms = step_bytes / rate / 1e6
  print(f"weights read a step: {step_bytes / 1e6:.1f} MB in {len(weights)} layers; the largest layer's exact "
        f"matmul alone ({positions} positions) reads its {largest.nbytes / 1e6:.1f} MB at {rate:.1f} GB/s, so the "
        f"weights take {floor_ms:.1f} ms a step, {floor_ms * steps / 1e3:.2f} s over the {steps} steps")


def _cost(advance, arguments):
  """XLA's flops and bytes of the fused step."""
  analysis = advance.lower(*arguments).compile().cost_analysis()
  analysis = analysis[0] if isinstance(analysis, list) else analysis
  return f", {analysis.get('flops', 0) / 1e9:.2f} GFLOP, {analysis.get('bytes accessed', 0) / 1e6:.0f} MB accessed"


if __name__ == '__main__':
  main()
