"""grm-checkerboard-small-wide, stage 2: stage 1 (grm_checkerboard_small_wide.py, the entropy model fine-tuned to
the checkerboard on grm-small-wide's frozen transforms) with the transforms fine-tuned too, at a third of the
learning rate, so that g_a can move what the anchors need (they see no latent, only the hyperprior) into what the
hyperprior carries. Starts from stage 1's export, where recipes/shipped_models.sh puts it (and passes it on). The
shipped model's record names the path stage 1's export had when it was trained: runs/small_wide/models/
grm-checkerboard-small-wide."""
from grm_jax.configs import grm_checkerboard_small_wide


def get_config():
  config = grm_checkerboard_small_wide.get_config()
  config.init_from = 'runs/small_wide/models/grm-checkerboard-small-wide-frozen'
  config.transform_lr_scale = 1 / 3
  config.num_steps = 2000
  config.decay_boundaries = (0.75,)  # 1500 steps at 1e-4 (transforms 3.3e-5), then 500 at a tenth
  config.warmup_steps = 100
  return config
