"""Model directories: a trained model exported for coding (its files: models/saved.py), and loaded with its
coding tables, built once at export from the stored parameters.
"""
import datetime
import io
import json
import os
import pathlib
import platform
import shutil
import tempfile

import jax
import numpy as np
from flax import serialization

from grm_jax import compile_cache, outputs
from grm_jax.codec import model_checks
from grm_jax.errors import GrmError
from grm_jax.models import saved


def stored_params(params, dtype):
  """Parameters as they will be loaded back: cast to the storage dtype and back to float32."""
  if dtype not in saved.PARAM_DTYPES:
    raise GrmError(f"parameter dtype must be one of {saved.PARAM_DTYPES}, got {dtype!r}")
  return jax.tree_util.tree_map(lambda p: np.asarray(np.asarray(p, dtype), np.float32), params)


def check_new_model_dir(out_dir):
  """A model is written into a new or an empty folder only: export never deletes or mixes into what a user has."""
  out_dir = pathlib.Path(out_dir)
  if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
    raise GrmError(f"{out_dir}: exists and is not a folder; give a new folder for the model")
  if out_dir.is_dir() and any(out_dir.iterdir()):
    raise GrmError(f"{out_dir}: folder is not empty; a model is written into a new or empty folder only")


def export(params, config, out_dir, provenance=None, param_dtype='float32', calibration_images=None,
           transforms=None):
  """Writes a model directory into a new or empty folder: complete or not at all (files written in a temporary
  folder beside it, then moved in). Returns the model hash.

  Tables are built from the parameters exactly as stored, so a float16 export stays exact end to end. With
  calibration_images (float32 [H, W, 3] crops of training photographs), the entropy path is also exported in
  exact integer arithmetic (portable/conversion.py): the model's files then decode on any machine. transforms: a
  researcher's own g_a and g_s (models.build); the directory then loads with the same transforms given.
  """
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import tables  # pylint: disable=import-outside-toplevel
  out_dir = pathlib.Path(out_dir)
  check_new_model_dir(out_dir)
  params = stored_params(params, param_dtype)
  model = models.build(config, transform_dtype='float32', transforms=transforms)  # as the codec runs it
  table_arrays = tables.build(model, params)
  portable = calibration_images is not None and model.family_spec.hyperprior
  if portable:
    from grm_jax.portable import conversion  # pylint: disable=import-outside-toplevel
    table_arrays.update(conversion.build(model, params, config, table_arrays['scale_table'],
                                              calibration_images))
  buffer = io.BytesIO()
  np.savez(buffer, **table_arrays)
  payloads = {
      'config.json': config.to_json(indent=2).encode(),
      'params.msgpack': serialization.to_bytes(jax.tree_util.tree_map(lambda p: p.astype(param_dtype), params)),
      'tables.npz': buffer.getvalue(),
  }
  model_hash = saved.content_hash(payloads)
  meta = {'model_hash': model_hash, 'param_dtype': param_dtype, 'family': config.model.family,
          'arithmetic': 'integer' if portable else 'float32',
          'exported': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
          'export_machine': f"{platform.machine()} {platform.system()}, jax {jax.__version__}",
          'size_bytes': sum(len(p) for p in payloads.values()), **(provenance or {})}
  with outputs.one_line_errors(out_dir):
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix='.grm-', dir=out_dir.parent))
  try:
    with outputs.one_line_errors(out_dir):
      for name, payload in payloads.items():
        (staging / name).write_bytes(payload)
      (staging / 'model.json').write_text(json.dumps(meta, indent=2) + '\n')
      check_new_model_dir(out_dir)  # again: the export may have taken minutes
      if out_dir.is_dir():  # the user's empty folder stays theirs; the files move in
        for name in list(saved.FILES) + ['model.json']:
          os.replace(staging / name, out_dir / name)
      else:
        os.chmod(staging, 0o777 & ~outputs.umask())  # mkdtemp's 0700 -> an ordinary folder
        os.replace(staging, out_dir)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return model_hash


def load(model_dir, transforms=None):
  """(config, params, tables, meta) of a model directory, checked against its hash and, as untrusted data, against
  what the code that uses it relies on (models/saved.py, codec/model_checks.py): anything else is a one-line
  GrmError. transforms: the researcher's own g_a and g_s a model was exported with."""
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  payloads, meta = saved.read_files(model_dir)
  with saved.refused(model_dir):
    config, params, template = saved.read_model(payloads, meta, transforms)
    tables = model_checks.read_npz(payloads['tables.npz'],
                                   model_checks.TABLES_SLACK_BYTES + saved.parameter_bytes(template))
    coding_model = models.build(config, transform_dtype='float32', transforms=transforms)

    def check():
      model_checks.check_tables(tables, model_checks.expected_tables(coding_model, config, params, tables))
      return True

    # The files' hash names what was checked: the command line checks a model once. Only a memo that says True
    # stands for the checks; anything else in its place checks again.
    if transforms is not None or compile_cache.remembered('checked-model', meta['model_hash'].encode(), check,
                                                          lambda value: value, lambda value: value is True) is not True:
      check()
  return config, params, tables, meta
