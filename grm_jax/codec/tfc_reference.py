"""tensorflow-compression's own range coder ops, with the interface of `range_coder`: the reference that the
project's coder is checked against (byte equality, both ways) and measured against (symbols a second).

Needs the TensorFlow extra (`pip install ".[tensorflow]"`); nothing else in the package imports this module.
"""
import os

import numpy as np

from grm_jax.codec import range_coder
from grm_jax.errors import GrmError


def _ops():
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  try:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_compression_ops as tfc  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise GrmError(f"the reference range coder needs TensorFlow and tensorflow-compression-ops ({error}); "
                   "install them with `pip install -r requirements-tf.txt`") from None
  return tf, tfc


def quantized_cdf(pmf, precision=range_coder.PRECISION):
  tf, tfc = _ops()
  pmf = np.asarray(pmf, np.float64)
  overflow = max(0.0, 1.0 - float(pmf.sum()))
  cdf = tfc.pmf_to_quantized_cdf(tf.constant(np.append(pmf, overflow), tf.float32), precision=precision).numpy()
  return np.concatenate([[-precision], cdf]).astype(np.int32)


def encode(lookup, offsets, indexes, values):
  _, tfc = _ops()
  indexes = np.asarray(indexes, np.int32).reshape(-1)
  symbols = np.asarray(values, np.int32).reshape(-1) - np.asarray(offsets, np.int32)[indexes]
  encoder = tfc.create_range_encoder([], np.asarray(lookup, np.int32))
  encoder = tfc.entropy_encode_index(encoder, indexes, symbols)
  return tfc.entropy_encode_finalize(encoder).numpy()


class Decoder:
  """The op's decoder, in pieces; no information-content bound (that is the project's own check)."""

  def __init__(self, data, lookup, offsets):
    self._tf, self._tfc = _ops()
    self._offsets = np.asarray(offsets, np.int32)
    self._handle = self._tfc.create_range_decoder(data, np.asarray(lookup, np.int32))

  def decode(self, indexes):
    indexes = np.asarray(indexes, np.int32)
    self._handle, symbols = self._tfc.entropy_decode_index(self._handle, indexes, indexes.shape, self._tf.int32)
    return symbols.numpy() + self._offsets[indexes]

  def finish(self):
    return bool(self._tfc.entropy_decode_finalize(self._handle).numpy())
