"""The shipped models (models/): each loads against its hash and records how it was made; the default one
round-trips a sample image exactly, at the rate it estimates; names resolve to them."""
import re

import numpy as np
import pytest

import grm_jax
from grm_jax import cli, image_io, zoo
from grm_jax.codec import bitstream, model_dir
from grm_jax.errors import GrmError
from tests.helpers import REPO, requires_tensorflow

LAMBDAS = ('0.0067', '0.013', '0.025')
SHIPPED = zoo.shipped()


def test_three_qualities_of_grm_and_of_the_context_baseline_are_shipped():
  for family in ('grm-small', 'context-small'):
    for lambda_ in LAMBDAS:
      assert f'{family}-{lambda_}' in zoo.names()
  assert zoo.DEFAULT in zoo.names()


def _check_training_record(record, lambda_=None):
  for key in ('config', 'train_data', 'steps', 'train_wall_seconds', 'command', 'machine'):
    assert record.get(key), f"the training record lacks {key}"
  assert 'kodak' not in record['train_data'].lower()  # the test set is never trained on
  assert record['command'].startswith('train.py --config configs/')
  if lambda_ is not None:
    assert record['config']['lambda_'] == pytest.approx(lambda_)


@pytest.mark.parametrize('entry', SHIPPED, ids=[entry['name'] for entry in SHIPPED])
def test_each_shipped_model_loads_and_records_how_it_was_made(entry):
  family, lambda_ = entry['name'].rsplit('-', 1)
  meta = entry['meta']
  assert meta['family'] == family.split('-')[0]
  _check_training_record(meta, float(lambda_))
  for run in zoo.training_chain(meta)[:-1]:  # fine-tuned from another run: that run is recorded too
    _check_training_record(run)
  config, params, _, _ = model_dir.load(entry['path'])  # checks the hash
  assert config.model.family == meta['family'] and params


@requires_tensorflow
def test_default_model_round_trip_is_exact_at_the_estimated_rate():
  image = image_io.read_image(REPO / 'samples' / 'kodim23.png')[:192, :256]
  codec = grm_jax.load()
  encoded = codec.encode(image)
  decoded = codec.decode(encoded.data)
  np.testing.assert_array_equal(decoded.image, encoded.reconstruction)
  _, strings = bitstream.unpack(encoded.data)
  payload_bits = 8 * sum(len(s) for s in strings)
  assert abs(payload_bits / encoded.estimated_bits - 1) < 0.03
  psnr = 10 * np.log10(255.0**2 / np.mean((image.astype(float) - decoded.image) ** 2))
  assert psnr > 27  # a trained model, not a random one (random weights give about 7 dB)


def test_names_resolve_and_unknown_names_say_what_is_shipped(capsys):
  assert zoo.resolve('grm-small-0.025') == zoo.MODELS / 'grm-small-0.025'
  assert zoo.resolve(None) == zoo.MODELS / zoo.DEFAULT
  with pytest.raises(GrmError, match='shipped: .*grm-small-0.013'):
    zoo.resolve('grm-small-0.5')
  assert cli.main(['models']) == 0
  listing = capsys.readouterr().out
  assert all(name in listing for name in zoo.names()) and '(default)' in listing


def test_estimate_command_with_the_default_model_and_with_a_config(tmp_path, capsys):
  crop = tmp_path / 'crop.png'
  image_io.write_png(crop, image_io.read_image(REPO / 'samples' / 'kodim15.png')[:128, :128])
  assert cli.main(['estimate', str(crop)]) == 0
  out = capsys.readouterr().out
  assert zoo.DEFAULT in out
  assert float(re.search(r'PSNR (\d+\.\d+) dB', out).group(1)) > 25
  assert cli.main(['estimate', str(crop), '--config', str(REPO / 'configs' / 'tiny.py')]) == 0
  assert 'random init of' in capsys.readouterr().out
