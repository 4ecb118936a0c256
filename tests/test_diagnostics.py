"""`grm inspect`: the reference's share of the rate, the S and U statistics, and the Figure-1 drawing."""
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import grm_jax
from grm_jax import cli, diagnostics, image_io
from grm_jax.codec import model_dir
from tests import tolerances
from tests.helpers import export_tiny_model


@pytest.fixture(scope='module')
def grm_dir(tmp_path_factory):
  return export_tiny_model(tmp_path_factory, 'grm')


@pytest.fixture(scope='module')
def image_path(tmp_path_factory, natural_image):
  path = tmp_path_factory.mktemp('inspect') / 'crop.png'
  Image.fromarray(image_io.to_uint8(natural_image[:96, :128])).save(path)
  return path


def _bpp_y_rtol(bpp_y, pixels, count):
  """Two evaluations of the entropy networks (in one pass, or position group by position group; with the reference
  or without, which adds exact zeros in other orders): tolerances.network relative to mu and sigma's scale, which
  moves each of the `count` bins' -ln l by at most 2 + 2 |ln l| times as much (x^2 = 2 |ln l| in the normal tail),
  and the sums of the -log2 l (>= 0) in any order."""
  bits = bpp_y * pixels
  condition = 2 + 2 * count / (bits * math.log(2))  # sum over bins of (2 + 2 |ln l|), over sum of |ln l|
  return tolerances.network(tolerances.tiny_depth()) * condition + \
      tolerances.relative(tolerances.depth_of_sum(count) + 2)


def _inspect_json(capsys, *args):
  assert cli.main(['inspect', *map(str, args), '--json']) == 0
  return json.loads(capsys.readouterr().out)


@pytest.fixture(scope='module')
def checkerboard_dirs(tmp_path_factory):
  """grm_checkerboard with one reference, and with three gated as channels: the decoder's two passes against the
  training forward (a candidate's key made at commit, the steps' left-out work)."""
  return {'grm_checkerboard': export_tiny_model(tmp_path_factory, 'grm_checkerboard'),
          'grm_checkerboard-3-channels': export_tiny_model(tmp_path_factory, 'grm_checkerboard',
                                                           model_overrides={'references': 3, 'gating': 'channels'})}


@pytest.mark.parametrize('family', ['grm', 'grm_checkerboard', 'grm_checkerboard-3-channels'])
def test_final_stage_rate_is_the_codecs_own_estimate(capsys, grm_dir, checkerboard_dirs, image_path, family):
  """inspect's rate is the training forward's (all positions at once); the codec's estimate is the decoder's, step by
  step: they agree within the rounding of two evaluations, so the decoder predicts what training saw."""
  folder = grm_dir if family == 'grm' else checkerboard_dirs[family]
  report = _inspect_json(capsys, image_path, '--model', folder)
  codec = grm_jax.load(folder)
  image = image_io.read_image(image_path)
  encoded = codec.encode(image)
  z_bits = -float(jnp.sum(jnp.log2(codec.z_coder.likelihood(jnp.asarray(encoded.z_hat)))))
  pixels = image.shape[0] * image.shape[1]
  rtol = _bpp_y_rtol(report['bpp_y'], pixels, encoded.y_hat.size)  # 5e-4, where z's bits left in more than double it
  assert report['bpp_y'] == pytest.approx((encoded.estimated_bits - z_bits) / pixels, rel=rtol)
  assert report['bytes'] == len(encoded.data)
  for key in ('bpp_y_without_reference', 'bpp_y_local_stage', 'bpp_y_reference_stage',
              'bpp_y_reference_residual_corrected', 'bpp_y_left_residual_corrected'):
    assert report[key] > 0
  for key in ('reference_residual_correlation', 'left_residual_correlation'):
    assert -1 <= report[key] <= 1
  for key in ('similarity_median', 'confidence_median', 'similarity_times_confidence_mean', 'far_reference_fraction'):
    assert 0 <= report[key] <= 1
  assert report['reference_share_percent'] == pytest.approx(
      100 * (report['bpp_y_without_reference'] / report['bpp_y'] - 1))


