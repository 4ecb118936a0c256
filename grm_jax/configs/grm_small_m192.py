"""grm-small-wide with twice the latent channels (M=192, and parameter networks and h_s as wide for them), grown from
the shipped grm-small-wide so that it starts coding as that model does (models/widening.py), then fine-tuned as
grm_small_wide is, the last 1000 steps at a tenth of the rate.

Of the sizes tried against the flat top of the small models (results/flattening/), only more latent channels moved
what the transforms reconstruct (+0.26 dB in 1500 steps, where twice as wide a g_a and g_s gave +0.01 dB). Grown
from a trained model, the CPU fine-tunes it in hours instead of training the medium configs from random parameters.
"""
from grm_jax.configs import grm_small_wide


def get_config():
  config = grm_small_wide.get_config()
  config.model.latent_channels = 192
  config.model.hidden = 576
  config.init_from = 'grm-small-wide'  # a shipped model's name: wherever the run starts
  config.num_steps = 16000
  config.decay_boundaries = (15 / 16,)  # the last 1000 steps at a tenth of the rate, as grm_small_wide's
  return config
