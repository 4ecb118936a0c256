"""Models trained for MS-SSIM: the quality scale of each metric, MS-SSIM as a training loss at its edges, the start
of a fine-tune from an MSE model, and the user's choice of metric on the command line."""
import json
import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax import cli, config_io, image_io, metrics, models, rd_lambda, zoo
from grm_jax.configs import tiny
from grm_jax.errors import GrmError
from grm_jax.layers import gain
from grm_jax.training import trainer
from tests import tolerances
from tests.helpers import export_tiny_model

MS_SSIM_RANGE = (rd_lambda.MS_SSIM_QUALITY_LAMBDAS[0], rd_lambda.MS_SSIM_QUALITY_LAMBDAS[-1])


def test_a_quality_level_means_the_same_for_both_metrics():
  for quality, (mse, ms_ssim) in enumerate(zip(rd_lambda.QUALITY_LAMBDAS, rd_lambda.MS_SSIM_QUALITY_LAMBDAS), 1):
    assert rd_lambda.quality_to_lambda(quality, 'ms-ssim') == pytest.approx(ms_ssim)  # float64: exact to 1e-6
    assert rd_lambda.equivalent_lambda(mse, 'mse', 'ms-ssim') == pytest.approx(ms_ssim)
    assert rd_lambda.equivalent_lambda(ms_ssim, 'ms-ssim', 'mse') == pytest.approx(mse)
  halfway = rd_lambda.equivalent_lambda(np.sqrt(0.0067 * 0.0130), 'mse', 'ms-ssim')  # log-linear between levels
  assert halfway == pytest.approx(np.sqrt(8.73 * 16.64))
  # beyond the table, the end segment's slope: a lambda below quality 1 maps below 2.40, and back
  below = rd_lambda.equivalent_lambda(0.0009, 'mse', 'ms-ssim')
  assert below < 2.40 and rd_lambda.equivalent_lambda(below, 'ms-ssim', 'mse') == pytest.approx(0.0009)
  assert rd_lambda.equivalent_lambda(0.013, 'mse', 'mse') == 0.013
  with pytest.raises(GrmError, match='unknown distortion'):
    rd_lambda.quality_to_lambda(3, 'ssim')


@pytest.mark.parametrize('family', ['grm', 'context'])
def test_the_ms_ssim_configs_span_qualities_1_to_8_of_their_metric(family):
  config = config_io.load_config(f'{family}_small_msssim')
  assert config.distortion == 'ms-ssim' and config.patch_size >= metrics.MS_SSIM_MIN_SIDE
  assert tuple(config.model.lambda_range) == MS_SSIM_RANGE
  assert config.lambda_ == rd_lambda.MS_SSIM_QUALITY_LAMBDAS[3]  # quality 4
  assert config.init_from == f'{family}-small-wide'


@pytest.mark.parametrize('case', ['flat', 'two flats', 'anti-correlated', 'noise', 'smallest size'])
def test_ms_ssim_gradients_are_finite_at_the_edges(case, natural_image):
  """A training loss of 1 - MS-SSIM must not turn NaN where a term is 0 (relu of a negative contrast), where the
  images have no variance, or at the smallest crop it accepts."""
  side = metrics.MS_SSIM_MIN_SIDE if case == 'smallest size' else 192
  x = jnp.asarray(natural_image[None, :side, :side])
  noise = jnp.asarray(np.random.default_rng(0).uniform(size=x.shape).astype(np.float32))
  a, b = {'flat': (jnp.full_like(x, 0.5), jnp.full_like(x, 0.5)),
          'two flats': (jnp.full_like(x, 0.5), jnp.full_like(x, 0.2)),
          'anti-correlated': (x, 1.0 - x),
          'noise': (x, noise),
          'smallest size': (x, jnp.clip(x + 0.05 * noise, 0, 1))}[case]
  loss = lambda v: jnp.sum(1.0 - metrics.ms_ssim(jnp.clip(v, 0.0, 1.0), b))
  value, grad = jax.value_and_grad(loss)(a)
  assert np.isfinite(float(value)) and bool(jnp.all(jnp.isfinite(grad)))
  if case == 'flat':
    assert float(value) == pytest.approx(0.0, abs=tolerances.relative(5))  # identical images: MS-SSIM 1


