"""The portable entropy path: exact integer arithmetic, so a .grm file decodes to the same symbols on any machine.

The platform simulator: a decode whose sums run in another order (shuffled blocks, numpy int64 on the host, hidden
units permuted) must give a bit-identical y_hat; the float path fails the same test. The ISA and thread tests
decode in subprocesses under XLA flags that change the instruction set, on one core, and under the other JAX
version of CI's two stacks.
"""
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import grm_jax
from grm_jax import image_io, zoo
from grm_jax.codec import Codec, bitstream, model_dir, replay
from grm_jax.portable import conversion, entropy_path as portable, exact
from tests.helpers import REPO, export_tiny_model, run_python, tensorflow_stage, write_image_folder

# ---- the arithmetic


def test_scale_index_is_the_count_of_scales_below_sigma():
  """The binary search gives, for every sigma, how many of the table's scales but the last lie below it: at each
  scale, a float32 step either side of it, beyond both ends, at random, and +inf (a search off by one at a boundary,
  or taking the last scale in, fails)."""
  from grm_jax.codec import tables
  table = np.asarray(tables.scale_table(), np.float32)
  sigmas = np.concatenate([table, np.nextafter(table, np.float32(0)), np.nextafter(table, np.float32(np.inf)),
                           [0.0, table[0] / 2, table[-1] * 2, np.inf],
                           np.exp(np.random.default_rng(0).uniform(-4, 6, 1000))]).astype(np.float32)
  expected = np.sum(table[:-1][None, :] < sigmas[:, None], axis=-1)
  np.testing.assert_array_equal(jax.jit(portable.scale_index)(jnp.asarray(table), jnp.asarray(sigmas)), expected)


def _column_at_the_limit(rng, n):
  """Integer weights of 12 bits whose absolute sum is just below COLUMN_L1_LIMIT."""
  weights = rng.integers(-exact.WEIGHT_LIMIT, exact.WEIGHT_LIMIT + 1, n).astype(np.int64)
  weights = np.round(weights * (exact.COLUMN_L1_LIMIT - 1) / np.abs(weights).sum()).astype(np.int64)
  while np.abs(weights).sum() >= exact.COLUMN_L1_LIMIT:
    weights[np.argmax(np.abs(weights))] -= np.sign(weights[np.argmax(np.abs(weights))])
  return weights


def test_exact_dot_is_exact_at_its_bounds_in_every_summation_order():
  rng = np.random.default_rng(0)
  n = 300
  weights = np.stack([_column_at_the_limit(rng, n) for _ in range(4)], axis=1)
  activations = np.where(weights[:, 0] > 0, exact.ACTIVATION_LIMIT - 1, -exact.ACTIVATION_LIMIT)[None]
  activations = np.concatenate([activations, rng.integers(-2048, 2048, (5, n))]).astype(np.int32)
  expected = activations.astype(np.int64) @ weights
  assert np.abs(expected).max() > 2 ** 24  # beyond what a plain float32 sum can hold
  for kind in ('matmul', 'blocked', 'int64'):
    for carrier in exact.CARRIERS:
      with exact.summation(kind, seed=3):
        got = jax.jit(lambda a, w: exact.exact_dot(a, w))(jnp.asarray(activations),
                                                          jnp.asarray(exact.carried_weights(weights, carrier)))
      assert np.array_equal(np.asarray(got), expected), (kind, carrier)
  plain = np.asarray(jnp.asarray(activations, jnp.float32) @ jnp.asarray(weights, jnp.float32))
  assert not np.array_equal(plain.astype(np.int64), expected)  # why the digits are needed


@pytest.mark.parametrize('slow', exact.CARRIERS)
def test_a_model_loads_with_the_carrier_that_timed_faster(slow, monkeypatch, tmp_path_factory, natural_image):
  """A carrier made slow here (a host sleep after its matmul) loses the timing at load."""
  exact_dot = exact.exact_dot

  def slowed_dot(activations, weights):
    result = exact_dot(activations, weights)
    if (weights.dtype == jnp.int8) == (slow == 'int8'):
      result = jax.pure_callback(lambda r: (time.sleep(0.02), r)[1], jax.ShapeDtypeStruct(result.shape, result.dtype),
                                 result)
    return result

  monkeypatch.setattr(exact, 'exact_dot', slowed_dot)
  exact.fastest_carrier.cache_clear()
  try:
    folder = export_tiny_model(tmp_path_factory, 'grm', calibration_images=[natural_image[:64, :64]])
    assert grm_jax.load(folder).carrier == next(c for c in exact.CARRIERS if c != slow)
  finally:
    exact.fastest_carrier.cache_clear()


