"""Codec: a trained model that writes and reads .grm files.

  codec = grm_jax.load(model_dir)
  data = codec.compress(image)        # uint8 [H, W, 3] -> bytes
  data = codec.compress(image, lambda_=0.005)   # a variable-rate model, anywhere in codec.lambda_range
  image = codec.decompress(data)      # bytes -> uint8 [H, W, 3]

A variable-rate model's file carries the lambda it was coded at (as float32, the value both sides compute the
gains from), so the decoder needs no setting.

z is coded with the factorized tables. y is coded relative to the predicted mean: the symbol is round(y - mu), the
table is the first scale of the log-spaced table not below sigma, and the decoder's y_hat is mu + symbol. The
autoregressive families code step by step in the model's coding order (one position per step in raster order, an
anti-diagonal in wavefront order); encoder and decoder evaluate each step's (mu, sigma) with the same compiled
`predict` and advance with the same compiled `commit`, so both sides hold bit-identical parameters for every
symbol.
"""
import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax import image_io, models
from grm_jax.codec import bitstream, layout, memory, model_dir, portable_export, range_coder
from grm_jax.entropy_models import coding_order, gaussian_likelihood, portable
from grm_jax.errors import GrmError
from grm_jax.layers import exact

DECODE_PIECE = 1 << 16  # symbols per range-decoder call where a whole string is decoded at once


@dataclasses.dataclass
class EncodeResult:
  data: bytes
  reconstruction: np.ndarray  # uint8 [H, W, 3], what the decoder will output (None unless asked for)
  y_hat: np.ndarray
  estimated_bits: float  # information content of the coded symbols under the model's exact likelihoods
  seconds: dict


@dataclasses.dataclass
class DecodeResult:
  image: np.ndarray
  y_hat: np.ndarray
  seconds: dict


class _Stopwatch:
  """Seconds per stage. JAX runs asynchronously: a stage's results are waited for before its time is taken, or
  its work would be charged to whichever later stage first needs them."""

  def __init__(self):
    self.seconds = {'network': 0.0, 'entropy_parameters': 0.0, 'range_coding': 0.0}

  def add(self, stage, start, *results):
    jax.block_until_ready(results)
    self.seconds[stage] += time.perf_counter() - start


def _check_image(image):
  image = np.asarray(image)
  if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3 or min(image.shape[:2]) < 1:
    raise GrmError(f"compress takes a uint8 [H, W, 3] image, got {image.dtype} {list(image.shape)}")
  folded = layout.folded_size(*image.shape[:2], layout.fold_for(*image.shape[:2]))
  if max(layout.latent_shape(*folded)) > 65535:  # the file's latent shape fields are 16 bits
    raise GrmError(f"image too large: {image.shape[1]}x{image.shape[0]}")
  return image


