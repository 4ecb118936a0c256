"""tensorflow-compression's range coder, behind a small numpy interface. Imports TensorFlow on first use.

A coding table ("lookup") is an int32 matrix with one row per distribution: the row starts with -precision (the
minus sign enables the overflow escape, so values outside a table's range are still coded, with an Elias gamma
code), followed by the quantised CDF, padded with 2^precision. A value v of distribution i is coded as the symbol
v - offsets[i].
"""
import os

import numpy as np

from grm_jax.errors import GrmError

PRECISION = 16


def _ops():
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  try:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    import tensorflow_compression_ops as tfc  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise GrmError(f"the range coder needs TensorFlow and tensorflow-compression-ops ({error}); install them with "
                   "`pip install -r requirements.txt`") from None
  return tf, tfc


def quantized_cdf(pmf, precision=PRECISION):
  """The lookup row of a pmf over consecutive integers; the mass outside them becomes the overflow symbol."""
  tf, tfc = _ops()
  pmf = np.asarray(pmf, np.float64)
  overflow = max(0.0, 1.0 - float(pmf.sum()))
  cdf = tfc.pmf_to_quantized_cdf(tf.constant(np.append(pmf, overflow), tf.float32), precision=precision).numpy()
  return np.concatenate([[-precision], cdf]).astype(np.int32)


def stack_rows(rows, precision=PRECISION):
  """Rows of different lengths -> one lookup matrix, padded with 2^precision (zero-probability symbols)."""
  width = max(len(r) for r in rows)
  lookup = np.full((len(rows), width), 1 << precision, np.int32)
  for i, row in enumerate(rows):
    lookup[i, :len(row)] = row
  return lookup


def encode(lookup, offsets, indexes, values):
  """One string holding every value (any shape), each coded with the table its index names."""
  _, tfc = _ops()
  indexes = np.asarray(indexes, np.int32).reshape(-1)
  symbols = np.asarray(values, np.int32).reshape(-1) - offsets[indexes]
  encoder = tfc.create_range_encoder([], lookup)
  encoder = tfc.entropy_encode_index(encoder, indexes, symbols)
  return tfc.entropy_encode_finalize(encoder).numpy()


class Decoder:
  """Decodes a string in pieces, in the order it was encoded."""

  def __init__(self, data, lookup, offsets):
    tf, tfc = _ops()
    self._tf, self._tfc, self._offsets = tf, tfc, offsets
    self._handle = tfc.create_range_decoder(data, lookup)

  def decode(self, indexes):
    indexes = np.asarray(indexes, np.int32)
    self._handle, symbols = self._tfc.entropy_decode_index(self._handle, indexes, indexes.shape, self._tf.int32)
    return symbols.numpy() + self._offsets[indexes]

  def finish(self):
    """False when the decoder noticed an inconsistency (a weak check: the CRC is the real one)."""
    return bool(self._tfc.entropy_decode_finalize(self._handle).numpy())