def test_integer_square_root_shift_and_nonlinearity_are_exact():
  values = np.array([0, 1, 2, 3, 4, 15, 16, 17, 2 ** 30 - 1, (2 ** 15) ** 2 - 1, 2 ** 30 - 2 ** 16,
                     *np.random.default_rng(1).integers(0, 2 ** 30, 1000)], np.int32)
  assert np.array_equal(np.asarray(exact.isqrt(jnp.asarray(values))), [math.isqrt(int(v)) for v in values])
  numbers = np.arange(-40, 41, dtype=np.int32)
  for shift in (-2, 0, 1, 3):
    got = np.asarray(exact.shift_round(jnp.asarray(numbers), shift))
    assert np.array_equal(got, np.floor(numbers * 2.0 ** -shift + 0.5).astype(np.int32)), shift
  leaky = np.asarray(exact.leaky_relu(jnp.asarray(np.array([-4096, -100, 0, 7], np.int32) << 8)))
  assert np.array_equal(leaky, [-10496, -257, 0, 7 << 8])  # 41/4096 of negative values (-256.25), floored


def test_quantised_layer_stays_exact_and_close_to_the_float_layer():
  rng = np.random.default_rng(2)
  kernel, bias = rng.normal(0, 0.05, (384, 64)), rng.normal(0, 0.5, 64)
  inputs = rng.normal(0, 3, (50, 384))
  e_in, e_out = exact.exponent_for(np.abs(inputs).max()), 6
  layer = exact.quantize_dense(kernel, bias, np.full(384, e_in), e_out)
  assert np.abs(layer['w']).max() <= exact.WEIGHT_LIMIT
  assert np.abs(layer['w'].astype(np.int64)).sum(axis=0).max() < exact.COLUMN_L1_LIMIT
  quantised = np.clip(np.round(inputs * 2.0 ** e_in), -2048, 2047).astype(np.int32)
  out = exact.dense(jnp.asarray(quantised), {**layer, 'w': jnp.asarray(layer['w'], jnp.float32)}, 'output')
  error = np.asarray(out) * 2.0 ** -e_out - (inputs @ kernel + bias)
  assert np.abs(error).max() < 0.05 * np.abs(inputs @ kernel + bias).max()  # quantisation's error, by design


def test_normalised_keys_have_length_near_128_and_zero_keys_stay_zero():
  rng = np.random.default_rng(3)
  neighbours = np.round(rng.normal(0, 3, (6, 40)) * 256).astype(np.int32)
  neighbours[0] = 0
  keys = np.asarray(portable.normalised_keys(jnp.asarray(neighbours)))
  assert np.all(keys[0] == 0)
  assert np.all(np.abs(np.linalg.norm(keys[1:], axis=1) - 128) < 4)  # integer normalisation's error, by design
  assert np.all(keys == np.round(keys))


# ---- export and the codec


@pytest.mark.parametrize('family', ['grm', 'context', 'mean_scale', 'hyperprior', 'grm-3-references', 'checkerboard',
                                    'grm_checkerboard'])
def test_portable_export_round_trips_exactly_and_says_so_in_the_file(tmp_path_factory, tmp_path, family):
  float_dir = export_tiny_model(tmp_path_factory, family.split('-')[0])
  config, params, _, _ = model_dir.load(float_dir)
  if family == 'grm-3-references':  # beyond the paper: the three most similar earlier positions
    config.model.references, config.model.gating = 3, 'channels'
    params = grm_jax.models.build(config).init(jax.random.PRNGKey(2), np.zeros((1, 64, 64, 3), np.float32))['params']
  if family == 'grm':
    config.model.lambda_range = (0.0018, 0.0483)  # variable rate: z's gains become integer tables
    params = grm_jax.models.build(config).init(jax.random.PRNGKey(1), np.zeros((1, 64, 64, 3), np.float32))['params']
  write_image_folder(tmp_path / 'calibration', count=2, size=(64, 64))
  images = conversion.calibration_images(tmp_path / 'calibration')
  model_dir.export(params, config, tmp_path / 'portable', calibration_images=images)
  codec = grm_jax.load(tmp_path / 'portable')
  assert codec.portable and codec.meta['arithmetic'] == 'integer'
  image = image_io.read_image(write_image_folder(tmp_path / 'image', count=1, size=(70, 90), seed=4)[0])
  encoded = codec.encode(image, lambda_=0.005 if family == 'grm' else None)
  header, _ = bitstream.unpack(encoded.data)
  assert header.arithmetic == 1
  if family == 'grm':  # coded at the nearest rate level, which the file carries exactly
    # the nearest rate level (log-spaced 1.3 % apart over this range): within half a step, 0.65 %
    assert header.lambda_ in codec.tables['portable/rate_levels'] and abs(header.lambda_ / 0.005 - 1) < 0.01
    assert codec.check_lambda(0.013) == float(np.float32(0.013))  # CompressAI's quality lambdas are levels
  decoded = codec.decode(encoded.data)
  assert np.array_equal(decoded.y_hat, encoded.y_hat) and np.array_equal(decoded.image, encoded.reconstruction)


