"""Codec: a trained model that writes and reads .grm files, by orchestrating its parts.

  codec = grm_jax.load(model_dir)
  data = codec.compress(image)        # uint8 [H, W, 3] -> bytes
  data = codec.compress(image, lambda_=0.005)   # a variable-rate model, anywhere in codec.lambda_range
  image = codec.decompress(data)      # bytes -> uint8 [H, W, 3]

The parts: the transforms (compiled per image size, refused where they would not fit: memory.py), the latent
coders (z, where the family has a hyperprior, then y: latent_coders.py), the entropy path they run on (float or
portable: entropy_paths.py), the lambda policy (rd_lambda.py) and the file format (bitstream.py, layout.py). A
variable-rate model's file carries the lambda it was coded at, so the decoder needs no setting.
"""
import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax import image_io, model_hashes, models, rd_lambda
from grm_jax.codec import bitstream, entropy_paths, latent_coders, layout, memory, model_dir
from grm_jax.codec.latent_coders import Stopwatch
from grm_jax.errors import GrmError


@dataclasses.dataclass
class EncodeResult:
  data: bytes
  reconstruction: np.ndarray  # uint8 [H, W, 3], what the decoder will output (None unless asked for)
  y_hat: np.ndarray
  estimated_bits: float  # information content of the coded symbols under the model's exact likelihoods
  seconds: dict
  z_hat: np.ndarray = None  # the hyper latent (None for the factorized family)


@dataclasses.dataclass
class DecodeResult:
  image: np.ndarray
  y_hat: np.ndarray
  seconds: dict


