"""The shipped models (grm_jax/pretrained/): each loads against its hash and records how it was made; the default
one round-trips a sample image exactly, at the rate it estimates, and the wide ones over qualities 1 to 8; names
resolve to them, and a lambda the default cannot code at to the model of its family that can."""
import json
import re

import numpy as np
import pytest

import grm_jax
from grm_jax import cli, image_io, rd_lambda, zoo
from grm_jax.codec import bitstream, model_dir
from grm_jax.errors import GrmError
from tests import tolerances
from tests.helpers import REPO

SHIPPED = zoo.shipped()
RANGE = (0.0018, 0.0483)  # CompressAI's qualities 1 to 6
WIDE = ('grm-small-wide', 'context-small-wide')  # CompressAI's qualities 1 to 8
MS_SSIM = ('grm-small-msssim', 'context-small-msssim')  # CompressAI's MS-SSIM qualities 1 to 8
PARALLEL = ('grm-checkerboard-small-wide',)  # qualities 1 to 8, decoded in two checkerboard passes


def test_grm_and_the_context_baseline_are_shipped_for_qualities_1_to_6_and_1_to_8():
  assert {'grm-small', 'context-small', *WIDE, *MS_SSIM, *PARALLEL} <= set(zoo.names())
  assert zoo.DEFAULT == 'grm-small'


def _check_training_record(record):
  for key in ('config', 'train_data', 'steps', 'train_wall_seconds', 'command', 'machine'):
    assert record.get(key), f"the training record lacks {key}"
  assert 'kodak' not in record['train_data'].lower()  # the test set is never trained on
  assert record['command'].startswith('train.py --config configs/')


@pytest.mark.parametrize('entry', SHIPPED, ids=[entry['name'] for entry in SHIPPED])
def test_each_shipped_model_loads_covers_the_range_and_records_how_it_was_made(entry):
  meta = entry['meta']
  assert entry['name'].startswith(meta['family'].replace('_', '-') + '-')  # the name says the family
  assert ('checkerboard' in entry['name']) == ('checkerboard' in meta['family'])
  low, high = meta['config']['model']['lambda_range']
  metric = zoo.metric(entry)  # qualities 1 to 6 at least, on the scale of the model's metric
  assert low <= rd_lambda.quality_to_lambda(1, metric) * (1 + 1e-6)
  assert high >= rd_lambda.quality_to_lambda(6, metric) * (1 - 1e-6)
  assert ('msssim' in entry['name']) == (metric == 'ms-ssim')  # the name says the metric
  for run in zoo.training_chain(meta):  # fine-tuned from other runs: those are recorded too
    _check_training_record(run)
  config, params, _, _ = model_dir.load(entry['path'])  # checks the hash
  assert config.model.family == meta['family'] and params


@pytest.mark.cross_isa
def test_default_model_round_trips_exactly_at_the_estimated_rate_over_its_range():
  image = image_io.read_image(REPO / 'samples' / 'kodim23.png')[:192, :256]
  codec = grm_jax.load()
  psnrs = []
  for lambda_ in RANGE:
    encoded = codec.encode(image, lambda_=lambda_)
    decoded = codec.decode(encoded.data)
    np.testing.assert_array_equal(decoded.image, encoded.reconstruction)
    _, strings = bitstream.unpack(encoded.data)
    payload_bits = 8 * sum(len(s) for s in strings)
    assert abs(payload_bits / encoded.estimated_bits - 1) < 0.03  # the range coder's overhead: a figure, not rounding
    psnrs.append(10 * np.log10(255.0**2 / np.mean((image.astype(float) - decoded.image) ** 2)))
  assert psnrs[0] > 27  # a trained model, not a random one (random weights give about 7 dB)
  assert psnrs[1] > psnrs[0] + 2  # the knob works


def test_names_resolve_and_unknown_names_say_what_is_shipped(capsys):
  assert zoo.resolve('context-small') == zoo.MODELS / 'context-small'
  assert zoo.resolve(None) == zoo.MODELS / zoo.DEFAULT
  with pytest.raises(GrmError, match='shipped: .*grm-small'):
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


@pytest.mark.cross_isa
def test_files_the_tensorflow_coder_wrote_decode_to_the_same_latents():
  """tests/data/legacy: crops of samples/kodim15.png coded by the shipped models through tensorflow-compression's
  op (the project's coder before it had its own), at both ends of the range and 0.013, with what they decoded to."""
  legacy = REPO / 'tests' / 'data' / 'legacy'
  expected = np.load(legacy / 'decoded.npz')
  files = sorted(legacy.glob('*.grm'))
  assert len(files) == 6
  for path in files:
    name = path.stem.rsplit('_', 1)[0]
    header, _ = bitstream.unpack(path.read_bytes())
    assert zoo.find_by_hash(header.model_hash.hex()).name == name  # a hash the model had before (former_hashes)
    decoded = grm_jax.load(name).decode(path.read_bytes())
    np.testing.assert_array_equal(decoded.y_hat, expected[f'{path.stem}/y_hat'], err_msg=path.name)
    difference = np.abs(decoded.image.astype(int) - expected[f'{path.stem}/image'].astype(int))
    assert difference.max() <= 1, path.name  # g_s runs in float: rounding may differ from machine to machine


