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


# A range coder's output is at least the information content of what it coded, less a few bits of rounding, plus
# the bytes of its final flush: this much beyond 8 bits a byte is never a valid string's.
SLACK_BITS = 64


def symbol_costs(lookup):
  """(bits [rows, symbols], overflow symbol per row): the information content of each symbol under each table,
  and the symbol that stands for values outside the table (costed as that symbol alone: a lower bound)."""
  lookup = np.asarray(lookup, np.int64)
  precision = -lookup[:, :1]
  cdf = lookup[:, 1:]
  counts = np.diff(cdf, axis=1)
  with np.errstate(divide='ignore'):
    bits = precision - np.log2(np.maximum(counts, 0))  # -log2(count / 2^precision); padding gives inf
  overflow = np.argmax(cdf == (1 << precision), axis=1) - 1  # the last symbol before the CDF reaches the top
  return bits, overflow


class Decoder:
  """Decodes a string in pieces, in the order it was encoded.

  A decoder fed a string too short for what it is asked to decode (a forged header claiming a large image, say)
  would go on producing symbols from nothing. So every piece's information content is added up, and once it
  exceeds what the string can hold the file is refused: the work done stays proportional to the file.
  """

  def __init__(self, data, lookup, offsets):
    tf, tfc = _ops()
    self._tf, self._tfc, self._offsets = tf, tfc, offsets
    self._handle = tfc.create_range_decoder(data, lookup)
    self._costs, self._overflow = symbol_costs(lookup)
    self._capacity = 8 * len(data) + SLACK_BITS
    self._spent = 0.0

  def decode(self, indexes):
    indexes = np.asarray(indexes, np.int32)
    self._handle, symbols = self._tfc.entropy_decode_index(self._handle, indexes, indexes.shape, self._tf.int32)
    symbols = symbols.numpy()
    overflow = self._overflow[indexes]
    coded = np.where((symbols < 0) | (symbols >= overflow), overflow, symbols)
    self._spent += float(np.sum(self._costs[indexes, coded]))
    if self._spent > self._capacity:
      raise GrmError(f"damaged .grm file (a string of {(self._capacity - SLACK_BITS) // 8} bytes cannot hold the "
                     f"symbols it decodes to: {self._spent:.0f} bits of information so far)")
    return symbols + self._offsets[indexes]

  def finish(self):
    """False when the decoder noticed an inconsistency (a weak check: the CRC is the real one)."""
    return bool(self._tfc.entropy_decode_finalize(self._handle).numpy())
