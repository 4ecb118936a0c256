"""Balle 2018 factorized prior, with the N and M of the GRM paper."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.family = 'factorized'
  return config
