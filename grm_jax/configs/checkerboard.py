"""The checkerboard context model at the paper's size (He et al. 2021; family checkerboard): the context baseline
of grm_checkerboard, decoded in the same two passes without the reference."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.family = 'checkerboard'
  return config