def _fake_zoo(tmp_path, monkeypatch, models):
  """A zoo of model.json files alone: enough for choosing among models by name, family and range (a number for
  a fixed-rate model's lambda, None for a model.json without a config)."""
  for name, family, lambdas in models:
    (tmp_path / name).mkdir()
    if lambdas is None:
      meta = {'family': family}
    elif isinstance(lambdas, float):
      meta = {'family': family, 'config': {'lambda_': lambdas, 'model': {}}}
    else:
      meta = {'family': family, 'config': {'lambda_': 0.013, 'model': {'lambda_range': lambdas}}}
    (tmp_path / name / 'model.json').write_text(json.dumps(meta))
  monkeypatch.setattr(zoo, 'MODELS', tmp_path)


def test_without_a_model_a_lambda_outside_the_defaults_range_takes_the_model_of_its_family_that_covers_it(
    tmp_path, monkeypatch):
  _fake_zoo(tmp_path, monkeypatch, [('grm-small', 'grm', [0.0018, 0.0483]),
                                    ('grm-small-wide', 'grm', [0.0018, 0.18]),
                                    ('grm-huge', 'grm', [0.0001, 1.0]),
                                    ('grm-fixed', 'grm', 0.7),
                                    ('context-small-top', 'context', [0.0483, 0.18])])
  assert zoo.resolve_for_lambda(None, 0.013) == tmp_path / 'grm-small'  # the default where it can
  assert zoo.resolve_for_lambda(None, None) == tmp_path / 'grm-small'
  assert zoo.resolve_for_lambda(None, 0.0483 * (1 + 1e-7)) == tmp_path / 'grm-small'  # a printed range's rounding
  assert zoo.resolve_for_lambda(None, 0.18) == tmp_path / 'grm-small-wide'  # the narrowest of the family's
  assert zoo.resolve_for_lambda(None, 0.5) == tmp_path / 'grm-huge'
  assert zoo.resolve_for_lambda('grm-small', 0.18) == tmp_path / 'grm-small'  # a named model is never swapped
  assert zoo.resolve_for_lambda(None, 2.0) == tmp_path / 'grm-small'  # none covers it: the default says why
  assert [entry['name'] for entry in zoo.covering(0.1)] == ['context-small-top', 'grm-small-wide', 'grm-huge']
  assert [entry['name'] for entry in zoo.covering(0.7)] == ['grm-fixed', 'grm-huge']  # a fixed-rate model's one
  assert zoo.resolve_for_lambda(None, 0.7) == tmp_path / 'grm-fixed'


def test_a_default_whose_range_is_not_known_is_never_swapped(tmp_path, monkeypatch):
  _fake_zoo(tmp_path, monkeypatch, [('grm-small', 'grm', None), ('grm-small-wide', 'grm', [0.0018, 0.18])])
  assert zoo.resolve_for_lambda(None, 0.013) == tmp_path / 'grm-small'
  assert zoo.resolve_for_lambda(None, 0.18) == tmp_path / 'grm-small'


@pytest.mark.parametrize('name', WIDE + PARALLEL)
def test_the_wide_models_code_both_ends_and_the_middle_exactly_and_psnr_rises_with_lambda(name):
  image = image_io.read_image(REPO / 'samples' / 'kodim23.png')[:128, :192]
  codec = grm_jax.load(name)
  assert codec.lambda_range == pytest.approx((0.0018, 0.18))
  psnrs, sizes = [], []
  for lambda_ in (0.0018, 0.0483, 0.18):
    encoded = codec.encode(image, lambda_=lambda_)
    decoded = codec.decode(encoded.data)
    np.testing.assert_array_equal(decoded.image, encoded.reconstruction)
    psnrs.append(10 * np.log10(255.0**2 / np.mean((image.astype(float) - decoded.image) ** 2)))
    sizes.append(len(encoded.data))
  assert psnrs[0] > 27 and psnrs[0] < psnrs[1] < psnrs[2], psnrs
  assert sizes[0] < sizes[1] < sizes[2], sizes


@pytest.mark.parametrize('name', MS_SSIM)
def test_the_ms_ssim_models_code_qualities_1_and_8_exactly_and_ms_ssim_rises(name):
  from grm_jax import evaluation  # pylint: disable=import-outside-toplevel
  image = image_io.read_image(REPO / 'samples' / 'kodim23.png')[:192, :256]  # MS-SSIM's 5 scales need 161 px
  codec = grm_jax.load(name)
  assert codec.metric == 'ms-ssim' and zoo.default_for('ms-ssim') == 'grm-small-msssim'
  scores, sizes = [], []
  for quality in (1, 8):
    encoded = codec.encode(image, lambda_=rd_lambda.quality_to_lambda(quality, 'ms-ssim'))
    decoded = codec.decode(encoded.data)
    np.testing.assert_array_equal(decoded.image, encoded.reconstruction)
    scores.append(evaluation.ms_ssim_uint8(image, decoded.image))
    sizes.append(len(encoded.data))
  assert 0.85 < scores[0] < scores[1], scores
  assert sizes[0] < sizes[1], sizes


