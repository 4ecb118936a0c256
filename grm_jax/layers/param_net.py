"""Parameter networks: stacks of 1x1 convolutions that turn features into Gaussian parameters."""
from typing import Sequence

import flax.linen as nn


class ParameterNet(nn.Module):
  """1x1 convolutions (dense over channels) with LeakyReLU between them; the last layer is linear."""
  widths: Sequence[int]

  @nn.compact
  def __call__(self, x):
    for i, width in enumerate(self.widths):
      x = nn.Dense(width, name=f'dense_{i}')(x)
      if i < len(self.widths) - 1:
        x = nn.leaky_relu(x)
    return x
