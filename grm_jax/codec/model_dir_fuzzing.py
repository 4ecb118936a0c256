"""Crafted model directories: the attacks on a model directory that model_checks.py refuses, by name, and random
mutations of a valid one. `tests/test_model_dir_fuzz.py` (each named craft, and a bounded random run, in CI) and
`benchmarks/fuzz_model_dirs.py` (a longer run, each directory in its own process) share them.

Every craft re-signs the directory (model.json's hash recomputed over the crafted files), as an attacker would, so
that it reaches the checks behind the hash. Every crafted directory must load and code exactly, or be refused with
a GrmError; anything else is a bug.
"""
import io
import json
import pathlib
import zipfile

import jax
import numpy as np
from flax import serialization

from grm_jax.models import saved


def resign(folder):
  """Rewrites model.json's hash over the folder's files, as an attacker who edited them would."""
  folder = pathlib.Path(folder)
  meta = json.loads((folder / 'model.json').read_text())
  meta['model_hash'] = saved.content_hash({n: (folder / n).read_bytes() for n in saved.FILES})
  (folder / 'model.json').write_text(json.dumps(meta))


class Contents:
  """A model directory's files, decoded, to be edited and written back re-signed."""

  def __init__(self, folder):
    folder = pathlib.Path(folder)
    self.config = json.loads((folder / 'config.json').read_text())
    self.meta = json.loads((folder / 'model.json').read_text())
    self.params = jax.tree_util.tree_map(np.array, serialization.msgpack_restore(
        (folder / 'params.msgpack').read_bytes()))
    with np.load(folder / 'tables.npz', allow_pickle=False) as archive:
      self.tables = {name: archive[name] for name in archive.files}
    self.raw = {}  # file name -> bytes written as they are, instead of the decoded contents

  def write(self, folder):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    np.savez(buffer, **self.tables)
    payloads = {'config.json': json.dumps(self.config).encode(), 'params.msgpack':
                serialization.msgpack_serialize(self.params), 'tables.npz': buffer.getvalue(),
                'model.json': json.dumps(self.meta).encode(), **self.raw}
    for name, payload in payloads.items():
      (folder / name).write_bytes(payload)
    resign(folder)
    return folder


def _leaves(params):
  return [leaf for leaf in jax.tree_util.tree_leaves(params) if isinstance(leaf, np.ndarray)]


def _set_all_params(c, value):
  c.params = jax.tree_util.tree_map(lambda p: np.full_like(p, value), c.params)


def _reshape_first_param(c):
  first = jax.tree_util.tree_flatten_with_path(c.params)[0][0][0]
  node = c.params
  for key in first[:-1]:
    node = node[key.key]
  node[first[-1].key] = np.zeros((3, 1), node[first[-1].key].dtype)


def _other_family(c):
  c.config['model']['family'] = 'context' if c.config['model']['family'] != 'context' else 'grm'


def _zip_bomb(c):
  """A tables.npz member that inflates to 2 GB from about 9 MB."""
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
    for name, array in c.tables.items():
      archive.writestr(name + '.npy', _npy_bytes(array))
    with archive.open('bomb.npy', 'w', force_zip64=True) as member:
      member.write(_npy_header(np.dtype('<i4'), (1 << 29,)))
      chunk = bytes(1 << 24)
      for _ in range(128):
        member.write(chunk)
  c.raw['tables.npz'] = buffer.getvalue()


def _npy_header(dtype, shape):
  buffer = io.BytesIO()
  np.lib.format.write_array_header_1_0(buffer, {'descr': dtype.str, 'fortran_order': False, 'shape': shape})
  return buffer.getvalue()  # the magic string included


def _npy_bytes(array):
  buffer = io.BytesIO()
  np.save(buffer, array)
  return buffer.getvalue()


def _lying_npy_header(c):
  """An array whose header claims 10^12 elements over a few bytes of data."""
  array = c.tables['factorized_offsets']
  lie = _npy_header(array.dtype, (10 ** 12,)) + array.tobytes()
  _rewritten_archive(c, lambda info, data: lie if info.filename == 'factorized_offsets.npy' else data)


