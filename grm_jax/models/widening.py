"""Function-preserving widening of g_a and g_s (the idea of Net2Net, Chen et al. 2016): a trained model's
transforms grown to more channels (config model.transform_channels), coding exactly as before until training
moves them. The entropy model, h_a, h_s and y keep their shapes, so everything that codes y is kept as it is.

Each new channel starts as a fresh model initialises it, except that no old channel reads it: the weights from a
new channel into an old one are zero, and the GDN/GSDN matrices of a fresh layer are diagonal for new channels.
The gradient of such a zero weight is the new channel's activation, so the new channels join in at the first step.
"""
from collections.abc import Mapping

import numpy as np

TRANSFORMS = ('g_a', 'g_s')


def _widened_leaf(old, fresh, path):
  old, fresh = np.asarray(old, np.float32), np.asarray(fresh, np.float32)
  if old.ndim != fresh.ndim or any(o > f for o, f in zip(old.shape, fresh.shape)):
    raise ValueError(f"{path} is {list(old.shape)}, wider than or unlike the {list(fresh.shape)} of this model")
  grown = fresh.copy()
  if old.ndim == 4:  # an HWIO kernel: new inputs must not reach old outputs
    grown[:, :, old.shape[2]:, :old.shape[3]] = 0.0
  grown[tuple(slice(0, size) for size in old.shape)] = old
  return grown


def _widened_tree(old, fresh, path):
  if not isinstance(fresh, Mapping):
    return _widened_leaf(old, fresh, path)
  if not isinstance(old, Mapping) or set(old) != set(fresh):
    raise ValueError(f"{path} does not have the layers of this model's")
  return {name: _widened_tree(old[name], fresh[name], f'{path}/{name}') for name in fresh}


def widened_transforms(params, fresh):
  """params with g_a and g_s grown to the shapes of fresh's (a freshly initialised model of the wider config):
  the old values in the leading slices, fresh values for the new channels, zero weights from new channels into
  old ones. Unchanged where the shapes are already the same; a ValueError where params' transforms are wider."""
  params = dict(params)
  for name in TRANSFORMS:
    if name in params and name in fresh:
      params[name] = _widened_tree(params[name], fresh[name], name)
  return params
