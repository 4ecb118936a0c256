"""A small mean-scale hyperprior (Minnen 2018) that trains 1000 steps in about 3 minutes on one CPU core.

The variable-rate measurements (docs/training.md, "Variable-rate models") compare models of this size: the fixed-lambda models
against one variable-rate model, at equal training steps and at equal total compute. Same N, M, data and crop as
grm_small, without the autoregressive context (so Kodak's real files take seconds), on 64x64 crops: 3x the
steps per second of 128x128 crops (96x96 crops cost as much as 128x128: the model pads to multiples of 64).
"""
from grm_jax.configs import grm_small


def get_config():
  config = grm_small.get_config()
  config.model.family = 'mean_scale'
  config.patch_size = 64
  config.num_steps = 4000
  config.warmup_steps = 200
  config.checkpoint_every = 500
  config.eval_every = 0
  return config
