"""The entropy path of y, float or portable, behind one interface: what encoder and decoder must compute
identically (h_s and the parameters of y's Gaussians).

  float     the float model itself (arithmetic 0: agreement needs the same machine and software)
  portable  exact integer arithmetic (portable/entropy_path.py; arithmetic 1: the same symbols on any machine)

An EntropyPath carries its parameters and plain functions of them, which the latent coders compile:
  hyper_features(p, z_hat, lambdas)                        h_s(z_hat)
  gaussian_parameters(p, hyper)                            (mu, sigma) of y, coded in one pass
  initial_state(h, w), decoded_latent(state)               the autoregressive decoding state, and y_hat of it
  predict(p, state, hyper_at, rows, cols, candidates[, work])  (mu, sigma, pending) of one group of positions
  commit(p, state, rows, cols, mu, symbols, pending[, work])   the state once they are decoded as mu + symbols
(work: the step's coding_order.StepWork, what it may leave out).
"""
import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax.models import ImageCompressor
from grm_jax.portable import conversion, exact
from grm_jax.portable import entropy_path as integer_path


@dataclasses.dataclass(frozen=True)
class EntropyPath:
  params: object
  arithmetic: int  # the .grm header's arithmetic field
  hyper_features: Callable
  gaussian_parameters: Callable
  initial_state: Callable
  decoded_latent: Callable
  predict: Callable
  commit: Callable
  carrier: str = None  # portable: how the integer matmuls are carried (portable/exact.py)
  rate_levels: np.ndarray = None  # portable: the lambdas a variable-rate model's files may carry

  @property
  def fused_steps(self):
    """Whether a commit and the next prediction may run as one compiled call: on the portable path, exact whatever
    XLA fuses; the float path's files were made with two calls, and its floats depend on the fusion."""
    return self.arithmetic == 1


def model_method(model, name):
  """A method of the model as a function of (params, *args), to be compiled."""
  return lambda p, *args: model.apply({'params': p}, *args, method=getattr(ImageCompressor, name))


def float_path(model, params):
  method = lambda name: model_method(model, name)
  gaussian_parameters, commit = method('gaussian_parameters'), method('commit_positions')
  return EntropyPath(
      params=params, arithmetic=0, hyper_features=method('hyper_features'),
      gaussian_parameters=lambda p, hyper: gaussian_parameters(p, None, hyper)[:2],
      initial_state=lambda h, w: model.apply({'params': params}, h, w,
                                             method=ImageCompressor.initial_decoding_state),
      decoded_latent=lambda state: state['y_hat'][2:-2, 2:-2][None],
      predict=method('predict_positions'),
      commit=lambda p, state, rows, cols, mu, symbols, pending, *work: commit(
          p, state, rows, cols, mu + symbols.astype(jnp.float32), pending, *work))


def portable_path(model, tables, carrier=None):
  """model: the float model, for its structure only; the parameters are the tables' integer ones. carrier:
  'float32' or 'int8' (None: the faster here for the model's largest layer), the same integers either way."""
  carrier = carrier or _fastest_carrier(tables)
  qparams = jax.device_put({**conversion.stored(tables, carrier), 'scale_table': tables['scale_table']})
  return EntropyPath(
      params=qparams, arithmetic=1, carrier=carrier, rate_levels=tables[conversion.PREFIX + 'rate_levels'],
      hyper_features=lambda q, z_hat, lambdas: integer_path.hyper_features(q, model, z_hat, lambdas),
      gaussian_parameters=lambda q, hyper: integer_path.gaussian_parameters(q, model, hyper),
      initial_state=lambda h, w: integer_path.initial_state(model, h, w),
      decoded_latent=integer_path.decoded_latent,
      predict=lambda q, *args: integer_path.predict_positions(q, model, *args),
      commit=lambda q, *args: integer_path.commit_positions(q, model, *args))


def _fastest_carrier(tables):
  """The faster carrier here for the largest layer that every decoding step runs (h_s runs once an image)."""
  layers = {name[len(conversion.PREFIX):]: value.shape for name, value in tables.items()
            if name.startswith(conversion.PREFIX) and name.endswith('/w')}
  in_steps = [shape for name, shape in layers.items() if integer_path.runs_every_step(name)]
  return exact.fastest_carrier(*max(in_steps or layers.values(), key=np.prod))


def of_model(model, params, tables, carrier):
  """The path a model directory's tables call for: portable where they hold the integer parameters."""
  return portable_path(model, tables, carrier) if conversion.is_portable(tables) else float_path(model, params)
