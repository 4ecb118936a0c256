"""Convolutions of the codec: strided down-sampling, sub-pixel up-sampling and masked (causal) convolutions.

All tensors are NHWC. Kernels are HWIO, as in flax.linen.Conv.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

default_kernel_init = nn.initializers.lecun_normal()


def downsample_conv(features, kernel_size=5, name=None):
  """kernel_size x kernel_size convolution of stride 2 with 'same'-style padding: H -> ceil(H / 2)."""
  pad = kernel_size // 2
  return nn.Conv(features, (kernel_size, kernel_size), strides=(2, 2), padding=((pad, pad), (pad, pad)), name=name)


def same_conv(features, kernel_size, name=None):
  pad = kernel_size // 2
  return nn.Conv(features, (kernel_size, kernel_size), padding=((pad, pad), (pad, pad)), name=name)


def depth_to_space(x, block=2):
  """[B, H, W, block*block*C] -> [B, H*block, W*block, C]; channel order (row phase, column phase, C)."""
  b, h, w, c = x.shape
  c_out = c // (block * block)
  x = x.reshape(b, h, w, block, block, c_out)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * block, w * block, c_out)


def subpixel_kernel(kernel):
  """Maps a 5x5 stride-2 transposed-convolution kernel to the equivalent 3x3 kernel with 4x the outputs.

  The transposed convolution is lax.conv_transpose(x, kernel, (2, 2), ((2, 3), (2, 3))): the semantics of
  PyTorch's ConvTranspose2d(k=5, s=2, padding=2, output_padding=1) with the kernel flipped. Output row 2m+p
  draws on input rows m-1, m, m+1 through kernel taps (0, 2, 4) for p = 0 and (-, 1, 3) for p = 1. Padding the
  kernel with one leading zero makes both phases the slice [1 - p :: 2] of a 6-tap kernel.
  """
  kh, kw, c_in, c_out = kernel.shape
  if (kh, kw) != (5, 5):
    raise ValueError(f"sub-pixel mapping is defined for 5x5 kernels, got {kh}x{kw}")
  padded = jnp.pad(kernel, ((1, 0), (1, 0), (0, 0), (0, 0)))  # [6, 6, I, O], tap t at index t + 1
  phased = padded.reshape(3, 2, 3, 2, c_in, c_out)  # [a, 1 - p_row, b, 1 - p_col, I, O]
  phased = phased[:, ::-1, :, ::-1]  # [a, p_row, b, p_col, I, O]
  return phased.transpose(0, 2, 4, 1, 3, 5).reshape(3, 3, c_in, 4 * c_out)


class SubpixelConvTranspose(nn.Module):
  """A 5x5 stride-2 transposed convolution (H -> 2H), run as a 3x3 convolution plus depth-to-space.

  The parameters are those of the transposed convolution, so checkpoints keep its meaning; only the execution
  differs. On the CPU, XLA runs the strided transposed convolution about 20x slower than a convolution (see the
  project notes), and the sub-pixel form is as fast as a plain convolution everywhere.
  """
  features: int
  kernel_init: nn.initializers.Initializer = default_kernel_init

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (5, 5, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    y = jax.lax.conv_general_dilated(x, subpixel_kernel(kernel).astype(x.dtype), (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return depth_to_space(y) + bias


def causal_mask(kernel_size):
  """Mask 'A' of PixelCNN: ones strictly before the centre in raster order, zeros at and after it."""
  mask = np.zeros((kernel_size, kernel_size), np.float32)
  centre = kernel_size // 2
  mask[:centre, :] = 1.0
  mask[centre, :centre] = 1.0
  return mask


def reference_mask():
  """The 3x3 mask of the reference feature: the centre and its 4 causal neighbours (up-left, up, up-right, left)."""
  mask = causal_mask(3)
  mask[1, 1] = 1.0
  return mask


class MaskedConv(nn.Module):
  """A stride-1 convolution whose kernel is multiplied by a fixed spatial mask ('context' or 'reference').

  `__call__` convolves a whole map (training). `at_patches` applies the same masked kernel to patches taken
  around chosen positions, so that a decoder evaluates a few positions with exactly the parameters of training.
  """
  features: int
  in_features: int
  mask_kind: str = 'context'
  kernel_size: int = 5
  kernel_init: nn.initializers.Initializer = default_kernel_init

  def setup(self):
    k = self.kernel_size
    self.kernel = self.param('kernel', self.kernel_init, (k, k, self.in_features, self.features))
    self.bias = self.param('bias', nn.initializers.zeros, (self.features,))

  def masked_kernel(self):
    masks = {'context': causal_mask(self.kernel_size), 'reference': reference_mask()}
    return self.kernel * jnp.asarray(masks[self.mask_kind])[:, :, None, None]

  def __call__(self, x):
    pad = self.kernel_size // 2
    y = jax.lax.conv_general_dilated(x, self.masked_kernel(), (1, 1), ((pad, pad), (pad, pad)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y + self.bias

  def at_patches(self, patches):
    """patches: [..., k, k, in_features], the k x k neighbourhoods (zero outside the map) -> [..., features]."""
    return jnp.einsum('...hwi,hwio->...o', patches, self.masked_kernel()) + self.bias


def gather_patches(padded, rows, cols, size, start=0):
  """[K, size, size, C] patches of a map [H', W', C] with top-left corners (rows[k] + start, cols[k] + start).

  With a map padded by p, start = p - size // 2 gives the patches centred at (rows, cols) of the unpadded map.
  """
  offsets = jnp.arange(size)
  r = rows[:, None, None] + start + offsets[None, :, None]
  c = cols[:, None, None] + start + offsets[None, None, :]
  return padded[r, c]
