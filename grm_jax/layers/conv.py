"""Convolutions of the codec: strided down-sampling, sub-pixel up-sampling and masked (causal) convolutions.

All tensors are NHWC. Kernels are HWIO, as in flax.linen.Conv. `dtype` is the computation dtype (mixed
precision: bfloat16 arithmetic on float32 parameters); None computes in the dtype of the inputs and parameters.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

default_kernel_init = nn.initializers.lecun_normal()


def downsample_conv(features, name=None, dtype=None):
  """5x5 convolution of stride 2 with 'same'-style padding: H -> ceil(H / 2)."""
  return DownsampleConv(features, name=name, dtype=dtype)


def same_conv(features, kernel_size, name=None, dtype=None):
  pad = kernel_size // 2
  return nn.Conv(features, (kernel_size, kernel_size), padding=((pad, pad), (pad, pad)), name=name, dtype=dtype)


def depth_to_space(x, block=2):
  """[B, H, W, block*block*C] -> [B, H*block, W*block, C]; channel order (row phase, column phase, C)."""
  b, h, w, c = x.shape
  c_out = c // (block * block)
  x = x.reshape(b, h, w, block, block, c_out)
  x = x.transpose(0, 1, 3, 2, 4, 5)
  return x.reshape(b, h * block, w * block, c_out)


def space_to_depth(x, block=2):
  """[B, H, W, C] -> [B, H/block, W/block, block*block*C], the inverse of depth_to_space."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // block, block, w // block, block, c)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // block, w // block, block * block * c)


def space_to_depth_kernel(kernel):
  """Maps a 5x5 stride-2 kernel to the 3x3 stride-1 kernel over space_to_depth(x) that computes the same map.

  Output m of the strided convolution (padding 2) reads inputs 2m - 2 + t, t = 0..4: blocks m - 1, m, m + 1 at
  phases (0, 1), (0, 1), (0, -) through taps (0, 1), (2, 3), (4, -). Padding the kernel with one trailing zero
  makes that the 6-tap kernel read as [block, phase].
  """
  kh, kw, c_in, c_out = kernel.shape
  if (kh, kw) != (5, 5):
    raise ValueError(f"space-to-depth mapping is defined for 5x5 kernels, got {kh}x{kw}")
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0))).reshape(3, 2, 3, 2, c_in, c_out)
  return padded.transpose(0, 2, 1, 3, 4, 5).reshape(3, 3, 4 * c_in, c_out)


_DIMENSIONS = ('NHWC', 'HWIO', 'NHWC')


def _strided_conv(x, kernel):
  return jax.lax.conv_general_dilated(x, kernel, (2, 2), ((2, 2), (2, 2)), dimension_numbers=_DIMENSIONS)


def _strided_conv_as_stride_one(x, kernel):
  """The same map as _strided_conv, as a stride-1 convolution over space_to_depth(x) (H, W padded to even)."""
  x = jnp.pad(x, ((0, 0), (0, x.shape[1] % 2), (0, x.shape[2] % 2), (0, 0)))
  return jax.lax.conv_general_dilated(space_to_depth(x), space_to_depth_kernel(kernel), (1, 1), ((1, 1), (1, 1)),
                                      dimension_numbers=_DIMENSIONS)


@jax.custom_vjp
def strided_conv(x, kernel):
  """A 5x5 stride-2 convolution, 'same' padding. Forward: XLA's strided convolution. Gradient with respect to x:
  through the stride-1 form, because XLA runs the transposed convolution that a strided convolution's input
  gradient is about 2x slower on a CPU (measured: 0.61 s against 0.32 s, batch 8, 128x128x192 -> 64x64x192)."""
  return _strided_conv(x, kernel)


def _strided_conv_forward(x, kernel):
  return _strided_conv(x, kernel), (x, kernel)


def _strided_conv_backward(residuals, gradient):
  x, kernel = residuals
  _, x_vjp = jax.vjp(lambda inputs: _strided_conv_as_stride_one(inputs, kernel)[:, :gradient.shape[1],
                                                                                   :gradient.shape[2]], x)
  _, kernel_vjp = jax.vjp(lambda weights: _strided_conv(x, weights), kernel)
  return x_vjp(gradient)[0], kernel_vjp(gradient)[0]


strided_conv.defvjp(_strided_conv_forward, _strided_conv_backward)


