"""Quantisation proxies: uniform noise for the rate while training, rounding (straight-through) otherwise."""
import jax
import jax.numpy as jnp


def add_uniform_noise(x, rng):
  """x + U(-0.5, 0.5): the differentiable stand-in for rounding in the rate term (Balle 2017)."""
  return x + jax.random.uniform(rng, x.shape, x.dtype, -0.5, 0.5)


def round_with_offset(x, offset=0.0):
  """round(x - offset) + offset: the value the decoder sees when symbols are coded relative to `offset`."""
  return jnp.round(x - offset) + offset


def straight_through_round(x, offset=0.0):
  """Rounds in the forward pass and passes the gradient unchanged (for the synthesis transform's input)."""
  return x + jax.lax.stop_gradient(round_with_offset(x, offset) - x)