def test_grm_export_converts_a_model_directory_to_the_portable_form(tmp_path_factory, tmp_path, capsys):
  from grm_jax import cli  # pylint: disable=import-outside-toplevel
  float_dir = export_tiny_model(tmp_path_factory, 'context')
  write_image_folder(tmp_path / 'photos', count=2, size=(64, 64))
  assert cli.main(['export', str(float_dir), str(tmp_path / 'out'), '--portable', '--calibration-data',
                   str(tmp_path / 'photos')]) == 0
  assert 'portable entropy path' in capsys.readouterr().out
  codec = grm_jax.load(tmp_path / 'out')
  assert codec.portable and codec.meta['converted_from']['model_hash'] == grm_jax.load(float_dir).meta['model_hash']
  assert cli.main(['export', str(float_dir), str(tmp_path / 'out2'), '--portable', '--calibration-data',
                   str(tmp_path / 'none')]) == 1
  assert 'no such folder' in capsys.readouterr().err and not (tmp_path / 'out2').exists()


# ---- the platform simulator, on the shipped default model (no TensorFlow needed: the range coder is replayed)


@pytest.fixture(scope='module')
def default_model(tmp_path_factory):
  config, params, tables, meta = model_dir.load(zoo.resolve(None))
  assert conversion.is_portable(tables), "the default model is exported in the portable form"
  folder = tmp_path_factory.mktemp('simulator')
  image = image_io.read_image(write_image_folder(folder, count=1, size=(64, 96), seed=7)[0])
  return {'config': config, 'params': params, 'tables': tables, 'meta': meta, 'image': image}


def _encoded(codec, image):
  with replay.recording() as streams:
    encoded = codec.encode(image, lambda_=0.005)
  return encoded, streams


def _replayed(codec, encoded, streams):
  with replay.replaying(streams) as asked:
    decoded = codec.decode(encoded.data)
  mismatches, symbols, _ = replay.index_mismatches(streams, asked)
  assert symbols > 1000
  return decoded, mismatches


def _codec(model, tables=None, params=None, carrier='float32'):
  return Codec(model['config'], params or model['params'], tables or model['tables'], model['meta'], carrier)


def _float_tables(tables):
  return {name: value for name, value in tables.items() if not name.startswith(conversion.PREFIX)}


def _permuted_hidden_units(net, width, seed):
  """The same network with its hidden units reordered: the same function, summed in another order."""
  order = [np.random.default_rng(seed + i).permutation(width) for i in range(2)]
  net = {name: dict(layer) for name, layer in net.items()}
  for i, permutation in enumerate(order):
    net[f'dense_{i}'] = {name: np.asarray(value)[..., permutation] for name, value in net[f'dense_{i}'].items()}
    net[f'dense_{i + 1}']['kernel'] = np.asarray(net[f'dense_{i + 1}']['kernel'])[permutation]
  return net


def _permuted_portable(tables, width, seed):
  tables = dict(tables)
  for net in ('final_params', 'local_params'):
    key = f'{conversion.PREFIX}{net}/dense_'
    for i in range(2):
      permutation = np.random.default_rng(seed + i).permutation(width)
      for part in ('w', 'b', 'shift'):
        tables[f'{key}{i}/{part}'] = tables[f'{key}{i}/{part}'][..., permutation]
      tables[f'{key}{i + 1}/w'] = tables[f'{key}{i + 1}/w'][permutation]
  return tables


def test_portable_decode_is_bit_identical_when_sums_run_in_another_order(default_model):
  encoded, streams = _encoded(_codec(default_model), default_model['image'])
  for kind, seed in (('blocked', 1), ('blocked', 2), ('int64', 0)):
    with exact.summation(kind, seed):
      decoded, mismatches = _replayed(_codec(default_model), encoded, streams)
    assert mismatches == 0 and np.array_equal(decoded.y_hat, encoded.y_hat), kind
  width = default_model['config'].model.hidden
  decoded, mismatches = _replayed(_codec(default_model, _permuted_portable(default_model['tables'], width, 5)),
                                  encoded, streams)
  assert mismatches == 0 and np.array_equal(decoded.y_hat, encoded.y_hat)
  decoded, mismatches = _replayed(_codec(default_model, carrier='int8'), encoded, streams)  # integer sums
  assert mismatches == 0 and np.array_equal(decoded.y_hat, encoded.y_hat)


