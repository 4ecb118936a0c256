"""grm_jax: the Global Reference Model of learned image compression (Qian et al., ICLR 2021) in JAX/Flax."""


def load(model_dir):
  """The Codec of an exported model directory: codec.compress(uint8 image) -> bytes, codec.decompress(bytes)."""
  from grm_jax.codec import Codec  # pylint: disable=import-outside-toplevel
  return Codec.load(model_dir)
