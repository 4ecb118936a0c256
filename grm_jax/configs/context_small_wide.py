"""context-small-wide: the shipped context-small fine-tuned exactly like grm_small_wide."""
from grm_jax.configs import grm_small_wide


def get_config():
  config = grm_small_wide.get_config()
  config.model.family = 'context'
  config.init_from = 'grm_jax/pretrained/context-small'
  return config