class Codec:

  def __init__(self, config, params, tables, meta, carrier=None):
    """carrier: how the portable path's integer matmuls are carried ('float32' or 'int8'; None: the faster here,
    layers/exact.default_carrier); the results are the same integers either way."""
    self.config, self.meta, self.tables = config, meta, tables
    self.model = models.build(config, transform_dtype='float32')  # whatever precision trained it
    self.family = config.model.family
    self.order = config.model.get('order', 'raster')
    self.model_hash = bytes.fromhex(meta['model_hash'])[:8]
    self.lambda_range = tuple(float(v) for v in config.model.get('lambda_range', ()) or ())
    self.params = jax.device_put(params)
    self.portable, self.carrier = portable_export.is_portable(tables), carrier or exact.default_carrier()
    self.arithmetic = 1 if self.portable else 0  # the .grm header's arithmetic field
    model = self.model

    def method(name):
      """A model method as a function of (params, *args), to be compiled."""
      fn = getattr(models.ImageCompressor, name)
      return lambda p, *args: model.apply({'params': p}, *args, method=fn)

    # The transforms at the image's resolution: compiled per shape, an image refused where they would not fit.
    self._analysis = memory.BoundedJit(method('analysis'), 'analysis transform')
    self._synthesis = memory.BoundedJit(method('synthesis'), 'synthesis transform')
    self._factorized_likelihood = jax.jit(method('factorized_likelihood'))
    self._add = jax.jit(lambda mu, symbols: mu + symbols.astype(jnp.float32))
    if self.family == 'factorized':
      return
    self._hyper_analysis = jax.jit(method('hyper_analysis'))
    self._float_hyper_features = jax.jit(method('hyper_features'))  # the float model's view, for diagnostics
    table = jnp.asarray(tables['scale_table'])
    scale_index = lambda sigma: portable.scale_index(table, sigma)  # the one definition, for both paths
    self._scale_index = jax.jit(scale_index)
    # The entropy path (h_s and the parameters of y): what encoder and decoder must compute identically.
    path = self._portable_path(tables) if self.portable else self._float_path(method)
    self.entropy_params = path['params']
    self._hyper_features = jax.jit(path['hyper_features'])
    self._initial_state, self._decoded_latent = path['initial_state'], path['decoded_latent']
    if not model.autoregressive:
      self._gaussian_parameters = jax.jit(path['gaussian_parameters'])
      return
    predict, commit = path['predict_positions'], path['commit_positions']

    def predict_with_index(p, state, hyper, rows, cols, ranks):
      candidates = ranks.reshape(-1)[None, :] < ranks[rows, cols][:, None]
      mu, sigma, pending = predict(p, state, hyper[rows, cols], rows, cols, candidates)
      return mu, sigma, scale_index(sigma), pending

    def group_symbols(y, rows, cols, mu):
      """The encoder's symbols round(y - mu) of a group, zero on padding rows (as the decoder sets them)."""
      inside = (rows < y.shape[0])[:, None]
      return jnp.where(inside, jnp.round(y[rows, cols] - mu), 0).astype(jnp.int32)

    # The compiled steps that encoder and decoder share.
    self._predict = jax.jit(predict_with_index)
    self._commit = jax.jit(commit, donate_argnums=(1,))
    self._group_symbols = jax.jit(group_symbols)

    def commit_and_predict(p, state, rows, cols, mu, symbols, pending, hyper, next_rows, next_cols, ranks):
      state = commit(p, state, rows, cols, mu, symbols, pending)
      return state, predict_with_index(p, state, hyper, next_rows, next_cols, ranks)

    # (state after a group, the next group's (mu, sigma, index, pending)): one compiled call on the portable path,
    # which is exact whatever XLA fuses; two on the float path, as the files it wrote were made with them.
    self._advance = (jax.jit(commit_and_predict, donate_argnums=(1,)) if self.portable else
                     self._commit_then_predict)

  def _commit_then_predict(self, p, state, rows, cols, mu, symbols, pending, hyper, next_rows, next_cols, ranks):
    state = self._commit(p, state, rows, cols, mu, symbols, pending)
    return state, self._predict(p, state, hyper, next_rows, next_cols, ranks)

  def _float_path(self, method):
    """The entropy path as the float model computes it (arithmetic 0: agreement needs the same machine)."""
    model = self.model
    gaussian_parameters, commit = method('gaussian_parameters'), method('commit_positions')
    return {
        'params': self.params,
        'hyper_features': method('hyper_features'),
        'gaussian_parameters': lambda p, hyper: gaussian_parameters(p, None, hyper)[:2],
        'initial_state': lambda h, w: model.apply({'params': self.params}, h, w,
                                                  method=models.ImageCompressor.initial_decoding_state),
        'decoded_latent': lambda state: state['y_hat'][2:-2, 2:-2][None],
        'predict_positions': method('predict_positions'),
        'commit_positions': lambda p, state, rows, cols, mu, symbols, pending: commit(
            p, state, rows, cols, mu + symbols.astype(jnp.float32), pending),
    }

  def _portable_path(self, tables):
    """The entropy path in exact integer arithmetic (arithmetic 1: the same symbols on any machine)."""
    spec = self.model
    qparams = jax.device_put({**portable_export.stored(tables, self.carrier), 'scale_table': tables['scale_table']})
    return {
        'params': qparams,
        'hyper_features': lambda q, z_hat, lambdas: portable.hyper_features(q, spec, z_hat, lambdas),
        'gaussian_parameters': lambda q, hyper: portable.gaussian_parameters(q, spec, hyper),
        'initial_state': lambda h, w: portable.initial_state(spec, h, w),
        'decoded_latent': portable.decoded_latent,
        'predict_positions': lambda q, *args: portable.predict_positions(q, spec, *args),
        'commit_positions': lambda q, *args: portable.commit_positions(q, spec, *args),
    }

  @classmethod
  def load(cls, path, carrier=None):
    return cls(*model_dir.load(path), carrier=carrier)

  @property
  def variable_rate(self):
    return bool(self.lambda_range)

  @property
  def default_lambda(self):
    """What compress codes at when given no lambda: the training lambda of a fixed-rate model, and of a
    variable-rate one its config's lambda_ where that lies in its range (else the range's middle)."""
    value = float(self.config.lambda_)
    if self.variable_rate and not self.lambda_range[0] <= value <= self.lambda_range[1]:
      value = float(np.sqrt(self.lambda_range[0] * self.lambda_range[1]))
    return float(np.float32(value))

  def check_lambda(self, lambda_):
    """lambda_ as the float32 value the file will carry; a GrmError where this model cannot code at it. A portable
    variable-rate model codes at the nearest of its rate levels (1.3% apart, CompressAI's quality lambdas exact)."""
    if lambda_ is None:
      return self._nearest_level(self.default_lambda)
    lambda_ = float(lambda_)
    if not self.variable_rate:
      if np.isclose(lambda_, self.config.lambda_, rtol=1e-6):
        return self.default_lambda
      raise GrmError(f"this model is fixed-rate (lambda {self.config.lambda_}); coding at another lambda needs a "
                     "variable-rate model")
    low, high = self.lambda_range
    if not low * (1 - 1e-6) <= lambda_ <= high * (1 + 1e-6):  # the printed range's rounding is inside it
      raise GrmError(f"lambda {lambda_:g} is outside this model's range {low:g} to {high:g}")
    return self._nearest_level(float(np.clip(np.float32(lambda_), np.float32(low), np.float32(high))))

  def _rate_levels(self):
    """The lambdas a portable model's files carry (its z gains are integer tables, one row per level)."""
    return self.tables[portable_export.PREFIX + 'rate_levels'] if self.portable else None

  def _nearest_level(self, lambda_):
    levels = self._rate_levels()
    if levels is None or not self.variable_rate:
      return lambda_
    return float(levels[np.argmin(np.abs(np.log(levels) - np.log(lambda_)))])

  def _lambdas(self, lambda_):
    """The lambdas argument of the model's methods: [1] for a variable-rate model, None for a fixed-rate one."""
    return jnp.full((1,), lambda_, jnp.float32) if self.variable_rate else None

  # ---- the public API

  def compress(self, image, lambda_=None, progress=None):
    return self.encode(image, reconstruct=False, lambda_=lambda_, progress=progress).data

  def decompress(self, data, max_pixels=bitstream.DEFAULT_MAX_PIXELS, progress=None):
    return self.decode(data, max_pixels, progress).image

  def coded_latents(self, image, lambda_=None):
    """(EncodeResult, hyper features [1, h, w, 2M]) of an image: the latent the decoder will hold and what its
    entropy model is conditioned on, for diagnostics (`grm inspect`)."""
    image = _check_image(image)
    lambda_ = self.check_lambda(lambda_)
    lambdas = self._lambdas(lambda_)
    encoded = self.encode(image, reconstruct=False, lambda_=lambda_)
    seen = layout.fold(image, layout.fold_for(*image.shape[:2]))
    y = self._analysis(self.params, image_io.to_float(seen)[None], lambdas, size=image.shape[1::-1])
    z_hat = jnp.round(self._hyper_analysis(self.params, y, lambdas))
    hyper = self._float_hyper_features(self.params, z_hat, lambdas)
    return encoded, hyper

  def transform_bytes(self, height, width, lambda_=None):
    """{'analysis', 'synthesis'}: bytes each transform needs for an image of this size, by XLA's account of the
    compiled program (None where XLA does not say); what encode and decode check against free memory."""
    lambdas = self._lambdas(self.check_lambda(lambda_))
    seen = layout.folded_size(height, width, layout.fold_for(height, width))
    image = jax.ShapeDtypeStruct((1, *seen, 3), jnp.float32)
    return {'analysis': self._analysis.needed_bytes(self.params, image, lambdas),
            'synthesis': self._synthesis.needed_bytes(self.params, self._latent_struct(*seen), lambdas)}

  # ---- encoding

  def _code_factorized(self, values, watch):
    """One string for integer values [1, h, w, C] with the per-channel factorized tables."""
    start = time.perf_counter()
    values = np.asarray(values, np.int32)
    indexes = np.broadcast_to(np.arange(values.shape[-1], dtype=np.int32), values.shape)
    string = range_coder.encode(self.tables['factorized_lookup'], self.tables['factorized_offsets'], indexes,
                                values)
    watch.add('range_coding', start)
    return string

  def encode(self, image, reconstruct=True, lambda_=None, progress=None):
    """The .grm bytes of an image, with the exact estimated bits and, if asked, the decoder's output (which costs
    a run of the synthesis transform that the bitstream itself does not need). lambda_: the trade-off of a
    variable-rate model (default: default_lambda). progress: called as progress(done, total) after each coding
    step of the autoregressive families (a progress bar's hook)."""
    image = _check_image(image)
    lambda_ = self.check_lambda(lambda_)
    lambdas = self._lambdas(lambda_)
    watch = _Stopwatch()
    height, width = image.shape[:2]
    fold = layout.fold_for(height, width)
    seen = layout.fold(image, fold)  # what the transforms see: the image, or a thin one folded squarer
    if reconstruct:  # refused now, not after the entropy coding, where the synthesis would not fit
      self._synthesis.prepare(self.params, self._latent_struct(*seen.shape[:2]), lambdas, size=(width, height))
    start = time.perf_counter()
    y = self._analysis(self.params, image_io.to_float(seen)[None], lambdas, size=(width, height))
    watch.add('network', start, y)
    strings, z_shape = [], (0, 0)
    if self.family == 'factorized':
      y_hat = jnp.round(y)
      strings.append(self._code_factorized(y_hat, watch))
      bits = -float(jnp.sum(jnp.log2(self._factorized_likelihood(self.params, y_hat))))
    else:
      start = time.perf_counter()
      z_hat = jnp.round(self._hyper_analysis(self.params, y, lambdas))
      hyper = self._hyper_features(self.entropy_params, z_hat, lambdas)
      watch.add('network', start, hyper)
      z_shape = tuple(z_hat.shape[1:3])
      strings.append(self._code_factorized(z_hat, watch))
      bits = -float(jnp.sum(jnp.log2(self._factorized_likelihood(self.params, z_hat))))
      y_hat, string, y_bits = self._encode_y(np.asarray(y[0]), hyper, watch, progress)
      strings.append(string)
      bits += y_bits
    reconstruction = None
    if reconstruct:
      start = time.perf_counter()
      reconstruction = self._reconstruct(y_hat, fold, height, width, lambdas)
      watch.add('network', start)
    header = bitstream.Header(self.model_hash, height, width, tuple(y.shape[1:3]), z_shape, lambda_,
                              self.arithmetic, fold_strips=fold.strips, fold_axis=fold.axis)
    return EncodeResult(bitstream.pack(header, strings), reconstruction, np.asarray(y_hat), bits, watch.seconds)

  def _encode_y(self, y, hyper, watch, progress=None):
    """(y_hat [1, h, w, M], string, estimated bits) of y given the hyper features."""
    start = time.perf_counter()
    if not self.model.autoregressive:
      mu, sigma = self._gaussian_parameters(self.entropy_params, hyper)
      symbols = np.round(y - np.asarray(mu[0])).astype(np.int32)
      indexes = np.asarray(self._scale_index(sigma[0]))
      y_hat = self._add(mu, jnp.asarray(symbols)[None])
    else:
      h, w = y.shape[:2]
      ranks = jnp.asarray(coding_order.position_ranks(h, w, self.order))
      state = self._initial_state(h, w)
      y_on_device = jnp.asarray(y)
      groups = []  # the encoder never waits for the host: everything is fetched once, after the last group
      steps = list(_decoding_groups(h, w, self.order))
      p, hyper_map = self.entropy_params, hyper[0]
      mu, sigma, index, pending = self._predict(p, state, hyper_map, steps[0][0], steps[0][1], ranks)
      for step, (rows, cols, count) in enumerate(steps, 1):
        symbols = self._group_symbols(y_on_device, rows, cols, mu)
        groups.append({'rows': rows[:count], 'cols': cols[:count], 'mu': mu, 'sigma': sigma, 'index': index,
                       'symbols': symbols})
        if step < len(steps):
          state, (mu, sigma, index, pending) = self._advance(p, state, rows, cols, mu, symbols, pending, hyper_map,
                                                             steps[step][0], steps[step][1], ranks)
        else:
          state = self._commit(p, state, rows, cols, mu, symbols, pending)
        if progress is not None:
          progress(step, len(steps))
      mus, sigmas, symbols, indexes = np.zeros_like(y), np.zeros_like(y), [], []
      for group in groups:
        count = len(group['rows'])
        mus[group['rows'], group['cols']] = np.asarray(group['mu'])[:count]
        sigmas[group['rows'], group['cols']] = np.asarray(group['sigma'])[:count]
        symbols.append(np.asarray(group['symbols'])[:count])  # the stream holds them in decoding order
        indexes.append(np.asarray(group['index'])[:count])
      symbols, indexes = np.concatenate(symbols), np.concatenate(indexes)
      y_hat = self._decoded_latent(state)
      mu, sigma = jnp.asarray(mus)[None], jnp.asarray(sigmas)[None]
    watch.add('entropy_parameters', start)
    bits = -float(jnp.sum(jnp.log2(gaussian_likelihood(y_hat, mu, sigma))))
    start = time.perf_counter()
    string = range_coder.encode(self.tables['gaussian_lookup'], self.tables['gaussian_offsets'], indexes, symbols)
    watch.add('range_coding', start)
    return y_hat, string, bits

  def _latent_struct(self, height, width):
    """The shape of y_hat for an image the transforms see at this size."""
    return jax.ShapeDtypeStruct((1, *layout.latent_shape(height, width), self.model.latent_channels), jnp.float32)

  def _reconstruct(self, y_hat, fold, height, width, lambdas):
    x_hat = self._synthesis(self.params, y_hat, lambdas, size=(width, height))[0]
    return layout.unfold(image_io.to_uint8(np.asarray(x_hat)), fold, height, width)

  # ---- decoding

  def decode(self, data, max_pixels=bitstream.DEFAULT_MAX_PIXELS, progress=None):
    """The image of a .grm file; a file claiming more than max_pixels pixels is refused (None or 0: no limit).
    progress: as in encode."""
    header, strings = bitstream.unpack(bytes(data))
    bitstream.check_pixel_limit(header, max_pixels)
    if header.model_hash != self.model_hash:
      raise GrmError(f"this file was written by another model (model hash {header.model_hash.hex()}, "
                     f"this model is {self.model_hash.hex()})")
    if header.version > 1 and header.arithmetic != self.arithmetic:
      raise GrmError(f"damaged .grm file (its entropy path arithmetic is {bitstream.ARITHMETIC[header.arithmetic]}, "
                     f"this model's is {bitstream.ARITHMETIC[self.arithmetic]})")
    fold = layout.Fold(header.fold_strips, header.fold_axis)
    if header.version >= bitstream.FOLDED_VERSION and fold != layout.fold_for(header.height, header.width):
      raise GrmError("damaged .grm file (its fold is not the one an image of its size is coded with)")
    seen = layout.folded_size(header.height, header.width, fold)
    expected_y = layout.latent_shape(*seen)
    expected_z = (0, 0) if self.family == 'factorized' else tuple(s // 4 for s in expected_y)
    expected_strings = 1 if self.family == 'factorized' else 2
    if header.y_shape != expected_y or header.z_shape != expected_z or len(strings) != expected_strings:
      raise GrmError("damaged .grm file (latent shapes do not match the image size)")
    lambdas = self._lambdas_of_file(header)
    size = (header.width, header.height)
    self._synthesis.prepare(self.params, self._latent_struct(*seen), lambdas, size=size)  # before the long part
    watch = _Stopwatch()
    m = self.model.latent_channels
    if self.family == 'factorized':
      y_hat = jnp.asarray(self._decode_factorized(strings[0], expected_y + (m,), watch), jnp.float32)[None]
    else:
      z_hat = jnp.asarray(self._decode_factorized(strings[0], expected_z + (self.model.channels,), watch),
                          jnp.float32)[None]
      start = time.perf_counter()
      hyper = self._hyper_features(self.entropy_params, z_hat, lambdas)
      watch.add('network', start, hyper)
      y_hat = self._decode_y(strings[1], hyper, expected_y, watch, progress)
    start = time.perf_counter()
    image = self._reconstruct(y_hat, fold, header.height, header.width, lambdas)
    watch.add('network', start)
    return DecodeResult(image, np.asarray(y_hat), watch.seconds)

  def _lambdas_of_file(self, header):
    if not self.variable_rate:
      return None
    low, high = np.float32(self.lambda_range[0]), np.float32(self.lambda_range[1])
    if header.lambda_ is None or not low <= np.float32(header.lambda_) <= high:
      raise GrmError("damaged .grm file (no lambda in this model's range)")
    levels = self._rate_levels()
    if levels is not None and not np.any(levels == np.float32(header.lambda_)):
      raise GrmError("damaged .grm file (its lambda is not one of this model's rate levels)")
    return self._lambdas(header.lambda_)

  def _decode_factorized(self, string, shape, watch):
    start = time.perf_counter()
    decoder = range_coder.Decoder(string, self.tables['factorized_lookup'], self.tables['factorized_offsets'])
    values = _decode_in_pieces(decoder, np.broadcast_to(np.arange(shape[-1], dtype=np.int32), shape))
    _finish(decoder)
    watch.add('range_coding', start)
    return values

  def _decode_y(self, string, hyper, shape, watch, progress=None):
    decoder = range_coder.Decoder(string, self.tables['gaussian_lookup'], self.tables['gaussian_offsets'])
    if not self.model.autoregressive:
      start = time.perf_counter()
      mu, sigma = self._gaussian_parameters(self.entropy_params, hyper)
      indexes = np.asarray(self._scale_index(sigma[0]))
      watch.add('entropy_parameters', start)
      start = time.perf_counter()
      symbols = _decode_in_pieces(decoder, indexes)
      watch.add('range_coding', start)
      y_hat = self._add(mu, jnp.asarray(symbols)[None])
    else:
      h, w = shape
      ranks = jnp.asarray(coding_order.position_ranks(h, w, self.order))
      state = self._initial_state(h, w)
      steps = list(_decoding_groups(h, w, self.order))
      p, hyper_map = self.entropy_params, hyper[0]
      start = time.perf_counter()
      mu, _, index, pending = self._predict(p, state, hyper_map, steps[0][0], steps[0][1], ranks)
      for step, (rows, cols, count) in enumerate(steps, 1):
        index = np.asarray(index)[:count]
        watch.add('entropy_parameters', start)
        start = time.perf_counter()
        symbols = np.zeros(mu.shape, np.int32)
        symbols[:count] = decoder.decode(index)
        watch.add('range_coding', start)
        start = time.perf_counter()
        if step < len(steps):
          state, (mu, _, index, pending) = self._advance(p, state, rows, cols, mu, jnp.asarray(symbols), pending,
                                                         hyper_map, steps[step][0], steps[step][1], ranks)
        else:
          state = self._commit(p, state, rows, cols, mu, jnp.asarray(symbols), pending)
        if progress is not None:
          progress(step, len(steps))
      y_hat = self._decoded_latent(state)
      watch.add('entropy_parameters', start, y_hat)
    _finish(decoder)
    return y_hat


def _decode_in_pieces(decoder, indexes):
  """decoder.decode(indexes) a piece at a time, so that a string too short for them is refused early."""
  flat = np.asarray(indexes, np.int32).reshape(-1)
  pieces = [decoder.decode(flat[i:i + DECODE_PIECE]) for i in range(0, len(flat), DECODE_PIECE)]
  return np.concatenate(pieces).reshape(np.shape(indexes))


def _finish(decoder):
  if not decoder.finish():
    raise GrmError("damaged .grm file (the range decoder found an inconsistency)")


def _decoding_groups(height, width, order):
  """(rows, cols, count) for each decoding step of the coding order: the step's `count` positions, padded to the
  size of the largest step with rows = height (outside the latent), so that one compiled step serves them all."""
  steps = coding_order.decoding_steps(height, width, order)
  size = max(len(rows) for rows, _ in steps)
  for rows, cols in steps:
    pad = size - len(rows)
    yield (np.pad(rows, (0, pad), constant_values=height).astype(np.int32),
           np.pad(cols, (0, pad)).astype(np.int32), len(rows))
