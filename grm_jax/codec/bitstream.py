"""The .grm file format.

  offset  size  field
  0       4     magic b'GRMJ'
  4       1     format version (1)
  5       8     model hash: the first 8 bytes of the SHA-256 of the model directory's contents
  13      4     image height (big-endian, as are all integers)
  17      4     image width
  21      2x2   y latent height, width
  25      2x2   z latent height, width (0, 0 for the factorized family)
  29      1     number of coded strings n
  30      4n    length of each string
  ...           the strings: z first (when present), then y
  end-4   4     CRC32 of everything before it
"""
import dataclasses
import struct
import zlib

from grm_jax.errors import GrmError

MAGIC = b'GRMJ'
VERSION = 1
_FIXED = struct.Struct('>4sB8sIIHHHHB')
_CRC = struct.Struct('>I')


@dataclasses.dataclass(frozen=True)
class Header:
  model_hash: bytes
  height: int
  width: int
  y_shape: tuple
  z_shape: tuple


def pack(header, strings):
  fixed = _FIXED.pack(MAGIC, VERSION, header.model_hash, header.height, header.width, *header.y_shape,
                      *header.z_shape, len(strings))
  body = fixed + b''.join(_CRC.pack(len(s)) for s in strings) + b''.join(strings)
  return body + _CRC.pack(zlib.crc32(body))


def unpack(data):
  """(Header, strings) of a .grm file's bytes; any damage is a GrmError that says what is wrong."""
  if not data:
    raise GrmError("empty file")
  if not MAGIC.startswith(data[:4]):
    raise GrmError("not a .grm file (wrong magic number)")
  if len(data) < _FIXED.size + _CRC.size:
    raise GrmError("truncated .grm file (shorter than its header)")
  magic, version, model_hash, height, width, yh, yw, zh, zw, count = _FIXED.unpack_from(data)
  del magic
  if version != VERSION:
    raise GrmError(f"unsupported .grm format version {version} (this grm_jax reads version {VERSION})")
  (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
  lengths_end = _FIXED.size + _CRC.size * count
  if lengths_end + _CRC.size > len(data):
    raise GrmError("truncated .grm file")
  lengths = [_CRC.unpack_from(data, _FIXED.size + _CRC.size * i)[0] for i in range(count)]
  if lengths_end + sum(lengths) + _CRC.size != len(data):
    raise GrmError("truncated or damaged .grm file (its length does not match its header)")
  if zlib.crc32(data[:-_CRC.size]) != crc:
    raise GrmError("damaged .grm file (CRC mismatch)")
  strings, offset = [], lengths_end
  for length in lengths:
    strings.append(data[offset:offset + length])
    offset += length
  return Header(model_hash, height, width, (yh, yw), (zh, zw)), strings
