"""The Global Reference Model at the paper's size: N=192, M=384, GSDN, local context + reference + hyperprior."""
from configs import default


def get_config():
  return default.get_config()