def _rewritten_archive(c, edit):
  """tables.npz with each member's bytes and ZipInfo passed through edit(info, data) -> data."""
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    for name, array in c.tables.items():
      info = zipfile.ZipInfo(name + '.npy')
      archive.writestr(info, edit(info, _npy_bytes(array)))
  c.raw['tables.npz'] = buffer.getvalue()


def _encrypted_member(c):
  """The first member flagged encrypted (zipfile would ask for a password), in its local and central headers."""
  _rewritten_archive(c, lambda info, data: data)
  data = bytearray(c.raw['tables.npz'])
  for signature, flags_at in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
    data[data.index(signature) + flags_at] |= 1
  c.raw['tables.npz'] = bytes(data)


def _corrupt_deflate(c):
  def edit(info, data):
    info.compress_type = zipfile.ZIP_DEFLATED
    return data
  _rewritten_archive(c, edit)
  data = bytearray(c.raw['tables.npz'])
  data[data.index(b'PK\x03\x04') + 30 + len('factorized_lookup.npy')] = 0xFF  # the first member's stream broken
  c.raw['tables.npz'] = bytes(data)


def _many_entries(c):
  """A central directory of 60000 empty entries: tiny on disk, an object each once parsed."""
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    for i in range(60000):
      archive.writestr(f'{i}.npy', b'')
  c.raw['tables.npz'] = buffer.getvalue()


def _bare_model_block(c):
  model = c.config.pop('model')
  c.config.update(model)


def _replace_table(name, value):
  def craft(c):
    c.tables[name] = value(c.tables[name])
  return craft


def _with_portable(craft):
  def crafted(c):
    if not any(name.startswith('portable/') for name in c.tables):
      raise ValueError('this craft needs a portable model')
    craft(c)
  return crafted


def _big_weight(c):
  name = next(n for n in c.tables if n.endswith('/w'))
  c.tables[name] = c.tables[name].copy()
  c.tables[name].flat[0] = 30000


def _config_field(path, value):
  def craft(c):
    node = c.config
    for key in path[:-1]:
      node = node[key]
    node[path[-1]] = value
  return craft


def _nested_msgpack(c):
  c.raw['params.msgpack'] = b'\x91' * 100_000 + b'\xc0'  # a list in a list ... 100000 deep


# name -> craft(Contents); each must be refused in one line.
CRAFTS = {
    'parameters all NaN': lambda c: _set_all_params(c, np.nan),
    'parameters all infinite': lambda c: _set_all_params(c, np.inf),
    'Gaussian offset of -2^31': _replace_table('gaussian_offsets', lambda t: np.full_like(t, -2 ** 31)),
    'factorized offset of 2^31 - 1': _replace_table('factorized_offsets', lambda t: np.full_like(t, 2 ** 31 - 1)),
    'reversed CDFs': _replace_table('gaussian_lookup', lambda t: np.concatenate([t[:, :2], t[:, :1:-1]], axis=1)),
    'a table missing': lambda c: c.tables.pop('gaussian_lookup'),
    'an extra table': lambda c: c.tables.update(extra=np.zeros(3, np.int32)),
    'a table of another dtype': _replace_table('factorized_lookup', lambda t: t.astype(np.float32)),
    'a table of another shape': _replace_table('factorized_offsets', lambda t: t[:-1]),
    'scale table with NaN': _replace_table('scale_table', lambda t: np.where(np.arange(t.size) == 3, np.nan, t)),
    'scale table not increasing': _replace_table('scale_table', lambda t: t[::-1].copy()),
    'portable weight beyond 12 bits': _with_portable(_big_weight),
    'portable exponent out of range': _with_portable(_replace_table('portable/exponent/z',
                                                                    lambda t: np.int32(1 << 20))),
    'zip bomb in tables.npz (2 GB inflated)': _zip_bomb,
    'npy header claiming 10^12 elements': _lying_npy_header,
    'tables.npz not a zip archive': lambda c: c.raw.update({'tables.npz': b'PK\x03\x04 not really'}),
    'tables.npz member marked encrypted': _encrypted_member,
    'tables.npz member with a broken deflate stream': _corrupt_deflate,
    'tables.npz of 60000 empty entries': _many_entries,
    'deeply nested config.json': lambda c: c.raw.update({'config.json': b'[' * 100_000 + b']' * 100_000}),
    'config.json not an object': lambda c: c.raw.update({'config.json': b'[1, 2]'}),
    'config.json not UTF-8': lambda c: c.raw.update({'config.json': b'{"model": "\xff\xfe"}'}),
    'zero channels': _config_field(('model', 'channels'), 0),
    'a million channels': _config_field(('model', 'channels'), 10 ** 6),
    'channels as a string': _config_field(('model', 'latent_channels'), '96'),
    'unknown family': _config_field(('model', 'family'), 'no-such-family'),
    'family that does not match the parameters': _other_family,
    'hidden width that does not match the parameters': lambda c: _config_field(
        ('model', 'hidden'), c.config['model']['hidden'] + 1)(c),
    'no model block': lambda c: c.config.pop('model'),
    'model fields at the top level, no model block': _bare_model_block,
    'lambda NaN': _config_field(('lambda_',), float('nan')),
    'parameter of another shape': _reshape_first_param,
    'parameters nested 100000 deep': _nested_msgpack,
    'parameters not msgpack': lambda c: c.raw.update({'params.msgpack': b'\xc1' * 64}),
    'parameter dtype float64 claimed': lambda c: c.meta.update(param_dtype='float64'),
    'parameters file far larger than the model': lambda c: c.raw.update(
        {'params.msgpack': serialization.msgpack_serialize(c.params) + bytes(64 << 20)}),
}


