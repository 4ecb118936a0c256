"""Coding without the range coder: what the encoder hands it is recorded, and a decoder is handed the recorded
values back. The table index the decoder asks for at each symbol is what decides whether a real file would decode,
so comparing indexes measures whether two machines (or two arithmetic orders) agree, and runs where TensorFlow
is not installed (a GPU box, the current-JAX test stack). benchmarks/cross_device.py and tests/test_portable.py
use it.

  with replay.recording() as streams:
    data = codec.compress(image)            # streams: {token: (indexes, values)}, tokens are the file's strings
  with replay.replaying(streams) as asked:
    codec.decompress(data)                  # asked: {token: indexes the decoder asked for, in order}
"""
import contextlib

import numpy as np

from grm_jax.codec import range_coder


@contextlib.contextmanager
def recording():
  """range_coder.encode keeps (indexes, values) of each string and returns a token in its place."""
  streams, original = {}, range_coder.encode

  def encode(lookup, offsets, indexes, values):
    del lookup, offsets
    token = f'stream{len(streams)}'.encode()
    streams[token] = (np.asarray(indexes, np.int32).reshape(-1), np.asarray(values, np.int32).reshape(-1))
    return token

  range_coder.encode = encode
  try:
    yield streams
  finally:
    range_coder.encode = original


@contextlib.contextmanager
def replaying(streams):
  """range_coder.Decoder hands back the recorded values in order, keeping the indexes it is asked for."""
  asked, original = {}, range_coder.Decoder

  class ReplayDecoder:

    def __init__(self, data, lookup, offsets):
      del lookup, offsets
      self._token = bytes(data)
      self._values = streams[self._token][1]
      self._position = 0
      asked[self._token] = []

    def decode(self, indexes):
      indexes = np.asarray(indexes, np.int32)
      values = self._values[self._position:self._position + indexes.size]
      self._position += indexes.size
      asked[self._token].append(indexes.reshape(-1))
      return values.reshape(indexes.shape)

    def finish(self):
      return self._position == len(self._values)

  range_coder.Decoder = ReplayDecoder
  try:
    yield asked
  finally:
    range_coder.Decoder = original


@contextlib.contextmanager
def loopback():
  """Encodes and decodes in one process without the range coder: what the encoder records, the decoder replays
  (timing the rest of a codec where TensorFlow is not installed)."""
  with recording() as streams, replaying(streams) as asked:
    yield streams, asked


def index_mismatches(streams, asked):
  """(symbols whose table index the decoder asked for differs from the encoder's, symbols, first such position
  as a fraction of its string or None)."""
  mismatched, symbols, first = 0, 0, None
  for token, indexes in asked.items():
    indexes = np.concatenate(indexes) if indexes else np.zeros(0, np.int32)
    expected = np.asarray(streams[token][0], np.int32)
    wrong = np.flatnonzero(indexes != expected) if len(indexes) == len(expected) else np.arange(len(expected))
    mismatched, symbols = mismatched + len(wrong), symbols + len(expected)
    if len(wrong) and first is None:
      first = float(wrong[0] / max(len(expected), 1))
  return mismatched, symbols, first
