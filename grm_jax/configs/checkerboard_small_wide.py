"""checkerboard-small-wide: context-small-wide decoded in two checkerboard passes (He 2021), fine-tuned exactly
like grm_checkerboard_small_wide: the context baseline of the parallel grm on frozen transforms."""
from grm_jax.configs import grm_checkerboard_small_wide


def get_config():
  config = grm_checkerboard_small_wide.get_config()
  config.model.family = 'checkerboard'
  config.init_from = 'grm_jax/pretrained/context-small-wide'
  return config
