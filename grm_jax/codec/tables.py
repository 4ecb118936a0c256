"""Entropy coding tables, built once at export from the trained model and stored with it.

Encoder and decoder read the same integer tables and never recompute them from floats: a CDF quantised twice on
two machines may differ in one count, and a range decoder fed a different table decodes garbage.
"""
import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr, ndtri

from grm_jax.codec import range_coder
from grm_jax.entropy_models.gaussian import SCALE_BOUND

TAIL_MASS = 1e-9
SCALE_LEVELS = 64
SCALE_MAX = 256.0


def scale_table():
  """Log-spaced Gaussian scales from the scale bound to 256 (CompressAI's table)."""
  return np.exp(np.linspace(np.log(SCALE_BOUND), np.log(SCALE_MAX), SCALE_LEVELS)).astype(np.float32)


def gaussian_tables(scales):
  """(lookup, offsets) for zero-mean Gaussians of the given scales, over +-6.1 sigma."""
  rows, offsets = [], []
  for scale in np.asarray(scales, np.float64):
    half = int(np.ceil(-ndtri(TAIL_MASS / 2) * scale))
    values = np.arange(-half, half + 1, dtype=np.float64)
    pmf = ndtr((values + 0.5) / scale) - ndtr((values - 0.5) / scale)
    rows.append(range_coder.quantized_cdf(pmf))
    offsets.append(-half)
  return range_coder.stack_rows(rows), np.asarray(offsets, np.int32)


def _tail(logits_cumulative, channels, target):
  """x per channel where logits_cumulative(x) = target, by bisection (the function is monotone in x)."""
  lo, hi = jnp.full((channels,), -1e4), jnp.full((channels,), 1e4)

  def body(_, bounds):
    lo, hi = bounds
    mid = (lo + hi) / 2
    above = logits_cumulative(mid) > target
    return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

  lo, hi = jax.lax.fori_loop(0, 60, body, (lo, hi))
  return np.asarray((lo + hi) / 2)


def factorized_tables(logits_cumulative, likelihood, channels):
  """(lookup, offsets) with one table per channel of a factorized density, over its central 1 - 1e-9 mass.

  logits_cumulative and likelihood take and return [..., channels] arrays.
  """
  tail_logit = float(np.log(TAIL_MASS / 2 / (1 - TAIL_MASS / 2)))
  lower = _tail(logits_cumulative, channels, tail_logit)
  upper = _tail(logits_cumulative, channels, -tail_logit)
  minima, maxima = np.floor(lower).astype(np.int32), np.ceil(upper).astype(np.int32)
  lengths = maxima - minima + 1
  grid = minima[None, :] + np.arange(lengths.max())[:, None]
  pmf = np.asarray(likelihood(jnp.asarray(grid, jnp.float32)), np.float64)
  rows = [range_coder.quantized_cdf(pmf[:lengths[c], c]) for c in range(channels)]
  return range_coder.stack_rows(rows), minima


def build(model, params):
  """All the tables of a model, as a dict of numpy arrays (what tables.npz holds)."""
  variables = {'params': params}
  channels = model.channels if model.family_spec.hyperprior else model.latent_channels
  logits = jax.jit(lambda v: model.apply(variables, v, method=model.factorized_logits_cumulative))
  likelihood = jax.jit(lambda v: model.apply(variables, v, method=model.factorized_likelihood))
  factorized_lookup, factorized_offsets = factorized_tables(logits, likelihood, channels)
  tables = {'factorized_lookup': factorized_lookup, 'factorized_offsets': factorized_offsets}
  if model.family_spec.hyperprior:
    scales = scale_table()
    gaussian_lookup, gaussian_offsets = gaussian_tables(scales)
    tables.update(scale_table=scales, gaussian_lookup=gaussian_lookup, gaussian_offsets=gaussian_offsets)
  return tables
