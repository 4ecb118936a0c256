"""A run's parameters as a few small files: what comes back from a machine loan (float16, chunks under 16 MiB).

  FOLDER/bundle.json          step, dtype, the chunks with their SHA-256, and the run's config
  FOLDER/params.msgpack.NNN   the parameters (flax msgpack), cut into chunks
  FOLDER/provenance.json      the run record (training/provenance.py)
An orbax workdir of the paper-size model holds about 0.5 GB (float32 parameters and Adam's moments); its float16
parameters are 80 MB. `grm export FOLDER MODEL_DIR` turns a bundle into a model directory, as it does a workdir,
and `init_from` starts a run from one.
"""
import hashlib
import json
import os
import pathlib

import jax
import numpy as np
from flax import serialization

from grm_jax.errors import GrmError

INDEX = 'bundle.json'
CHUNK_BYTES = 15 * 2**20
DTYPES = ('float16', 'float32')


def write(folder, params, config, step, dtype='float16', chunk_bytes=CHUNK_BYTES):
  """Writes params (host arrays) and config (a ConfigDict) into folder; returns the list of files written."""
  if dtype not in DTYPES:
    raise GrmError(f"bundle dtype must be one of {DTYPES}, got {dtype!r}")
  folder = pathlib.Path(folder)
  folder.mkdir(parents=True, exist_ok=True)
  payload = serialization.msgpack_serialize(
      serialization.to_state_dict(jax.tree_util.tree_map(lambda p: np.asarray(p, dtype), params)))
  chunks = []
  for index, start in enumerate(range(0, len(payload), chunk_bytes)):
    name = f'params.msgpack.{index:03d}'
    data = payload[start:start + chunk_bytes]
    (folder / name).write_bytes(data)
    chunks.append({'name': name, 'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest()})
  index = {'step': int(step), 'dtype': dtype, 'chunks': chunks, 'config': json.loads(config.to_json())}
  (folder / INDEX).write_text(json.dumps(index, indent=2) + '\n')
  return [folder / INDEX] + [folder / c['name'] for c in chunks]


def is_bundle(folder):
  return os.path.isfile(os.path.join(folder, INDEX))


def read(folder):
  """(float32 params, config dict, step) of a bundle; a missing or damaged chunk is a one-line GrmError."""
  folder = pathlib.Path(folder)
  try:
    index = json.loads((folder / INDEX).read_text())
    payload = bytearray()
    for chunk in index['chunks']:
      data = (folder / chunk['name']).read_bytes()
      if hashlib.sha256(data).hexdigest() != chunk['sha256']:
        raise GrmError(f"{folder / chunk['name']}: damaged (SHA-256 does not match {INDEX})")
      payload += data
    params = serialization.msgpack_restore(bytes(payload))
  except (OSError, ValueError, KeyError, TypeError) as error:
    raise GrmError(f"{folder}: unreadable parameter bundle ({error})") from None
  return jax.tree_util.tree_map(lambda p: np.asarray(p, np.float32), params), index['config'], index['step']
