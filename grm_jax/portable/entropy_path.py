"""The portable entropy path: h_s and the entropy parameters of y in exact integer arithmetic (portable/exact.py), so
that a file decodes to the same symbols on any CPU or GPU, XLA version, thread count or summation order.

It computes what the float path computes (models/compressor.py, autoregressive.py), from integer parameters made
at export (portable/conversion.py), with these fixed grids:
  mu and y_hat      multiples of 2^-8: y_hat = mu + symbol is exact, and the decoder's y_hat is the encoder's;
  sigma             multiples of 2^-8; the scale-table index compares sigma with the table's float32 values,
                    an exact comparison;
  search keys       the 4 neighbours of coding_order.key_taps at 1/16, normalised by an integer square root to
                    about 2^7: cosine similarities are integer dot products (exact), S their maximum, ties to
                    the lowest index;
  U (confidence)    the mean over channels of an integer likelihood table, indexed by scale level and distance;
  z_hat's gains     an integer table per rate level (variable-rate models code at one of about RATE_LEVELS
                    lambdas, portable/conversion.rate_levels).
Outputs that the codec sees (mu, sigma, y_hat) are float32 values that hold these grid points exactly.

Parameters are a flat dict of arrays ("qparams", with the coding tables' scale_table); `spec` is the float model
(an ImageCompressor), for its structure only.
"""
import jax
import jax.numpy as jnp
import numpy as np

from grm_jax.entropy_models import coding_order
from grm_jax.entropy_models.gaussian import SCALE_BOUND
from grm_jax.layers import depth_to_space, gather_patches, mask_taps
from grm_jax.portable.exact import ACTIVATION_LIMIT, clip_activation, dense, isqrt, shift_round, small_dot

MEAN_BITS = 8  # mu, sigma and y_hat are multiples of 2^-8
GAIN_BITS = 12  # z's inverse gains, per rate level and channel
KEY_BITS = 4  # search keys: the neighbours at 1/16, clipped to +-32
KEY_LIMIT = 1 << (KEY_BITS + 5)
NORM_BITS = 7  # a normalised key has length about 2^7
SIMILARITY_BITS = 2 * NORM_BITS  # S in units of 2^-14
CONFIDENCE_BITS = 16  # U in units of 2^-16
CONFIDENCE_BINS = 256
RATE_LEVELS = 256


def context_taps(order):
  """The 12 positions of the 5x5 patch that the masked context of this coding order sees."""
  return mask_taps(coding_order.context_mask_kind(order), 5)


def reference_taps(order):
  """The 5 positions of the 3x3 patch of a candidate's reference feature: it and 4 decoded neighbours."""
  return mask_taps(coding_order.reference_mask_kind(order), 3)


def runs_every_step(name):
  """Whether a portable parameter (a qparams name, such as 'context/w') is a weight of a layer that every decoding
  step of an autoregressive family runs; h_s runs once an image."""
  return name.endswith('/w') and not name.startswith('h_s/')


def _layer(qparams, name):
  return {part: qparams[f'{name}/{part}'] for part in ('w', 'b', 'shift')}


def _network(qparams, name, inputs, depth=3):
  """A ParameterNet: leaky ReLUs between `depth` layers, the last one's outputs at the mean/scale grid."""
  for i in range(depth - 1):
    inputs = dense(inputs, _layer(qparams, f'{name}/dense_{i}'), 'leaky_relu')
  return dense(inputs, _layer(qparams, f'{name}/dense_{depth - 1}'), 'output')


