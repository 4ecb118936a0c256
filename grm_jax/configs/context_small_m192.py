"""context-small-wide grown to M=192 and fine-tuned exactly like grm_small_m192."""
from grm_jax.configs import grm_small_m192


def get_config():
  config = grm_small_m192.get_config()
  config.model.family = 'context'
  config.init_from = 'context-small-wide'
  return config
