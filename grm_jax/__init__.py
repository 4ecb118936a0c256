"""grm_jax: the Global Reference Model of learned image compression (Qian et al., ICLR 2021) in JAX/Flax."""
