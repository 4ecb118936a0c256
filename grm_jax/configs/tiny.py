"""A tiny GRM for tests and smoke runs: compiles in seconds on a CPU. Not for real compression."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.channels = 8
  config.model.latent_channels = 12
  config.model.hidden = 16
  config.batch_size = 2
  config.patch_size = 64
  config.warmup_steps = 0
  config.log_every = 1
  config.checkpoint_every = 5
  config.eval_every = 0
  config.loader_workers = 1
  return config