def test_an_ms_ssim_run_refuses_crops_its_five_scales_cannot_measure():
  config = tiny.get_config()
  config.distortion = 'ms-ssim'
  with pytest.raises(GrmError, match='at least 161 pixels'):
    trainer.check_batch_layout(config)
  config.patch_size = 192
  trainer.check_batch_layout(config)
  config.distortion = 'ssim'
  with pytest.raises(GrmError, match="expected one of"):
    trainer.check_batch_layout(config)


def _variable_rate_config(lambda_range, distortion):
  config = tiny.get_config()
  config.distortion = distortion
  config.model.lambda_range, config.model.gain_anchors = lambda_range, 8
  config.lambda_ = rd_lambda.middle(lambda_range)
  return config


def test_an_mse_model_starts_each_ms_ssim_gain_anchor_at_the_same_quality():
  source = _variable_rate_config((rd_lambda.QUALITY_LAMBDAS[0], rd_lambda.QUALITY_LAMBDAS[-1]), 'mse')
  target = _variable_rate_config(MS_SSIM_RANGE, 'ms-ssim')
  model = models.build(target)
  params = models.build(source).init(jax.random.PRNGKey(0), np.zeros((1, 64, 64, 3), np.float32))['params']
  table = np.asarray(params['y_gains']['log_gain'])
  table = table + np.arange(len(table))[:, None] * 0.3  # distinct anchors, so that a shift would show
  params = {**params, 'y_gains': {**params['y_gains'], 'log_gain': table}}
  moved = trainer._with_gains_of_this_model(  # pylint: disable=protected-access
      params, model, json.loads(source.to_json()), target.lambda_, 'ms-ssim')
  # Both ranges are CompressAI's qualities 1 to 8 and nearly log-spaced: anchor k of the new model, mapped to the
  # MSE scale, sits within 1% (in lambda) of the old model's anchor k, so it starts within that share of one anchor
  # step of the old gains (the gains are interpolated linearly in log lambda; the ends coincide).
  anchors = gain.anchor_lambdas(MS_SSIM_RANGE, 8)
  mapped = [rd_lambda.equivalent_lambda(a, 'ms-ssim', 'mse') for a in anchors]
  old = gain.anchor_lambdas(source.model.lambda_range, 8)
  offset = np.max(np.abs(np.log(mapped) - np.log(old)))
  assert offset < 0.01
  share_of_a_step = offset / np.log(old[1] / old[0])
  float32_slack = tolerances.relative(4) * np.max(np.abs(table))  # a few float32 operations on the table
  largest_step = np.max(np.abs(np.diff(table, axis=0)))
  np.testing.assert_allclose(moved['y_gains']['log_gain'], table, atol=largest_step * share_of_a_step + float32_slack)
  # without the mapping (lambdas compared across metrics), every new anchor lies above the old range: the old top's
  # gains, extrapolated, at every quality
  unmapped = gain.reanchored_params(params['y_gains'], old, anchors)
  assert not np.allclose(unmapped['log_gain'], table, atol=0.1)


@pytest.fixture(scope='module')
def ms_ssim_model(tmp_path_factory):
  return export_tiny_model(tmp_path_factory, 'grm', model_overrides={'lambda_range': MS_SSIM_RANGE,
                                                                     'gain_anchors': 8},
                           config_overrides={'distortion': 'ms-ssim', 'lambda_': 16.64})


@pytest.fixture
def photo(tmp_path, natural_image):
  path = tmp_path / 'photo.png'
  image_io.write_png(path, image_io.to_uint8(natural_image[:64, :96]))
  return path


