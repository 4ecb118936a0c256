"""Minnen 2018 joint autoregressive + hyperprior: the paper's context-adaptive baseline."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.family = 'context'
  return config
