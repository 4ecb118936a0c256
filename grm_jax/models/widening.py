"""Function-preserving growth of a trained model (the idea of Net2Net, Chen et al. 2016): g_a and g_s grown to more
channels (model.transform_channels), and y grown to more channels (model.latent_channels, with the width of the
parameter networks, model.hidden, and of h_s), so that a larger model starts from a trained one instead of from
random parameters.

Each new parameter starts as a fresh model initialises it, except that:
- no old unit reads a new one: kernel weights from new inputs into old outputs are zero, and the GDN/GSDN matrices
  of a fresh layer are diagonal for new channels, so every old unit computes what it did;
- y's new channels start at zero (g_a's weights and bias into them are zero). The layers that read y keep fresh
  weights for them, which changes nothing while they are zero and gives them a gradient through g_s at once;
- the Gaussians of y's new channels start at mean 0 and the smallest scale (the last layer that gives them, of h_s
  or of a parameter network, has zero weights into them and the bias of the scale's lower bound, where gradients
  pass both ways), so coding their zeros costs next to nothing. Training's noisy rate proxy charges them more
  until they carry something.
Concatenated channels keep their layout: (mu | sigma) outputs, and [local | reference, (feature | S | U) for each
| hyper] inputs of the parameter networks. The grown model codes exactly as the narrow one, but for grm with its
confidence U, a mean over y's channels, which the new channels' certain zeros raise (for grm-small-wide grown to
M=192 that moved the rate of a 128x128 crop of kodim23 by -0.5% at lambda 0.18 and less at 0.0018).
"""
import collections
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax.entropy_models.gaussian import SCALE_BOUND
from grm_jax.models import same_layout

LATENT_READERS = (('g_s', 'deconv_0'), ('h_a', 'conv_0'), ('y_parameters', 'context'),
                  ('y_parameters', 'reference_conv'))  # layers whose input is y
PARAMETER_NETS = ('local_params', 'reference_params', 'final_params')
GAIN_UNITS = ('y_gains', 'z_gains')  # already of this model's shapes where the trainer moved them (gain.py)

# How a layer grows, where not as the default (the leading slices; new inputs' weights into old outputs zero):
# inputs, outputs: old channel -> new channel, where not the leading slice; new_inputs_zero: its new inputs are y's
# new channels, zeros at first, so their fresh weights stay; new_output_bias: the bias of every output (only new
# outputs take it), whose kernel weights then start at zero.
Layout = collections.namedtuple('Layout', 'inputs outputs new_inputs_zero new_output_bias',
                                defaults=(None, None, False, None))


def _halves(old_m, m):
  """(mu | sigma) of y: each old half at the start of its new half."""
  half = np.arange(old_m)
  return np.concatenate([half, m + half])


def _gaussian_bias(m, means=True):
  """The bias of a layer giving y's (mu | sigma), or sigma alone: mean 0 and the scale's lower bound."""
  scale = np.full(m, SCALE_BOUND, np.float32)
  return np.concatenate([np.zeros(m, np.float32), scale]) if means else scale


def _parameter_net_input(model, net, old_m, m):
  """Where each old input channel of a parameter network sits in the grown input: [local] for stage 1,
  [local | reference] for stage 2, [local | reference | hyper] for the final stage ([local | hyper] in context),
  the reference being, for each of the k references, its feature (2M) and, with gating 'channels', S and U."""
  local = np.arange(2 * old_m)
  if not model.uses_reference:
    return np.concatenate([local, 2 * m + local])
  scores = 2 if model.gating == 'channels' else 0
  one_reference = np.concatenate([np.arange(2 * old_m), 2 * m + np.arange(scores)])
  references = [2 * m + r * (2 * m + scores) + one_reference for r in range(model.references)]
  hyper = 2 * m + model.references * (2 * m + scores) + local
  return np.concatenate({'local_params': [local], 'reference_params': [local] + references,
                         'final_params': [local] + references + [hyper]}[net])


def _latent_layouts(model, fresh, old_m):
  """{layer path: Layout} for the layers of y's channels that do not grow as the default."""
  m = model.latent_channels
  layouts = {('g_a', 'conv_3'): Layout(new_output_bias=np.zeros(m, np.float32))}
  layouts.update({reader: Layout(new_inputs_zero=True) for reader in LATENT_READERS})
  family = model.family_spec
  if not family.autoregressive:  # h_s gives y's Gaussians: (mu | sigma), or sigma alone
    layouts[('h_s', 'conv_2')] = Layout(outputs=_halves(old_m, m) if family.hyper_means else None,
                                        new_output_bias=_gaussian_bias(m, family.hyper_means))
  for net in PARAMETER_NETS:
    if net not in fresh.get('y_parameters', {}):
      continue
    layers = sorted(fresh['y_parameters'][net], key=lambda name: int(name.split('_')[-1]))
    if len(layers) < 2:
      raise ValueError(f"y_parameters/{net} has one layer; growing y needs its first and last apart")
    layouts[('y_parameters', net, layers[0])] = Layout(inputs=_parameter_net_input(model, net, old_m, m))
    layouts[('y_parameters', net, layers[-1])] = Layout(outputs=_halves(old_m, m), new_output_bias=_gaussian_bias(m))
  return layouts


