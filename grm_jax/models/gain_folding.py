"""A variable-rate model turned into the fixed-rate model of one lambda: the gains of that lambda folded into the
layers whose outputs or inputs they scale. Inside the model's range the fixed-rate model codes exactly as the
variable-rate one does at that lambda; beyond it (where the variable-rate model would clip to its edge gains) it
takes the gains high-rate theory extrapolates (gain.reanchored_params), a starting point for training there.
init_from uses it to fine-tune a fixed-rate model from a variable-rate one, which is how one measures what serving
many lambdas with one set of parameters costs at one of them.

The gains scale channels that a convolution makes or reads, and a convolution is linear in each: y * gain is g_a's
last convolution with its output channels scaled, and g_s(y_hat * inverse gain) is g_s with its first
convolution's input channels scaled (z, h_a and h_s the same way).
"""
import numpy as np

from grm_jax.layers.gain import anchor_lambdas, reanchored_params

# (gain unit, the layer whose output channels its gain scales, the layer whose input channels its inverse scales)
FOLDS = (('y_gains', ('g_a', 'conv_3'), ('g_s', 'deconv_0')),
         ('z_gains', ('h_a', 'conv_2'), ('h_s', 'deconv_0')))


def gains_at(unit_params, anchors, lambda_):
  """(gain, inverse gain) [channels] of a gain unit's parameters at one lambda."""
  at = reanchored_params(unit_params, anchors, (lambda_,))
  return np.exp(at['log_gain'][0]), np.exp(at['log_inverse_gain'][0])


def _scaled_layer(layer, scale, axis):
  """A convolution's parameters with one kernel axis (2: inputs, 3: outputs) scaled per channel; the bias too for
  outputs."""
  kernel = np.asarray(layer['kernel'], np.float32)
  shape = [1, 1, 1, 1]
  shape[axis] = -1
  scaled = dict(layer, kernel=kernel * scale.reshape(shape))
  if axis == 3:
    scaled['bias'] = np.asarray(layer['bias'], np.float32) * scale
  return scaled


def folded_gains(params, model_config, lambda_):
  """params of a variable-rate model (model_config: its model section, with lambda_range and gain_anchors) without
  gain units, their gains at lambda_ folded into the layers they scale. A ValueError where a layer to fold into is
  missing (a researcher's own transforms)."""
  anchors = anchor_lambdas(model_config['lambda_range'], model_config['gain_anchors'])
  params = dict(params)
  for unit, (out_net, out_layer), (in_net, in_layer) in FOLDS:
    if unit not in params:
      continue
    gain, inverse = gains_at(params.pop(unit), anchors, lambda_)
    for net, layer, scale, axis in ((out_net, out_layer, gain, 3), (in_net, in_layer, inverse, 2)):
      if layer not in params.get(net, {}):
        raise ValueError(f"{net} has no layer {layer} to fold the gains of {unit} into")
      params[net] = dict(params[net], **{layer: _scaled_layer(params[net][layer], scale, axis)})
  return params
