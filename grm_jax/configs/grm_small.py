"""A small GRM that a 2-core CPU trains to a useful model in hours (the shipped models).

N=64, M=96 and parameter networks of width 3M, as in the paper's proportions; 8 random 128x128 crops per step
(192x192 crops cost 3.8x more per step on the CPU). Learning rate 3e-4 with warm-up and two step decays. The
training images are four folders of a photograph collection (with --config.data_dir=DIR: the repository's recipes
pass ../shared/data/train), bsds500/val held out for validation.
"""
from grm_jax.configs import default

TRAIN = 'bsds500/train,bsds500/test,urban100_rest,sun_hays80'


def get_config():
  config = default.get_config()
  config.model.channels = 64
  config.model.latent_channels = 96
  config.model.hidden = 288
  config.train_data = 'folder:' + TRAIN
  config.patch_size = 128
  config.learning_rate = 3e-4
  config.warmup_steps = 500
  config.num_steps = 40_000
  config.decay_boundaries = (0.8, 0.95)
  config.checkpoint_every = 500
  config.log_every = 100
  config.val_data = 'folder:bsds500/val'
  config.val_images = 8
  config.eval_every = 2500
  return config
