"""context-small-wide with g_a and g_s twice as wide, grown and fine-tuned exactly like grm_small_t128."""
from grm_jax.configs import grm_small_t128


def get_config():
  config = grm_small_t128.get_config()
  config.model.family = 'context'
  config.init_from = 'context-small-wide'
  return config
