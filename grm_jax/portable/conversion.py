"""Post-training quantisation of the entropy path: a float model's h_s and entropy parameters as the integer
parameters of portable/entropy_path.py, stored in the model directory's tables.npz (keys 'portable/...').

Weights get a power-of-two scale per output column (portable/exact.quantize_dense). Activations get one power-of-two
scale per tensor, from the largest magnitude the float model produces on calibration images (photographs from
the training set, never the test set) at several lambdas across the model's range: 12 bits cover that range.
"""
import collections

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr

from grm_jax import image_io, rd_lambda
from grm_jax.errors import GrmError
from grm_jax.layers import subpixel_kernel
from grm_jax.portable import entropy_path
from grm_jax.portable.exact import carried_weights, exponent_for, quantize_dense

PREFIX = 'portable/'
CALIBRATION_LAMBDAS = 4  # per variable-rate model: log-spaced over its range
CALIBRATION_IMAGES = 16
CALIBRATION_CROP = 512


def calibration_images(folder, count=CALIBRATION_IMAGES, crop=CALIBRATION_CROP):
  """`count` photographs spread over a folder's sorted listing (or folders', comma-separated), centre crops of at
  most crop x crop, in [0, 1]."""
  paths = [path for part in str(folder).split(',') for path in image_io.list_images(part)]
  if not paths:
    raise GrmError(f"{folder}: no PNG or JPEG photographs to calibrate with")
  chosen = [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, count).astype(int))]
  images = []
  for path in chosen:
    image = image_io.read_image(path)
    h, w = image.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    images.append(image_io.to_float(image[top:top + crop, left:left + crop]))
  return images


def rate_levels(model, config):
  """The lambdas a portable model codes at: RATE_LEVELS log-spaced over a variable-rate model's range (1.3% apart
  over CompressAI's qualities 1 to 6), and exactly CompressAI's quality lambdas and the config's default lambda
  where they lie in it; or the fixed-rate model's own."""
  if model.lambda_range:
    low, high = model.lambda_range
    spaced = rd_lambda.log_spaced(model.lambda_range, entropy_path.RATE_LEVELS)
    named = [v for v in rd_lambda.QUALITY_LAMBDAS + (float(config.lambda_),) if low <= v <= high]
    return np.unique(np.concatenate([spaced, named]).astype(np.float32))
  return np.asarray([config.lambda_], np.float32)


def _calibration_lambdas(model, config):
  if not model.lambda_range:
    return [None]
  return [float(v) for v in rd_lambda.log_spaced(model.lambda_range, CALIBRATION_LAMBDAS)]


def _intermediates(model, params, images, lambdas):
  """The largest |value| of each tensor of the entropy path over the calibration images, by name."""

  def run(params, x, lambda_):
    variables = {'params': params}
    lam = None if lambda_ is None else jnp.full((1,), lambda_, jnp.float32)
    y = model.apply(variables, x, lam, method=model.analysis)
    z_hat = jnp.round(model.apply(variables, y, lam, method=model.hyper_analysis))
    z_in = model.apply(variables, z_hat, lam, method=model.hyper_inputs)
    hyper, state = model.apply(variables, z_hat, lam, method=model.hyper_features, capture_intermediates=True,
                               mutable=['intermediates'])
    found = {'z': z_in, 'hyper': hyper}
    captured = state['intermediates']
    for name in ('deconv_0', 'deconv_1'):
      found[f'h_s/{name}'] = captured['h_s'][name]['__call__'][0]
    if model.autoregressive:
      y_hat = jnp.round(y)
      _, state = model.apply(variables, y_hat, hyper, method=model.gaussian_parameters, capture_intermediates=True,
                             mutable=['intermediates'])
      captured = state['intermediates']['y_parameters']
      found['y'] = y_hat
      found['context'] = captured['context']['__call__'][0]
      for net in ('local_params', 'final_params'):
        for layer in ('dense_0', 'dense_1'):
          if net in captured:
            found[f'{net}/{layer}'] = captured[net][layer]['__call__'][0]
      if 'reference_conv' in captured:
        found['reference_conv'] = captured['reference_conv']['__call__'][0]
    return {name: jnp.max(jnp.abs(value)) for name, value in found.items()}

  run = jax.jit(run, static_argnums=2)
  params = jax.device_put(params)
  maxima = {}
  for image in images:
    for lambda_ in lambdas:
      for name, value in run(params, jnp.asarray(image)[None], lambda_).items():
        maxima[name] = max(maxima.get(name, 0.0), float(value))
  return maxima


