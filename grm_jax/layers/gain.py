"""Gain units (Cui et al. 2021): one set of parameters for a continuous range of rate-distortion trade-offs.

A latent is scaled per channel by a gain before it is quantised and by an inverse gain after: a large gain is a
fine quantiser (high rate), a small one a coarse quantiser. Each of a few anchor lambdas, log-spaced over the
model's range, has its own learned gain vectors; between anchors the log-gains are interpolated linearly in
log(lambda), so the quantiser's step size changes geometrically, as rate does. Every example of a batch can have
its own lambda.

The gains cost 2 x anchors x channels parameters and a per-channel multiply, and they leave the transforms and the
entropy model untouched, which is why every model family gets a variable-rate form the same way.
"""
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from grm_jax.rd_lambda import log_spaced, middle


def anchor_lambdas(lambda_range, count):
  """The anchors of a gain unit: `count` lambdas log-spaced over the range."""
  return tuple(float(v) for v in log_spaced(lambda_range, count))


def initial_log_gains(anchors, reference_lambda):
  """log gain per anchor for a model trained at reference_lambda: gain 1 there, and sqrt(lambda / reference)
  elsewhere (high-rate theory: the optimal quantiser step of an MSE trade-off scales as lambda^-1/2)."""
  return 0.5 * np.log(np.asarray(anchors, np.float64) / reference_lambda).astype(np.float32)


class GainUnit(nn.Module):
  """(gain, inverse gain) [B, channels] for lambdas [B]."""
  channels: int
  anchors: tuple

  def setup(self):
    if len(self.anchors) < 2:
      raise ValueError(f"a gain unit needs two anchor lambdas or more, got {self.anchors}")
    start = initial_log_gains(self.anchors, middle((self.anchors[0], self.anchors[-1])))
    init = lambda _, shape: jnp.broadcast_to(jnp.asarray(start)[:, None], shape)
    shape = (len(self.anchors), self.channels)
    self.log_gain = self.param('log_gain', init, shape)
    self.log_inverse_gain = self.param('log_inverse_gain', lambda key, s: -init(key, s), shape)

  def __call__(self, lambdas):
    log_anchors = jnp.log(jnp.asarray(self.anchors, jnp.float32))
    last = len(self.anchors) - 1
    position = (jnp.log(lambdas.astype(jnp.float32)) - log_anchors[0]) / (log_anchors[-1] - log_anchors[0]) * last
    position = jnp.clip(position, 0.0, last)
    lower = jnp.minimum(jnp.floor(position).astype(jnp.int32), last - 1)
    weight = (position - lower)[:, None]

    def interpolate(table):
      return jnp.exp((1.0 - weight) * table[lower] + weight * table[lower + 1])

    return interpolate(self.log_gain), interpolate(self.log_inverse_gain)


def converted_params(anchors, channels, reference_lambda):
  """A gain unit's parameters for a fixed-rate model trained at reference_lambda: exactly that model at its own
  lambda, and a high-rate-theory guess elsewhere, for fine-tuning into a variable-rate model."""
  log_gain = np.broadcast_to(initial_log_gains(anchors, reference_lambda)[:, None], (len(anchors), channels))
  return {'log_gain': np.array(log_gain), 'log_inverse_gain': -np.array(log_gain)}


def reanchored_params(params, old_anchors, new_anchors):
  """A gain unit's parameters moved to other anchors, for fine-tuning a variable-rate model over another range: at
  each new anchor inside the old range, the old unit's gain there (GainUnit's interpolation), so the model is
  unchanged at the new anchors (and between them where the new anchors fall on old ones, as log-spaced ranges
  that share an end and a spacing do); beyond the old range, the nearest old anchor's gains scaled by high-rate
  theory (initial_log_gains)."""
  log_old = np.log(np.asarray(old_anchors, np.float64))
  position = np.interp(np.log(np.asarray(new_anchors, np.float64)), log_old, np.arange(len(old_anchors)))
  lower = np.minimum(np.floor(position).astype(int), len(old_anchors) - 2)
  weight = (position - lower)[:, None]
  beyond = initial_log_gains(new_anchors, 1.0) - initial_log_gains(np.clip(new_anchors, old_anchors[0],
                                                                             old_anchors[-1]), 1.0)
  moved = {}
  for name, sign in (('log_gain', 1.0), ('log_inverse_gain', -1.0)):
    table = np.asarray(params[name], np.float64)
    inside = (1.0 - weight) * table[lower] + weight * table[lower + 1]
    moved[name] = (inside + sign * beyond[:, None]).astype(np.float32)
  return moved
