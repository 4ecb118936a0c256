"""Models: the codec families as Flax modules, built from a config."""
import jax
import numpy as np

from grm_jax.models import families
from grm_jax.models.compressor import STRIDE, ImageCompressor, pad_to_stride
from grm_jax.models.schema import TRANSFORM_DTYPES, check_model_config

FAMILIES = families.BUILT_IN


def build(config, transform_dtype=None, transforms=None):
  """The ImageCompressor described by a config (the whole experiment config, or its `model` block).

  transform_dtype overrides the config's: the codec always runs float32, whatever precision trained the model.
  transforms: {'analysis': module, 'synthesis': module}, a researcher's own g_a and g_s (any Flax modules with
  the shipped ones' strides: 16 down, 16 up, and M output channels for g_a) in place of the config's.
  A config that does not describe a model (models/schema.py) is a ValueError naming the field.
  """
  arguments = check_model_config(config.model if 'model' in config else config)
  if transform_dtype:
    arguments['transform_dtype'] = transform_dtype
  unknown = set(transforms or {}) - {'analysis', 'synthesis'}
  if unknown:
    raise ValueError(f"transforms: unknown {sorted(unknown)}; a model takes 'analysis' and 'synthesis'")
  arguments.update({f'{name}_transform': module for name, module in (transforms or {}).items()})
  return ImageCompressor(**arguments)


def same_layout(params, reference):
  """Whether a parameter tree has the reference tree's structure and leaf shapes (arrays or ShapeDtypeStructs):
  whether one model's parameters fit another's."""
  return jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(reference) and all(
      np.shape(a) == np.shape(b) for a, b in zip(jax.tree_util.tree_leaves(params),
                                                 jax.tree_util.tree_leaves(reference)))
