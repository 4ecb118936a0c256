"""GDN (Balle 2016) and GSDN, the mean-shifting GDN of the GRM paper.

Both normalise each channel by a learned norm of all channels at the same position (1x1 "convolutions" over
channels). GSDN first subtracts a learned affine function of the input, because GDN's outputs are zero-mean by
construction and the paper argues the mean must be removed before dividing. The inverse layers (IGDN, IGSDN) are
learned approximate inverses used in the synthesis transform.

`dtype` is the computation dtype (mixed precision); the parameters stay float32 and are cast after the
non-negative reparameterisation. None computes in float32, as the parameters are.
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from grm_jax.layers.parameterization import nonneg, nonneg_init

BETA_MIN = 1e-6


def _channel_mix(x, matrix):
  """sum_j matrix[i, j] * x_j at every position: a 1x1 convolution."""
  return jnp.einsum('...j,ij->...i', x, matrix)


def _cast(value, dtype):
  return value if dtype is None else value.astype(dtype)


class _Norm(nn.Module):
  """beta + Gamma x^2, the denominator shared by GDN and GSDN."""
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    beta = self.param('beta', lambda _, shape: nonneg_init(jnp.ones(shape)), (channels,))
    gamma = self.param('gamma', lambda _, shape: nonneg_init(0.1 * jnp.eye(shape[0])), (channels, channels))
    return _cast(nonneg(beta, BETA_MIN), self.dtype) + _channel_mix(jnp.square(x), _cast(nonneg(gamma), self.dtype))


class GDN(nn.Module):
  """y = x / sqrt(beta + Gamma x^2); with inverse=True, IGDN: y = x * sqrt(...)."""
  inverse: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    x = _cast(x, self.dtype)
    norm = jnp.sqrt(_Norm(dtype=self.dtype, name='norm')(x))
    return x * norm if self.inverse else x / norm


class GSDN(nn.Module):
  """y = (x - (b' + G' x)) / sqrt(b + G x^2); with inverse=True, IGSDN: y = x sqrt(b + G x^2) + (b' + G' x).

  As in the authors' code, b' and G' are kept non-negative like b and G (initialised near 0 and 0.1 I).
  """
  inverse: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    x = _cast(x, self.dtype)
    channels = x.shape[-1]
    mean_bias = self.param('mean_bias', lambda _, shape: nonneg_init(jnp.zeros(shape)), (channels,))
    mean_matrix = self.param('mean_matrix', lambda _, shape: nonneg_init(0.1 * jnp.eye(shape[0])),
                             (channels, channels))
    mean = _cast(nonneg(mean_bias), self.dtype) + _channel_mix(x, _cast(nonneg(mean_matrix), self.dtype))
    norm = jnp.sqrt(_Norm(dtype=self.dtype, name='norm')(x))
    if self.inverse:
      return x * norm + mean
    return (x - mean) / norm


NORMS = ('gdn', 'gsdn')


def normalization(kind, inverse=False, name=None, dtype=None):
  """The normalisation layer named by a config ('gdn' or 'gsdn')."""
  layers = dict(zip(NORMS, (GDN, GSDN)))
  if kind not in layers:
    raise ValueError(f"unknown normalisation {kind!r}; expected one of {NORMS}")
  return layers[kind](inverse=inverse, name=name, dtype=dtype)
