"""The order in which latent positions are coded: the one place that defines "earlier".

Every causal piece of the entropy model (the masked context, the reference search, the codec's decoding loop)
asks this module which positions come before which. Positions of equal rank are decoded together, so an order
that gives many positions one rank (an anti-diagonal wavefront, say) batches decoding without touching the rest.

Two kinds of order:
  causal        raster and wavefront: everything a position reads lies before it in raster order (PixelCNN's
                masks).
  checkerboard  two passes (He et al. 2021): the anchors (row + col even), then the rest. An anchor sees no other
                latent; a non-anchor sees the anchors around it, and the global reference searches all anchors.
The order also says which kernel taps read decoded positions (the masks of the local context and of the reference
feature) and which neighbours describe a position in the reference search, so a model is causal in its order by
construction.
"""
import typing

import jax.numpy as jnp
import numpy as np

CAUSAL_ORDERS = ('raster', 'wavefront')
ORDERS = CAUSAL_ORDERS + ('checkerboard',)
# Search keys: flat indices into a position's 3x3 neighbourhood. Causal orders: the 4 causal neighbours (up-left,
# up, up-right, left), decoded before the position and before any later one. Checkerboard: a non-anchor is
# described by its 4 direct neighbours (up, left, right, down: anchors), an anchor by its 4 diagonal neighbours
# (the anchors nearest to it), the ring turned by 45 degrees so that the two keys compare element by element.
_CAUSAL_KEY_TAPS = (0, 1, 2, 3)
_QUERY_KEY_TAPS = {'checkerboard': (1, 3, 5, 7)}
_CANDIDATE_KEY_TAPS = {'checkerboard': (0, 6, 2, 8)}


def position_ranks(height, width, order='raster'):
  """rank[row, col]: when each position is decoded; lower ranks first, equal ranks together.

  raster:    row by row, left to right: one position per step (the paper's order).
  wavefront: rank 3 * row + col. Everything a position looks at (its 5x5 causal context, its 4 causal neighbours,
             the masked 3x3 patch of its reference) has a lower rank, and positions of equal rank lie 3 columns
             apart per row, so a whole anti-diagonal decodes in one step: 3H + W - 3 steps instead of H * W.
  checkerboard: rank (row + col) % 2: the anchors in one step, then the rest in another.
  """
  if order not in ORDERS:
    raise ValueError(f"unknown coding order {order!r}; expected one of {ORDERS}")
  rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing='ij')
  if order == 'checkerboard':
    return (rows + cols) % 2
  return rows * width + cols if order == 'raster' else 3 * rows + cols


def decoding_steps(height, width, order='raster'):
  """The positions decoded at each step, as (rows, cols) arrays, in decoding order."""
  ranks = position_ranks(height, width, order)
  steps = []
  for rank in np.unique(ranks):
    rows, cols = np.nonzero(ranks == rank)
    steps.append((rows, cols))
  return steps


def step_count(height, width, order='raster'):
  """How many decoding steps a latent of this size takes (H * W in raster order, 3H + W - 3 in wavefront, 2 in
  checkerboard)."""
  return len(np.unique(position_ranks(height, width, order)))


def earlier_mask(height, width, order='raster'):
  """[HW, HW] boolean: entry (j, i) says position i is decoded strictly before position j (flattened row-major)."""
  return earlier(position_ranks(height, width, order).reshape(-1))


def earlier(ranks):
  """earlier_mask from flat decoding ranks [N], numpy or JAX (a JAX model compares them at run time)."""
  return ranks[None, :] < ranks[:, None]


def context_mask_kind(order):
  """The MaskedConv mask (layers.MASKS) of the 5x5 local context: the taps that read decoded positions."""
  return 'checkerboard' if order == 'checkerboard' else 'context'


def reference_mask_kind(order):
  """The MaskedConv mask of the 3x3 reference feature of a candidate: itself and decoded neighbours."""
  return 'checkerboard_reference' if order == 'checkerboard' else 'reference'


def key_taps(order):
  """(query taps, candidate taps): the 3x3 neighbourhood's flat indices whose latents form the search key of a
  position being predicted and of a decoded candidate. The same in causal orders, so one key serves both."""
  return (_QUERY_KEY_TAPS.get(order, _CAUSAL_KEY_TAPS), _CANDIDATE_KEY_TAPS.get(order, _CAUSAL_KEY_TAPS))


def context_inputs(y_hat, order):
  """y_hat [B, H, W, M] as the local context may read it in training: in checkerboard order the non-anchors
  zeroed, since an anchor's context taps fall on them and the decoder has not decoded them yet. Causal masks
  need no such step (returned as it is)."""
  if order != 'checkerboard':
    return y_hat
  anchors = position_ranks(y_hat.shape[1], y_hat.shape[2], order) == 0
  return jnp.where(jnp.asarray(anchors)[None, :, :, None], y_hat, 0.0)


class StepWork(typing.NamedTuple):
  """What a decoding step's positions need, where a decoder may leave work out. reads_decoded: something decoded
  before the step can be read (else the local context is its bias alone and the search has no candidate).
  read_later: a later step reads these positions (else their keys, features and confidences are never used)."""
  reads_decoded: bool = True
  read_later: bool = True


def step_work(order, steps):
  """StepWork of each of the `steps` decoding steps. The causal orders keep every step's full work, so that their
  compiled programs (and the float path's files) stay as they were; the checkerboard's anchors read nothing decoded,
  and nothing reads its second pass."""
  if order == 'checkerboard':
    return [StepWork(reads_decoded=False), StepWork(read_later=False)][:steps]
  return [StepWork()] * steps
