"""The order in which latent positions are coded: the one place that defines "earlier".

Every causal piece of the entropy model (the masked context, the reference search, the codec's decoding loop)
asks this module which positions come before which. Positions of equal rank are decoded together, so an order
that gives many positions one rank (an anti-diagonal wavefront, say) batches decoding without touching the rest.
"""
import numpy as np

ORDERS = ('raster', 'wavefront')


def position_ranks(height, width, order='raster'):
  """rank[row, col]: when each position is decoded; lower ranks first, equal ranks together.

  raster:    row by row, left to right: one position per step (the paper's order).
  wavefront: rank 3 * row + col. Everything a position looks at (its 5x5 causal context, its 4 causal neighbours,
             the masked 3x3 patch of its reference) has a lower rank, and positions of equal rank lie 3 columns
             apart per row, so a whole anti-diagonal decodes in one step: 3H + W - 3 steps instead of H * W.
  """
  if order not in ORDERS:
    raise ValueError(f"unknown coding order {order!r}; expected one of {ORDERS}")
  rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing='ij')
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
  """How many decoding steps a latent of this size takes (H * W in raster order, 3H + W - 3 in wavefront)."""
  return len(np.unique(position_ranks(height, width, order)))


def earlier_mask(height, width, order='raster'):
  """[HW, HW] boolean: entry (j, i) says position i is decoded strictly before position j (flattened row-major)."""
  return earlier(position_ranks(height, width, order).reshape(-1))


def earlier(ranks):
  """earlier_mask from flat decoding ranks [N], numpy or JAX (a JAX model compares them at run time)."""
  return ranks[None, :] < ranks[:, None]
