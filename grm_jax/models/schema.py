"""What a model config may say, checked before anything is built.

A model directory's config.json is untrusted data: a zero or huge channel count, a string where a number belongs or
a family that does not exist must be refused in one line, not end in an XLA error or a 100 GB allocation. The same
check runs on every config that builds a model, so a typo in a training config fails as clearly.
"""
import math

from grm_jax.entropy_models.autoregressive import GATINGS
from grm_jax.entropy_models.coding_order import CAUSAL_ORDERS, ORDERS
from grm_jax.layers.gdn import NORMS
from grm_jax.models import families

TRANSFORM_DTYPES = ('float32', 'bfloat16')
# Wide enough for every published model of the family (the paper's N=192, M=384, 3M wide parameter networks) and
# several times more; narrow enough that no config asks for more memory than a workstation has.
MAX_CHANNELS = 1024
MAX_HIDDEN = 4096
MAX_GAIN_ANCHORS = 64
MAX_REFERENCES = 8
LAMBDA_BOUNDS = (1e-6, 1e3)


def _integer(config, key, low, high, default=None):
  value = config.get(key, default)
  if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
    raise ValueError(f"model.{key} must be an integer from {low} to {high}, got {value!r}")
  return value


def _choice(config, key, choices, default=None):
  value = config.get(key, default)
  if not isinstance(value, str) or value not in choices:
    raise ValueError(f"model.{key} must be one of {', '.join(choices)}, got {value!r}")
  return value


def _flag(config, key, default):
  value = config.get(key, default)
  if not isinstance(value, bool):
    raise ValueError(f"model.{key} must be true or false, got {value!r}")
  return value


def _order(config, family):
  """The coding order: a causal one of the config's, or the one a parallel family is pinned to (model.order then
  goes unused, as use_reference does for a family without the reference, but a name that is no order still fails)."""
  if family.order is None:
    return _choice(config, 'order', CAUSAL_ORDERS, 'raster')
  _choice(config, 'order', ORDERS, family.order)
  return family.order


def check_lambda(value, name='lambda_'):
  """A trade-off lambda: a finite number within LAMBDA_BOUNDS."""
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not (
      LAMBDA_BOUNDS[0] <= value <= LAMBDA_BOUNDS[1]):
    raise ValueError(f"{name} must be a number from {LAMBDA_BOUNDS[0]:g} to {LAMBDA_BOUNDS[1]:g}, got {value!r}")
  return float(value)


def check_model_config(config):
  """The model block of a config as a dict of build()'s arguments; a ValueError naming the first bad field."""
  if not hasattr(config, 'get'):
    raise ValueError(f"the model config must be a mapping, got {type(config).__name__}")
  lambda_range = config.get('lambda_range', ()) or ()
  if not isinstance(lambda_range, (list, tuple)) or len(lambda_range) not in (0, 2):
    raise ValueError(f"model.lambda_range must be empty or [low, high], got {lambda_range!r}")
  lambda_range = tuple(check_lambda(v, 'model.lambda_range') for v in lambda_range)
  family = _choice(config, 'family', families.names())
  if lambda_range and not lambda_range[0] < lambda_range[1]:
    raise ValueError(f"model.lambda_range must have low < high, got {list(lambda_range)}")
  return {
      'family': family,
      'norm': _choice(config, 'norm', NORMS),
      'channels': _integer(config, 'channels', 1, MAX_CHANNELS),
      'transform_channels': _integer(config, 'transform_channels', 0, MAX_CHANNELS, 0),
      'latent_channels': _integer(config, 'latent_channels', 1, MAX_CHANNELS),
      'hidden': _integer(config, 'hidden', 1, MAX_HIDDEN),
      'use_reference': _flag(config, 'use_reference', True),
      'use_confidence': _flag(config, 'use_confidence', True),
      'gating': _choice(config, 'gating', GATINGS, 'product'),
      'references': _integer(config, 'references', 1, MAX_REFERENCES, 1),
      'order': _order(config, families.get(family)),
      'transform_dtype': _choice(config, 'transform_dtype', TRANSFORM_DTYPES, 'float32'),
      'lambda_range': lambda_range,
      'gain_anchors': _integer(config, 'gain_anchors', 2, MAX_GAIN_ANCHORS, 6),
      'z_gain': _flag(config, 'z_gain', True),
  }