@pytest.mark.parametrize('name', WIDE)
def test_the_wide_models_config_is_their_two_recorded_runs_in_one(name):
  """configs/FAMILY_small_wide.py is the shipped model's training in one run: the recorded config of both its runs
  (but for data_dir, which the recipe passes, and what sets the learning rate), and the learning rate of the run
  that made each step, the first's constant rate and then the annealing tail's tenth of it. (The tail started
  with a fresh optimiser; one run carries Adam's moments over.)"""
  import importlib  # pylint: disable=import-outside-toplevel
  import ml_collections  # pylint: disable=import-outside-toplevel
  from grm_jax.training import optim  # pylint: disable=import-outside-toplevel
  config = importlib.import_module(f"grm_jax.configs.{name.replace('-', '_')}").get_config()
  *_, first, tail = zoo.training_chain(json.loads((zoo.MODELS / name / 'model.json').read_text()))
  expected, recorded = config.to_dict(), dict(first['config'])
  for key in ('data_dir', 'num_steps', 'schedule', 'decay_boundaries'):
    expected.pop(key), recorded.pop(key)
  assert expected['model'].pop('transform_channels') == 0  # g_a and g_s N wide, as before the field was added
  assert json.loads(json.dumps(expected)) == recorded
  tail_recorded = dict(tail['config'])
  for key in ('data_dir', 'num_steps', 'schedule', 'decay_boundaries', 'init_from', 'learning_rate', 'warmup_steps'):
    tail_recorded.pop(key)
  tail_recorded['model'] = {key: value for key, value in tail_recorded['model'].items() if key != 'transform_channels'}
  assert tail_recorded == {key: value for key, value in recorded.items()
                           if key not in ('init_from', 'learning_rate', 'warmup_steps')}
  assert (REPO / config.init_from).is_dir()
  schedule, start = optim.learning_rate_schedule(config), 0
  for run in (first, tail):
    run_schedule = optim.learning_rate_schedule(ml_collections.ConfigDict(run['config']))
    for step in [*range(0, run['steps'], 100), run['steps'] - 1]:  # float32 rates: the base and the decay factor
      # rounded, their product, against the run's own rate, rounded or not (the warm-up: the same arithmetic)
      assert float(schedule(start + step)) == pytest.approx(float(run_schedule(step)), rel=tolerances.gamma(4)), \
          (run, step)
    start += run['steps']
  assert start == config.num_steps


def test_init_from_takes_a_shipped_models_name_and_a_path_first(tmp_path, monkeypatch):
  assert zoo.source_folder('grm-small-wide') == str(zoo.MODELS / 'grm-small-wide')
  monkeypatch.chdir(tmp_path)
  (tmp_path / 'grm-small-wide').mkdir()  # a run of the user's of the same name wins
  assert zoo.source_folder('grm-small-wide') == 'grm-small-wide'
  assert zoo.source_folder('runs/nothing') == 'runs/nothing'  # the trainer says what is missing


def test_compress_without_a_model_codes_a_top_quality_with_the_wide_model_and_decompress_finds_it(
    tmp_path, capsys):
  crop = tmp_path / 'crop.png'
  image_io.write_png(crop, image_io.read_image(REPO / 'samples' / 'kodim15.png')[:64, :64])
  assert cli.main(['compress', str(crop), str(tmp_path / 'q8.grm'), '--quality', '8']) == 0
  assert 'coding with grm-small-wide' in capsys.readouterr().err
  assert cli.main(['decompress', str(tmp_path / 'q8.grm'), str(tmp_path / 'q8.png')]) == 0  # found by its hash
  assert cli.main(['compress', str(crop), str(tmp_path / 'no.grm'), '--model', 'grm-small', '--lambda', '0.18']) == 1
  error = capsys.readouterr().err
  assert "outside this model's range" in error and 'code at lambda 0.18: grm-small-wide, context' in error
  assert not (tmp_path / 'no.grm').exists()
  assert cli.main(['compress', str(crop), str(tmp_path / 'big.grm'), '--bpp', '8']) == 0  # above any file of it
  assert "grm-small's largest file" in capsys.readouterr().err and (tmp_path / 'big.grm').exists()
  assert cli.main(['roundtrip', str(crop), '--lambda', '0.1', '--out-dir', str(tmp_path / 'rt')]) == 0
  out, err = capsys.readouterr()
  assert 'coding with grm-small-wide' in err and 'model: grm-small-wide' in out and 'decoder exact' in out
