"""Two kernels of the decoder, each in the form the code uses beside the form it replaced, side by side.

  python benchmarks/decoder_kernels.py [--rounds 5]

- g_s at paper size (N=192, M=384): forward at 768x512 (a decode's synthesis) and the gradient of a batch of 8
  256x256 reconstructions (training), with its wide up-sampling layers as four phase convolutions
  (layers.PhaseConvTranspose: 25 products per output) or as one sub-pixel convolution (SubpixelConvTranspose: 36,
  11 of them with zeros).
- The scale-table index of a decoding step's sigmas (768 positions x 384 channels, the second checkerboard pass of
  the paper-size model at 768x512): the binary search of portable.entropy_path.scale_index against the count of
  scales below sigma that it replaced (the same integers).
Random weights and inputs: the speed does not depend on them. Medians of the rounds, the forms alternating.
"""
import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import alternate
from grm_jax.codec import tables
from grm_jax.layers import conv
from grm_jax.models import transforms
from grm_jax.portable import entropy_path


def _timed(function, *args):
  def measure():
    start = time.perf_counter()
    jax.block_until_ready(function(*args))
    return (time.perf_counter() - start,)
  jax.block_until_ready(function(*args))  # compiles
  return measure


def _synthesis_measures(up_sampling):
  """(forward, gradient) measures of paper-size g_s with `up_sampling` as its wide layers' class."""
  original = transforms.PhaseConvTranspose
  transforms.PhaseConvTranspose = up_sampling  # the name SynthesisTransform builds its wide layers with
  try:
    synthesis = transforms.SynthesisTransform(192)
    y = jax.random.normal(jax.random.PRNGKey(0), (1, 32, 48, 384))
    variables = synthesis.init(jax.random.PRNGKey(1), y)
    batch = jax.random.normal(jax.random.PRNGKey(2), (8, 16, 16, 384))
    forward = jax.jit(synthesis.apply)
    gradient = jax.jit(jax.grad(lambda v, x: jnp.mean(synthesis.apply(v, x) ** 2)))
    return _timed(forward, variables, y), _timed(gradient, variables, batch)
  finally:
    transforms.PhaseConvTranspose = original


def _count_below(scale_table, sigma):
  return jnp.sum(scale_table[:-1] < sigma[..., None], axis=-1).astype(jnp.int32)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=5)
  args = parser.parse_args()

  forms = {'phase convolutions': conv.PhaseConvTranspose, 'one sub-pixel convolution': conv.SubpixelConvTranspose}
  measures = [measure for form in forms.values() for measure in _synthesis_measures(form)]
  results = alternate.in_turn(measures, args.rounds)
  print(f'jax {jax.__version__}, {jax.devices()[0].device_kind}; medians of {args.rounds} rounds')
  for i, name in enumerate(forms):
    (forward,), (gradient,) = alternate.medians(results[2 * i]), alternate.medians(results[2 * i + 1])
    print(f'g_s, wide layers as {name}: forward 768x512 {forward:.3f} s, gradient batch 8 of 256x256 {gradient:.3f} s')

  table = jnp.asarray(tables.scale_table(), jnp.float32)
  sigma = jnp.asarray(np.exp(np.random.default_rng(0).uniform(-3, 5, (768, 384))), jnp.float32)
  searches = {'binary search (scale_index)': jax.jit(entropy_path.scale_index),
              'count of scales below': jax.jit(_count_below)}
  indexes = [np.asarray(search(table, sigma)) for search in searches.values()]
  assert all((index == indexes[0]).all() for index in indexes), 'the two forms give different indexes'
  results = alternate.in_turn([_timed(search, table, sigma) for search in searches.values()], args.rounds)
  for name, rounds in zip(searches, results):
    print(f'scale index of 768x384 sigmas, {name}: {alternate.medians(rounds)[0] * 1e3:.1f} ms')


if __name__ == '__main__':
  main()
