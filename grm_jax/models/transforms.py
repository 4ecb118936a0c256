"""The four transforms of a hyperprior codec: g_a, g_s (image <-> y) and h_a, h_s (y <-> z).

`dtype` is their computation dtype: bfloat16 for mixed-precision training (float32 parameters), None for float32.
"""
from typing import Any

import flax.linen as nn

from grm_jax.layers import PhaseConvTranspose, SubpixelConvTranspose, downsample_conv, normalization, same_conv


class AnalysisTransform(nn.Module):
  """g_a: four 5x5 stride-2 convolutions (3 -> N -> N -> N -> M) with GDN or GSDN between them."""
  channels: int
  latent_channels: int
  norm: str = 'gsdn'
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    for i in range(3):
      x = downsample_conv(self.channels, name=f'conv_{i}', dtype=self.dtype)(x)
      x = normalization(self.norm, name=f'norm_{i}', dtype=self.dtype)(x)
    return downsample_conv(self.latent_channels, name='conv_3', dtype=self.dtype)(x)


class SynthesisTransform(nn.Module):
  """g_s: the mirror of g_a, with up-sampling layers and the inverse normalisation (IGDN or IGSDN). The wide layers
  run phase by phase (PhaseConvTranspose), the 3-channel one as a sub-pixel convolution: the faster form of each."""
  channels: int
  norm: str = 'gsdn'
  dtype: Any = None

  @nn.compact
  def __call__(self, y):
    for i in range(3):
      y = PhaseConvTranspose(self.channels, name=f'deconv_{i}', dtype=self.dtype)(y)
      y = normalization(self.norm, inverse=True, name=f'inorm_{i}', dtype=self.dtype)(y)
    return SubpixelConvTranspose(3, name='deconv_3', dtype=self.dtype)(y)


class HyperAnalysis(nn.Module):
  """h_a: conv3x3 (M -> N), LeakyReLU, conv5x5/2, LeakyReLU, conv5x5/2 (N -> N)."""
  channels: int
  dtype: Any = None

  @nn.compact
  def __call__(self, y):
    z = nn.leaky_relu(same_conv(self.channels, 3, name='conv_0', dtype=self.dtype)(y))
    z = nn.leaky_relu(downsample_conv(self.channels, name='conv_1', dtype=self.dtype)(z))
    return downsample_conv(self.channels, name='conv_2', dtype=self.dtype)(z)


class HyperSynthesis(nn.Module):
  """h_s: two 5x5 stride-2 up-samplings and a 3x3 convolution, LeakyReLU between them (Minnen 2018's widths)."""
  channels: int
  hidden_channels: int
  out_channels: int
  dtype: Any = None

  @nn.compact
  def __call__(self, z):
    h = nn.leaky_relu(SubpixelConvTranspose(self.channels, name='deconv_0', dtype=self.dtype)(z))
    h = nn.leaky_relu(SubpixelConvTranspose(self.hidden_channels, name='deconv_1', dtype=self.dtype)(h))
    return same_conv(self.out_channels, 3, name='conv_2', dtype=self.dtype)(h)
