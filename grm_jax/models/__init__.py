"""Models: the codec family as Flax modules, built from a config."""
from grm_jax.models.compressor import (AUTOREGRESSIVE, FAMILIES, STRIDE, TRANSFORM_DTYPES, ImageCompressor,
                                       pad_to_stride)


def build(config, transform_dtype=None):
  """The ImageCompressor described by a config (the whole experiment config, or its `model` block).

  transform_dtype overrides the config's: the codec always runs float32, whatever precision trained the model.
  """
  model_config = config.model if 'model' in config else config
  return ImageCompressor(
      family=model_config.family, norm=model_config.norm, channels=model_config.channels,
      latent_channels=model_config.latent_channels, hidden=model_config.hidden,
      use_reference=model_config.get('use_reference', True), use_confidence=model_config.get('use_confidence', True),
      gating=model_config.get('gating', 'product'), order=model_config.get('order', 'raster'),
      transform_dtype=transform_dtype or model_config.get('transform_dtype', 'float32'),
      lambda_range=tuple(model_config.get('lambda_range', ()) or ()),
      gain_anchors=model_config.get('gain_anchors', 6), z_gain=model_config.get('z_gain', True))
