"""The conditional Gaussian of y: unit-bin likelihoods of a Gaussian with predicted mean and scale."""
import jax.numpy as jnp
from jax.scipy.special import ndtr

from grm_jax.layers.parameterization import lower_bound

SCALE_BOUND = 0.11  # CompressAI's lower bound on sigma; smaller scales cost nothing and destabilise training
LIKELIHOOD_BOUND = 1e-9


def bounded_scale(sigma, bound=SCALE_BOUND):
  return lower_bound(sigma, bound)


def gaussian_likelihood(y, mu, sigma):
  """P(bin of unit width centred at y) under N(mu, sigma^2); sigma is used as given (bound it first).

  Evaluated on the lower tail (|y - mu| folded to negative values), where the normal CDF keeps its precision.
  """
  value = jnp.abs(y - mu)
  upper = ndtr((0.5 - value) / sigma)
  lower = ndtr((-0.5 - value) / sigma)
  return lower_bound(upper - lower, LIKELIHOOD_BOUND)


def bits(likelihood):
  """Information content, in bits, summed over all elements."""
  return -jnp.sum(jnp.log2(likelihood))
