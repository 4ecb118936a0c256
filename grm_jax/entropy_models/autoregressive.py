"""Entropy parameters of y from decoded latents: the local context (Minnen 2018) and the global reference (GRM).

The prediction for a position cascades three stages, each a Gaussian per latent element:
  1. local:     a 5x5 masked convolution over earlier positions, then PN1.
  2. reference: the earlier position whose causal neighbourhood is most like the current one (cosine search),
                its masked 3x3 feature, gated by the similarity S and by the confidence U (how well stage 1
                predicted the reference's own value); PN2. With `references` = k > 1 (beyond the paper), the k
                most similar earlier positions, each gated by its own S and U, side by side.
  3. final:     PN3 over [local, reference, hyper features]. Only this stage is coded (one Gaussian per element).
Stages 1 and 2 are trained as predictors of their own (an auxiliary rate term), so that U measures a real
prediction. Everything that looks at other positions asks `coding_order` what "earlier" means and which neighbours
are decoded (the masks, the search keys), in training as in decoding, so the training rate is a rate the bitstream
reaches. In checkerboard order (two passes) the same three stages read the anchors: an anchor has no context and no
reference; a non-anchor's context is its anchor neighbours, and its reference the anchor anywhere in the image
whose ring of nearest anchors best matches its own.

`__call__` evaluates all positions at once (training). The codec evaluates chosen positions of a partly decoded
latent, one decoding step (a group of positions) at a time, with the same parameters through `predict_positions`
and `commit_positions`.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from grm_jax.entropy_models import coding_order
from grm_jax.entropy_models.gaussian import bounded_scale, gaussian_likelihood
from grm_jax.layers import MaskedConv, ParameterNet, gather_patches

SCORE_FLOOR = 1e-8  # S and U are clamped to [1e-8, 1], as in the authors' code
GATINGS = ('product', 'channels', 'blind')


def split_gaussian(params):
  """[..., 2M] -> (mu, sigma): means first, then scales (bounded below)."""
  mu, sigma = jnp.split(params, 2, axis=-1)
  return mu, bounded_scale(sigma)


def neighbourhoods(y_hat, size):
  """[B, H, W, M] -> [B, H, W, size, size, M]: the size x size patch around every position, zero outside."""
  pad = size // 2
  _, h, w, _ = y_hat.shape
  padded = jnp.pad(y_hat, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  rows = [jnp.stack([padded[:, i:i + h, j:j + w] for j in range(size)], axis=3) for i in range(size)]
  return jnp.stack(rows, axis=3)


def descriptors(patches3x3, taps=(0, 1, 2, 3)):
  """The search key of a position: its neighbours at `taps` of its 3x3 neighbourhood (coding_order.key_taps; by
  default the 4 causal ones, up-left, up, up-right, left), L2-normalised."""
  keys = jnp.concatenate([patches3x3[..., tap // 3, tap % 3, :] for tap in taps], axis=-1)
  return keys * jax.lax.rsqrt(jnp.sum(jnp.square(keys), axis=-1, keepdims=True) + 1e-12)


def best_reference(similarities, candidates):
  """The most similar candidate, the clamped score S, and whether there was any candidate at all.

  Where there is none (the first position), the index is meaningless: callers must drop what they gather with it.
  """
  masked = jnp.where(candidates, similarities, -2.0)  # cosines lie in [-1, 1]
  index = jnp.argmax(masked, axis=-1)
  found = jnp.any(candidates, axis=-1)
  score = jnp.where(found, jnp.clip(jnp.max(masked, axis=-1), SCORE_FLOOR, 1.0), SCORE_FLOOR)
  return index, score, found


def best_references(similarities, candidates, count):
  """best_reference for the `count` most similar candidates, most similar first: index, S and found [..., count].
  count = 1 is the paper's search, computed as before (argmax); ties go to the lowest index either way."""
  if count == 1:
    return tuple(value[..., None] for value in best_reference(similarities, candidates))
  masked = jnp.where(candidates, similarities, -2.0)
  scores, index = jax.lax.top_k(masked, count)
  found = scores > -1.5  # a real candidate: cosines lie in [-1, 1]
  return index, jnp.where(found, jnp.clip(scores, SCORE_FLOOR, 1.0), SCORE_FLOOR), found


def confidence_map(y_hat, mu, sigma):
  """U at every position: the mean over channels of the probability that (mu, sigma) gave y_hat."""
  return jnp.clip(jnp.mean(gaussian_likelihood(y_hat, mu, sigma), axis=-1), SCORE_FLOOR, 1.0)


