"""A GRM twice the width of grm_small, variable rate over CompressAI's qualities 1 to 8 (lambda 0.0018-0.18).

The small model's synthesis cannot reconstruct better than about 32.5 dB on Kodak, whatever its rate
(results/flattening/), where AVIF reaches 37 dB at quality 8. N=128, M=192 is the size CompressAI gives its
hyperprior models for its low qualities; its qualities 6 to 8 use N=192, M=320. A step costs about 3.3 times a
small one on the CPU (results/flattening/): the CPU trains it in the background between GPU loans, session after
session (`SIZE=medium recipes/shipped_models.sh train`).
"""
from grm_jax.configs import grm_small


def get_config():
  config = grm_small.get_config()
  config.model.channels = 128
  config.model.latent_channels = 192
  config.model.hidden = 576
  config.model.lambda_range = (0.0018, 0.18)
  config.model.gain_anchors = 8
  return config
