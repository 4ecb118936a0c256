"""The context model at the size of CompressAI's mbt2018 (N=192, M=320, GDN, parameter networks 1066 wide):
the network that `benchmarks/peer_train_step.py` times against CompressAI's own, same machine, same run."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.family = 'context'
  config.model.norm = 'gdn'
  config.model.channels = 192
  config.model.latent_channels = 320
  config.model.hidden = 1066
  return config