def craft(source, folder, name):
  """Writes the named craft of the model directory `source` into the new folder `folder`; returns it."""
  contents = Contents(source)
  CRAFTS[name](contents)
  return contents.write(folder)


# ---- random mutations

_FIELD_VALUES = (0, -1, 1, 3, 10 ** 9, 1.5, float('nan'), float('inf'), True, None, 'x', [], {}, [0.1, 0.01])
_TABLE_VALUES = (0, -1, 1, 2 ** 15, 2 ** 16, 2 ** 16 + 1, 2 ** 31 - 1, -2 ** 31)


def _mutate_config(c, rng):
  blocks = [c.config] + ([c.config['model']] if isinstance(c.config.get('model'), dict) else [])
  block = blocks[int(rng.integers(0, len(blocks)))]
  key = sorted(block)[int(rng.integers(0, len(block)))]
  block[key] = _FIELD_VALUES[int(rng.integers(0, len(_FIELD_VALUES)))]
  return f'config field ({key})'


def _mutate_params(c, rng):
  leaves = _leaves(c.params)
  leaf = leaves[int(rng.integers(0, len(leaves)))]
  raw = leaf.view(np.uint8).reshape(-1)
  for _ in range(int(rng.integers(1, 9))):
    bit = int(rng.integers(0, 8 * raw.size))
    raw[bit // 8] ^= 1 << (bit % 8)
  return 'parameter bits flipped'


def _mutate_table(c, rng):
  name = sorted(c.tables)[int(rng.integers(0, len(c.tables)))]
  table = np.array(c.tables[name])
  if table.size == 0:
    return 'table unchanged'
  for _ in range(int(rng.integers(1, 4))):
    index = int(rng.integers(0, table.size))
    if table.dtype.kind == 'f':
      table.flat[index] = float(rng.choice([0.0, -1.0, np.nan, np.inf, 1e30, table.flat[index] * 1.01]))
    else:
      info = np.iinfo(table.dtype)
      value = _TABLE_VALUES[int(rng.integers(0, len(_TABLE_VALUES)))]
      table.flat[index] = np.clip(value if rng.random() < 0.7 else table.flat[index] + rng.integers(-2, 3),
                                  info.min, info.max)
  c.tables[name] = table
  return f'table values ({name.split("/")[0]})'


def _truncate_file(c, rng, folder):
  name = saved.FILES[int(rng.integers(0, len(saved.FILES)))]
  data = (pathlib.Path(folder) / name).read_bytes()
  c.raw[name] = data[:int(rng.integers(0, len(data)))]
  return f'{name} truncated'


def mutated(source, folder, rng):
  """Writes one random mutation of the model directory `source` into the new folder `folder`; returns its kind."""
  contents = Contents(source)
  choice = int(rng.integers(0, 4))
  mutate = (_mutate_config, _mutate_params, _mutate_table)[choice] if choice < 3 else None
  kind = mutate(contents, rng) if mutate else _truncate_file(contents, rng, source)
  contents.write(folder)
  return kind

