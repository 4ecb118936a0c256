"""The .grm file format, versions 2 and 3 (version 1 files are still read).

  offset  size  field
  0       4     magic b'GRMJ'
  4       1     format version (2)
  5       8     model hash: the first 8 bytes of the SHA-256 of the model directory's contents
  13      4     image height (big-endian, as are all integers)
  17      4     image width
  21      2x2   y latent height, width
  25      2x2   z latent height, width (0, 0 for the factorized family)
  29      4     lambda the image was coded at (IEEE-754 float32; a variable-rate model's decoder needs it)
  33      1     arithmetic of the entropy path: 0 = float32, as computed by the decoding machine's XLA (decodes
                reliably only where it was encoded); 1 = exact integer (portable: any machine)
  34      1     number of coded strings n (version 3: at 37, after the fold)
  35      4n    length of each string
  ...           the strings: z first (when present), then y
  end-4   4     CRC32 of everything before it

Version 3 is version 2 for a thin image folded into a squarer one (codec/layout.py): two fields follow the
arithmetic, the number of strips (2 bytes) and the fold's axis (1 byte), then n. The y and z shapes are those of the
folded image. An image that is not folded is written as version 2, byte for byte as before.

Version 1 (grm_jax before variable rate) has no lambda and no arithmetic field: n follows the z shape at offset
29. Its files come from fixed-rate models, which need neither.
"""
import dataclasses
import struct
import zlib

from grm_jax.errors import GrmError

MAGIC = b'GRMJ'
VERSION = 2  # what an unfolded image is written as
FOLDED_VERSION = 3
READS = (1, 2, 3)
ARITHMETIC = {0: 'float32', 1: 'integer'}
_FIXED = {1: struct.Struct('>4sB8sIIHHHHB'), 2: struct.Struct('>4sB8sIIHHHHfBB'),
          3: struct.Struct('>4sB8sIIHHHHfBHBB')}
FIXED_HEADER = _FIXED[VERSION]  # the fixed part of a version-2 header, up to and including the string count
_CRC = struct.Struct('>I')


# The most pixels a decode may produce unless told otherwise: Pillow's MAX_IMAGE_PIXELS (about 89.5 million, 10x
# a 4K frame). A .grm header can claim any size; this is checked before anything is allocated.
DEFAULT_MAX_PIXELS = 89_478_485


def check_pixel_limit(header, max_pixels=DEFAULT_MAX_PIXELS):
  """A one-line GrmError when a file's header claims more pixels than max_pixels (None or 0: no limit)."""
  pixels = header.height * header.width
  if max_pixels and pixels > max_pixels:
    raise GrmError(f"this .grm file claims a {header.width}x{header.height} image ({pixels} pixels), above the "
                   f"decoder's limit of {max_pixels} pixels; raise it with --max-pixels N (max_pixels= in Python) "
                   "if you trust the file")


@dataclasses.dataclass(frozen=True)
class Header:
  model_hash: bytes
  height: int
  width: int
  y_shape: tuple
  z_shape: tuple
  lambda_: float = None  # None in version 1 files
  arithmetic: int = 0
  version: int = VERSION
  fold_strips: int = 1  # codec/layout.py's Fold; (1, 0) before version 3
  fold_axis: int = 0


def pack(header, strings):
  """A version-2 file, or version 3 for a folded image."""
  fields = (header.model_hash, header.height, header.width, *header.y_shape, *header.z_shape, header.lambda_,
            header.arithmetic)
  if header.fold_strips > 1:
    fixed = _FIXED[FOLDED_VERSION].pack(MAGIC, FOLDED_VERSION, *fields, header.fold_strips, header.fold_axis,
                                        len(strings))
  else:
    fixed = _FIXED[VERSION].pack(MAGIC, VERSION, *fields, len(strings))
  body = fixed + b''.join(_CRC.pack(len(s)) for s in strings) + b''.join(strings)
  return body + _CRC.pack(zlib.crc32(body))


def _fields(data):
  """(Header without the string count, string count, header size) of a file of a version this module reads."""
  version = data[4] if len(data) > 4 else None
  if version is not None and version not in READS:
    raise GrmError(f"unsupported .grm format version {version} (this grm_jax reads versions "
                   f"{', '.join(map(str, READS))})")
  fixed = _FIXED[version or VERSION]
  if len(data) < fixed.size + _CRC.size:
    raise GrmError("truncated .grm file (shorter than its header)")
  if version == 1:
    _, _, model_hash, height, width, yh, yw, zh, zw, count = fixed.unpack_from(data)
    return Header(model_hash, height, width, (yh, yw), (zh, zw), version=1), count, fixed.size
  if version == FOLDED_VERSION:
    _, _, model_hash, height, width, yh, yw, zh, zw, lambda_, arithmetic, strips, axis, count = fixed.unpack_from(data)
    return (Header(model_hash, height, width, (yh, yw), (zh, zw), lambda_, arithmetic, version, strips, axis), count,
            fixed.size)
  _, _, model_hash, height, width, yh, yw, zh, zw, lambda_, arithmetic, count = fixed.unpack_from(data)
  return Header(model_hash, height, width, (yh, yw), (zh, zw), lambda_, arithmetic), count, fixed.size


def header_size(version):
  """Bytes of a file's fixed header (up to and including the string count) in a format version this reads."""
  return _FIXED[version].size


def check_magic(prefix):
  """A GrmError unless prefix (a file's first bytes, or all of a shorter file) can begin a .grm file."""
  if not MAGIC.startswith(prefix[:len(MAGIC)]):
    raise GrmError("not a .grm file (wrong magic number)")


def read_file(path):
  """A .grm file's bytes (`-`: standard input's), its magic number checked first: a large foreign file is refused
  without being read."""
  if str(path) == '-':
    from grm_jax import image_io  # pylint: disable=import-outside-toplevel
    return image_io.stdin_bytes('a .grm file', 'grm decompress - out.png < photo.grm', MAGIC, check_magic)
  try:
    with open(path, 'rb') as f:
      check_magic(f.read(len(MAGIC)))
      f.seek(0)
      return f.read()
  except OSError as error:  # unreadable (permissions, a folder, an I/O error): one line
    raise GrmError(f"{path}: cannot read ({error.strerror or error})") from None


def unpack(data):
  """(Header, strings) of a .grm file's bytes; any damage is a GrmError that says what is wrong."""
  if not data:
    raise GrmError("empty file")
  check_magic(data)
  header, count, header_size = _fields(data)
  (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
  lengths_end = header_size + _CRC.size * count
  if lengths_end + _CRC.size > len(data):
    raise GrmError("truncated .grm file")
  lengths = [_CRC.unpack_from(data, header_size + _CRC.size * i)[0] for i in range(count)]
  if lengths_end + sum(lengths) + _CRC.size != len(data):
    raise GrmError("truncated or damaged .grm file (its length does not match its header)")
  if zlib.crc32(data[:-_CRC.size]) != crc:
    raise GrmError("damaged .grm file (CRC mismatch)")
  if header.height == 0 or header.width == 0:
    raise GrmError(f"damaged .grm file (it claims a {header.width}x{header.height} image)")
  if header.arithmetic not in ARITHMETIC:
    raise GrmError(f"this .grm file's entropy path uses arithmetic {header.arithmetic}, which this grm_jax does "
                   "not know (a newer grm_jax wrote it)")
  strings, offset = [], lengths_end
  for length in lengths:
    strings.append(data[offset:offset + length])
    offset += length
  return header, strings
