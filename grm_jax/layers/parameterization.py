"""Non-negative reparameterisation and a lower bound that keeps gradients alive.

GDN-style layers divide by learned norms, so their parameters must stay positive. Balle's trick stores
sqrt(value + pedestal) and squares it back, with a lower bound whose gradient still flows when it would move the
parameter back into the allowed range: a plain clip would freeze a parameter that reaches its bound.
"""
import functools
import math

import jax
import jax.numpy as jnp


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def lower_bound(x, bound):
  """max(x, bound); its gradient passes where x >= bound or where descent would raise x (Balle's rule)."""
  return jnp.maximum(x, bound)


def _lower_bound_fwd(x, bound):
  return jnp.maximum(x, bound), x >= bound


def _lower_bound_bwd(bound, above, g):
  del bound
  return (jnp.where(above | (g < 0), g, jnp.zeros_like(g)),)


lower_bound.defvjp(_lower_bound_fwd, _lower_bound_bwd)

PEDESTAL = 2.0**-36  # (2^-18)^2, tensorflow-compression's reparameterisation offset squared


def nonneg_init(value):
  """Initial stored parameter for a desired non-negative value."""
  return jnp.sqrt(jnp.asarray(value, jnp.float32) + PEDESTAL)


def nonneg(stored, minimum=0.0):
  """The non-negative value represented by a stored parameter, never below `minimum`."""
  return jnp.square(lower_bound(stored, math.sqrt(minimum + PEDESTAL))) - PEDESTAL
