"""The rate-distortion objective (CompressAI's lambda convention)."""
import jax.numpy as jnp

from grm_jax import metrics, rd_lambda
from grm_jax.entropy_models import bits

DISTORTIONS = tuple(rd_lambda.QUALITY_LAMBDAS_OF)  # each with its quality scale


def per_image_bpp(outputs, pixels_per_image):
  """[B] bits per pixel of each image of a batch (the model's bpp is their mean)."""
  return sum(-jnp.sum(jnp.log2(lik), axis=tuple(range(1, lik.ndim)))
             for lik in outputs['likelihoods'].values()) / pixels_per_image


def rate_distortion_loss(outputs, x, lambda_, distortion='mse', stage_rate_weight=0.0, example_weights=None):
  """lambda * 255^2 * MSE + bpp, or lambda * (1 - MS-SSIM) + bpp, averaged over the batch.

  lambda_ is one number, or one per image [B] (a variable-rate model's batch): the summary then also gives the
  lowest and highest lambda of the batch and the bpp and PSNR of their images; example_weights [B], where given,
  weigh each image's lambda * D + R in the mean. The GRM's earlier prediction stages add stage_rate_weight times
  their own rates, so that they stay real predictors (the confidence score measures how well the local stage
  predicts). Returns (loss, metrics).
  """
  if distortion not in DISTORTIONS:
    raise ValueError(f"unknown distortion {distortion!r}; expected one of {DISTORTIONS}")
  per_image_mse = jnp.mean(jnp.square(outputs['x_hat'] - x), axis=(1, 2, 3))
  mse = jnp.mean(per_image_mse)  # the images of a batch have the same size
  if distortion == 'mse':
    per_image_distortion = 255.0**2 * per_image_mse
  else:
    per_image_distortion = 1.0 - metrics.ms_ssim(jnp.clip(outputs['x_hat'], 0.0, 1.0), x)
  per_image_rate = per_image_bpp(outputs, x.shape[1] * x.shape[2])  # compiled away where nothing uses it
  if example_weights is None:
    loss = jnp.mean(lambda_ * per_image_distortion) + outputs['bpp']
  else:
    loss = jnp.mean(example_weights * (lambda_ * per_image_distortion + per_image_rate))
  pixels = x.shape[0] * x.shape[1] * x.shape[2]
  stage_bpp = [bits(lik) / pixels for lik in outputs['aux'].get('stage_likelihoods', [])]
  if stage_bpp:
    loss = loss + stage_rate_weight * sum(stage_bpp)
  summary = {'loss': loss, 'bpp': outputs['bpp'], 'bpp_y': outputs['bpp_y'], 'bpp_z': outputs['bpp_z'], 'mse': mse,
             'psnr': jnp.mean(10.0 * jnp.log10(1.0 / per_image_mse))}
  for name, value in zip(('bpp_local', 'bpp_reference'), stage_bpp):
    summary[name] = value
  if jnp.ndim(lambda_):
    summary.update(_ends_of_the_range(lambda_, per_image_rate, per_image_mse))
  return loss, summary


def _ends_of_the_range(lambdas, bpp, mse):
  """The lowest and highest lambda of a batch, with the bpp and PSNR of their images."""
  summary = {}
  for end, index in (('low', jnp.argmin(lambdas)), ('high', jnp.argmax(lambdas))):
    summary[f'lambda_{end}'] = lambdas[index]
    summary[f'bpp_at_lambda_{end}'] = bpp[index]
    summary[f'psnr_at_lambda_{end}'] = -10.0 * jnp.log10(mse[index])
  return summary
