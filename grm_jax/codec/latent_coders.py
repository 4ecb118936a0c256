"""Latent coders: one object per coded latent, each owning its tables, with compress and decompress.

  FactorizedCoder      integers with one table per channel: z, or y of the factorized family
  GaussianCoder        y ~ N(mu, sigma) from the hyper features alone, in one pass (hyperprior, mean_scale)
  AutoregressiveCoder  y step by step in the model's coding order (context, grm)

Every coder has the same two methods (latents [1, h, w, C], strings of tensorflow-compression's range coder):
  compress(latent, hyper, watch, progress)      -> (latent_hat, string, estimated bits)
  decompress(string, hyper, (h, w), watch, progress) -> latent_hat
hyper is the hyper features h_s(z_hat) (None for z itself), watch a Stopwatch, progress a progress bar's hook
called as progress(done, total) after each coding step of the autoregressive coder.

The Gaussian coders code y relative to the predicted mean: the symbol is round(y - mu), its table the first scale
of the log-spaced table not below sigma, and the decoder's y_hat is mu + symbol. The autoregressive coder's encoder
and decoder run one step loop with the same compiled `predict` and `commit`, so both hold bit-identical parameters
for every symbol. A coder for a new kind of family registers itself in Y_CODERS under its y_coding name.
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax.codec import range_coder
from grm_jax.entropy_models import coding_order, gaussian_likelihood
from grm_jax.errors import GrmError
from grm_jax.portable.entropy_path import scale_index

DECODE_PIECE = 1 << 16  # symbols per range-decoder call where a whole string is decoded at once


class Stopwatch:
  """Seconds per stage. JAX runs asynchronously: a stage's results are waited for before its time is taken, or
  its work would be charged to whichever later stage first needs them."""

  def __init__(self):
    self.seconds = {'network': 0.0, 'entropy_parameters': 0.0, 'range_coding': 0.0}

  def add(self, stage, start, *results):
    jax.block_until_ready(results)
    self.seconds[stage] += time.perf_counter() - start


def _decode_in_pieces(decoder, indexes):
  """decoder.decode(indexes) a piece at a time, so that a string too short for them is refused early."""
  flat = np.asarray(indexes, np.int32).reshape(-1)
  pieces = [decoder.decode(flat[i:i + DECODE_PIECE]) for i in range(0, len(flat), DECODE_PIECE)]
  return np.concatenate(pieces).reshape(np.shape(indexes))


def _finish(decoder):
  if not decoder.finish():
    raise GrmError("damaged .grm file (the range decoder found an inconsistency)")


def _bits(likelihoods):
  return -float(jnp.sum(jnp.log2(likelihoods)))


class FactorizedCoder:

  def __init__(self, lookup, offsets, likelihood):
    """likelihood: values [1, h, w, C] -> their likelihoods under the density the tables were made from."""
    self.lookup, self.offsets, self.likelihood = lookup, offsets, likelihood
    self.channels = len(offsets)

  def compress(self, latent, hyper=None, watch=None, progress=None):
    del hyper, progress
    latent_hat = jnp.round(latent)
    start = time.perf_counter()
    values = np.asarray(latent_hat, np.int32)
    indexes = np.broadcast_to(np.arange(self.channels, dtype=np.int32), values.shape)
    string = range_coder.encode(self.lookup, self.offsets, indexes, values)
    watch.add('range_coding', start)
    return latent_hat, string, _bits(self.likelihood(latent_hat))

  def decompress(self, string, hyper, shape, watch, progress=None):
    del hyper, progress
    start = time.perf_counter()
    decoder = range_coder.Decoder(string, self.lookup, self.offsets)
    indexes = np.broadcast_to(np.arange(self.channels, dtype=np.int32), (*shape, self.channels))
    values = _decode_in_pieces(decoder, indexes)
    _finish(decoder)
    watch.add('range_coding', start)
    return jnp.asarray(values, jnp.float32)[None]


class _GaussianConditional:
  """What both Gaussian coders share: the entropy path, the scale table and the Gaussian coding tables."""

  def __init__(self, path, tables):
    self.path, self.lookup, self.offsets = path, tables['gaussian_lookup'], tables['gaussian_offsets']
    table = jnp.asarray(tables['scale_table'])
    self.scale_index = lambda sigma: scale_index(table, sigma)  # the one definition, for both paths
    self._scale_index = jax.jit(self.scale_index)
    self._add = jax.jit(lambda mu, symbols: mu + symbols.astype(jnp.float32))

  def _encode(self, indexes, symbols, watch):
    start = time.perf_counter()
    string = range_coder.encode(self.lookup, self.offsets, indexes, symbols)
    watch.add('range_coding', start)
    return string


class GaussianCoder(_GaussianConditional):

  def __init__(self, path, tables, order=None):
    del order
    super().__init__(path, tables)
    self._parameters = jax.jit(path.gaussian_parameters)

  def compress(self, latent, hyper, watch, progress=None):
    del progress
    start = time.perf_counter()
    mu, sigma = self._parameters(self.path.params, hyper)
    symbols = np.round(np.asarray(latent[0]) - np.asarray(mu[0])).astype(np.int32)
    indexes = np.asarray(self._scale_index(sigma[0]))
    latent_hat = self._add(mu, jnp.asarray(symbols)[None])
    watch.add('entropy_parameters', start)
    return latent_hat, self._encode(indexes, symbols, watch), _bits(gaussian_likelihood(latent_hat, mu, sigma))

  def decompress(self, string, hyper, shape, watch, progress=None):
    del shape, progress
    decoder = range_coder.Decoder(string, self.lookup, self.offsets)
    start = time.perf_counter()
    mu, sigma = self._parameters(self.path.params, hyper)
    indexes = np.asarray(self._scale_index(sigma[0]))
    watch.add('entropy_parameters', start)
    start = time.perf_counter()
    symbols = _decode_in_pieces(decoder, indexes)
    watch.add('range_coding', start)
    _finish(decoder)
    return self._add(mu, jnp.asarray(symbols)[None])


def decoding_groups(height, width, order):
  """(rows, cols, count) for each decoding step of the coding order: the step's `count` positions, padded to the
  size of the largest step with rows = height (outside the latent), so that one compiled step serves them all."""
  steps = coding_order.decoding_steps(height, width, order)
  size = max(len(rows) for rows, _ in steps)
  for rows, cols in steps:
    pad = size - len(rows)
    yield (np.pad(rows, (0, pad), constant_values=height).astype(np.int32),
           np.pad(cols, (0, pad)).astype(np.int32), len(rows))


class AutoregressiveCoder(_GaussianConditional):

  def __init__(self, path, tables, order):
    super().__init__(path, tables)
    self.order = order
    predict, commit, scale_index_of = path.predict, path.commit, self.scale_index

    def predict_with_index(p, state, hyper, rows, cols, ranks, work):
      candidates = ranks.reshape(-1)[None, :] < ranks[rows, cols][:, None]
      mu, sigma, pending = predict(p, state, hyper[rows, cols], rows, cols, candidates, work)
      return mu, sigma, scale_index_of(sigma), pending

    def group_symbols(y, rows, cols, mu):
      """The encoder's symbols round(y - mu) of a group, zero on padding rows (as the decoder sets them)."""
      inside = (rows < y.shape[0])[:, None]
      return jnp.where(inside, jnp.round(y[rows, cols] - mu), 0).astype(jnp.int32)

    def commit_and_predict(p, state, rows, cols, mu, symbols, pending, hyper, next_rows, next_cols, ranks, work,
                           next_work):
      state = commit(p, state, rows, cols, mu, symbols, pending, work)
      return state, predict_with_index(p, state, hyper, next_rows, next_cols, ranks, next_work)

    # A step's coding_order.StepWork is static: each kind of step has its own compiled program.
    self._predict = jax.jit(predict_with_index, static_argnums=(6,))
    self._commit = jax.jit(commit, donate_argnums=(1,), static_argnums=(7,))
    self._group_symbols = jax.jit(group_symbols)
    # (state after a group, the next group's (mu, sigma, index, pending)).
    self._advance = (jax.jit(commit_and_predict, donate_argnums=(1,), static_argnums=(11, 12)) if path.fused_steps
                     else self._commit_then_predict)

  def _commit_then_predict(self, p, state, rows, cols, mu, symbols, pending, hyper, next_rows, next_cols, ranks,
                           work, next_work):
    state = self._commit(p, state, rows, cols, mu, symbols, pending, work)
    return state, self._predict(p, state, hyper, next_rows, next_cols, ranks, next_work)

  def _steps(self, shape, hyper, symbols_of, progress):
    """The step loop of encoder and decoder: symbols_of(rows, cols, count, mu, sigma, index) gives each group's
    symbols (the encoder's from y, the decoder's from the string). Returns the final decoding state."""
    h, w = shape
    ranks = jnp.asarray(coding_order.position_ranks(h, w, self.order))
    state = self.path.initial_state(h, w)
    steps = list(decoding_groups(h, w, self.order))
    work = coding_order.step_work(self.order, len(steps))
    p, hyper_map = self.path.params, hyper[0]
    mu, sigma, index, pending = self._predict(p, state, hyper_map, steps[0][0], steps[0][1], ranks, work[0])
    for step, (rows, cols, count) in enumerate(steps, 1):
      symbols = symbols_of(rows, cols, count, mu, sigma, index)
      if step < len(steps):
        state, (mu, sigma, index, pending) = self._advance(p, state, rows, cols, mu, symbols, pending, hyper_map,
                                                           steps[step][0], steps[step][1], ranks, work[step - 1],
                                                           work[step])
      else:
        state = self._commit(p, state, rows, cols, mu, symbols, pending, work[step - 1])
      if progress is not None:
        progress(step, len(steps))
    return state

  def compress(self, latent, hyper, watch, progress=None):
    start = time.perf_counter()
    y = np.asarray(latent[0])
    y_on_device, groups = jnp.asarray(y), []  # the encoder never waits for the host: all is fetched at the end

    def symbols_of(rows, cols, count, mu, sigma, index):
      symbols = self._group_symbols(y_on_device, rows, cols, mu)
      groups.append((rows[:count], cols[:count], count, mu, sigma, index, symbols))
      return symbols

    state = self._steps(y.shape[:2], hyper, symbols_of, progress)
    mus, sigmas, symbols, indexes = np.zeros_like(y), np.zeros_like(y), [], []
    for rows, cols, count, mu, sigma, index, group_symbols in groups:
      mus[rows, cols] = np.asarray(mu)[:count]
      sigmas[rows, cols] = np.asarray(sigma)[:count]
      symbols.append(np.asarray(group_symbols)[:count])  # the stream holds them in decoding order
      indexes.append(np.asarray(index)[:count])
    y_hat = self.path.decoded_latent(state)
    watch.add('entropy_parameters', start, y_hat)
    bits = _bits(gaussian_likelihood(y_hat, jnp.asarray(mus)[None], jnp.asarray(sigmas)[None]))
    return y_hat, self._encode(np.concatenate(indexes), np.concatenate(symbols), watch), bits

  def decompress(self, string, hyper, shape, watch, progress=None):
    decoder = range_coder.Decoder(string, self.lookup, self.offsets)
    start, coding_before = time.perf_counter(), watch.seconds['range_coding']

    def symbols_of(rows, cols, count, mu, sigma, index):
      del rows, cols, sigma
      index = np.asarray(index)[:count]
      decoding = time.perf_counter()
      symbols = np.zeros(mu.shape, np.int32)
      symbols[:count] = decoder.decode(index)
      watch.add('range_coding', decoding)
      return jnp.asarray(symbols)

    y_hat = self.path.decoded_latent(self._steps(shape, hyper, symbols_of, progress))
    watch.add('entropy_parameters', start, y_hat)
    watch.seconds['entropy_parameters'] -= watch.seconds['range_coding'] - coding_before
    _finish(decoder)
    return y_hat


# The coder of y for each y_coding of models/families.py.
Y_CODERS = {'gaussian': GaussianCoder, 'autoregressive': AutoregressiveCoder}
