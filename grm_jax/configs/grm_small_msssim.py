"""grm-small-msssim: grm-small-wide fine-tuned for MS-SSIM over CompressAI's MS-SSIM qualities 1 to 8 (lambda
2.40-220, loss lambda * (1 - MS-SSIM) + bpp). init_from starts each gain anchor from the MSE model's gains at the
same quality (rd_lambda.equivalent_lambda), so quality q of the new model starts where quality q of the old one is.

MS-SSIM's five scales need crops of 161 pixels or more: 192x192 crops (12x12 latents), 2.25x the pixels of the MSE
models' 128x128, about 3 s a step on one core of this project's CPU. 850 steps at 1e-4, then 150 at 1e-5 (the
annealing tail of the wide models): a short fine-tune, sized to a few hours of one core.
"""
from grm_jax.configs import grm_small_wide


def get_config():
  config = grm_small_wide.get_config()
  config.init_from = 'grm-small-wide'
  config.distortion = 'ms-ssim'
  config.model.lambda_range = (2.40, 220.0)  # rd_lambda.MS_SSIM_QUALITY_LAMBDAS, qualities 1 and 8
  config.lambda_ = 16.64  # quality 4, where the MSE models code by default
  config.patch_size = 192
  config.num_steps = 1000
  config.decay_boundaries = (0.85,)
  config.warmup_steps = 100
  return config
