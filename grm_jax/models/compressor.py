"""ImageCompressor: transforms, gain units, a hyperprior and a family's entropy model of y, composed.

The families (models/families.py) differ only in how y's density is parameterised, so the paper's ablations (GDN
vs GSDN, reference and confidence on or off) are configurations of one class, and a researcher's own g_a and g_s
(`analysis_transform`, `synthesis_transform`) compose with any family's entropy model.

Variable rate: with a lambda_range, gain units (layers/gain.py) scale y (and z) per channel by a gain that depends
on each example's lambda, before quantisation, and by an inverse gain after it, so that one set of parameters
serves the whole range. Without one, the model is fixed-rate: trained for, and coding at, one lambda.

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
from grm_jax.layers.gain import GainUnit, anchor_lambdas
from grm_jax.models import families
from grm_jax.rd_lambda import middle
from grm_jax.models.schema import TRANSFORM_DTYPES
from grm_jax.models.transforms import AnalysisTransform, HyperAnalysis, HyperSynthesis, SynthesisTransform

STRIDE = 64  # g_a down-samples 16x and h_a 4x more


def pad_to_stride(x, stride=STRIDE):
  """Pads [B, H, W, C] at the bottom and right, repeating edge pixels, to multiples of `stride`."""
  _, h, w, _ = x.shape
  return jnp.pad(x, ((0, 0), (0, -h % stride), (0, -w % stride), (0, 0)), mode='edge')


class ImageCompressor(nn.Module):
  family: str = 'grm'
  norm: str = 'gsdn'
  channels: int = 192  # N
  transform_channels: int = 0  # g_a and g_s's width, where wider than h_a's and h_s's; 0: N
  latent_channels: int = 384  # M
  hidden: int = 1152  # width of the parameter networks
  use_reference: bool = True
  use_confidence: bool = True
  gating: str = 'product'
  references: int = 1  # grm: earlier positions the reference stage reads (the paper: 1)
  order: str = 'raster'
  # Mixed precision: the computation dtype of g_a, g_s, h_a and h_s. Their parameters, the entropy model and the
  # loss stay float32 (the entropy model's likelihoods need the precision); inputs and outputs of the transforms
  # are cast at their boundaries.
  transform_dtype: str = 'float32'
  # Variable rate: (low, high) lambdas that one set of parameters serves; () for a fixed-rate model. Gain vectors
  # are learned at gain_anchors lambdas log-spaced over the range; z gets its own gains when z_gain.
  lambda_range: tuple = ()
  gain_anchors: int = 6
  z_gain: bool = True
  # A researcher's own g_a and g_s (any Flax modules with the shipped transforms' strides), in place of the
  # config's; their parameters are then named 'analysis_transform' and 'synthesis_transform'.
  analysis_transform: nn.Module = None
  synthesis_transform: nn.Module = None

  def setup(self):
    family = families.get(self.family)
    if self.transform_dtype not in TRANSFORM_DTYPES:
      raise ValueError(f"unknown transform_dtype {self.transform_dtype!r}; expected one of {TRANSFORM_DTYPES}")
    n, m, dtype = self.channels, self.latent_channels, jnp.dtype(self.transform_dtype)
    width = self.transform_channels or n
    self.g_a = (self.analysis_transform if self.analysis_transform is not None else
                AnalysisTransform(width, m, self.norm, dtype=dtype))
    self.g_s = (self.synthesis_transform if self.synthesis_transform is not None else
                SynthesisTransform(width, self.norm, dtype=dtype))
    anchors = anchor_lambdas(self.lambda_range, self.gain_anchors) if self.lambda_range else ()
    self.y_gains = GainUnit(m, anchors) if anchors else None
    self.z_gains = GainUnit(n, anchors) if anchors and self.z_gain and family.hyperprior else None
    if not family.hyperprior:
      self.y_density = FactorizedDensity(m)
      return
    self.h_a = HyperAnalysis(n, dtype=dtype)
    self.z_density = FactorizedDensity(n)
    self.h_s = HyperSynthesis(n, 3 * m // 2, family.hyper_channels(m), dtype=dtype)
    if family.autoregressive:
      self.y_parameters = AutoregressiveEntropyParameters(
          m, self.hidden, use_reference=self.uses_reference, use_confidence=self.use_confidence,
          gating=self.gating, order=self.coding_order, references=self.references)

  @property
  def family_spec(self):
    """The model's family (models/families.py)."""
    return families.get(self.family)

  @property
  def coding_order(self):
    """The order y is coded in: the one the family is pinned to (the checkerboard families), else model.order."""
    return self.family_spec.order or self.order

  @property
  def autoregressive(self):
    return self.family_spec.autoregressive

  @property
  def uses_reference(self):
    """Whether y's entropy model has the global reference stage."""
    return self.family_spec.reference and self.use_reference

  @property
  def variable_rate(self):
    return bool(self.lambda_range)

  def _gained(self, gains, value, lambdas, inverse=False):
    """value [B, h, w, C] times the gains (or inverse gains) of each example's lambda; the range's middle where
    lambdas is None. Unchanged in a fixed-rate model."""
    if gains is None:
      return value
    if lambdas is None:
      lambdas = jnp.full((value.shape[0],), middle(self.lambda_range), jnp.float32)
    gain, inverse_gain = gains(jnp.broadcast_to(jnp.asarray(lambdas, jnp.float32).reshape(-1), value.shape[:1]))
    return value * (inverse_gain if inverse else gain)[:, None, None, :]

  # The stages of the forward pass, one method each, so that the codec runs them separately.

  def _transform(self, transform, inputs):
    """A transform in its computation dtype, with float32 outputs (no casts at all in float32)."""
    return transform(inputs.astype(self.transform_dtype)).astype(jnp.float32)

  # lambdas: [B] trade-offs of a variable-rate model (ignored by a fixed-rate one).

  def analysis(self, x, lambdas=None):
    """y of an image [B, H, W, 3], padded to the stride first."""
    return self._gained(self.y_gains, self._transform(self.g_a, pad_to_stride(x)), lambdas)

  def synthesis(self, y_hat, lambdas=None):
    """The reconstruction of the padded image."""
    return self._transform(self.g_s, self._gained(self.y_gains, y_hat, lambdas, inverse=True))

  def hyper_analysis(self, y, lambdas=None):
    z = self._transform(self.h_a, jnp.abs(y) if self.family_spec.hyper_of_magnitude else y)
    return self._gained(self.z_gains, z, lambdas)

  def hyper_inputs(self, z_hat, lambdas=None):
    """What h_s sees: z_hat times the inverse gains of each example's lambda."""
    return self._gained(self.z_gains, z_hat, lambdas, inverse=True)

  def hyper_features(self, z_hat, lambdas=None):
    return self._transform(self.h_s, self.hyper_inputs(z_hat, lambdas))

  def factorized_density(self):
    """The factorized density of the family: of z, or of y for the factorized prior."""
    return self.z_density if self.family_spec.hyperprior else self.y_density

  def factorized_likelihood(self, values):
    return self.factorized_density()(values)

  def factorized_logits_cumulative(self, values):
    return self.factorized_density().logits_cumulative(values)

  def initial_decoding_state(self, height, width):
    return self.y_parameters.initial_state(height, width)

  def predict_positions(self, state, hyper_at, rows, cols, candidates, work=None):
    return self.y_parameters.predict_positions(state, hyper_at, rows, cols, candidates, *([work] if work else []))

  def commit_positions(self, state, rows, cols, y_hat_at, pending, work=None):
    return self.y_parameters.commit_positions(state, rows, cols, y_hat_at, pending, *([work] if work else []))

  def gaussian_parameters(self, y_hat, hyper, drop_reference=False):
    """(mu, sigma, aux) of y. y_hat is only looked at causally, and only by the autoregressive families;
    drop_reference: the grm family without its global reference (a diagnostic)."""
    if self.autoregressive:
      return self.y_parameters(y_hat, hyper, drop_reference)
    if self.family_spec.hyper_means:
      mu, sigma = jnp.split(hyper, 2, axis=-1)
      return mu, bounded_scale(sigma), {}
    return jnp.zeros_like(hyper), bounded_scale(hyper), {}

  def _training_noise(self, value, draw, example_keys):
    """value + U(-0.5, 0.5), from the 'noise' rng stream, or from each example's own key (fold_in(key, draw))."""
    if example_keys is None:
      return add_uniform_noise(value, self.make_rng('noise'))
    keys = jax.vmap(lambda key: jax.random.fold_in(key, draw))(example_keys)
    return jax.vmap(add_uniform_noise)(value, keys)

  def __call__(self, x, train: bool = False, example_keys=None, lambdas=None):
    """x: float [B, H, W, 3] in [0, 1]. Training draws its noise from example_keys (uint32 [B, 2], one key per
    example: the noise of an example then depends on its key alone, however the batch is split across devices)
    or, without them, from the 'noise' rng stream. lambdas: [B], each example's trade-off in a variable-rate
    model (default: the middle of its range).

    Returns a dict: x_hat (cropped to H x W, not clipped), likelihoods {'y', 'z'}, bpp, bpp_y, bpp_z (means over
    the batch, per original pixel), and aux (earlier prediction stages and reference scores, where present).
    """
    b, h, w, _ = x.shape
    y = self.analysis(x, lambdas)
    likelihoods, aux = {}, {}

    if not self.family_spec.hyperprior:
      y_rate = self._training_noise(y, 1, example_keys) if train else jnp.round(y)
      likelihoods['y'] = self.y_density(y_rate)
      y_hat = straight_through_round(y) if train else jnp.round(y)
    else:
      z = self.hyper_analysis(y, lambdas)
      z_hat = self._training_noise(z, 0, example_keys) if train else jnp.round(z)
      likelihoods['z'] = self.z_density(z_hat)
      hyper = self.hyper_features(z_hat, lambdas)
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

    x_hat = self.synthesis(y_hat, lambdas)[:, :h, :w, :]
    pixels = b * h * w
    bpp_y = bits(likelihoods['y']) / pixels
    bpp_z = bits(likelihoods['z']) / pixels if 'z' in likelihoods else jnp.zeros(())
    return {'x_hat': x_hat, 'likelihoods': likelihoods, 'bpp': bpp_y + bpp_z, 'bpp_y': bpp_y, 'bpp_z': bpp_z,
            'y_hat': y_hat, 'aux': aux}
