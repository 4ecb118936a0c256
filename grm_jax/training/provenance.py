"""The record of how a run's checkpoints were made: workdir/provenance.json, copied into an exported model.json.

A run started with init_from keeps the record of the run (or model) it started from under 'initialized_from', so a
fine-tuned model records its whole history.
"""
import json
import os
import platform
import sys

import jax

from grm_jax import zoo
from grm_jax.errors import GrmError


def write(workdir, config, step, train_seconds, parent=None):
  """Writes workdir/provenance.json atomically (a crash leaves the previous record, never half of one)."""
  record = {'config': config.to_dict(), 'train_data': config.train_data, 'steps': step,
            'train_wall_seconds': round(train_seconds, 1), 'command': ' '.join(sys.argv),
            'machine': f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores), "
                       f"{jax.device_count()} x {jax.devices()[0].device_kind}, jax {jax.__version__}"}
  if parent:
    record['initialized_from'] = parent
  tmp = os.path.join(workdir, '.provenance.json.tmp')
  with open(tmp, 'w', encoding='utf-8') as f:
    json.dump(record, f, indent=2, default=str)
  os.replace(tmp, os.path.join(workdir, 'provenance.json'))


def read(folder):
  """The record of a workdir (provenance.json) or of an exported model (model.json); {} when there is none.

  A record that exists but cannot be read is an error, not {}: a model exported without its history could not say
  how it was made.
  """
  for name in ('provenance.json', 'model.json'):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
      continue
    try:
      with open(path, encoding='utf-8') as f:
        record = json.load(f)
    except (OSError, ValueError) as error:
      raise GrmError(f"{path}: unreadable run record ({error})") from None
    if not isinstance(record, dict):
      raise GrmError(f"{path}: unreadable run record (not a JSON object)")
    return record
  return {}


def parent(config):
  """The record of the run or model that config.init_from names, as it is when this run starts; None without one.
  The path is kept as given: a relative one says nothing of the machine the run was on."""
  if not config.get('init_from'):
    return None
  return {'path': config.init_from, **read(zoo.source_folder(config.init_from))}