def test_a_reference_the_final_stage_ignores_has_no_share(capsys, grm_dir, image_path, tmp_path):
  """Zero the final stage's weights on its reference input: removing the reference must then change nothing, and
  with the weights in place (random, so far from useless) it must change the rate."""
  with_reference = _inspect_json(capsys, image_path, '--model', grm_dir)
  pixels = 96 * 128
  rtol = _bpp_y_rtol(with_reference['bpp_y'], pixels, with_reference['latent_positions'] * 12)  # tiny's M = 12
  assert with_reference['bpp_y_without_reference'] != pytest.approx(with_reference['bpp_y'], rel=rtol)
  config, params, _, _ = model_dir.load(grm_dir)
  m = config.model.latent_channels
  params = jax.tree_util.tree_map(np.array, params)
  kernel = params['y_parameters']['final_params']['dense_0']['kernel']  # rows: [local 2M, reference 2M, hyper 2M]
  kernel[2 * m:4 * m] = 0
  model_dir.export(params, config, tmp_path / 'deaf')
  deaf = _inspect_json(capsys, image_path, '--model', tmp_path / 'deaf')
  rtol = _bpp_y_rtol(deaf['bpp_y'], pixels, deaf['latent_positions'] * m)
  assert deaf['bpp_y_without_reference'] == pytest.approx(deaf['bpp_y'], rel=rtol)
  assert deaf['reference_share_percent'] == pytest.approx(0, abs=100 * rtol)


def test_text_report_and_figure(capsys, grm_dir, image_path, tmp_path):
  figure = tmp_path / 'figure1.png'
  assert cli.main(['inspect', str(image_path), '--model', str(grm_dir), '--figure', str(figure)]) == 0
  out = capsys.readouterr().out
  assert 'reference removed' in out and "the reference's share" in out and 'similarity S' in out
  with Image.open(figure) as drawn:
    assert drawn.format == 'PNG' and drawn.size[0] > 400


def test_bad_requests_are_one_line_errors(capsys, grm_dir, image_path, tmp_path, tmp_path_factory):
  existing = tmp_path / 'keep.jpg'
  existing.write_bytes(b'old')
  assert cli.main(['inspect', str(image_path), '--model', str(grm_dir), '--figure', str(existing)]) == 1
  assert 'ending in .png' in capsys.readouterr().err and existing.read_bytes() == b'old'
  context_dir = export_tiny_model(tmp_path_factory, 'context')
  assert cli.main(['inspect', str(image_path), '--model', str(context_dir)]) == 1
  err = capsys.readouterr().err
  assert 'needs a grm model' in err and len(err.strip().splitlines()) == 1


def test_chosen_positions_lie_outside_the_local_context_and_spread_out():
  h, w = 8, 16
  rows, cols = np.mgrid[:h, :w]
  maps = {'saved_bits': np.arange(h * w, dtype=np.float32).reshape(h, w),  # the last position saves the most
          'reference_row': np.zeros((h, w), int), 'reference_col': np.zeros((h, w), int),
          'has_reference': np.arange(h * w).reshape(h, w) > 0}
  maps['reference_col'][h - 1, w - 2] = w - 3  # the runner-up's reference is its neighbour: not eligible
  maps['reference_row'][h - 1, w - 2] = h - 1
  chosen = diagnostics.chosen_positions(maps, count=3)
  assert chosen[0] == (h - 1, w - 1)
  assert (h - 1, w - 2) not in chosen
  for i, (r, c) in enumerate(chosen):
    assert max(abs(rows[r, c] - maps['reference_row'][r, c]), abs(cols[r, c] - maps['reference_col'][r, c])) > 2
    for r2, c2 in chosen[:i]:
      assert max(abs(r - r2), abs(c - c2)) >= max(h, w) / 4


def test_residual_correction_finds_a_residual_that_repeats():
  """Residuals that copy their source's (plus a little noise) correlate fully, and shifting mu by the source's
  residual codes them in far fewer bits; with no valid source nothing changes."""
  rng = np.random.default_rng(0)
  h, w, m = 4, 6, 8
  mu, sigma = rng.normal(size=(1, h, w, m)), rng.uniform(0.5, 2.0, size=(1, h, w, m))
  source = np.maximum(np.arange(h * w) - rng.integers(1, 4, size=h * w), 0)
  residual = np.zeros((h * w, m))
  residual[0] = 3 * rng.normal(size=m)
  for p in range(1, h * w):
    residual[p] = residual[source[p]] + 0.05 * rng.normal(size=m)
  y_hat = mu + sigma * residual.reshape(1, h, w, m)
  plain = float(jnp.sum(diagnostics._bits_per_position(y_hat, mu, sigma)))  # pylint: disable=protected-access
  valid = np.arange(h * w) > 0
  correlation, corrected = diagnostics._residual_correction(y_hat, mu, sigma, source, valid)  # pylint: disable=protected-access
  assert float(correlation) > 0.99
  assert float(jnp.sum(corrected)) < 0.5 * plain
  correlation, corrected = diagnostics._residual_correction(y_hat, mu, sigma, source, np.zeros_like(valid))  # pylint: disable=protected-access
  # No source: a shift of exactly 0, so the same float32 operations on the same values as plain's.
  assert float(correlation) == 0 and float(jnp.sum(corrected)) == pytest.approx(plain, rel=1e-6)
