"""Model directories: a trained model exported for coding.

  MODEL_DIR/config.json     the experiment config (ml_collections JSON)
  MODEL_DIR/params.msgpack  the parameters (flax.serialization), float32 or float16
  MODEL_DIR/tables.npz      the entropy coding tables, built once from the stored parameters
  MODEL_DIR/model.json      the model hash and how the model was made (steps, data, wall time, machine)
The hash (SHA-256 over the three files above) goes into every .grm header, so a file is never decoded with
another model.
"""
import datetime
import hashlib
import io
import json
import os
import pathlib
import platform
import shutil
import tempfile

import jax
import ml_collections
import numpy as np
from flax import serialization

from grm_jax import outputs
from grm_jax.codec import model_checks
from grm_jax.errors import GrmError
from grm_jax.models import schema

FILES = ('config.json', 'params.msgpack', 'tables.npz')
PARAM_DTYPES = ('float32', 'float16')


def content_hash(payloads):
  digest = hashlib.sha256()
  for name in FILES:
    digest.update(name.encode())
    digest.update(payloads[name])
  return digest.hexdigest()


def stored_params(params, dtype):
  """Parameters as they will be loaded back: cast to the storage dtype and back to float32."""
  if dtype not in PARAM_DTYPES:
    raise GrmError(f"parameter dtype must be one of {PARAM_DTYPES}, got {dtype!r}")
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
  portable = calibration_images is not None and model.spec.hyperprior
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
  model_hash = content_hash(payloads)
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
        for name in list(FILES) + ['model.json']:
          os.replace(staging / name, out_dir / name)
      else:
        os.chmod(staging, 0o777 & ~outputs.umask())  # mkdtemp's 0700 -> an ordinary folder
        os.replace(staging, out_dir)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return model_hash


def load(model_dir, transforms=None):
  """(config, params, tables, meta) of a model directory, checked against its hash and, as untrusted data, against
  what the code that uses it relies on (codec/model_checks.py): anything else is a one-line GrmError. transforms:
  the researcher's own g_a and g_s a model was exported with."""
  model_dir = pathlib.Path(model_dir)
  if not model_dir.is_dir():
    raise GrmError(f"{model_dir}: no such model directory")
  missing = [name for name in FILES + ('model.json',) if not (model_dir / name).is_file()]
  if missing:
    raise GrmError(f"{model_dir}: not a model directory (missing {', '.join(missing)})")
  limits = {'config.json': model_checks.MAX_JSON_BYTES, 'model.json': model_checks.MAX_JSON_BYTES,
            'params.msgpack': model_checks.MAX_PARAMS_BYTES, 'tables.npz': model_checks.MAX_TABLES_BYTES}
  try:
    for name, limit in limits.items():
      model_checks.check_size(name, (model_dir / name).stat().st_size, limit)
    payloads = {name: (model_dir / name).read_bytes() for name in FILES}
    meta_bytes = (model_dir / 'model.json').read_bytes()
  except ValueError as error:
    raise GrmError(f"{model_dir}: refused: {error}") from None
  except OSError as error:
    raise GrmError(f"{model_dir}: cannot read the model ({error.strerror or error})") from None
  try:
    meta = model_checks.read_json(meta_bytes, 'model.json')
  except ValueError as error:
    raise GrmError(f"{model_dir}: {error}") from None
  if content_hash(payloads) != meta.get('model_hash'):
    raise GrmError(f"{model_dir}: files do not match the model hash in model.json (damaged or edited)")
  # A model directory is data: JSON, msgpack and an npz read without pickle, so loading one runs no code. Files
  # that match their hash but do not describe a model this version can build are refused in one line too.
  try:
    return _checked_model(payloads, meta, transforms)
  except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise GrmError(f"{model_dir}: not a model this version of grm_jax can load ({reason})") from None


def _checked_model(payloads, meta, transforms):
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  config = ml_collections.ConfigDict(model_checks.read_json(payloads['config.json'], 'config.json'))
  if not isinstance(config.get('model'), ml_collections.ConfigDict):
    raise ValueError("config.json has no model block")
  schema.check_lambda(config.get('lambda_'))
  param_dtype = meta.get('param_dtype', 'float32')
  if param_dtype not in PARAM_DTYPES:
    raise ValueError(f"model.json: param_dtype {param_dtype!r} is not one of {PARAM_DTYPES}")
  model = models.build(config, transforms=transforms)
  template = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32)))
  template = template['params']
  model_checks.check_size('params.msgpack', len(payloads['params.msgpack']),
                          model_checks.parameter_bytes(template) + (1 << 20))
  zeros = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, param_dtype), template)
  try:
    params = serialization.from_bytes(zeros, payloads['params.msgpack'])
  except Exception as error:  # pylint: disable=broad-except  # msgpack and flax raise many kinds, all meaning this
    raise ValueError("params.msgpack does not hold the parameters of the model its config describes "
                     f"({type(error).__name__})") from None
  model_checks.check_params(params, template, param_dtype)
  params = jax.tree_util.tree_map(lambda p: np.asarray(p, np.float32), params)
  table_arrays = model_checks.read_npz(payloads['tables.npz'], model_checks.TABLES_SLACK_BYTES +
                                       model_checks.parameter_bytes(template))
  coding_model = models.build(config, transform_dtype='float32', transforms=transforms)
  model_checks.check_tables(table_arrays, model_checks.expected_tables(coding_model, config, params, table_arrays))
  return config, params, table_arrays, meta
