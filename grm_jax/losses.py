"""The rate-distortion objective (CompressAI's lambda convention)."""
import jax.numpy as jnp

from grm_jax import metrics
from grm_jax.entropy_models import bits

DISTORTIONS = ('mse', 'ms-ssim')


def rate_distortion_loss(outputs, x, lambda_, distortion='mse', stage_rate_weight=0.0):
  """lambda * 255^2 * MSE + bpp, or lambda * (1 - MS-SSIM) + bpp.

  The GRM's earlier prediction stages add stage_rate_weight times their own rates, so that they stay real
  predictors (the confidence score measures how well the local stage predicts). Returns (loss, metrics).
  """
  if distortion not in DISTORTIONS:
    raise ValueError(f"unknown distortion {distortion!r}; expected one of {DISTORTIONS}")
  per_image_mse = jnp.mean(jnp.square(outputs['x_hat'] - x), axis=(1, 2, 3))
  mse = jnp.mean(per_image_mse)  # the images of a batch have the same size
  if distortion == 'mse':
    distortion_term = 255.0**2 * mse
  else:
    distortion_term = 1.0 - jnp.mean(metrics.ms_ssim(jnp.clip(outputs['x_hat'], 0.0, 1.0), x))
  loss = lambda_ * distortion_term + outputs['bpp']
  pixels = x.shape[0] * x.shape[1] * x.shape[2]
  stage_bpp = [bits(lik) / pixels for lik in outputs['aux'].get('stage_likelihoods', [])]
  if stage_bpp:
    loss = loss + stage_rate_weight * sum(stage_bpp)
  summary = {'loss': loss, 'bpp': outputs['bpp'], 'bpp_y': outputs['bpp_y'], 'bpp_z': outputs['bpp_z'], 'mse': mse,
             'psnr': jnp.mean(10.0 * jnp.log10(1.0 / per_image_mse))}
  for name, value in zip(('bpp_local', 'bpp_reference'), stage_bpp):
    summary[name] = value
  return loss, summary