@pytest.mark.parametrize('family,overrides', [('grm', {'references': 3}), ('grm_checkerboard', {})])
def test_other_searches_decode_bit_identically_when_sums_run_in_another_order(tmp_path_factory, natural_image, family,
                                                                             overrides):
  """The three-reference variant's integer search and gating, and the checkerboard's (its anchors' keys made at
  commit), are exact too: the platform simulator's orders."""
  folder = export_tiny_model(tmp_path_factory, family, model_overrides=overrides,
                             calibration_images=[natural_image[:128, :128]])
  config, params, tables, meta = model_dir.load(folder)
  model = {'config': config, 'params': params, 'tables': tables, 'meta': meta}
  image = image_io.to_uint8(natural_image[100:260, 200:392])
  with replay.recording() as streams:
    encoded = _codec(model).encode(image)
  for kind, seed in (('blocked', 1), ('int64', 0)):
    with exact.summation(kind, seed):
      decoded, mismatches = _replayed(_codec(model), encoded, streams)
    assert mismatches == 0 and np.array_equal(decoded.y_hat, encoded.y_hat), kind


def test_the_float_path_fails_the_same_test(default_model):
  tables = _float_tables(default_model['tables'])
  encoded, streams = _encoded(_codec(default_model, tables), default_model['image'])
  decoded, _ = _replayed(_codec(default_model, tables), encoded, streams)
  assert np.array_equal(decoded.y_hat, encoded.y_hat)  # the same machine and order: it agrees
  params = jax.tree_util.tree_map(np.asarray, default_model['params'])
  entropy = dict(params['y_parameters'])
  width = default_model['config'].model.hidden
  for net in ('final_params', 'local_params'):
    entropy[net] = _permuted_hidden_units(entropy[net], width, 5)
  permuted = {**params, 'y_parameters': entropy}
  decoded, _ = _replayed(_codec(default_model, tables, permuted), encoded, streams)
  assert not np.array_equal(decoded.y_hat, encoded.y_hat)  # the same function, summed in another order


# ---- other instruction sets, one core, the other JAX version (subprocesses)


@pytest.fixture(scope='module')
def records(tmp_path_factory):
  folder = tmp_path_factory.mktemp('cross_device')
  write_image_folder(folder / 'images', count=1, size=(64, 96), seed=7)
  result = run_python(['benchmarks/cross_device.py', 'record', '--model', zoo.DEFAULT, '--data',
                       str(folder / 'images'), '--out', str(folder / 'records.npz')])
  assert result.returncode == 0, result.stderr[-2000:]
  return folder / 'records.npz'


def _check(records, python=None, env=None, prefix=()):
  command = list(prefix) + [python or sys.executable, 'benchmarks/cross_device.py', 'check', str(records)]
  result = subprocess.run(command, cwd=REPO, env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **(env or {})},
                          capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('setting', ['SSE4_2', 'AVX2', 'one core'])
def test_portable_files_decode_identically_on_other_instruction_sets_and_one_core(records, setting):
  if setting == 'one core':
    if shutil.which('taskset') is None:
      pytest.skip('taskset is not installed')
    summary = _check(records, prefix=('taskset', '-c', '0'))
  else:
    summary = _check(records, env={'XLA_FLAGS': f'--xla_cpu_max_isa={setting}'})
  assert summary['index_mismatches'] == 0 and summary['y_hat_identical'] == summary['images'] == 1


@tensorflow_stage
def test_portable_files_decode_identically_under_the_other_jax_version(records):
  """`make test` builds the main stack (.venv, current JAX) before the TensorFlow stage (.venv-tf, jax 0.5.3): the
  TensorFlow stage decodes, under its JAX, the files the main stack's JAX encoded."""
  others = [REPO / venv / 'bin' / 'python' for venv in ('.venv', '.venv-tf')]
  versions = {}
  for python in others:
    if python.exists():
      result = subprocess.run([str(python), '-c', 'import jax; print(jax.__version__)'], capture_output=True,
                              text=True, check=False)
      versions[python] = result.stdout.strip()
  here = jax.__version__
  other = next((python for python, version in versions.items() if version and version != here), None)
  if other is None:
    pytest.skip('no second JAX stack here (CI builds both)')
  folder = pathlib.Path(records).parent / 'other'
  write_image_folder(folder / 'images', count=1, size=(64, 96), seed=8)
  result = subprocess.run([str(other), 'benchmarks/cross_device.py', 'record', '--model', zoo.DEFAULT, '--data',
                           str(folder / 'images'), '--out', str(folder / 'records.npz')], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  summary = _check(folder / 'records.npz')
  assert summary['encoded_on'].endswith(versions[other]) and summary['decoded_on'].endswith(here)
  assert summary['index_mismatches'] == 0 and summary['y_hat_identical'] == 1
