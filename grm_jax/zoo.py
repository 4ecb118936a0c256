"""The shipped models (grm_jax/pretrained/, package data: an installed wheel has them), found by name or by the
hash a .grm file names.

A model is a directory written by `grm export` (see codec/model_dir.py); the zoo only finds them. Anywhere a model
is asked for, a path works, and so does the name of a shipped model (`grm-small`).
"""
import json
import os
import pathlib

from grm_jax import model_hashes, rd_lambda
from grm_jax.errors import GrmError

MODELS = pathlib.Path(__file__).resolve().parent / 'pretrained'
DEFAULT = 'grm-small'
# The default model of each metric a model can be trained for (config.distortion): what `--metric` chooses.
METRIC_DEFAULTS = {'mse': DEFAULT, 'ms-ssim': 'grm-small-msssim'}
METRICS = tuple(rd_lambda.QUALITY_LAMBDAS_OF)


def default_for(metric='mse'):
  """The name of the default model for a metric."""
  if metric not in METRIC_DEFAULTS:
    raise GrmError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
  return METRIC_DEFAULTS[metric]


def resolve(name_or_path=None, metric='mse'):
  """The model directory for a path, a shipped model's name, or None (the default model of the metric)."""
  if name_or_path is None:
    default = default_for(metric)
    if not (MODELS / default).is_dir():
      if metric != 'mse':
        raise GrmError(f"no shipped model is trained for {metric} in this version ({default} is not there): give "
                       f"--model with one of your own (configs/grm_small_msssim.py trains one)")
      raise GrmError(f"no model given, and the default model {MODELS / default} is not there")
    return MODELS / default
  path = pathlib.Path(name_or_path)
  if path.is_dir():
    return path
  if _shipped_named(path):
    return MODELS / path
  shipped = ', '.join(names()) or 'none'
  raise GrmError(f"{name_or_path}: neither a model directory nor a shipped model (shipped: {shipped})")


def source_folder(name_or_path):
  """What init_from names: a path where one exists, else a shipped model of that name, else the path as given (the
  caller says what is missing). A config can then name a shipped model wherever the run starts."""
  path = pathlib.Path(name_or_path)
  return str(MODELS / path if not path.exists() and _shipped_named(path) else path)


def _shipped_named(path):
  """Whether a bare name (no folder in it) is a shipped model's."""
  return path.parent == pathlib.Path('.') and (MODELS / path).is_dir()


def resolve_for_lambda(name_or_path, lambda_, metric='mse'):
  """The model for a file at lambda_: as resolve(); but where no model is named and the metric's default cannot
  code at lambda_, the shipped model of the default's family and metric that can (the narrowest range: a model
  covering less of the range was trained more at each lambda of it)."""
  default = find(default_for(metric))
  if (name_or_path is not None or lambda_ is None or default is None or not lambda_range(default)
      or covers(default, lambda_)):
    return resolve(name_or_path, metric)
  family = default['meta'].get('family')
  candidates = [entry for entry in covering(lambda_, metric) if entry['meta'].get('family') == family]
  return candidates[0]['path'] if candidates else resolve(None, metric)


def find(name):
  """The shipped model of this name, or None."""
  return next((entry for entry in shipped() if entry['name'] == name), None)


def metric(entry):
  """What a shipped model was trained for: 'mse' or 'ms-ssim' (its config's distortion)."""
  return entry['meta'].get('config', {}).get('distortion', 'mse')


def lambda_range(entry):
  """The lambdas a shipped model codes at: its variable-rate range, or its one lambda."""
  config = entry['meta'].get('config', {})
  lambdas = config.get('model', {}).get('lambda_range') or [config.get('lambda_')] * 2
  return tuple(float(value) for value in lambdas) if None not in lambdas else ()


def covers(entry, lambda_):
  """Whether a shipped model codes at lambda_ (the test RatePolicy.check applies)."""
  lambdas = lambda_range(entry) if entry else ()
  return bool(lambdas) and rd_lambda.in_range(lambda_, lambdas)


def covering(lambda_, metric_of_lambda=None):
  """The shipped models that code at lambda_ (of those trained for metric_of_lambda, where given: a lambda means
  nothing across metrics), the narrowest range first."""
  found = [entry for entry in shipped() if covers(entry, lambda_)
           and metric_of_lambda in (None, metric(entry))]
  return sorted(found, key=lambda entry: lambda_range(entry)[1] / lambda_range(entry)[0])


def display_name(path):
  """A shipped model's name (where it is installed says nothing to the user); any other model's path."""
  path = pathlib.Path(path)
  if path.resolve().parent == MODELS:
    return path.name
  return os.path.relpath(path)


def names():
  return [entry['name'] for entry in shipped()]


def shipped():
  """One dict per shipped model: its name, path and model.json."""
  entries = []
  for meta_file in sorted(MODELS.glob('*/model.json')):
    try:
      meta = json.loads(meta_file.read_text())
    except ValueError:
      continue
    entries.append({'name': meta_file.parent.name, 'path': meta_file.parent, 'meta': meta})
  return entries


def find_by_hash(hash_prefix):
  """The shipped model whose hash starts with hash_prefix (the 8 bytes a .grm header carries), or None."""
  for entry in shipped():
    try:
      hashes = model_hashes.file_hashes(entry['meta'])
    except ValueError:
      continue  # not a model this version can load; loading it would say why
    if any(h.startswith(hash_prefix) for h in hashes):
      return entry['path']
  return None


def training_chain(record):
  """The training runs that made a model, first to last: its run and each run it was initialised from."""
  chain = []
  while record:
    chain.insert(0, record)
    record = record.get('initialized_from')
  return chain


def describe(entry):
  """One line: name, family, lambda, training steps (run by run) and size."""
  meta = entry['meta']
  config = meta.get('config', {})
  steps = [run.get('steps') for run in training_chain(meta)]
  if None in steps:
    steps_text = 'steps unknown'
  else:
    steps_text = f"{sum(steps)} steps" + (f" ({' + '.join(map(str, steps))})" if len(steps) > 1 else '')
  model = config.get('model', {})
  low_high = model.get('lambda_range')
  lambdas = f"{low_high[0]}-{low_high[1]}" if low_high else f"{config.get('lambda_', '?')}"
  return (f"{entry['name']:<27} {meta.get('family', '?'):<16} {metric(entry):<8} lambda {lambdas:<15} "
          f"N={model.get('channels', '?')} M={model.get('latent_channels', '?')}  {steps_text}  "
          f"{meta.get('size_bytes', 0) / 1e6:.1f} MB  {meta.get('param_dtype', '?')}")
