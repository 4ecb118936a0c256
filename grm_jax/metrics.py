"""Image quality metrics in JAX: PSNR and MS-SSIM, the latter matching tf.image.ssim_multiscale."""
import jax
import jax.numpy as jnp

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIDE = 161  # (filter size - 1) * 2^(scales - 1) + 1 for the defaults


def mse(a, b):
  return jnp.mean(jnp.square(a - b))


def psnr(a, b, max_val=1.0):
  """Peak signal-to-noise ratio in dB over all elements."""
  return 10.0 * jnp.log10(max_val**2 / mse(a, b))


def _gaussian_taps(size, sigma):
  """The 1-D Gaussian whose outer product with itself is tf.image's normalised 2-D window."""
  coords = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2.0
  return jax.nn.softmax(-0.5 * jnp.square(coords) / sigma**2)


def _filter(x, taps):
  """'Valid' Gaussian filtering of [B, H, W, C], channel by channel: the separable form of tf.image's 2-D window
  (2k instead of k^2 multiplies per pixel; the training loss of an MS-SSIM model runs it 20 times a step), each
  channel as an image of its own, since XLA's CPU backend runs grouped convolutions slowly."""
  batch, height, width, channels = x.shape
  size = taps.shape[0]
  planes = jnp.transpose(x, (0, 3, 1, 2)).reshape(batch * channels, height, width, 1)
  for kernel in (taps.reshape(size, 1, 1, 1), taps.reshape(1, size, 1, 1)):
    planes = jax.lax.conv_general_dilated(planes, kernel, (1, 1), 'VALID',
                                          dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  planes = planes.reshape(batch, channels, height - size + 1, width - size + 1)
  return jnp.transpose(planes, (0, 2, 3, 1))


def _ssim_and_contrast(x, y, max_val, taps, k1=0.01, k2=0.03):
  """Per-image, per-channel SSIM and contrast-structure terms, as tf.image computes them."""
  c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
  mean_x, mean_y = _filter(x, taps), _filter(y, taps)
  num0 = mean_x * mean_y * 2.0
  den0 = jnp.square(mean_x) + jnp.square(mean_y)
  luminance = (num0 + c1) / (den0 + c1)
  num1 = _filter(x * y, taps) * 2.0
  den1 = _filter(jnp.square(x) + jnp.square(y), taps)
  cs = (num1 - num0 + c2) / (den1 - den0 + c2)
  return jnp.mean(luminance * cs, axis=(1, 2)), jnp.mean(cs, axis=(1, 2))


def _halve(x):
  """2x2 average pooling; odd sizes first repeat their last row or column, as tf.image does."""
  _, h, w, _ = x.shape
  x = jnp.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode='symmetric')
  return jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), 'VALID') / 4.0


def ms_ssim(x, y, max_val=1.0, filter_size=11, sigma=1.5, weights=MS_SSIM_WEIGHTS):
  """Multi-scale SSIM of [B, H, W, C] images, averaged over channels: [B].

  Images must be at least (filter_size - 1) * 2^(scales - 1) + 1 pixels on each side (161 for the defaults).
  """
  min_side = (filter_size - 1) * 2**(len(weights) - 1) + 1
  if min(x.shape[1:3]) < min_side:
    raise ValueError(f"MS-SSIM needs images of at least {min_side}x{min_side} pixels, got {x.shape[1:3]}")
  taps = _gaussian_taps(filter_size, sigma)
  contrasts = []
  for scale in range(len(weights)):
    if scale:
      x, y = _halve(x), _halve(y)
    ssim, cs = _ssim_and_contrast(x, y, max_val, taps)
    contrasts.append(jax.nn.relu(cs))
  terms = jnp.stack(contrasts[:-1] + [jax.nn.relu(ssim)], axis=-1)
  return jnp.mean(jnp.prod(terms**jnp.asarray(weights), axis=-1), axis=-1)


def ms_ssim_db(value):
  """MS-SSIM on the decibel scale used by RD plots: -10 log10(1 - MS-SSIM)."""
  return -10.0 * jnp.log10(1.0 - value)
