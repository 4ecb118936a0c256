"""ImageCompressor: one model class for the whole family, from the factorized prior to the global reference model.

The families differ only in how y's density is parameterised:
  factorized  y ~ a factorized learned density                     (Balle 2017/2018)
  hyperprior  y ~ N(0, sigma(z))                                   (Balle 2018)
  mean_scale  y ~ N(mu(z), sigma(z))                               (Minnen 2018)
  context     y ~ N(mu, sigma)(local context, z)                   (Minnen 2018, joint autoregressive)
  grm         y ~ N(mu, sigma)(local context, global reference, z) (Qian 2021)
so the paper's ablations (GDN vs GSDN, reference and confidence on or off) are configurations of one class.

Quantisation: uniform noise for the rate terms while training and straight-through rounding for what the
decoder sees. Symbols are coded relative to the predicted mean (y_hat = mu + round(y - mu)) wherever the mean is
known in parallel. The autoregressive families see round(y) in this parallel pass (their mean depends on y_hat
itself); the codec codes them step by step in the coding order, relative to the mean, so the file's rate differs slightly
from this pass's estimate (the codec reports its own exact estimate).
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from grm_jax.entropy_models import (AutoregressiveEntropyParameters, FactorizedDensity, add_uniform_noise, bits,
                                    bounded_scale, gaussian_likelihood, round_with_offset, straight_through_round)
from grm_jax.models.transforms import AnalysisTransform, HyperAnalysis, HyperSynthesis, SynthesisTransform

FAMILIES = ('factorized', 'hyperprior', 'mean_scale', 'context', 'grm')
AUTOREGRESSIVE = ('context', 'grm')
STRIDE = 64  # g_a down-samples 16x and h_a 4x more
TRANSFORM_DTYPES = ('float32', 'bfloat16')


def pad_to_stride(x, stride=STRIDE):
  """Pads [B, H, W, C] at the bottom and right, repeating edge pixels, to multiples of `stride`."""
  _, h, w, _ = x.shape
  return jnp.pad(x, ((0, 0), (0, -h % stride), (0, -w % stride), (0, 0)), mode='edge')


class ImageCompressor(nn.Module):
  family: str = 'grm'
  norm: str = 'gsdn'
  channels: int = 192  # N
  latent_channels: int = 384  # M
  hidden: int = 1152  # width of the parameter networks
  use_reference: bool = True
  use_confidence: bool = True
  gating: str = 'product'
  order: str = 'raster'
  # Mixed precision: the computation dtype of g_a, g_s, h_a and h_s. Their parameters, the entropy model and the
  # loss stay float32 (the entropy model's likelihoods need the precision); inputs and outputs of the transforms
  # are cast at their boundaries.
  transform_dtype: str = 'float32'

  def setup(self):
    if self.family not in FAMILIES:
      raise ValueError(f"unknown model family {self.family!r}; expected one of {FAMILIES}")
    if self.transform_dtype not in TRANSFORM_DTYPES:
      raise ValueError(f"unknown transform_dtype {self.transform_dtype!r}; expected one of {TRANSFORM_DTYPES}")
    n, m, dtype = self.channels, self.latent_channels, jnp.dtype(self.transform_dtype)
    self.g_a = AnalysisTransform(n, m, self.norm, dtype=dtype)
    self.g_s = SynthesisTransform(n, self.norm, dtype=dtype)
    if self.family == 'factorized':
      self.y_density = FactorizedDensity(m)
      return
    self.h_a = HyperAnalysis(n, dtype=dtype)
    self.z_density = FactorizedDensity(n)
    hyper_channels = m if self.family == 'hyperprior' else 2 * m
    self.h_s = HyperSynthesis(n, 3 * m // 2, hyper_channels, dtype=dtype)
    if self.family in AUTOREGRESSIVE:
      self.y_parameters = AutoregressiveEntropyParameters(
          m, self.hidden, use_reference=self.family == 'grm' and self.use_reference,
          use_confidence=self.use_confidence, gating=self.gating, order=self.order)

  @property
  def autoregressive(self):
    return self.family in AUTOREGRESSIVE

  # The stages of the forward pass, one method each, so that the codec runs them separately.

  def _transform(self, transform, inputs):
    """A transform in its computation dtype, with float32 outputs (no casts at all in float32)."""
    return transform(inputs.astype(self.transform_dtype)).astype(jnp.float32)

  def analysis(self, x):
    """y of an image [B, H, W, 3], padded to the stride first."""
    return self._transform(self.g_a, pad_to_stride(x))

  def synthesis(self, y_hat):
    """The reconstruction of the padded image."""
    return self._transform(self.g_s, y_hat)

  def hyper_analysis(self, y):
    return self._transform(self.h_a, jnp.abs(y) if self.family == 'hyperprior' else y)

  def hyper_features(self, z_hat):
    return self._transform(self.h_s, z_hat)

  def factorized_density(self):
    """The factorized density of the family: of z, or of y for the factorized prior."""
    return self.y_density if self.family == 'factorized' else self.z_density

  def factorized_likelihood(self, values):
    return self.factorized_density()(values)

  def factorized_logits_cumulative(self, values):
    return self.factorized_density().logits_cumulative(values)

  def initial_decoding_state(self, height, width):
    return self.y_parameters.initial_state(height, width)

  def predict_positions(self, state, hyper_at, rows, cols, candidates):
    return self.y_parameters.predict_positions(state, hyper_at, rows, cols, candidates)

  def commit_positions(self, state, rows, cols, y_hat_at, pending):
    return self.y_parameters.commit_positions(state, rows, cols, y_hat_at, pending)

  def gaussian_parameters(self, y_hat, hyper):
    """(mu, sigma, aux) of y. y_hat is only looked at causally, and only by the autoregressive families."""
    m = self.latent_channels
    if self.family == 'hyperprior':
      return jnp.zeros_like(hyper), bounded_scale(hyper), {}
    if self.family == 'mean_scale':
      return hyper[..., :m], bounded_scale(hyper[..., m:]), {}
    return self.y_parameters(y_hat, hyper)

  def _training_noise(self, value, draw, example_keys):
    """value + U(-0.5, 0.5), from the 'noise' rng stream, or from each example's own key (fold_in(key, draw))."""
    if example_keys is None:
      return add_uniform_noise(value, self.make_rng('noise'))
    keys = jax.vmap(lambda key: jax.random.fold_in(key, draw))(example_keys)
    return jax.vmap(add_uniform_noise)(value, keys)

  def __call__(self, x, train: bool = False, example_keys=None):
    """x: float [B, H, W, 3] in [0, 1]. Training draws its noise from example_keys (uint32 [B, 2], one key per
    example: the noise of an example then depends on its key alone, however the batch is split across devices)
    or, without them, from the 'noise' rng stream.

    Returns a dict: x_hat (cropped to H x W, not clipped), likelihoods {'y', 'z'}, bpp, bpp_y, bpp_z (means over
    the batch, per original pixel), and aux (earlier prediction stages and reference scores, where present).
    """
    b, h, w, _ = x.shape
    y = self.analysis(x)
    likelihoods, aux = {}, {}

    if self.family == 'factorized':
      y_rate = self._training_noise(y, 1, example_keys) if train else jnp.round(y)
      likelihoods['y'] = self.y_density(y_rate)
      y_hat = straight_through_round(y) if train else jnp.round(y)
    else:
      z = self.hyper_analysis(y)
      z_hat = self._training_noise(z, 0, example_keys) if train else jnp.round(z)
      likelihoods['z'] = self.z_density(z_hat)
      hyper = self.hyper_features(z_hat)
      y_context = (straight_through_round(y) if train else jnp.round(y)) if self.autoregressive else None
      mu, sigma, aux = self.gaussian_parameters(y_context, hyper)
      if self.autoregressive:
        y_hat = y_context
      else:
        y_hat = straight_through_round(y, mu) if train else round_with_offset(y, mu)
      y_rate = self._training_noise(y, 1, example_keys) if train else y_hat
      likelihoods['y'] = gaussian_likelihood(y_rate, mu, sigma)
      if 'stages' in aux:
        aux['stage_likelihoods'] = [gaussian_likelihood(y_rate, *stage) for stage in aux.pop('stages')]

    x_hat = self.synthesis(y_hat)[:, :h, :w, :]
    pixels = b * h * w
    bpp_y = bits(likelihoods['y']) / pixels
    bpp_z = bits(likelihoods['z']) / pixels if 'z' in likelihoods else jnp.zeros(())
    return {'x_hat': x_hat, 'likelihoods': likelihoods, 'bpp': bpp_y + bpp_z, 'bpp_y': bpp_y, 'bpp_z': bpp_z,
            'y_hat': y_hat, 'aux': aux}
