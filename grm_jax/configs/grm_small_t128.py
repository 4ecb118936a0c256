"""grm-small-wide with g_a and g_s twice as wide (N=128 in the transforms; h_a, h_s, z, y and the entropy model
as they are), grown from the shipped grm-small-wide so that it starts coding exactly as that model does
(models/widening.py), then fine-tuned as grm_small_wide is, the last 1000 steps at a tenth of the
rate.

The small synthesis transform cannot reconstruct Kodak better than about 32.5 dB (results/flattening/); CompressAI
uses N=128 from its lowest qualities. Growing only the transforms keeps everything that codes y, and costs about
as much a step as the transforms' share of it.
"""
from grm_jax.configs import grm_small_wide


def get_config():
  config = grm_small_wide.get_config()
  config.model.transform_channels = 128
  config.init_from = 'grm-small-wide'  # a shipped model's name: wherever the run starts
  config.num_steps = 16000
  config.decay_boundaries = (15 / 16,)  # the last 1000 steps at a tenth of the rate, as grm_small_wide's
  return config
