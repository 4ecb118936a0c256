"""Balle's non-parametric factorized density ("entropy bottleneck"; DeepFactorized in tensorflow-compression).

Each channel has its own monotone cumulative function built from a small chain of positive matrices, so the
density can take any unimodal-or-not shape. It models z, and y in the factorized-prior baseline.
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from grm_jax.layers.parameterization import lower_bound

LIKELIHOOD_BOUND = 1e-9


def _centred_uniform(key, shape, dtype=jnp.float32):
  return jax.random.uniform(key, shape, dtype, -0.5, 0.5)


class FactorizedDensity(nn.Module):
  """Per-channel learned density of unit-width bins. Inputs are [..., channels]."""
  channels: int
  filters: Sequence[int] = (3, 3, 3)
  init_scale: float = 10.0

  def setup(self):
    dims = (1,) + tuple(self.filters) + (1,)
    scale = self.init_scale ** (1.0 / (len(dims) - 1))
    matrices, biases, factors = [], [], []
    for i in range(len(dims) - 1):
      init = float(np.log(np.expm1(1.0 / scale / dims[i + 1])))
      matrices.append(self.param(f'matrix_{i}', nn.initializers.constant(init),
                                 (self.channels, dims[i + 1], dims[i])))
      biases.append(self.param(f'bias_{i}', _centred_uniform, (self.channels, dims[i + 1])))
      if i < len(dims) - 2:
        factors.append(self.param(f'factor_{i}', nn.initializers.zeros, (self.channels, dims[i + 1])))
    self.matrices, self.biases, self.factors = matrices, biases, factors

  def logits_cumulative(self, x):
    """The logit of the CDF at x [..., channels]; monotone increasing in x."""
    logits = x[..., None]
    for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
      logits = jnp.einsum('cij,...cj->...ci', jax.nn.softplus(matrix), logits) + bias
      if i < len(self.factors):
        logits = logits + jnp.tanh(self.factors[i]) * jnp.tanh(logits)
    return logits[..., 0]

  def __call__(self, x):
    """The probability of the unit bin around each value of x."""
    lower = self.logits_cumulative(x - 0.5)
    upper = self.logits_cumulative(x + 0.5)
    # Flip to the side of the median, where the sigmoid differences are not lost to rounding.
    sign = jax.lax.stop_gradient(-jnp.sign(lower + upper))
    likelihood = jnp.abs(jax.nn.sigmoid(sign * upper) - jax.nn.sigmoid(sign * lower))
    return lower_bound(likelihood, LIKELIHOOD_BOUND)
