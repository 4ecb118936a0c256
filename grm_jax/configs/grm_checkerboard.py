"""The Global Reference Model at the paper's size, decoded in two checkerboard passes (family grm_checkerboard):
the anchors from the hyperprior, then the rest from their anchor neighbours, the reference searched among all
anchors, and the hyperprior. Two decoding steps whatever the image size."""
from grm_jax.configs import default


def get_config():
  config = default.get_config()
  config.model.family = 'grm_checkerboard'
  return config