class _StrideTwoConv(nn.Module):
  """A 5x5 stride-2 layer: its parameters (HWIO kernel, bias), cast to the computation dtype, and _convolve."""
  features: int
  kernel_init: nn.initializers.Initializer = default_kernel_init
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (5, 5, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    if self.dtype is not None:
      x, kernel, bias = x.astype(self.dtype), kernel.astype(self.dtype), bias.astype(self.dtype)
    return self._convolve(x, kernel) + bias


class DownsampleConv(_StrideTwoConv):
  """A 5x5 stride-2 convolution with 'same'-style padding (H -> ceil(H / 2)).

  The parameters and the forward pass are those of flax.linen.Conv(features, (5, 5), strides=2, padding=2), so
  checkpoints and exported models keep their meaning and coding is unchanged; only the gradient runs faster
  (strided_conv).
  """

  @staticmethod
  def _convolve(x, kernel):
    return strided_conv(x, kernel)


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
  xp = np if isinstance(kernel, np.ndarray) else jnp  # numpy at export: no eager XLA compiles
  padded = xp.pad(kernel, ((1, 0), (1, 0), (0, 0), (0, 0)))  # [6, 6, I, O], tap t at index t + 1
  phased = padded.reshape(3, 2, 3, 2, c_in, c_out)  # [a, 1 - p_row, b, 1 - p_col, I, O]
  phased = phased[:, ::-1, :, ::-1]  # [a, p_row, b, p_col, I, O]
  return phased.transpose(0, 2, 4, 1, 3, 5).reshape(3, 3, c_in, 4 * c_out)


class SubpixelConvTranspose(_StrideTwoConv):
  """A 5x5 stride-2 transposed convolution (H -> 2H), run as a 3x3 convolution plus depth-to-space.

  The parameters are those of the transposed convolution, so checkpoints keep its meaning; only the execution
  differs. On the CPU, XLA runs the strided transposed convolution about 20x slower than a convolution (see the
  project notes), and the sub-pixel form is as fast as a plain convolution everywhere.
  """

  @staticmethod
  def _convolve(x, kernel):
    return depth_to_space(jax.lax.conv_general_dilated(x, subpixel_kernel(kernel), (1, 1), ((1, 1), (1, 1)),
                                                       dimension_numbers=_DIMENSIONS))


# Each output phase's taps in the sub-pixel kernel's 3-input window (rows m-1, m, m+1): phase 0 reads all three,
# phase 1 only m and m+1 (its first tap is subpixel_kernel's padding zero). (window slice, convolution padding).
_PHASE_WINDOWS = ((slice(0, 3), (1, 1)), (slice(1, 3), (0, 1)))


class PhaseConvTranspose(SubpixelConvTranspose):
  """The same map as SubpixelConvTranspose, as four convolutions, one per output phase (row, column), each with only
  its own taps: 3x3, 3x2, 2x3 and 2x2, 25 products per output where the sub-pixel kernel has 36 with 11 zeros.

  Faster where the outputs are wide (paper-size g_s, forward and gradient: docs/speed.md, "Decoder kernels"),
  slower where they are few (g_s's 3-channel last layer: docs/range_coder.md), so that layer stays sub-pixel.
  The parameters are the transposed convolution's, as in SubpixelConvTranspose.
  """

  @staticmethod
  def _convolve(x, kernel):
    c_in, c_out = kernel.shape[2:]
    phased = subpixel_kernel(kernel).reshape(3, 3, c_in, 2, 2, c_out)
    rows = []
    for row_phase, (row_taps, row_padding) in enumerate(_PHASE_WINDOWS):
      row = [jax.lax.conv_general_dilated(x, phased[row_taps, col_taps, :, row_phase, col_phase], (1, 1),
                                          (row_padding, col_padding), dimension_numbers=_DIMENSIONS)
             for col_phase, (col_taps, col_padding) in enumerate(_PHASE_WINDOWS)]
      rows.append(jnp.stack(row, axis=3))  # [B, H, W, column phase, O]
    b, h, w, _ = x.shape
    return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, c_out)  # [B, H, row phase, W, column phase, O]


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


def checkerboard_mask(kernel_size):
  """The positions of the other colour of a checkerboard: offsets (dr, dc) with dr + dc odd. In a two-pass
  checkerboard order (He et al. 2021), these are the anchors around a non-anchor: all decoded in the first pass."""
  offsets = np.arange(kernel_size) - kernel_size // 2
  return ((offsets[:, None] + offsets[None, :]) % 2 == 1).astype(np.float32)


def checkerboard_reference_mask():
  """The 3x3 mask of an anchor's reference feature in checkerboard order: the centre and its 4 diagonal neighbours,
  the anchors nearest to it (its direct neighbours are decoded in the second pass)."""
  offsets = np.arange(3) - 1
  return ((offsets[:, None] + offsets[None, :]) % 2 == 0).astype(np.float32)


MASKS = {'context': causal_mask, 'reference': lambda size: reference_mask(), 'checkerboard': checkerboard_mask,
         'checkerboard_reference': lambda size: checkerboard_reference_mask()}


def kernel_mask(kind, kernel_size):
  """The spatial mask [k, k] of a MaskedConv's kind (MASKS)."""
  if kind not in MASKS:
    raise ValueError(f"unknown mask kind {kind!r}; expected one of {', '.join(MASKS)}")
  return MASKS[kind](kernel_size)


def mask_taps(kind, kernel_size):
  """The flat indices of a k x k patch that a mask keeps, in raster order: the integer path's patches."""
  return np.flatnonzero(kernel_mask(kind, kernel_size).reshape(-1))


class MaskedConv(nn.Module):
  """A stride-1 convolution whose kernel is multiplied by a fixed spatial mask (a kind of MASKS).

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
    return self.kernel * jnp.asarray(kernel_mask(self.mask_kind, self.kernel_size))[:, :, None, None]

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
