"""A model directory as untrusted data: every file bounded in size before it is read, every array checked for the
shape, type and invariants the code that uses it relies on, so that a crafted directory (its hash recomputed, as
an attacker would) is refused in one line instead of crashing the range coder, hanging it, or filling the memory.

The config and parameters are checked by models/saved.py (which training reads them with too); the tables here.
The checks raise ValueError with the reason; model_dir.py names the directory and turns it into a GrmError.
"""
import io
import math
import struct
import zipfile

import numpy as np

from grm_jax.codec import range_coder
from grm_jax.errors import GrmError
from grm_jax.models.saved import check_size
from grm_jax.portable import conversion, exact

# tables.npz beyond the portable weights (at most half the float32 parameters' bytes): the coding tables.
TABLES_SLACK_BYTES = 64 << 20
MAX_TABLE_ARRAYS = 512
# Offsets (the smallest value of each table) beyond this would let value - offset overflow the coder's int32
# arithmetic; real tables stay within a few thousand.
MAX_OFFSET = 1 << 20
TABLE_DTYPES = ('<i2', '<i4', '<f4')


def read_npz(payload, limit):
  """The arrays of an .npz archive, refused before anything is inflated or allocated where the archive claims more
  than `limit` bytes in all, holds other than plain numeric arrays, or says one thing in a header and another in
  its data. (numpy's own loader allocates what an array header claims, and zipfile inflates what a member says.)"""
  check_size('tables.npz', len(payload), limit)
  _check_entry_count(payload)  # before zipfile builds an object per entry of the central directory
  try:
    archive = zipfile.ZipFile(io.BytesIO(payload))
  except (zipfile.BadZipFile, ValueError) as error:
    raise ValueError(f"tables.npz is not an .npz archive ({error})") from None
  with archive:
    members = archive.infolist()
    check_size('tables.npz (inflated)', sum(m.file_size for m in members), limit)
    for member in members:  # export writes plain stored members (np.savez): nothing to inflate or decrypt
      if member.compress_type != zipfile.ZIP_STORED or member.flag_bits & 1:
        raise ValueError(f"tables.npz: member {member.filename!r} is compressed or encrypted")
    arrays = {}
    for member in members:
      name = member.filename[:-len('.npy')]
      if not member.filename.endswith('.npy') or name in arrays:
        raise ValueError(f"tables.npz holds {member.filename!r}, not one array per name")
      arrays[name] = _read_npy(archive, member)
  return arrays


def _check_entry_count(payload):
  """The entry count of the archive's end-of-central-directory record, bounded (zip64 archives are refused)."""
  end = payload.rfind(b'PK\x05\x06')
  if end < 0 or end + 22 > len(payload):
    raise ValueError("tables.npz is not an .npz archive (no end of central directory)")
  (entries,) = struct.unpack_from('<H', payload, end + 10)
  if entries > MAX_TABLE_ARRAYS:
    raise ValueError(f"tables.npz holds {entries} arrays, more than {MAX_TABLE_ARRAYS}")


def _read_npy(archive, member):
  try:
    with archive.open(member) as stream:
      version = np.lib.format.read_magic(stream)
      if version not in ((1, 0), (2, 0)):
        raise ValueError(f"npy format version {version}")
      read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
      shape, fortran, dtype = read_header[version](stream)
      if dtype.str not in TABLE_DTYPES or fortran:
        raise ValueError(f"dtype {dtype.str}")
      size = math.prod(shape) * dtype.itemsize
      if stream.tell() + size != member.file_size:
        raise ValueError(f"a header that claims {size} bytes of data for {member.file_size - stream.tell()}")
      data = stream.read(size)
  except Exception as error:  # pylint: disable=broad-except  # zipfile and numpy raise many kinds, all meaning this
    raise ValueError(f"tables.npz: array {member.filename!r} is not a plain numeric array ({error})") from None
  return np.frombuffer(data, dtype).reshape(shape).copy()