class Codec:

  def __init__(self, config, params, tables, meta, carrier=None, transforms=None):
    """carrier: how the portable path's integer matmuls are carried ('float32' or 'int8'; None: the faster here),
    the same integers either way. transforms: a researcher's own g_a and g_s, as the model was built with
    (models.build)."""
    self.config, self.meta, self.tables = config, meta, tables
    self.model = models.build(config, transform_dtype='float32', transforms=transforms)  # however it trained
    try:
      hashes = model_hashes.file_hashes(meta)
    except ValueError as error:
      raise GrmError(str(error)) from None
    self.file_hashes = tuple(bytes.fromhex(h)[:8] for h in hashes)  # what files it wrote name, newest first
    self.family, self.model_hash = config.model.family, self.file_hashes[0]
    self.params = jax.device_put(params)
    family = self.model.family_spec
    # y's entropy path, float or portable; the factorized family has none (its y is coded from tables alone).
    self.path = entropy_paths.of_model(self.model, self.params, tables, carrier) if family.hyperprior else None
    self.rate = rd_lambda.RatePolicy.of_config(config, self.path and self.path.rate_levels)
    self._analysis = memory.BoundedJit(self._method('analysis'), 'analysis transform')
    self._synthesis = memory.BoundedJit(self._method('synthesis'), 'synthesis transform')
    factorized = latent_coders.FactorizedCoder(tables['factorized_lookup'], tables['factorized_offsets'],
                                               functools.partial(jax.jit(self._method('factorized_likelihood')),
                                                                 self.params))
    if not family.hyperprior:
      self.z_coder, self.y_coder = None, factorized
      return
    self.z_coder = factorized
    self._hyper_analysis = jax.jit(self._method('hyper_analysis'))
    self._hyper_features = jax.jit(self.path.hyper_features)
    self.y_coder = latent_coders.Y_CODERS[family.y_coding](self.path, tables, self.model.coding_order)

  @property
  def arithmetic(self):
    """The .grm header's arithmetic field: 1 where y's entropy path is portable."""
    return 0 if self.path is None else self.path.arithmetic

  portable = property(lambda self: self.arithmetic == 1)
  carrier = property(lambda self: self.path and self.path.carrier)

  def _method(self, name):
    return entropy_paths.model_method(self.model, name)

  @classmethod
  def load(cls, path, carrier=None, transforms=None):
    return cls(*model_dir.load(path, transforms=transforms), carrier=carrier, transforms=transforms)

  # The lambda policy's vocabulary, as the CLI and evaluation ask for it.
  lambda_range = property(lambda self: self.rate.lambda_range)
  variable_rate = property(lambda self: self.rate.variable_rate)
  default_lambda = property(lambda self: self.rate.default)
  # What the model was trained for, 'mse' or 'ms-ssim': the scale of its lambdas and of a quality level.
  metric = property(lambda self: self.config.get('distortion', 'mse'))

  def check_lambda(self, lambda_):
    return self.rate.check(lambda_)

  def compress(self, image, lambda_=None, progress=None):
    return self.encode(image, reconstruct=False, lambda_=lambda_, progress=progress).data

  def decompress(self, data, max_pixels=bitstream.DEFAULT_MAX_PIXELS, progress=None):
    return self.decode(data, max_pixels, progress).image

  def transform_bytes(self, height, width, lambda_=None):
    """{'analysis', 'synthesis'}: bytes each transform needs for an image of this size, by XLA's account of the
    compiled program (None where XLA does not say); what encode and decode check against free memory."""
    lambdas = self.rate.model_input(self.rate.check(lambda_))
    seen = layout.folded_size(height, width, layout.fold_for(height, width))
    image = jax.ShapeDtypeStruct((1, *seen, 3), jnp.float32)
    return {'analysis': self._analysis.needed_bytes(self.params, image, lambdas),
            'synthesis': self._synthesis.needed_bytes(self.params, self._latent_struct(*seen), lambdas)}

  def encode(self, image, reconstruct=True, lambda_=None, progress=None):
    """The .grm bytes of an image, with the exact estimated bits and, if asked, the decoder's output (a run of
    the synthesis that the bitstream does not need). lambda_: a variable-rate model's trade-off (default:
    default_lambda). progress: called as progress(done, total) after each step of an autoregressive coder."""
    image, lambda_ = _checked_image(image), self.rate.check(lambda_)
    lambdas, watch, (height, width) = self.rate.model_input(lambda_), Stopwatch(), image.shape[:2]
    fold = layout.fold_for(height, width)
    seen = layout.fold(image, fold)  # what the transforms see: the image, or a thin one folded squarer
    if reconstruct:  # refused now, not after the entropy coding, where the synthesis would not fit
      self._synthesis.prepare(self.params, self._latent_struct(*seen.shape[:2]), lambdas, size=(width, height))
    start = time.perf_counter()
    y = self._analysis(self.params, image_io.to_float(seen)[None], lambdas, size=(width, height))
    watch.add('network', start, y)
    z_hat, hyper, strings, bits = None, None, [], 0.0
    if self.z_coder is not None:
      start = time.perf_counter()
      z = self._hyper_analysis(self.params, y, lambdas)
      watch.add('network', start, z)
      z_hat, string, bits = self.z_coder.compress(z, None, watch)
      hyper, strings = self._hyper_features_of(z_hat, lambdas, watch), [string]
    y_hat, string, y_bits = self.y_coder.compress(y, hyper, watch, progress)
    reconstruction = self._reconstruct(y_hat, fold, height, width, lambdas, watch) if reconstruct else None
    header = bitstream.Header(self.model_hash, height, width, tuple(y.shape[1:3]),
                              (0, 0) if z_hat is None else tuple(z_hat.shape[1:3]), lambda_, self.arithmetic,
                              fold_strips=fold.strips, fold_axis=fold.axis)
    return EncodeResult(bitstream.pack(header, strings + [string]), reconstruction, np.asarray(y_hat),
                        bits + y_bits, watch.seconds, None if z_hat is None else np.asarray(z_hat))

  def decode(self, data, max_pixels=bitstream.DEFAULT_MAX_PIXELS, progress=None):
    """The image of a .grm file; a file claiming more than max_pixels pixels is refused (None or 0: no limit).
    progress: as in encode."""
    header, strings = bitstream.unpack(bytes(data))
    bitstream.check_pixel_limit(header, max_pixels)
    fold, seen, y_shape = _checked_layout(header, self.file_hashes, self.arithmetic)
    z_shape = tuple(s // 4 for s in y_shape) if self.z_coder is not None else (0, 0)
    if header.z_shape != z_shape or len(strings) != (2 if self.z_coder is not None else 1):
      raise GrmError("damaged .grm file (latent shapes do not match the image size)")
    lambdas = self.rate.model_input(self.rate.of_file(header.lambda_))
    self._synthesis.prepare(self.params, self._latent_struct(*seen), lambdas, size=(header.width, header.height))
    watch, hyper = Stopwatch(), None
    if self.z_coder is not None:
      z_hat = self.z_coder.decompress(strings[0], None, z_shape, watch)
      hyper = self._hyper_features_of(z_hat, lambdas, watch)
    y_hat = self.y_coder.decompress(strings[-1], hyper, y_shape, watch, progress)
    image = self._reconstruct(y_hat, fold, header.height, header.width, lambdas, watch)
    return DecodeResult(image, np.asarray(y_hat), watch.seconds)

  def _hyper_features_of(self, z_hat, lambdas, watch):
    start = time.perf_counter()
    hyper = self._hyper_features(self.path.params, z_hat, lambdas)
    watch.add('network', start, hyper)
    return hyper

  def _latent_struct(self, height, width):
    """The shape of y_hat for an image the transforms see at this size."""
    return jax.ShapeDtypeStruct((1, *layout.latent_shape(height, width), self.model.latent_channels), jnp.float32)

  def _reconstruct(self, y_hat, fold, height, width, lambdas, watch):
    start = time.perf_counter()
    x_hat = self._synthesis(self.params, y_hat, lambdas, size=(width, height))[0]
    image = layout.unfold(image_io.to_uint8(np.asarray(x_hat)), fold, height, width)
    watch.add('network', start)
    return image


def _checked_image(image):
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3 or min(image.shape[:2]) < 1:
    raise GrmError(f"compress takes a uint8 [H, W, 3] image, got {image.dtype} {list(image.shape)}")
  folded = layout.folded_size(*image.shape[:2], layout.fold_for(*image.shape[:2]))
  if max(layout.latent_shape(*folded)) > 65535:  # the file's latent shape fields are 16 bits
    raise GrmError(f"image too large: {image.shape[1]}x{image.shape[0]}")
  return image


def _checked_layout(header, file_hashes, arithmetic):
  """(fold, size the transforms see, y's shape) of a file this model wrote (one of file_hashes, the model's own
  first); a GrmError for any other."""
  if header.model_hash not in file_hashes:
    raise GrmError(f"this file was written by another model (model hash {header.model_hash.hex()}, "
                   f"this model is {file_hashes[0].hex()})")
  if header.version > 1 and header.arithmetic != arithmetic:
    raise GrmError(f"damaged .grm file (its entropy path arithmetic is {bitstream.ARITHMETIC[header.arithmetic]}, "
                   f"this model's is {bitstream.ARITHMETIC[arithmetic]})")
  fold = layout.Fold(header.fold_strips, header.fold_axis)
  if header.version >= bitstream.FOLDED_VERSION and fold != layout.fold_for(header.height, header.width):
    raise GrmError("damaged .grm file (its fold is not the one an image of its size is coded with)")
  seen = layout.folded_size(header.height, header.width, fold)
  if header.y_shape != layout.latent_shape(*seen):
    raise GrmError("damaged .grm file (latent shapes do not match the image size)")
  return fold, seen, header.y_shape