def _conv_rows(kernel, taps=None):
  """An HWIO kernel as dense rows ordered (tap, input channel), the order of the integer path's patches."""
  kernel = np.asarray(kernel, np.float64)
  rows = kernel.reshape(-1, kernel.shape[2], kernel.shape[3])
  if taps is not None:
    rows = rows[taps]
  return rows.reshape(-1, kernel.shape[3])


def _store(qparams, name, layer):
  for part, value in layer.items():
    qparams[f'{name}/{part}'] = value


def confidence_table(scale_table):
  """(table [levels, bins], shift [levels]): the unit-bin likelihood, in units of 2^-16, at the centre of each
  distance bin; level i's bins are 2^shift[i] grid steps wide, so that 256 of them cover 8 sigma."""
  scales = np.asarray(scale_table, np.float64)
  shifts = np.maximum(0, np.ceil(np.log2(8 * scales))).astype(np.int32)
  bins = np.arange(entropy_path.CONFIDENCE_BINS, dtype=np.float64)
  step = np.exp2(shifts.astype(np.float64))[:, None]
  distance = (bins[None, :] * step + (step - 1) / 2) / (1 << entropy_path.MEAN_BITS)
  sigma = scales[:, None]
  likelihood = ndtr((0.5 - distance) / sigma) - ndtr((-0.5 - distance) / sigma)
  return np.round(likelihood * (1 << entropy_path.CONFIDENCE_BITS)).astype(np.int32), shifts


def convert(model, params, config, scale_table, images):
  """The portable arrays of a float model (keys without PREFIX). images: float32 [H, W, 3] calibration crops in
  [0, 1]."""
  if 4 * model.latent_channels * entropy_path.KEY_LIMIT ** 2 >= 2 ** 30:
    raise GrmError(f"the portable path's search keys need M < 1024 (this model has M={model.latent_channels})")
  maxima = _intermediates(model, params, images, _calibration_lambdas(model, config))
  return _quantized(model, params, config, scale_table, {name: exponent_for(v) for name, v in maxima.items()},
                    z_gains)


def layout(model, params, config, scale_table):
  """{key in tables.npz: (shape, dtype)} of the portable arrays a model of this config stores: what a model
  directory's tables must hold, known without calibrating (the exponents change values, not shapes)."""
  shape_only = lambda _, __, levels: np.zeros((len(levels), model.channels), np.int32)  # no model.apply: fast
  arrays = _quantized(model, params, config, scale_table, collections.defaultdict(int), shape_only)
  return {PREFIX + name: (np.shape(value), np.asarray(value).dtype) for name, value in arrays.items()}


def z_gains(model, params, levels):
  """The inverse z gains of each rate level, on the integer path's grid."""
  def inverse_gains(module, lambdas):
    if module.z_gains is None:
      return jnp.ones((len(levels), model.channels))
    return module.z_gains(lambdas)[1]

  gains = np.asarray(model.apply({'params': jax.device_put(params)}, jnp.asarray(levels), method=inverse_gains),
                     np.float64)
  return np.round(gains * (1 << entropy_path.GAIN_BITS)).astype(np.int32)


