"""The Global Reference Model at the paper's size: N=192, M=384, GSDN, local context + reference + hyperprior.

Coded in wavefront order (see configs/default.py); `--config.model.order=raster` gives the paper's order, which
decodes about 5x slower on a CPU.
"""
from grm_jax.configs import default


def get_config():
  return default.get_config()