def _conv3x3(inputs, layer, nonlinearity):
  """A 3x3 'same' convolution of int32 [B, H, W, C] as patches times the flattened HWIO kernel."""
  _, h, w, _ = inputs.shape
  padded = jnp.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)))
  patches = jnp.concatenate([padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=-1)
  return dense(patches, layer, nonlinearity)


def rate_level(qparams, lambdas):
  """The row of the z-gain table for a file's lambda (exactly one of qparams['rate_levels']); 0 for fixed-rate."""
  if lambdas is None:
    return 0
  return jnp.argmax(qparams['rate_levels'] == lambdas.reshape(-1)[0])


def hyper_features(qparams, spec, z_hat, lambdas=None):
  """h_s(z_hat) [1, h, w, C]: int32 activations for the autoregressive families, the (mu | sigma) grid values of y
  for the others."""
  gains = qparams['z_gain'][rate_level(qparams, lambdas)]
  inputs = clip_activation(shift_round(z_hat.astype(jnp.int32) * gains, GAIN_BITS - qparams['exponent/z']))
  h = depth_to_space(_conv3x3(inputs, _layer(qparams, 'h_s/deconv_0'), 'leaky_relu'))
  h = depth_to_space(_conv3x3(h, _layer(qparams, 'h_s/deconv_1'), 'leaky_relu'))
  return _conv3x3(h, _layer(qparams, 'h_s/conv_2'), 'linear' if spec.autoregressive else 'output')


def _on_grid(values):
  return values.astype(jnp.float32) * (1.0 / (1 << MEAN_BITS))


def _mean_and_scale(grid_values):
  """int32 [..., 2M] (mu | sigma) on the 2^-8 grid -> float32 (mu, sigma), sigma bounded below as in training."""
  mu, sigma = jnp.split(grid_values, 2, axis=-1)
  return _on_grid(mu), jnp.maximum(_on_grid(sigma), SCALE_BOUND)


def gaussian_parameters(qparams, spec, hyper):
  """(mu, sigma) of y for the non-autoregressive families."""
  del qparams
  if spec.family_spec.hyper_means:
    return _mean_and_scale(hyper)
  return jnp.zeros(hyper.shape, jnp.float32), jnp.maximum(_on_grid(hyper), SCALE_BOUND)


def scale_index(scale_table, sigma):
  """The index of the first scale of the (ascending) table not below sigma: how many of its scales but the last lie
  below sigma (sigma is never NaN: bounded below, from integers on this path). A binary search, unrolled: the count
  itself compares every sigma with every scale, 20x slower at a paper-size step (docs/speed.md, "Decoder
  kernels")."""
  return jnp.searchsorted(scale_table[:-1], sigma, side='left', method='scan_unrolled').astype(jnp.int32)


# ---- the autoregressive families, a decoding step at a time (autoregressive.py has the same state, in floats)


def initial_state(spec, height, width):
  m = spec.latent_channels
  return {'y_hat': jnp.zeros((height + 4, width + 4, m), jnp.int32),
          'keys': jnp.zeros((height * width, 4 * m), jnp.float32),
          'confidences': jnp.zeros((height * width,), jnp.int32),
          'features': jnp.zeros((height * width, 2 * m), jnp.int32)}


def decoded_latent(state):
  """y_hat [1, H, W, M] float32 of a decoding state."""
  return _on_grid(state['y_hat'][2:-2, 2:-2])[None]


def _taps(patches, taps):
  """[K, k, k, M] -> [K, len(taps) * M]: the masked kernel's positions only."""
  k = patches.shape[0]
  return patches.reshape(k, -1, patches.shape[-1])[:, taps].reshape(k, -1)


def _latent_inputs(qparams, y_grid):
  return clip_activation(shift_round(y_grid, MEAN_BITS - qparams['exponent/y']))


def normalised_keys(neighbours):
  """[K, 4M] latent values on the 2^-8 grid -> integer keys of length about 2^7 (zero keys stay zero)."""
  keys = jnp.clip(shift_round(neighbours, MEAN_BITS - KEY_BITS), -KEY_LIMIT, KEY_LIMIT - 1)
  norm = isqrt(jnp.sum(keys * keys, axis=-1, keepdims=True))
  scaled = jnp.floor_divide(keys * (2 << NORM_BITS) + norm, 2 * jnp.maximum(norm, 1))
  return jnp.where(norm > 0, scaled, 0).astype(jnp.float32)


def _best_references(similarities, candidates, count):
  """(index, S in units of 2^-14, found) [K, count], most similar first. The similarities are exact integers, and
  argmax (count 1) and top_k both take the lowest index among equal scores on every backend."""
  masked = jnp.where(candidates, similarities, -float(1 << 20))
  if count == 1:
    index, best = jnp.argmax(masked, axis=-1)[:, None], jnp.max(masked, axis=-1)[:, None]
    found = jnp.any(candidates, axis=-1)[:, None]
  else:
    best, index = jax.lax.top_k(masked, count)
    found = best > -float(1 << 19)
  score = jnp.where(found, jnp.clip(best, 0, 1 << SIMILARITY_BITS), 0).astype(jnp.int32)
  return index, score, found


def _gate(spec, feature, similarity, confidence):
  """feature [K, k, 2M], similarity and confidence [K, k] -> [K, k * width], as AutoregressiveEntropyParameters."""
  if spec.gating == 'blind':
    gated = jnp.zeros_like(feature)
  elif spec.gating == 'channels':
    scores = [jnp.minimum(similarity >> (SIMILARITY_BITS - 11), ACTIVATION_LIMIT - 1),
              jnp.minimum(confidence >> (CONFIDENCE_BITS - 11), ACTIVATION_LIMIT - 1)]
    gated = jnp.concatenate([feature] + [s[..., None] for s in scores], axis=-1)
  else:
    gate = (similarity * confidence) >> CONFIDENCE_BITS  # S * U in units of 2^-14
    gated = shift_round(feature * gate[..., None], SIMILARITY_BITS)
  return gated.reshape(gated.shape[0], -1)


def predict_positions(qparams, spec, state, hyper_at, rows, cols, candidates, work=coding_order.StepWork()):
  """(mu, sigma, pending) at positions (rows[k], cols[k]), as AutoregressiveEntropyParameters.predict_positions
  (work leaves out what the step does not need, with the same integers)."""
  patches = gather_patches(state['y_hat'], rows, cols, 5, 0)
  context = lambda some: dense(_latent_inputs(qparams, _taps(some, context_taps(spec.coding_order))),
                               _layer(qparams, 'context'), 'linear')
  if work.reads_decoded:
    local = context(patches)
  else:  # every patch is zero: one row of the context is all of them
    local = jnp.broadcast_to(context(patches[:1]), (len(rows), 2 * spec.latent_channels))
  inputs, pending = [local], {}
  if spec.uses_reference:
    query_taps, candidate_taps = coding_order.key_taps(spec.coding_order)
    if work.read_later:  # stage 1 gives U of positions that later ones read
      local_mu, local_sigma = _mean_and_scale(_network(qparams, 'local_params', local if work.reads_decoded else
                                                       local[:1]))
      pending['local_mu'] = local_mu
      pending['local_index'] = scale_index(qparams['scale_table'], local_sigma)
    if work.reads_decoded or (work.read_later and candidate_taps == query_taps):  # searched with, or kept
      key = normalised_keys(_taps(patches[:, 1:4, 1:4], list(query_taps)))
    if work.read_later and candidate_taps == query_taps:
      pending['key'] = key
    if work.reads_decoded:
      index, similarity, found = _best_references(small_dot(key, state['keys'].T), candidates, spec.references)
    else:  # what _best_references gives without candidates, without the search
      none = jnp.zeros((len(rows), spec.references))
      index, similarity, found = _best_references(none, none.astype(bool), spec.references)
    confidence = jnp.full_like(similarity, 1 << CONFIDENCE_BITS)
    if spec.use_confidence:
      confidence = jnp.where(found, state['confidences'][index], 1)
    feature = jnp.where(found[..., None], state['features'][index], 0)  # [K, k, 2M]
    inputs.append(_gate(spec, feature, similarity, confidence))
  mu, sigma = _mean_and_scale(_network(qparams, 'final_params', jnp.concatenate(inputs + [hyper_at], axis=-1)))
  return mu, sigma, pending


def _confidence(qparams, y_grid, local_mu, local_index):
  """U of decoded positions [K]: the mean over channels of the likelihood table at (scale level, distance)."""
  distance = jnp.abs(y_grid - jnp.round(local_mu * (1 << MEAN_BITS)).astype(jnp.int32))
  bins = jnp.clip(distance >> qparams['confidence_shift'][local_index], 0, CONFIDENCE_BINS - 1)
  likelihoods = qparams['confidence_table'][local_index, bins]
  return jnp.clip(jnp.sum(likelihoods, axis=-1) // y_grid.shape[-1], 1, 1 << CONFIDENCE_BITS)


def commit_positions(qparams, spec, state, rows, cols, mu, symbols, pending, work=coding_order.StepWork()):
  """The state after positions (rows[k], cols[k]) are decoded as mu + symbols (exact on the grid); what only
  later positions read is left out where work says none will."""
  height, width = state['y_hat'].shape[0] - 4, state['y_hat'].shape[1] - 4
  inside = rows < height
  rows_or_out = jnp.where(inside, rows, height + 4)  # out of range: the scatter drops it
  y_grid = jnp.round(mu * (1 << MEAN_BITS)).astype(jnp.int32) + (symbols.astype(jnp.int32) << MEAN_BITS)
  state = dict(state, y_hat=state['y_hat'].at[rows_or_out + 2, cols + 2].set(y_grid, mode='drop'))
  if spec.uses_reference and work.read_later:
    j = jnp.where(inside, rows * width + cols, height * width)
    patches = gather_patches(state['y_hat'], rows, cols, 3, 1)
    features = dense(_latent_inputs(qparams, _taps(patches, reference_taps(spec.coding_order))),
                     _layer(qparams, 'reference_conv'), 'linear')
    confidence = _confidence(qparams, y_grid, pending['local_mu'], pending['local_index'])
    query_taps, candidate_taps = coding_order.key_taps(spec.coding_order)
    key = pending['key'] if candidate_taps == query_taps else normalised_keys(_taps(patches, list(candidate_taps)))
    state['keys'] = state['keys'].at[j].set(key, mode='drop')
    state['confidences'] = state['confidences'].at[j].set(confidence, mode='drop')
    state['features'] = state['features'].at[j].set(features, mode='drop')
  return state