def _quantized(model, params, config, scale_table, e, gains):
  """The portable arrays, given each activation tensor's exponent (e, by tensor name) and gains(model, params,
  levels), the integer z gains."""
  m, mean_bits = model.latent_channels, entropy_path.MEAN_BITS
  qparams = {f'exponent/{name}': np.int32(e[name]) for name in ('z', 'y') if name == 'z' or model.autoregressive}

  qparams['rate_levels'] = rate_levels(model, config)
  qparams['z_gain'] = gains(model, params, qparams['rate_levels'])

  h_s = params['h_s']
  hyper_exponent = e['hyper'] if model.autoregressive else mean_bits
  layers = [('deconv_0', e['z'], e['h_s/deconv_0'], True), ('deconv_1', e['h_s/deconv_0'], e['h_s/deconv_1'], True),
            ('conv_2', e['h_s/deconv_1'], hyper_exponent, False)]
  for name, e_in, e_out, subpixel in layers:
    kernel = np.asarray(h_s[name]['kernel'])
    bias = np.asarray(h_s[name]['bias'])
    if subpixel:
      kernel, bias = subpixel_kernel(kernel), np.tile(bias, 4)
    rows = _conv_rows(kernel)
    _store(qparams, f'h_s/{name}', quantize_dense(rows, bias, np.full(len(rows), e_in), e_out))
  if not model.autoregressive:
    return qparams

  qparams['exponent/hyper'] = np.int32(e['hyper'])
  entropy = params['y_parameters']
  rows = _conv_rows(entropy['context']['kernel'], entropy_path.context_taps(model.coding_order))
  _store(qparams, 'context', quantize_dense(rows, entropy['context']['bias'], np.full(len(rows), e['y']),
                                            e['context']))
  inputs = [np.full(2 * m, e['context'])]
  if 'reference_conv' in entropy:
    rows = _conv_rows(entropy['reference_conv']['kernel'], entropy_path.reference_taps(model.coding_order))
    _store(qparams, 'reference_conv', quantize_dense(rows, entropy['reference_conv']['bias'],
                                                     np.full(len(rows), e['y']), e['reference_conv']))
    _store_network(qparams, 'local_params', entropy['local_params'], np.full(2 * m, e['context']), e)
    for _ in range(model.references):  # each reference's feature (and S and U), side by side
      inputs.append(np.full(2 * m, e['reference_conv']))
      if model.gating == 'channels':
        inputs.append(np.full(2, 11))  # S and U at 2^-11 (entropy_path._gate)
    table, shifts = confidence_table(scale_table)
    qparams['confidence_table'], qparams['confidence_shift'] = table, shifts
  inputs.append(np.full(2 * m, e['hyper']))
  _store_network(qparams, 'final_params', entropy['final_params'], np.concatenate(inputs), e)
  return qparams


def _store_network(qparams, name, params, input_exponents, e):
  """A three-layer ParameterNet; its last layer's outputs on the mean/scale grid."""
  outputs = [e[f'{name}/dense_0'], e[f'{name}/dense_1'], entropy_path.MEAN_BITS]
  for i, e_out in enumerate(outputs):
    layer = params[f'dense_{i}']
    _store(qparams, f'{name}/dense_{i}', quantize_dense(layer['kernel'], layer['bias'], input_exponents, e_out))
    input_exponents = np.full(np.shape(layer['kernel'])[1], e_out)


def build(model, params, config, scale_table, images):
  """convert(), with PREFIX on every key: what goes into tables.npz."""
  return {PREFIX + name: value for name, value in convert(model, params, config, scale_table, images).items()}


def stored(tables, carrier='float32'):
  """The portable arrays of a model directory's tables (empty for a float model), with the weights (stored as
  int16) in the form the carrier's matmul takes (portable/exact.carried_weights)."""
  arrays = {name[len(PREFIX):]: value for name, value in tables.items() if name.startswith(PREFIX)}
  return {name: carried_weights(value, carrier) if name.endswith('/w') else value for name, value in arrays.items()}


def is_portable(tables):
  return any(name.startswith(PREFIX) for name in tables)

