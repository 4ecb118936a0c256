"""The range coder on its own: round trips, the escape code, and strings and tables that no encoder or export
writes. Its byte equality with tensorflow-compression's op is tests/test_range_coder_tfc.py (TensorFlow stage)."""
import time

import numpy as np
import pytest
from scipy.special import ndtr

from grm_jax.codec import range_coder
from grm_jax.errors import GrmError


def _gaussian_row(scale, half):
  values = np.arange(-half, half + 1, dtype=np.float64)
  return range_coder.quantized_cdf(ndtr((values + 0.5) / scale) - ndtr((values - 0.5) / scale))


@pytest.fixture(scope='module')
def table():
  rows = [_gaussian_row(scale, half) for scale, half in ((0.5, 4), (2.0, 13), (10.0, 62))]
  return range_coder.stack_rows(rows), np.array([-4, -13, -62], np.int32)


def test_round_trip_with_escapes_in_pieces(table):
  lookup, offsets = table
  rng = np.random.default_rng(0)
  indexes = rng.integers(0, 3, 30000).astype(np.int32)
  values = np.round(rng.normal(0, 1, 30000) * np.array([0.5, 2.0, 10.0])[indexes]).astype(np.int32)
  values[::97] = rng.integers(-(1 << 29), 1 << 29, len(values[::97]))  # far outside every table
  string = range_coder.encode(lookup, offsets, indexes, values)
  decoder = range_coder.Decoder(string, lookup, offsets)
  decoded = np.concatenate([decoder.decode(piece) for piece in np.array_split(indexes, 7)])
  np.testing.assert_array_equal(decoded, values)
  assert decoder.finish()


def test_a_string_many_times_longer_than_the_encoders_first_buffer(table):
  """The encoder grows its buffer between runs of symbols; every escape here writes about 8 bytes."""
  lookup, offsets = table
  rng = np.random.default_rng(1)
  indexes = rng.integers(0, 3, 5000).astype(np.int32)
  values = rng.integers(-(1 << 29), 1 << 29, 5000).astype(np.int32)
  string = range_coder.encode(lookup, offsets, indexes, values)
  assert len(string) > 10 * (256 + 5000 // 2)
  np.testing.assert_array_equal(range_coder.Decoder(string, lookup, offsets).decode(indexes), values)


def test_an_empty_message_and_a_single_symbol(table):
  lookup, offsets = table
  assert range_coder.encode(lookup, offsets, [], []) == b''
  decoder = range_coder.Decoder(b'', lookup, offsets)
  assert decoder.decode(np.zeros(0, np.int32)).shape == (0,) and decoder.finish()
  for value in (-4, 0, 4, 1000, -1000):
    string = range_coder.encode(lookup, offsets, [0], [value])
    assert range_coder.Decoder(string, lookup, offsets).decode([0])[0] == value


def test_quantized_cdf_sums_to_the_precision_and_gives_every_symbol_a_count():
  rng = np.random.default_rng(1)
  for size in (2, 5, 300, 3000):
    row = range_coder.quantized_cdf(rng.dirichlet(np.full(size, 0.1)) * 0.99)
    assert row[0] == -16 and row[1] == 0 and row[-1] == 1 << 16
    assert np.all(np.diff(row[1:]) >= 1) and len(row) == size + 3  # the overflow symbol too
  with pytest.raises(GrmError, match='not finite'):
    range_coder.quantized_cdf([0.5, np.nan])


def test_a_forged_escape_code_is_refused_not_followed(table):
  """A string that starts exactly at the bottom of the escape symbol's interval, then ends: the decoder reads the
  escape, then zero bits for its Elias gamma length for ever (past the string's end, zeros are implicit).
  tensorflow-compression's decoder follows them (past 2^31, undefined behaviour in its int32 shift); this one
  stops at the longest code a real escape can have."""
  lookup, offsets = table
  escape_lower = int(lookup[0][np.argmax(lookup[0] == 1 << 16) - 1])  # CDF value where the escape interval starts
  decoder = range_coder.Decoder(bytes([escape_lower >> 8, escape_lower & 0xFF]), lookup, offsets)
  start = time.perf_counter()
  with pytest.raises(GrmError, match='escape code'):
    decoder.decode(np.zeros(1000, np.int32))
  assert time.perf_counter() - start < 1


def test_decoding_past_what_the_string_holds_is_refused(table):
  lookup, offsets = table
  string = range_coder.encode(lookup, offsets, np.full(50, 2), np.arange(50) - 25)
  decoder = range_coder.Decoder(string, lookup, offsets)
  decoder.decode(np.full(50, 2))
  with pytest.raises(GrmError, match='cannot hold'):
    for _ in range(100):
      decoder.decode(np.full(100, 2))


@pytest.mark.parametrize('damage', ['precision 0', 'precision 17', 'no zero first', 'decreasing', 'never reaches the top',
                                    'padding below the top', 'empty'])
def test_tables_the_coder_would_misread_are_refused(table, damage):
  lookup = table[0].copy()
  if damage == 'precision 0':
    lookup[1, 0] = 0
  elif damage == 'precision 17':
    lookup[1, 0] = -17
  elif damage == 'no zero first':
    lookup[1, 1] = 5
  elif damage == 'decreasing':
    lookup[2, 10] = lookup[2, 9] - 1
  elif damage == 'never reaches the top':
    lookup[0, 2:] = 7
  elif damage == 'padding below the top':
    lookup[0, -1] = 3
  else:
    lookup = lookup[:0]
  offsets = np.zeros(len(lookup), np.int32)
  with pytest.raises(GrmError, match='invalid coding table'):
    range_coder.encode(lookup, offsets, [0], [0])
  with pytest.raises(GrmError, match='invalid coding table'):
    range_coder.Decoder(b'\x00' * 4, lookup, offsets)


def test_indexes_outside_the_table_and_values_beyond_the_escape_are_refused(table):
  lookup, offsets = table
  with pytest.raises(GrmError, match='outside'):
    range_coder.encode(lookup, offsets, [3], [0])
  with pytest.raises(GrmError, match='outside'):
    range_coder.Decoder(b'', lookup, offsets).decode([-1])
  with pytest.raises(GrmError, match='cannot code'):
    range_coder.encode(lookup, offsets, [0], [1 << 31])
