"""Crafted model directories (their hash recomputed, as an attacker would) are refused in one line, fast and in
bounded memory, and random mutations of one either load and code exactly or are refused.

The longer run, each directory in its own process, is benchmarks/fuzz_model_dirs.py (docs/untrusted_input.md).
"""
import time
import tracemalloc

import numpy as np
import pytest

import grm_jax
from grm_jax import cli, image_io
from grm_jax.codec import model_dir, model_dir_fuzzing
from grm_jax.errors import GrmError
from tests.helpers import export_tiny_model

SECONDS_PER_LOAD = 10.0
PEAK_MB = 500  # the tiny model's files are a few hundred kB; a bomb's contents are gigabytes


@pytest.fixture(scope='module')
def portable_grm(tmp_path_factory, natural_image):
  """A tiny grm exported with its portable (integer) entropy path: every table kind a model directory holds."""
  return export_tiny_model(tmp_path_factory, 'grm', calibration_images=[natural_image[:64, :64]])


@pytest.mark.parametrize('name', sorted(model_dir_fuzzing.CRAFTS))
def test_a_crafted_model_directory_is_refused_in_one_line(name, portable_grm, tmp_path, capsys):
  folder = model_dir_fuzzing.craft(portable_grm, tmp_path / 'crafted', name)
  start = time.perf_counter()
  tracemalloc.start()  # numpy's and Python's allocations: what a bomb would inflate into
  try:
    with pytest.raises(GrmError) as refusal:
      model_dir.load(folder)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2 ** 20
  finally:
    tracemalloc.stop()
  assert time.perf_counter() - start < SECONDS_PER_LOAD
  assert peak_mb < PEAK_MB, peak_mb
  message = str(refusal.value)
  assert len(message.splitlines()) == 1 and str(folder) in message
  image = tmp_path / 'in.png'
  image_io.write_png(image, np.full((16, 16, 3), 100, np.uint8))
  assert cli.main(['compress', str(image), str(tmp_path / 'out.grm'), '--model', str(folder)]) == 1
  assert capsys.readouterr().err.strip() == f'grm: error: {message}'
  assert not (tmp_path / 'out.grm').exists()


def test_the_named_crafts_cover_the_attacks_on_each_file():
  names = ' '.join(model_dir_fuzzing.CRAFTS)
  for attack in ('NaN', '-2^31', 'nested', 'zero channels', 'family', 'missing', 'reversed', 'zip bomb',
                 'parameter of another shape', 'config.json'):
    assert attack in names


def test_random_mutations_load_and_code_exactly_or_are_refused(portable_grm, tmp_path, natural_image):
  rng = np.random.default_rng(0)
  image = image_io.to_uint8(natural_image[:48, :40])
  outcomes, kinds = {'loaded': 0, 'refused': 0}, set()
  for i in range(60):
    folder = tmp_path / f'm{i}'
    kinds.add(model_dir_fuzzing.mutated(portable_grm, folder, rng).split(' (')[0])
    try:
      codec = grm_jax.load(folder)
    except GrmError as error:
      assert len(str(error).splitlines()) == 1
      outcomes['refused'] += 1
      continue
    outcomes['loaded'] += 1
    if outcomes['loaded'] <= 2:  # each loaded model compiles anew: a few suffice to show they code exactly
      try:
        encoded = codec.encode(image)
      except GrmError:
        continue
      assert np.array_equal(codec.decompress(encoded.data), encoded.reconstruction)
  assert outcomes['loaded'] and outcomes['refused'], outcomes
  assert {'config field', 'parameter bits flipped', 'table values'} <= kinds
