"""The context baseline trained exactly like grm_small (same N, M, widths, data and schedule): the reference
for measuring what the global reference adds."""
from grm_jax.configs import grm_small


def get_config():
  config = grm_small.get_config()
  config.model.family = 'context'
  return config
