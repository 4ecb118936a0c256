"""grm_jax: the Global Reference Model of learned image compression (Qian et al., ICLR 2021) in JAX/Flax."""


def load(model=None, carrier=None, transforms=None):
  """The Codec of a model directory or a shipped model's name (default: the shipped default model).

  codec.compress(uint8 image) -> bytes, codec.decompress(bytes) -> uint8 image. carrier: the portable entropy
  path's matmuls in 'float32' or 'int8' (the same integers either way); None: the faster here, timed at load.
  transforms: {'analysis': module, 'synthesis': module}, the own g_a and g_s a model was exported with.
  """
  from grm_jax import zoo  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import Codec  # pylint: disable=import-outside-toplevel
  return Codec.load(zoo.resolve(model), carrier=carrier, transforms=transforms)
