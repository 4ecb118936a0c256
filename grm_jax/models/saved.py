"""A model directory's config and parameters, read as untrusted data: what training starts from (`init_from`) and
what the codec's model_dir.load reads its coding tables beside. Files are bounded in size before they are read,
the hash checked, the config checked against models/schema.py, and the parameters against the tree, shapes and
dtype of the model the config describes, all finite; anything else is one line naming the directory.

  MODEL_DIR/config.json     the experiment config (ml_collections JSON)
  MODEL_DIR/params.msgpack  the parameters (flax.serialization), float32 or float16
  MODEL_DIR/tables.npz      the entropy coding tables (codec/tables.py; checked by codec/model_checks.py)
  MODEL_DIR/model.json      the model hash and how the model was made (steps, data, wall time, machine)
The hash (SHA-256 over the first three) goes into every .grm header, so a file is never decoded with another model.
model.json's former_hashes: grm_jax/model_hashes.py.
"""
import contextlib
import hashlib
import json
import math
import pathlib

import jax
import ml_collections
import numpy as np
from flax import serialization

from grm_jax import compile_cache, model_hashes, models
from grm_jax.errors import GrmError
from grm_jax.models import schema

FILES = ('config.json', 'params.msgpack', 'tables.npz')
PARAM_DTYPES = ('float32', 'float16')

# Bytes a file of a model directory may have, checked before it is read. config.json and model.json are a few
# kB; params.msgpack and tables.npz are bounded again once the config says how large the model is.
MAX_JSON_BYTES = 1 << 20
MAX_PARAMS_BYTES = 256 << 20  # three times the paper-size model's float32 parameters
MAX_TABLES_BYTES = 512 << 20


def content_hash(payloads):
  digest = hashlib.sha256()
  for name in FILES:
    digest.update(name.encode())
    digest.update(payloads[name])
  return digest.hexdigest()


def check_size(name, size, limit):
  if size > limit:
    raise ValueError(f"{name} has {size} bytes, more than the {limit} a model of its config can have")


def read_json(payload, name):
  """A JSON object; deep nesting, bad UTF-8 and anything but an object are refused."""
  try:
    value = json.loads(payload)
  except (ValueError, RecursionError) as error:
    raise ValueError(f"{name} is not valid JSON ({type(error).__name__})") from None
  if not isinstance(value, dict):
    raise ValueError(f"{name} does not hold a JSON object")
  return value


def parameter_bytes(template):
  """Bytes of a parameter tree (of arrays or ShapeDtypeStructs) as float32."""
  return sum(4 * math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(template))


def parameter_template(model, config_bytes, own_transforms=False):
  """The tree of the model's parameters as ShapeDtypeStructs. Tracing the model's init for it takes a second or
  more; the command line keeps it in its cache (compile_cache.remembered) keyed by the config and the package's
  source. A researcher's own transforms are code outside the package: always traced."""
  def traced():
    init = lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))
    return jax.eval_shape(init)['params']
  if own_transforms:
    return traced()
  return compile_cache.remembered('parameter-shapes', config_bytes, traced, _shapes_to_json, _shapes_from_json)


def _shapes_to_json(template):
  return [[[str(getattr(key, 'key', key)) for key in path], list(leaf.shape), str(leaf.dtype)]
          for path, leaf in jax.tree_util.tree_flatten_with_path(template)[0]]


def _shapes_from_json(rows):
  tree = {}
  for path, shape, dtype in rows:
    node = tree
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = jax.ShapeDtypeStruct(tuple(shape), np.dtype(dtype))
  return tree


def check_params(params, template, dtype):
  """params has the template's tree, shapes and dtype, and every value is finite."""
  if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(template):
    raise ValueError("params.msgpack does not hold the parameters of the model its config describes")
  for (path, leaf), spec in zip(jax.tree_util.tree_flatten_with_path(params)[0],
                                jax.tree_util.tree_leaves(template)):
    name = '/'.join(str(getattr(key, 'key', key)) for key in path)
    if not isinstance(leaf, np.ndarray) or leaf.shape != tuple(spec.shape) or leaf.dtype != np.dtype(dtype):
      raise ValueError(f"parameter {name} is {getattr(leaf, 'dtype', type(leaf).__name__)} "
                       f"{list(np.shape(leaf))}, the config's model needs {dtype} {list(spec.shape)}")
    if not np.all(np.isfinite(leaf)):
      raise ValueError(f"parameter {name} holds values that are not finite (NaN or infinity)")


