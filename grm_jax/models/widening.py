"""Function-preserving growth of a trained model (the idea of Net2Net, Chen et al. 2016): g_a and g_s grown to more
channels (model.transform_channels), and y grown to more channels (model.latent_channels, with the width of the
parameter networks, model.hidden, and of h_s), the grown model coding as before until training moves it.

Each new parameter starts as a fresh model initialises it, except that:
- no old unit reads a new one: kernel weights from new inputs into old outputs are zero, and the GDN/GSDN matrices
  of a fresh layer are diagonal for new channels, so every old unit computes what it did;
- y's new channels start at zero (g_a's weights and bias into them are zero). The layers that read y keep fresh
  weights for them, which changes nothing while they are zero and gives them a gradient through g_s at once;
- the Gaussians of y's new channels start at mean 0 and the smallest scale (the weights and biases into them of the
  last layer that gives them, of h_s or of the parameter networks, are zero), so their zeros cost next to nothing.
Concatenated channels keep their blocks: (mu | sigma) outputs, and [local | reference | hyper] inputs of the
parameter networks. Growing y is exact for every family but grm, whose confidence U (a mean over y's channels) the
new channels' near-certain zeros raise.
"""
from collections.abc import Mapping

import numpy as np

TRANSFORMS = ('g_a', 'g_s')
LATENT_READERS = (('g_s', 'deconv_0'), ('h_a', 'conv_0'), ('y_parameters', 'context'),
                  ('y_parameters', 'reference_conv'))  # layers whose input is y
PARAMETER_NETS = ('local_params', 'reference_params', 'final_params')


def _halves(old_size, new_size):
  """(mu | sigma): each old half at the start of its new half."""
  half = np.arange(old_size // 2)
  return np.concatenate([half, new_size // 2 + half])


def _blocks(old_sizes, new_sizes):
  """Concatenated blocks: each old block at the start of its new block."""
  starts = np.concatenate([[0], np.cumsum(new_sizes)[:-1]])
  return np.concatenate([start + np.arange(size) for start, size in zip(starts, old_sizes)])


def _check_map(index, old_size, new_size, path):
  if len(index) != old_size or (len(index) and index.max() >= new_size):
    raise ValueError(f"{path}: {old_size} channels do not map into {new_size}")
  return index


def _others(index, size):
  """The new positions: those of range(size) that no old index maps to."""
  return np.setdiff1d(np.arange(size), index)


def _grown_leaf(old, fresh, path, maps=None, reads_zeros=False, new_outputs_zero=False):
  """fresh, with old's values at the positions the index maps give (old index -> new index, per axis; the leading
  slice where none is given). A kernel's last two axes are its inputs and outputs."""
  old, fresh = np.asarray(old, np.float32), np.asarray(fresh, np.float32)
  if old.ndim != fresh.ndim or any(o > f for o, f in zip(old.shape, fresh.shape)):
    raise ValueError(f"{path} is {list(old.shape)}, wider than or unlike the {list(fresh.shape)} of this model")
  if old.ndim == 0:
    return old
  index = [_check_map(np.asarray((maps or {}).get(axis, np.arange(o))), o, f, path)
           for axis, (o, f) in enumerate(zip(old.shape, fresh.shape))]
  grown = fresh.copy()
  if new_outputs_zero:
    grown[..., _others(index[-1], fresh.shape[-1])] = 0.0
  if path.endswith('/kernel') and not reads_zeros:
    rows, cols = np.ix_(_others(index[-2], fresh.shape[-2]), index[-1])
    grown[..., rows, cols] = 0.0
  grown[np.ix_(*index)] = old
  return grown


def _parameter_net_inputs(model, net, latent_channels):
  """The blocks of a parameter network's input, in channels: [local] for stage 1, [local | reference] for stage 2
  and [local | reference | hyper] (context: [local | hyper]) for the final stage."""
  local = hyper = 2 * latent_channels
  if not model.uses_reference:
    return [local, hyper]
  scores = 2 if model.gating == 'channels' else 0  # S and U beside each reference feature
  reference = model.references * (2 * latent_channels + scores)
  return {'local_params': [local], 'reference_params': [local, reference],
          'final_params': [local, reference, hyper]}[net]


def _latent_layouts(model, fresh, old_m):
  """{layer path: (index maps by axis, reads_zeros, new_outputs_zero)} for the layers of y's channels that are
  not the leading slice or need more than the default zeros."""
  m, kernel_in, kernel_out = model.latent_channels, -2, -1
  layouts = {('g_a', 'conv_3'): ({}, False, True)}
  layouts.update({reader: ({}, True, False) for reader in LATENT_READERS})
  family = model.family_spec
  if not family.autoregressive:  # h_s gives y's Gaussians: (mu | sigma), or sigma alone
    outputs = {kernel_out: _halves(2 * old_m, 2 * m)} if family.hyper_means else {}
    layouts[('h_s', 'conv_2')] = (outputs, False, True)
  for net in PARAMETER_NETS:
    if net not in fresh.get('y_parameters', {}):
      continue
    inputs = _blocks(_parameter_net_inputs(model, net, old_m), _parameter_net_inputs(model, net, m))
    layers = sorted(fresh['y_parameters'][net], key=lambda name: int(name.split('_')[-1]))
    layouts[('y_parameters', net, layers[0])] = ({kernel_in: inputs}, False, False)
    layouts[('y_parameters', net, layers[-1])] = ({kernel_out: _halves(2 * old_m, 2 * m)}, False, True)
  return layouts


def _grown_tree(old, fresh, path, layouts, key=()):
  if not isinstance(fresh, Mapping):
    maps, reads_zeros, new_outputs_zero = layouts.get(key[:-1], ({}, False, False))
    if path.endswith('/kernel'):
      maps = {fresh.ndim + axis: index for axis, index in maps.items()}
    else:  # a bias: its one axis is the outputs'
      maps = {0: maps[-1]} if -1 in maps else {}
    return _grown_leaf(old, fresh, path, maps, reads_zeros, new_outputs_zero)
  if not isinstance(old, Mapping) or set(old) != set(fresh):
    raise ValueError(f"{path} does not have the layers of this model's")
  return {name: _grown_tree(old[name], fresh[name], f'{path}/{name}', layouts, key + (name,)) for name in fresh}


def grown_params(params, fresh, model):
  """params grown to the shapes of fresh's (a freshly initialised `model`, of the wider config), as the module's
  docstring says; unchanged where the shapes are already the same; a ValueError where params are wider or of
  other layers. y's channels grow only in a model with a hyperprior (a factorized y has densities of its own)."""
  if set(params) != set(fresh):
    raise ValueError(f"the model has the parts {sorted(params)}, where this model has {sorted(fresh)}")
  old_m = np.shape(params['g_a']['conv_3']['bias'])[0] if 'g_a' in params else model.latent_channels
  layouts = {}
  if old_m != model.latent_channels:
    if not model.family_spec.hyperprior:
      raise ValueError(f"y's channels grow in models with a hyperprior, not in the {model.family} family")
    layouts = _latent_layouts(model, fresh, old_m)
  return {name: _grown_tree(params[name], fresh[name], name, layouts, (name,)) for name in fresh}