def expected_tables(model, config, params, tables):
  """{name: (shape, dtype)} of the arrays a model of this config stores; None in a shape for a table's width."""
  channels = model.channels if model.family_spec.hyperprior else model.latent_channels
  expected = {'factorized_lookup': ((channels, None), np.int32), 'factorized_offsets': ((channels,), np.int32)}
  if model.family_spec.hyperprior:
    levels = np.shape(tables.get('scale_table'))[:1] or (0,)
    expected.update(scale_table=(levels, np.float32), gaussian_lookup=((levels[0], None), np.int32),
                    gaussian_offsets=(levels, np.int32))
    if conversion.is_portable(tables):
      _check_scale_table(tables['scale_table'])
      expected.update(conversion.layout(model, params, config, tables['scale_table']))
  return expected


def check_tables(tables, expected):
  """The tables are the ones expected, and each coding table is one the range coder can use."""
  missing, extra = sorted(set(expected) - set(tables)), sorted(set(tables) - set(expected))
  if missing or extra:
    raise ValueError(f"tables.npz does not match the model's config (missing {missing or 'none'}, "
                     f"unexpected {extra or 'none'})")
  for name, (shape, dtype) in expected.items():
    array = tables[name]
    if array.dtype != dtype or len(array.shape) != len(shape) or any(
        want is not None and want != got for want, got in zip(shape, array.shape)):
      raise ValueError(f"table {name} is {array.dtype} {list(array.shape)}, the model needs {np.dtype(dtype)} "
                       f"{['any' if s is None else s for s in shape]}")
  for prefix in ('factorized', 'gaussian'):
    if f'{prefix}_lookup' in tables:
      _check_coding_table(prefix, tables[f'{prefix}_lookup'], tables[f'{prefix}_offsets'])
  if 'scale_table' in tables:
    _check_scale_table(tables['scale_table'])
  _check_portable(tables)


def _check_coding_table(prefix, lookup, offsets):
  try:
    range_coder.check_lookup(lookup)
  except GrmError as error:
    raise ValueError(f"{prefix}_lookup: {error}") from None
  if np.any(np.abs(offsets.astype(np.int64)) > MAX_OFFSET):
    raise ValueError(f"{prefix}_offsets beyond +-{MAX_OFFSET}")


def _check_scale_table(scales):
  if scales.ndim != 1 or scales.size < 2 or not np.all(np.isfinite(scales)) or np.any(scales <= 0) or np.any(
      np.diff(scales) <= 0):
    raise ValueError("scale_table is not an increasing list of positive scales")


def _check_portable(tables):
  """The ranges the exact integer arithmetic (portable/exact.py) is exact in."""
  prefix = conversion.PREFIX
  for name, array in tables.items():
    if not name.startswith(prefix):
      continue
    part = name.rsplit('/', 1)[-1]
    if name.startswith(prefix + 'exponent/'):
      bad = not exact.EXPONENT_RANGE[0] <= int(array) <= exact.EXPONENT_RANGE[1]
    elif part == 'w':
      bad = (np.any(np.abs(array.astype(np.int64)) > exact.WEIGHT_LIMIT) or
             np.any(np.abs(array.astype(np.int64)).sum(axis=0) >= exact.COLUMN_L1_LIMIT))
    elif part == 'b':
      bad = np.any(np.abs(array.astype(np.int64)) > 1 << 29)
    elif part in ('shift', 'confidence_shift'):
      bad = np.any(np.abs(array.astype(np.int64)) > 62)
    elif part == 'rate_levels':
      bad = not np.all(np.isfinite(array)) or np.any(array <= 0) or np.any(np.diff(array) <= 0)
    elif part in ('z_gain', 'confidence_table'):
      bad = np.any(array < 0) or np.any(array > 1 << 24)
    else:
      bad = False
    if bad:
      raise ValueError(f"table {name} holds values outside the range the integer path is exact in")
