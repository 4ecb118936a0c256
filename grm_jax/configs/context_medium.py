"""The context baseline trained exactly like grm_medium."""
from grm_jax.configs import grm_medium


def get_config():
  config = grm_medium.get_config()
  config.model.family = 'context'
  return config