def test_quality_means_the_lambda_of_the_models_metric(ms_ssim_model, photo, tmp_path, capsys):
  assert cli.main(['compress', str(photo), str(tmp_path / 'q3.grm'), '--model', str(ms_ssim_model),
                   '--quality', '3']) == 0
  assert re.search(r'lambda 8\.73,', capsys.readouterr().out)
  assert cli.main(['compress', str(photo), str(tmp_path / 'm.grm'), '--model', str(ms_ssim_model),
                   '--metric', 'ms-ssim', '--bpp', '2']) == 0
  capsys.readouterr()
  assert cli.main(['decompress', str(tmp_path / 'q3.grm'), str(tmp_path / 'q3.png'), '--model',
                   str(ms_ssim_model)]) == 0
  assert cli.main(['roundtrip', str(photo), '--model', str(ms_ssim_model), '--quality', '8', '--out-dir',
                   str(tmp_path / 'rt')]) == 0
  out = capsys.readouterr().out
  assert 'for ms-ssim' in out and 'lambda 220 of 2.4-220' in out and 'decoder exact' in out


def test_a_metric_the_named_model_was_not_trained_for_is_one_line(ms_ssim_model, photo, tmp_path, capsys):
  assert cli.main(['compress', str(photo), str(tmp_path / 'x.grm'), '--model', str(ms_ssim_model),
                   '--metric', 'mse']) == 1
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1 and 'trained for ms-ssim, not mse' in err
  assert not (tmp_path / 'x.grm').exists()


def test_metric_chooses_the_shipped_default_of_that_metric(ms_ssim_model, photo, tmp_path, monkeypatch, capsys):
  shipped = tmp_path / 'zoo'
  shipped.mkdir()
  ours = shipped / zoo.default_for('ms-ssim')
  shutil.copytree(ms_ssim_model, ours)
  meta = json.loads((ours / 'model.json').read_text())  # a shipped model records the config it was trained with
  (ours / 'model.json').write_text(json.dumps({**meta, 'config': json.loads((ours / 'config.json').read_text())}))
  shutil.copytree(zoo.MODELS / zoo.DEFAULT, shipped / zoo.DEFAULT)
  monkeypatch.setattr(zoo, 'MODELS', shipped)
  assert cli.main(['models']) == 0
  listing = capsys.readouterr().out
  assert re.search(r'grm-small-msssim +grm +ms-ssim .*\(default of --metric ms-ssim\)', listing)
  assert re.search(r'grm-small +grm +mse .*\(default\)', listing)
  assert cli.main(['compress', str(photo), str(tmp_path / 'a.grm'), '--metric', 'ms-ssim', '--quality', '1']) == 0
  assert 'lambda 2.4,' in capsys.readouterr().out
  # the file names its model by hash: decompress finds the MS-SSIM model without being told
  assert cli.main(['decompress', str(tmp_path / 'a.grm'), str(tmp_path / 'a.png')]) == 0
  # an MS-SSIM lambda given to the MSE default is refused, naming the model that codes at it
  assert cli.main(['compress', str(photo), str(tmp_path / 'b.grm'), '--lambda', '60.5']) == 1
  assert 'outside' in capsys.readouterr().err
  assert zoo.resolve_for_lambda(None, 60.5, 'ms-ssim') == shipped / zoo.default_for('ms-ssim')
  assert [entry['name'] for entry in zoo.covering(60.5, 'mse')] == []


def test_a_metric_no_shipped_model_is_trained_for_is_one_line(photo, tmp_path, monkeypatch, capsys):
  shipped = tmp_path / 'zoo'
  shipped.mkdir()
  shutil.copytree(zoo.MODELS / zoo.DEFAULT, shipped / zoo.DEFAULT)
  monkeypatch.setattr(zoo, 'MODELS', shipped)
  assert cli.main(['compress', str(photo), str(tmp_path / 'a.grm'), '--metric', 'ms-ssim']) == 1
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and 'no shipped model is trained for ms-ssim' in err
