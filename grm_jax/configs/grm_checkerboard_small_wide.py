"""grm-checkerboard-small-wide: grm-small-wide decoded in two checkerboard passes. Its transforms are kept frozen
(g_a and g_s's learning rate is zero) and everything else starts from grm-small-wide's parameters (the checkerboard
masks read other taps of the same kernels) and is fine-tuned to the new order: the entropy model, the hyperprior
and the gain units, over the same qualities 1 to 8. A file then costs what the entropy model alone decides, beside
a serial model of the same transforms."""
from grm_jax.configs import grm_small_wide


def get_config():
  config = grm_small_wide.get_config()
  config.model.family = 'grm_checkerboard'
  config.init_from = 'grm_jax/pretrained/grm-small-wide'
  config.transform_lr_scale = 0.0
  config.num_steps = 2000
  config.decay_boundaries = (0.75,)  # 1500 steps at 1e-4, then 500 at 1e-5
  config.warmup_steps = 100
  return config
