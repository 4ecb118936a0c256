"""context-small-msssim: context-small-wide fine-tuned for MS-SSIM exactly like grm_small_msssim."""
from grm_jax.configs import grm_small_msssim


def get_config():
  config = grm_small_msssim.get_config()
  config.model.family = 'context'
  config.init_from = 'context-small-wide'
  return config
