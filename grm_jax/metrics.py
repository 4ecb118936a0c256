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


def _gaussian_window(size, sigma):
  coords = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2.0
  g = -0.5 * jnp.square(coords) / sigma**2
  window = jax.nn.softmax((g[None, :] + g[:, None]).reshape(-1)).reshape(size, size)
  return window


def _filter(x, window):
  """Depthwise 'valid' filtering of [B, H, W, C] with a 2D window."""
  channels = x.shape[-1]
  kernel = jnp.tile(window[:, :, None, None], (1, 1, 1, channels))
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), 'VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
                                      feature_group_count=channels)


def _ssim_and_contrast(x, y, max_val, window, k1=0.01, k2=0.03):
  """Per-image, per-channel SSIM and contrast-structure terms, as tf.image computes them."""
  c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
  mean_x, mean_y = _filter(x, window), _filter(y, window)
  num0 = mean_x * mean_y * 2.0
  den0 = jnp.square(mean_x) + jnp.square(mean_y)
  luminance = (num0 + c1) / (den0 + c1)
  num1 = _filter(x * y, window) * 2.0
  den1 = _filter(jnp.square(x) + jnp.square(y), window)
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
  window = _gaussian_window(filter_size, sigma)
  contrasts = []
  for scale in range(len(weights)):
    if scale:
      x, y = _halve(x), _halve(y)
    ssim, cs = _ssim_and_contrast(x, y, max_val, window)
    contrasts.append(jax.nn.relu(cs))
  terms = jnp.stack(contrasts[:-1] + [jax.nn.relu(ssim)], axis=-1)
  return jnp.mean(jnp.prod(terms**jnp.asarray(weights), axis=-1), axis=-1)


def ms_ssim_db(value):
  """MS-SSIM on the decibel scale used by RD plots: -10 log10(1 - MS-SSIM)."""
  return -10.0 * jnp.log10(1.0 - value)
