"""Mutations of valid .grm files, and a fuzzing loop over a decoder: `tests/test_fuzz.py` (seeded, bounded, in CI)
and `benchmarks/fuzz_decoder.py` (a longer run) share it.

Most mutations re-sign the file with a correct CRC, so that they reach the decoder rather than stop at the CRC:
bit flips in the header or the strings, truncations and extensions of a string (its length field updated),
header fields rewritten (sizes, latent shapes, lambda, arithmetic, string count), and strings swapped between
files. Every mutation must either decode or be refused with a GrmError; anything else is a bug.
"""
import collections
import dataclasses
import re
import resource
import struct
import time
import zlib

import numpy as np

from grm_jax.codec import bitstream
from grm_jax.errors import GrmError

# (offset, struct format) of each header field a mutation may rewrite, by format version (3: a folded image)
_COMMON = {'height': (13, '>I'), 'width': (17, '>I'), 'y_height': (21, '>H'), 'y_width': (23, '>H'),
           'z_height': (25, '>H'), 'z_width': (27, '>H'), 'lambda': (29, '>f'), 'arithmetic': (33, '>B'),
           'version': (4, '>B')}
FIELDS = {2: {**_COMMON, 'string_count': (34, '>B')},
          3: {**_COMMON, 'fold_strips': (34, '>H'), 'fold_axis': (36, '>B'), 'string_count': (37, '>B')}}


def _signed(body):
  body = bytes(body)
  return body + struct.pack('>I', zlib.crc32(body))


def _parts(data):
  """(fixed header, strings) of a valid version-2 or version-3 file."""
  size = bitstream.header_size(data[4])
  count = data[size - 1]
  lengths = list(struct.unpack_from(f'>{count}I', data, size))
  offset, strings = size + 4 * count, []
  for length in lengths:
    strings.append(data[offset:offset + length])
    offset += length
  return bytearray(data[:size]), strings


def _assemble(fixed, strings):
  fixed = bytearray(fixed)
  fixed[-1] = len(strings) & 0xFF
  return _signed(bytes(fixed) + b''.join(struct.pack('>I', len(s)) for s in strings) + b''.join(strings))


def _flip_bits(data, rng, signed):
  body = bytearray(data[:-4] if signed else data)
  for _ in range(int(rng.integers(1, 4))):
    bit = int(rng.integers(0, 8 * len(body)))
    body[bit // 8] ^= 1 << (bit % 8)
  return _signed(body) if signed else bytes(body)


def _rewrite_field(data, rng):
  fixed, strings = _parts(data)
  fields = FIELDS[data[4]]
  name = list(fields)[int(rng.integers(0, len(fields)))]
  offset, fmt = fields[name]
  old = struct.unpack_from(fmt, fixed, offset)[0]
  if fmt == '>f':
    choices = [0.0, -1.0, float('nan'), float('inf'), 1e-30, 1e30, old * 2, old / 2]
  else:
    top = (1 << (8 * struct.calcsize(fmt))) - 1
    choices = [0, 1, top, old + 1, max(old - 1, 0), min(old * 2, top), int(rng.integers(0, top + 1))]
  struct.pack_into(fmt, fixed, offset, choices[int(rng.integers(0, len(choices)))])
  if name == 'string_count':  # the count byte is what _assemble writes: rewrite the file as it stands
    body = bytearray(data[:-4])
    body[offset] = fixed[offset]
    return name, _signed(body)
  return name, _assemble(fixed, strings)


def _resize_string(data, rng):
  fixed, strings = _parts(data)
  i = int(rng.integers(0, len(strings)))
  if rng.random() < 0.5:
    strings[i] = strings[i][:int(rng.integers(0, max(len(strings[i]), 1)))]
  else:
    strings[i] = strings[i] + rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
  return _assemble(fixed, strings)


def _swap_strings(data, other, rng):
  fixed, strings = _parts(data)
  _, others = _parts(other)
  i = int(rng.integers(0, min(len(strings), len(others))))
  strings[i] = others[i]
  return _assemble(fixed, strings)


def mutations(files, seed):
  """An endless stream of (kind, mutated bytes) from valid version-2 or 3 files, reproducible from the seed."""
  rng = np.random.default_rng(seed)
  while True:
    data = files[int(rng.integers(0, len(files)))]
    kind = ('bit flips', 'bit flips, re-signed', 'header field', 'string resized', 'strings swapped',
            'truncated file')[int(rng.integers(0, 6))]
    if kind == 'bit flips':
      yield kind, _flip_bits(data, rng, signed=False)
    elif kind == 'bit flips, re-signed':
      yield kind, _flip_bits(data, rng, signed=True)
    elif kind == 'header field':
      name, mutated = _rewrite_field(data, rng)
      yield f'{kind}: {name}', mutated
    elif kind == 'string resized':
      yield kind, _resize_string(data, rng)
    elif kind == 'strings swapped':
      yield kind, _swap_strings(data, files[int(rng.integers(0, len(files)))], rng)
    else:
      yield kind, data[:int(rng.integers(0, len(data)))]


def refusal_kind(error):
  """A refusal's message with its numbers taken out, up to its first colon: what kind of refusal it was."""
  text = re.sub(r'\b[0-9a-f]{16}\b', 'HASH', str(error))
  text = re.sub(r'\d+(\.\d+)?', 'N', text).split(': ')[0]
  return text if len(text) <= 90 else text[:87] + '...'


@dataclasses.dataclass
class FuzzReport:
  tried: int
  outcomes: collections.Counter  # 'decoded' or the kind of each refusal (refusal_kind), counted
  kinds: collections.Counter  # mutations tried by kind
  slowest_seconds: float
  slowest_kind: str
  peak_rss_mb: float  # the process's peak resident memory at the end (whole process, model included)
  failures: list  # (kind, exception text) of everything that was neither a decode nor a GrmError


def fuzz(codec, files, count, seed=0, max_pixels=bitstream.DEFAULT_MAX_PIXELS):
  """Decodes `count` mutations of the files with the codec; returns a FuzzReport."""
  outcomes, kinds, failures = collections.Counter(), collections.Counter(), []
  slowest, slowest_kind = 0.0, ''
  stream = mutations(files, seed)
  for _ in range(count):
    kind, data = next(stream)
    kinds[kind.split(':')[0]] += 1
    start = time.perf_counter()
    try:
      codec.decode(data, max_pixels=max_pixels)
      outcomes['decoded'] += 1
    except GrmError as error:
      outcomes[refusal_kind(error)] += 1
    except Exception as error:  # pylint: disable=broad-except
      failures.append((kind, f"{type(error).__name__}: {error}"))
    seconds = time.perf_counter() - start
    if seconds > slowest:
      slowest, slowest_kind = seconds, kind
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return FuzzReport(count, outcomes, kinds, slowest, slowest_kind, peak, failures)