def read_files(model_dir):
  """(payloads, meta) of a model directory: each file bounded in size before it is read, the hash checked."""
  model_dir = pathlib.Path(model_dir)
  if not model_dir.is_dir():
    raise GrmError(f"{model_dir}: no such model directory")
  missing = [name for name in FILES + ('model.json',) if not (model_dir / name).is_file()]
  if missing:
    raise GrmError(f"{model_dir}: not a model directory (missing {', '.join(missing)})")
  limits = {'config.json': MAX_JSON_BYTES, 'model.json': MAX_JSON_BYTES,
            'params.msgpack': MAX_PARAMS_BYTES, 'tables.npz': MAX_TABLES_BYTES}
  try:
    for name, limit in limits.items():
      check_size(name, (model_dir / name).stat().st_size, limit)
    payloads = {name: (model_dir / name).read_bytes() for name in FILES}
    meta_bytes = (model_dir / 'model.json').read_bytes()
  except ValueError as error:
    raise GrmError(f"{model_dir}: refused: {error}") from None
  except OSError as error:
    raise GrmError(f"{model_dir}: cannot read the model ({error.strerror or error})") from None
  try:
    meta = read_json(meta_bytes, 'model.json')
  except ValueError as error:
    raise GrmError(f"{model_dir}: {error}") from None
  if content_hash(payloads) != meta.get('model_hash'):
    raise GrmError(f"{model_dir}: files do not match the model hash in model.json (damaged or edited)")
  try:
    model_hashes.file_hashes(meta)
  except ValueError as error:
    raise GrmError(f"{model_dir}: {error}") from None
  return payloads, meta


@contextlib.contextmanager
def refused(model_dir):
  """Turns the reason a directory is not a model this version can build into one line naming the directory."""
  # A model directory is data: JSON, msgpack and an npz read without pickle, so loading one runs no code. Files
  # that match their hash but do not describe a model this version can build are refused in one line too.
  try:
    yield
  except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise GrmError(f"{model_dir}: not a model this version of grm_jax can load ({reason})") from None


def read_model(payloads, meta, transforms=None):
  """(config, float32 params, params template) of a directory's payloads; a ValueError (or the like) with the
  reason where they do not describe a model this version can build."""
  config = ml_collections.ConfigDict(read_json(payloads['config.json'], 'config.json'))
  if not isinstance(config.get('model'), ml_collections.ConfigDict):
    raise ValueError("config.json has no model block")
  schema.check_lambda(config.get('lambda_'))
  param_dtype = meta.get('param_dtype', 'float32')
  if param_dtype not in PARAM_DTYPES:
    raise ValueError(f"model.json: param_dtype {param_dtype!r} is not one of {PARAM_DTYPES}")
  model = models.build(config, transforms=transforms)
  template = parameter_template(model, payloads['config.json'], own_transforms=transforms is not None)
  check_size('params.msgpack', len(payloads['params.msgpack']), parameter_bytes(template) + (1 << 20))
  zeros = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, param_dtype), template)
  try:
    params = serialization.from_bytes(zeros, payloads['params.msgpack'])
  except Exception as error:  # pylint: disable=broad-except  # msgpack and flax raise many kinds, all meaning this
    raise ValueError("params.msgpack does not hold the parameters of the model its config describes "
                     f"({type(error).__name__})") from None
  check_params(params, template, param_dtype)
  params = jax.tree_util.tree_map(lambda p: np.asarray(p, np.float32), params)
  return config, params, template


def read(model_dir, transforms=None):
  """(config, params, meta) of a model directory, checked: what training initialises from."""
  payloads, meta = read_files(model_dir)
  with refused(model_dir):
    config, params, _ = read_model(payloads, meta, transforms)
  return config, params, meta