def gather_positions(values, index):
  """values [B, P, C], index [B, Q] -> [B, Q, C]."""
  return jnp.take_along_axis(values, index[..., None], axis=1)


class AutoregressiveEntropyParameters(nn.Module):
  """(mu, sigma) of y from decoded latents and hyper features: the 'context' and 'grm' families."""
  latent_channels: int
  hidden: int
  use_reference: bool = True
  use_confidence: bool = True
  gating: str = 'product'
  order: str = 'raster'
  references: int = 1  # earlier positions the reference stage reads (the paper: 1)

  def setup(self):
    m = self.latent_channels
    if self.gating not in GATINGS:
      raise ValueError(f"unknown reference gating {self.gating!r}; expected one of {GATINGS}")
    self.context = MaskedConv(2 * m, m, coding_order.context_mask_kind(self.order), 5)
    if self.use_reference:
      self.local_params = ParameterNet((self.hidden, self.hidden, 2 * m))
      self.reference_conv = MaskedConv(2 * m, m, coding_order.reference_mask_kind(self.order), 3)
      self.reference_params = ParameterNet((self.hidden, self.hidden, 2 * m))
    self.final_params = ParameterNet((self.hidden, self.hidden, 2 * m))

  def _gate(self, feature, similarity, confidence):
    """Shapes each reference feature [..., k, 2M] by how alike (S) and how trustworthy (U) its reference is
    ([..., k]), and lays the k side by side: [..., k * width]. 'blind' zeroes them: grm's networks and stage
    losses without the reference's information, the control that tells what the reference itself is worth from
    what the extra networks are."""
    if self.gating == 'blind':
      gated = jnp.zeros_like(feature)
    elif self.gating == 'channels':
      gated = jnp.concatenate([feature, similarity[..., None], confidence[..., None]], axis=-1)
    else:
      gated = feature * (similarity * confidence)[..., None]
    return gated.reshape(*gated.shape[:-2], -1)

  def __call__(self, y_hat, hyper, drop_reference=False):
    """All positions at once. Returns (mu, sigma, aux) where aux holds the earlier stages and the scores.
    drop_reference zeroes what the final stage sees of the reference (its share of the rate: `grm inspect`)."""
    b, h, w, m = y_hat.shape
    local = self.context(coding_order.context_inputs(y_hat, self.order))
    inputs, aux = [local], {'stages': []}
    if self.use_reference:
      local_stage = split_gaussian(self.local_params(local))
      patches = neighbourhoods(y_hat, 3)
      query_taps, candidate_taps = coding_order.key_taps(self.order)
      keys = descriptors(patches, query_taps).reshape(b, h * w, 4 * m)
      candidate_keys = keys if candidate_taps == query_taps else descriptors(patches, candidate_taps).reshape(
          b, h * w, 4 * m)
      similarities = jnp.einsum('bjd,bid->bji', keys, candidate_keys)  # one HW x HW matrix per image
      # Compared at run time: as an [HW, HW] constant, XLA spends seconds folding it on a whole photograph.
      ranks = jax.lax.optimization_barrier(jnp.asarray(coding_order.position_ranks(h, w, self.order).reshape(-1)))
      candidates = jnp.broadcast_to(coding_order.earlier(ranks), similarities.shape)
      index, similarity, found = best_references(similarities, candidates, self.references)  # [B, HW, k]
      k = self.references
      confidence = jnp.ones_like(similarity)
      if self.use_confidence:
        confidence = gather_positions(confidence_map(y_hat, *local_stage).reshape(b, h * w, 1),
                                      index.reshape(b, h * w * k)).reshape(b, h * w, k)
        confidence = jnp.where(found, confidence, SCORE_FLOOR)
      features = gather_positions(self.reference_conv(y_hat).reshape(b, h * w, 2 * m), index.reshape(b, h * w * k))
      features = jnp.where(found[..., None], features.reshape(b, h * w, k, 2 * m), 0.0)
      reference = self._gate(features, similarity, confidence).reshape(b, h, w, -1)
      reference_stage = split_gaussian(self.reference_params(jnp.concatenate([local, reference], axis=-1)))
      inputs.append(jnp.zeros_like(reference) if drop_reference else reference)
      aux = {'stages': [local_stage, reference_stage], 'reference_index': index[..., 0].reshape(b, h, w),
             'similarity': similarity[..., 0].reshape(b, h, w), 'confidence': confidence[..., 0].reshape(b, h, w),
             'has_reference': found[..., 0].reshape(b, h, w)}
    mu, sigma = split_gaussian(self.final_params(jnp.concatenate(inputs + [hyper], axis=-1)))
    return mu, sigma, aux

  # Group by group, for the codec: a group is the K positions of one decoding step of the coding order (K = 1 in
  # raster order). The decoding state holds what the decoded positions leave behind:
  #   y_hat:       [H + 4, W + 4, M], the decoded latent with a zero border of 2 (so 5x5 patches never clip)
  #   keys:        [H * W, 4M], the search descriptors of decoded positions
  #   confidences: [H * W], U of decoded positions (how well stage 1 predicted them)
  #   features:    [H * W, 2M], reference features of decoded positions
  # Rows beyond the latent pad a group to a fixed size: their predictions are ignored and their commits dropped.
  # Encoder and decoder call the same compiled functions on the same state, so they agree bit for bit.

  def initial_state(self, height, width):
    m = self.latent_channels
    return {'y_hat': jnp.zeros((height + 4, width + 4, m)), 'keys': jnp.zeros((height * width, 4 * m)),
            'confidences': jnp.zeros((height * width,)), 'features': jnp.zeros((height * width, 2 * m))}

  def predict_positions(self, state, hyper_at, rows, cols, candidates, work=coding_order.StepWork()):
    """(mu, sigma, pending) [K, ...] at positions (rows[k], cols[k]); candidates [K, H * W] marks, for each, the
    positions decoded before it. work (coding_order.StepWork) leaves out what the step does not need: the same
    values (in floats, up to the rounding of a product of one row instead of K, where stage 1 runs on one row;
    encoder and decoder run the same program either way)."""
    patches = gather_patches(state['y_hat'], rows, cols, 5, 0)
    if work.reads_decoded:
      local = self.context.at_patches(patches)
    else:  # every patch is zero: one row of the context is all of them
      local = jnp.broadcast_to(self.context.at_patches(patches[:1]), (len(rows), 2 * self.latent_channels))
    inputs, pending = [local], {}
    if self.use_reference:
      query_taps, candidate_taps = coding_order.key_taps(self.order)
      if work.read_later:  # stage 1 gives U of positions that later ones read
        pending['local_stage'] = split_gaussian(self.local_params(local if work.reads_decoded else local[:1]))
      if work.reads_decoded or (work.read_later and candidate_taps == query_taps):  # searched with, or kept
        key = descriptors(patches[:, 1:4, 1:4], query_taps)
      if work.read_later and candidate_taps == query_taps:
        pending['key'] = key
      if work.reads_decoded:
        index, similarity, found = best_references(key @ state['keys'].T, candidates, self.references)
      else:  # what best_references gives without candidates, without the search
        none = jnp.zeros((len(rows), self.references))
        index, similarity, found = best_references(none, none.astype(bool), self.references)
      confidence = 1.0
      if self.use_confidence:
        confidence = jnp.where(found, state['confidences'][index], SCORE_FLOOR)
      feature = jnp.where(found[..., None], state['features'][index], 0.0)  # [K, k, 2M]
      inputs.append(self._gate(feature, similarity, jnp.broadcast_to(confidence, similarity.shape)))
    mu, sigma = split_gaussian(self.final_params(jnp.concatenate(inputs + [hyper_at], axis=-1)))
    return mu, sigma, pending

  def commit_positions(self, state, rows, cols, y_hat_at, pending, work=coding_order.StepWork()):
    """The state after positions (rows[k], cols[k]) are decoded as y_hat_at [K, M]; what only later positions
    read is left out where work says none will."""
    height, width = state['y_hat'].shape[0] - 4, state['y_hat'].shape[1] - 4
    inside = rows < height
    rows_or_out = jnp.where(inside, rows, height + 4)  # out of range: the scatter drops it
    state = dict(state, y_hat=state['y_hat'].at[rows_or_out + 2, cols + 2].set(y_hat_at, mode='drop'))
    if self.use_reference and work.read_later:
      j = jnp.where(inside, rows * width + cols, height * width)
      patches = gather_patches(state['y_hat'], rows, cols, 3, 1)
      features = self.reference_conv.at_patches(patches)
      confidence = confidence_map(y_hat_at, *pending['local_stage'])
      query_taps, candidate_taps = coding_order.key_taps(self.order)
      # A candidate's key read now, from the state with this group decoded: in checkerboard order an anchor's key
      # is its diagonal anchors, decoded in the same pass.
      key = pending['key'] if candidate_taps == query_taps else descriptors(patches, candidate_taps)
      state['keys'] = state['keys'].at[j].set(key, mode='drop')
      state['confidences'] = state['confidences'].at[j].set(confidence, mode='drop')
      state['features'] = state['features'].at[j].set(features, mode='drop')
    return state
