"""Models: the codec family as Flax modules, built from a config."""
from grm_jax.models.compressor import AUTOREGRESSIVE, STRIDE, ImageCompressor, pad_to_stride
from grm_jax.models.schema import FAMILIES, TRANSFORM_DTYPES, check_model_config


def build(config, transform_dtype=None):
  """The ImageCompressor described by a config (the whole experiment config, or its `model` block).

  transform_dtype overrides the config's: the codec always runs float32, whatever precision trained the model.
  A config that does not describe a model (models/schema.py) is a ValueError naming the field.
  """
  arguments = check_model_config(config.model if 'model' in config else config)
  if transform_dtype:
    arguments['transform_dtype'] = transform_dtype
  return ImageCompressor(**arguments)
