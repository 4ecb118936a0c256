"""The paper's ablations at equal budget on this project's 2-core CPU (recipes/ablations.sh): a GRM smaller than
grm_small (N=48, M=64, parameter networks 3M wide), variable rate over CompressAI's qualities 1 to 6 so that one
model gives a whole curve (and a BD-rate), trained on 256x256 crops (16x16 latents: 255 earlier candidates for the
last position, as in the paper) at batch 4. Each variant overrides one field of this config.
"""
from grm_jax.configs import grm_small


def get_config():
  config = grm_small.get_config()
  config.model.channels = 48
  config.model.latent_channels = 64
  config.model.hidden = 192
  config.model.lambda_range = (0.0018, 0.0483)
  config.patch_size = 256
  config.batch_size = 4
  config.learning_rate = 3e-4
  config.transform_lr_scale = 1.0
  config.warmup_steps = 500
  config.num_steps = 8000
  config.decay_boundaries = (0.8, 0.95)
  config.checkpoint_every = 500
  config.eval_every = 0
  config.val_data = ''
  config.loader_workers = 1
  return config