def _new(index, size):
  """The new positions: those of range(size) that no old index maps to."""
  return np.setdiff1d(np.arange(size), index)


def _grown_leaf(old, fresh, path, layout):
  """fresh, with old's values where the layout maps them (the leading slices elsewhere). A kernel's last two axes
  are its inputs and outputs; a bias's one axis is its outputs."""
  old, fresh = np.asarray(old, np.float32), np.asarray(fresh, np.float32)
  if old.ndim != fresh.ndim or any(o > f for o, f in zip(old.shape, fresh.shape)):
    raise ValueError(f"{path} is {list(old.shape)}, wider than or unlike the {list(fresh.shape)} of this model")
  if old.ndim == 0:
    return old
  is_kernel = path.endswith('/kernel')
  index = [np.arange(size) for size in old.shape]
  if layout.outputs is not None:
    index[-1] = layout.outputs
  if is_kernel and layout.inputs is not None:
    index[-2] = layout.inputs
  for axis, (positions, size) in enumerate(zip(index, fresh.shape)):
    if len(positions) != old.shape[axis] or (len(positions) and positions.max() >= size):
      raise ValueError(f"{path}: {old.shape[axis]} channels do not map into {size}")
  grown = fresh.copy()
  if layout.new_output_bias is not None:
    new_outputs = _new(index[-1], fresh.shape[-1])
    grown[..., new_outputs] = 0.0 if is_kernel else layout.new_output_bias[new_outputs]
  if is_kernel and not layout.new_inputs_zero:
    rows, cols = np.ix_(_new(index[-2], fresh.shape[-2]), index[-1])
    grown[..., rows, cols] = 0.0
  grown[np.ix_(*index)] = old
  return grown


def _grown_tree(old, fresh, path, layouts, key):
  if not isinstance(fresh, Mapping):
    return _grown_leaf(old, fresh, path, layouts.get(key[:-1], Layout()))
  if not isinstance(old, Mapping) or set(old) != set(fresh):
    raise ValueError(f"{path} does not have the layers of this model's")
  return {name: _grown_tree(old[name], fresh[name], f'{path}/{name}', layouts, key + (name,)) for name in fresh}


def _check_narrower_form(params, model):
  """A ValueError unless params are those of this model with fewer channels in g_a and g_s, in y or in the
  parameter networks (the gain units aside): a smaller N, another gating or another family does not grow."""
  width = np.shape(params['g_a']['conv_0']['bias'])[0]
  final = params.get('y_parameters', {}).get('final_params', {}).get('dense_0')
  narrow = model.clone(latent_channels=np.shape(params['g_a']['conv_3']['bias'])[0],
                       hidden=np.shape(final['bias'])[0] if final else model.hidden,
                       transform_channels=0 if width == model.channels else width)
  shapes = jax.eval_shape(narrow.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3), jnp.float32))['params']
  for name in set(shapes) - set(GAIN_UNITS):
    if not same_layout(params[name], shapes[name]):
      raise ValueError(f"its {name} is not this model's with fewer channels")


def grown_params(params, fresh, model):
  """params grown to the shapes of fresh's (a freshly initialised `model`, of the wider config), as the module's
  docstring says; unchanged where the shapes are already the same. A ValueError where params are wider, or not
  this model's with fewer channels (another N, gating or family), or where y would grow in a model without a
  hyperprior (a factorized y has densities of its own)."""
  if set(params) != set(fresh):
    raise ValueError(f"the model has the parts {sorted(params)}, where this model has {sorted(fresh)}")
  if 'g_a' not in params:  # a researcher's own transforms: nothing of the shipped layout to grow
    return params
  old_m = np.shape(params['g_a']['conv_3']['bias'])[0]
  layouts = {}
  _check_narrower_form(params, model)
  if old_m < model.latent_channels:
    if not model.family_spec.hyperprior:
      raise ValueError(f"y's channels grow in models with a hyperprior, not in the {model.family} family")
    layouts = _latent_layouts(model, fresh, old_m)
  return {name: _grown_tree(params[name], fresh[name], name, layouts, (name,)) for name in fresh}
