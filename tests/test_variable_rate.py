"""Variable rate: gain units, per-example lambdas, conversion of fixed-rate models, the knob in the codec, the
CLI and evaluate.py, and rate control by real encodes."""
import json
import math
import struct
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import grm_jax
from grm_jax.configs import tiny
from grm_jax import cli, image_io, losses, models, rd_lambda
from grm_jax.codec import bitstream, model_dir, rate_control
from grm_jax.errors import GrmError
from grm_jax.layers import gain
from grm_jax.models import gain_folding
from grm_jax.training import trainer
from tests import tolerances
from tests.helpers import run_python, write_image_folder

RANGE = (0.0018, 0.0483)
BETWEEN_ANCHORS = 0.005  # between the second and third of 6 anchors
WIDE_RANGE = (0.0018, 0.18)  # CompressAI's qualities 1 to 8


def _gain_rtol(anchors, step, magnitude):
  """GainUnit's float32 gains at float32 lambdas, relative to exact: the position (log(lambda) - log(a_0)) /
  (log(a_last) - log(a_0)) * last from logs below 9 in magnitude (2 ulps, and the lambda's and the anchor's float32:
  gamma(6) each) that cancel in the differences; the log-gains interpolated across at most `step` per unit of
  position; their float32 tables (2 ulps) and arithmetic (gamma(4) twice) of at most `magnitude`; exp's 2 ulps."""
  position = (len(anchors) - 1) * (4 * 9 / math.log(anchors[-1] / anchors[0]) * tolerances.gamma(6) +
                                   tolerances.gamma(2))
  return position * step + 3 * tolerances.gamma(4) * magnitude + tolerances.gamma(4)


def _x_hat_atol(*outputs):
  """Two evaluations of tiny's networks in other summation orders (tolerances.network), to the scale of x_hat."""
  return tolerances.network(tolerances.tiny_depth()) * max(float(np.max(np.abs(out['x_hat']))) for out in outputs)


def _bpp_rtol(out):
  """The same, for bpp: the networks, then the sum of the -log2 likelihoods (>= 0) in any order."""
  count = sum(lik.size for lik in out['likelihoods'].values())
  return tolerances.network(tolerances.tiny_depth()) + tolerances.relative(tolerances.depth_of_sum(count) + 2)


def _config(family='mean_scale', lambda_range=RANGE):
  config = tiny.get_config()
  config.model.family = family
  config.model.lambda_range = lambda_range
  return config


def _init(config, seed=1):
  model = models.build(config)
  return model, model.init(jax.random.PRNGKey(seed), np.zeros((1, 64, 64, 3), np.float32))['params']


def test_gains_interpolate_in_the_log_domain_and_clip_outside_the_range():
  anchors = gain.anchor_lambdas(RANGE, 4)
  assert anchors[0] == pytest.approx(RANGE[0]) and anchors[-1] == pytest.approx(RANGE[1])
  unit = gain.GainUnit(3, anchors)
  log_gain = np.log(np.array([[1.0, 2.0, 4.0], [2.0, 2.0, 2.0], [4.0, 1.0, 8.0], [8.0, 8.0, 8.0]], np.float32))
  params = {'params': {'log_gain': log_gain, 'log_inverse_gain': -log_gain}}
  halfway = np.sqrt(anchors[1] * anchors[2])  # halfway between two anchors in log(lambda)
  lambdas = jnp.asarray([anchors[1], halfway, RANGE[0] / 10, RANGE[1] * 10], jnp.float32)
  gains, inverse = unit.apply(params, lambdas)
  rtol = _gain_rtol(anchors, np.log(8), np.log(8))  # 2.6e-5; the arithmetic mean instead is off by 6 %
  np.testing.assert_allclose(gains[0], [2, 2, 2], rtol=rtol)
  np.testing.assert_allclose(gains[1], np.sqrt([2 * 4, 2 * 1, 2 * 8]), rtol=rtol)  # geometric interpolation
  np.testing.assert_allclose(gains[2], [1, 2, 4], rtol=rtol)
  np.testing.assert_allclose(gains[3], [8, 8, 8], rtol=rtol)
  # The inverse interpolates the negated table with the same weights: exactly the negated exponent, so the product
  # is 1 within exp's 2 ulps twice and its own rounding.
  np.testing.assert_allclose(gains * inverse, 1.0, rtol=tolerances.gamma(4 + 4 + 1))


def test_a_fresh_gain_unit_follows_high_rate_theory():
  """Gain 1 in the middle of the range and sqrt(lambda / middle) elsewhere: coarser quantisation at low rates."""
  anchors = gain.anchor_lambdas(RANGE, 6)
  unit = gain.GainUnit(2, anchors)
  params = unit.init(jax.random.PRNGKey(0), jnp.ones((1,)))
  middle = rd_lambda.middle(RANGE)
  gains, _ = unit.apply(params, jnp.asarray([RANGE[0], middle, RANGE[1]], jnp.float32))
  log_gains = 0.5 * np.log(np.asarray(anchors) / middle)  # 0.5 log(26.8) / 5 apart, at most 0.82
  rtol = _gain_rtol(anchors, np.max(np.diff(log_gains)), np.max(np.abs(log_gains)))
  np.testing.assert_allclose(gains[:, 0], np.sqrt(np.array([RANGE[0], middle, RANGE[1]]) / middle), rtol=rtol)


def test_each_example_has_its_own_lambda_in_the_loss():
  config = _config()
  model, params = _init(config)
  x = jax.random.uniform(jax.random.PRNGKey(2), (3, 64, 64, 3))
  lambdas = jnp.asarray([0.002, 0.01, 0.04])
  out = model.apply({'params': params}, x, lambdas=lambdas)
  loss, summary = losses.rate_distortion_loss(out, x, lambdas)
  singles = [losses.rate_distortion_loss(model.apply({'params': params}, x[i:i + 1], lambdas=lambdas[i:i + 1]),
                                         x[i:i + 1], lambdas[i])[0] for i in range(3)]
  # A batch of 3 against 3 batches of 1: the networks (x_hat's error over its distance from x, about 0.6 here,
  # twice through the square), the 64 * 64 * 3-term MSEs (probable_gamma: their worst case, 1.5e-3, would hide the
  # mean lambda given to every example, 3.5e-4 off) and bpp.
  distance = math.sqrt(min(float(jnp.mean(jnp.square(out['x_hat'][i] - x[i]))) for i in range(3)))
  rtol = (2 * _x_hat_atol(out) / distance + tolerances.probable_gamma(2 * (64 * 64 * 3 + 4)) + _bpp_rtol(out))
  assert float(loss) == pytest.approx(float(np.mean(singles)), rel=rtol)
  assert float(summary['lambda_low']) == pytest.approx(0.002) and float(summary['lambda_high']) == pytest.approx(0.04)
  per_image = losses.per_image_bpp(out, 64 * 64)
  # The same -log2 likelihoods summed by image, then their mean, or all at once.
  count = sum(lik.size for lik in out['likelihoods'].values())
  assert float(jnp.mean(per_image)) == pytest.approx(float(out['bpp']),
                                                     rel=tolerances.relative(tolerances.depth_of_sum(count) + 4))
  # the same per-image sum, compiled in another program: another order of its terms at most
  per_image_count = count // len(per_image)
  assert float(summary['bpp_at_lambda_high']) == pytest.approx(
      float(per_image[2]), rel=tolerances.relative(tolerances.depth_of_sum(per_image_count) + 2))
  config.lambda_weight_exponent = 1.0  # each example weighed by middle / lambda
  weights = trainer.example_weights(config, lambdas)
  # float32: the quotient (and middle's float32) and the power, exp(log(w)): 2 ulps each, of |log(w)| < 2 for log
  np.testing.assert_allclose(weights, rd_lambda.middle(RANGE) / np.asarray(lambdas), rtol=tolerances.gamma(2 + 4 + 8))
  weighted, _ = losses.rate_distortion_loss(out, x, lambdas, example_weights=weights)
  assert float(weighted) == pytest.approx(float(np.mean(np.asarray(singles) * weights)),
                                          rel=rtol + tolerances.gamma(2 + 4 + 8) + tolerances.relative(3))


def test_training_lambdas_are_log_uniform_over_the_range_and_depend_on_the_sample_alone():
  config = _config()
  ids = jnp.arange(4000, dtype=jnp.int32)
  lambdas = np.asarray(trainer.training_lambdas(config, ids))
  assert lambdas.min() >= RANGE[0] and lambdas.max() <= RANGE[1]
  position = (np.log(lambdas) - np.log(RANGE[0])) / (np.log(RANGE[1]) - np.log(RANGE[0]))
  assert np.histogram(position, bins=4, range=(0, 1))[0].min() > 900  # uniform in log(lambda): 1000 per bin
  np.testing.assert_array_equal(np.asarray(trainer.training_lambdas(config, ids[100:103])), lambdas[100:103])
  assert trainer.training_lambdas(_config(lambda_range=()), ids) == config.lambda_


def test_a_converted_fixed_rate_model_is_the_same_model_at_its_own_lambda(tmp_path):
  fixed = _config(lambda_range=())
  fixed.lambda_ = 0.0067
  fixed_model, fixed_params = _init(fixed)
  variable = _config()
  variable_model, _ = _init(variable)
  params = trainer._with_gains_of_this_model(fixed_params, variable_model, fixed.to_dict(), fixed.lambda_)
  x = jax.random.uniform(jax.random.PRNGKey(3), (1, 64, 64, 3))
  want = fixed_model.apply({'params': fixed_params}, x)
  got = variable_model.apply({'params': params}, x, lambdas=jnp.full((1,), 0.0067))
  # Gains of 1 within rounding (log-gains interpolated to 0): the same networks on values a few ulps apart.
  np.testing.assert_allclose(got['x_hat'], want['x_hat'], atol=_x_hat_atol(got, want))
  assert float(got['bpp']) == pytest.approx(float(want['bpp']), rel=_bpp_rtol(got))
  lower = variable_model.apply({'params': params}, x, lambdas=jnp.full((1,), RANGE[0]))
  assert float(lower['bpp']) < float(got['bpp'])  # and it is a knob before any fine-tuning


def _trained_gains(params, seed=1):
  """Gains as training leaves them: not linear in log(lambda), as at initialisation."""
  rng = np.random.default_rng(seed)
  return {name: ({part: value + 0.1 * rng.normal(size=value.shape).astype(np.float32)
                  for part, value in unit.items()} if name.endswith('_gains') else unit)
          for name, unit in params.items()}


@pytest.mark.parametrize('family', ['mean_scale', 'grm'])
def test_a_variable_rate_model_folded_at_one_lambda_is_that_fixed_rate_model(family):
  variable = _config(family)
  variable_model, variable_params = _init(variable)
  variable_params = _trained_gains(variable_params)
  fixed = _config(family, lambda_range=())
  fixed_model, _ = _init(fixed)
  params = trainer._with_gains_of_this_model(variable_params, fixed_model, variable.to_dict(), BETWEEN_ANCHORS)
  assert not any(name.endswith('_gains') for name in params)
  x = jax.random.uniform(jax.random.PRNGKey(3), (1, 64, 64, 3))
  want = variable_model.apply({'params': variable_params}, x, lambdas=jnp.full((1,), BETWEEN_ANCHORS))
  got = fixed_model.apply({'params': params}, x)
  # The gains folded into the kernels (a rounding each): the same networks, summed in other orders.
  np.testing.assert_allclose(got['x_hat'], want['x_hat'], atol=_x_hat_atol(got, want))
  assert float(got['bpp']) == pytest.approx(float(want['bpp']), rel=_bpp_rtol(got))
  # Beyond the range: the gains high-rate theory extrapolates, as moving the model to a wider range gives them.
  wide = _config(family, lambda_range=WIDE_RANGE)
  wide_model, _ = _init(wide)
  wide_params = trainer._with_gains_of_this_model(variable_params, wide_model, variable.to_dict(), 0.013)
  beyond = trainer._with_gains_of_this_model(variable_params, fixed_model, variable.to_dict(), WIDE_RANGE[1])
  want = wide_model.apply({'params': wide_params}, x, lambdas=jnp.full((1,), WIDE_RANGE[1]))
  got = fixed_model.apply({'params': beyond}, x)
  np.testing.assert_allclose(got['x_hat'], want['x_hat'], atol=_x_hat_atol(got, want))
  assert float(got['bpp']) == pytest.approx(float(want['bpp']), rel=_bpp_rtol(got))


def test_gains_moved_to_other_anchors_keep_the_old_gains_inside_and_follow_high_rate_theory_beyond():
  old_anchors, new_anchors = gain.anchor_lambdas(RANGE, 6), gain.anchor_lambdas(WIDE_RANGE, 8)
  rng = np.random.default_rng(0)
  table = rng.normal(size=(6, 5)).astype(np.float32)
  params = {'log_gain': table, 'log_inverse_gain': -table + 0.1}
  # float64 on the anchors themselves: weights of exactly 0 and 1, nothing added beyond; equal once in float32.
  np.testing.assert_allclose(gain.reanchored_params(params, old_anchors, old_anchors)['log_gain'], table, atol=1e-6)
  moved = gain.reanchored_params(params, old_anchors, new_anchors)
  old_unit, new_unit = gain.GainUnit(5, old_anchors), gain.GainUnit(5, new_anchors)
  inside = jnp.asarray([a for a in new_anchors if a <= RANGE[1]], jnp.float32)
  assert len(inside) >= 5
  old_gains = old_unit.apply({'params': params}, inside)
  new_gains = new_unit.apply({'params': moved}, inside)
  # Each unit within _gain_rtol of the one exact function (the moved table holds its values at the new anchors, to
  # a float32 rounding); tables of normal values, so steps up to 4: 3e-4, where gains moved to the wrong anchors
  # are off by their differences, 10 % or more.
  rtol = sum(_gain_rtol(anchors, np.max(np.abs(np.diff(t, axis=0))), np.max(np.abs(t)))
             for anchors, tables in ((old_anchors, params), (new_anchors, moved)) for t in tables.values())
  for old, new in zip(old_gains, new_gains):
    np.testing.assert_allclose(new, old, rtol=rtol + tolerances.gamma(1))
  top = 0.5 * np.log(new_anchors[-1] / old_anchors[-1])  # beyond the old range: gain * sqrt(lambda / last anchor)
  # The extrapolation subtracts two float32 log-gains, 0.5 log(lambda) (|.| < 3.3) rounded, then adds and rounds.
  for name, want in (('log_gain', table[-1] + top), ('log_inverse_gain', params['log_inverse_gain'][-1] - top)):
    atol = tolerances.gamma(2) * (2 * 3.3) + tolerances.gamma(2) * np.max(np.abs(want))
    np.testing.assert_allclose(moved[name][-1], want, rtol=0, atol=atol, err_msg=name)


def test_a_variable_rate_model_widened_to_another_range_is_the_same_model_inside_the_old_one():
  narrow_model, narrow_params = _init(_config())
  narrow_params = _trained_gains(narrow_params)
  wide = _config(lambda_range=WIDE_RANGE)
  wide.model.gain_anchors = 8
  wide_model, _ = _init(wide)
  params = trainer._with_gains_of_this_model(narrow_params, wide_model, _config().to_dict(), 0.013)
  x = jax.random.uniform(jax.random.PRNGKey(3), (1, 64, 64, 3))
  for lambda_ in (0.0067, BETWEEN_ANCHORS):
    want = narrow_model.apply({'params': narrow_params}, x, lambdas=jnp.full((1,), lambda_))
    got = wide_model.apply({'params': params}, x, lambdas=jnp.full((1,), lambda_))
    # The same gains (anchors one spacing apart in both ranges) by other interpolations, then the same networks.
    gains = sum(_gain_rtol(anchors, np.max(np.abs(np.diff(t, axis=0))), np.max(np.abs(t)))
                for anchors, unit in ((gain.anchor_lambdas(RANGE, 6), narrow_params['y_gains']),
                                      (gain.anchor_lambdas(WIDE_RANGE, 8), params['y_gains'])) for t in unit.values())
    np.testing.assert_allclose(got['x_hat'], want['x_hat'],
                               atol=_x_hat_atol(got, want) + gains * float(np.max(np.abs(want['x_hat']))))
  edge, top = (wide_model.apply({'params': params}, x, lambdas=jnp.full((1,), lambda_))['bpp']
               for lambda_ in (RANGE[1], WIDE_RANGE[1]))
  assert float(top) > float(edge)  # lambda 0.18: finer quantisers than at the old range's top


def test_init_from_a_fixed_rate_run_trains_its_variable_rate_form_and_back(tmp_path, capsys):
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  fixed = _config(lambda_range=())
  fixed.train_data, fixed.num_steps = f'folder:{tmp_path / "images"}', 2
  trainer.train_and_evaluate(fixed, str(tmp_path / 'fixed'))
  variable = _config()
  variable.train_data, variable.num_steps, variable.init_from = fixed.train_data, 2, str(tmp_path / 'fixed')
  state = trainer.train_and_evaluate(variable, str(tmp_path / 'variable'))
  assert set(state['params']) >= {'y_gains', 'z_gains'}
  assert 'lambda 0.00' in capsys.readouterr().out  # the log says which lambdas the batches saw
  back = _config(lambda_range=())  # a fixed-rate run of one lambda from the variable-rate one: its gains folded
  back.lambda_, back.learning_rate, back.init_from = BETWEEN_ANCHORS, 0.0, str(tmp_path / 'variable')
  back.train_data, back.num_steps = fixed.train_data, 1
  folded = trainer.train_and_evaluate(back, str(tmp_path / 'back'))['params']
  want = gain_folding.folded_gains(state['params'], models.check_model_config(variable.model.to_dict()),
                                   BETWEEN_ANCHORS)
  assert set(folded) == set(want) and 'y_gains' not in folded
  for net, layer in (('g_a', 'conv_3'), ('g_s', 'deconv_0'), ('h_a', 'conv_2'), ('h_s', 'deconv_0')):
    # The same numpy float32 folding of the same parameters (a float32 checkpoint, a step at learning rate 0
    # moves nothing): equal, not a rounding allowance.
    np.testing.assert_allclose(folded[net][layer]['kernel'], want[net][layer]['kernel'], rtol=1e-5, atol=1e-7)


# ---- the codec


@pytest.fixture(scope='module')
def variable_dirs(tmp_path_factory):
  dirs = {}
  for family in models.FAMILIES:
    config = _config(family)
    _, params = _init(config)
    dirs[family] = tmp_path_factory.mktemp(f'{family}_variable') / 'model'
    model_dir.export(params, config, dirs[family])
  fixed = _config(lambda_range=())
  _, params = _init(fixed)
  dirs['fixed'] = tmp_path_factory.mktemp('fixed') / 'model'
  model_dir.export(params, fixed, dirs['fixed'])
  return dirs


def _photo(natural_image, size=(48, 80)):
  return image_io.to_uint8(natural_image[100:100 + size[0], 300:300 + size[1]])


@pytest.mark.parametrize('family', models.FAMILIES)
def test_round_trips_are_exact_at_the_ends_and_between_the_anchors(family, variable_dirs, natural_image):
  codec = grm_jax.load(variable_dirs[family])
  assert codec.variable_rate and codec.lambda_range == RANGE
  image = _photo(natural_image)
  sizes = []
  for lambda_ in (RANGE[0], BETWEEN_ANCHORS, RANGE[1]):
    encoded = codec.encode(image, lambda_=lambda_)
    decoded = codec.decode(encoded.data)  # no lambda given: the file carries it
    np.testing.assert_array_equal(decoded.image, encoded.reconstruction, err_msg=str(lambda_))
    np.testing.assert_array_equal(decoded.y_hat, encoded.y_hat, err_msg=str(lambda_))
    header, _ = bitstream.unpack(encoded.data)
    assert header.version == 2 and header.lambda_ == float(np.float32(lambda_))
    sizes.append(len(encoded.data))
  if family != 'factorized':  # an untrained factorized model's y is too small to feel the gain
    assert sizes[0] < sizes[2], sizes


def test_lambda_outside_the_range_and_on_a_fixed_rate_model_is_refused(variable_dirs, natural_image):
  image = _photo(natural_image)
  with pytest.raises(GrmError, match=r"outside this model's range 0.0018 to 0.0483"):
    grm_jax.load(variable_dirs['mean_scale']).encode(image, lambda_=0.1)
  fixed = grm_jax.load(variable_dirs['fixed'])
  with pytest.raises(GrmError, match='fixed-rate'):
    fixed.encode(image, lambda_=0.005)
  assert fixed.decode(fixed.compress(image, lambda_=fixed.config.lambda_)).image.shape == image.shape


def test_a_version_1_file_still_decodes(variable_dirs, natural_image):
  codec = grm_jax.load(variable_dirs['fixed'])
  encoded = codec.encode(_photo(natural_image))
  body = encoded.data[:-4]
  old = body[:4] + bytes([1]) + body[5:29] + body[34:]  # version 1: no lambda and no arithmetic byte
  old += struct.pack('>I', zlib.crc32(old))
  header, _ = bitstream.unpack(old)
  assert header.version == 1 and header.lambda_ is None
  np.testing.assert_array_equal(codec.decode(old).image, encoded.reconstruction)
  future = bytearray(encoded.data)
  future[4] = 4
  with pytest.raises(GrmError, match=r'unsupported .grm format version 4 \(this grm_jax reads versions 1, 2, 3\)'):
    bitstream.unpack(bytes(future))


def test_a_file_whose_lambda_is_outside_the_range_is_refused(variable_dirs, natural_image):
  codec = grm_jax.load(variable_dirs['mean_scale'])
  body = bytearray(codec.compress(_photo(natural_image), lambda_=0.01)[:-4])
  body[29:33] = struct.pack('>f', 1.0)
  forged = bytes(body) + struct.pack('>I', zlib.crc32(bytes(body)))
  with pytest.raises(GrmError, match="no lambda in this model's range"):
    codec.decode(forged)


def test_quality_levels_are_compressai_lambdas_interpolated_in_the_log_domain():
  assert rd_lambda.quality_to_lambda(3) == pytest.approx(0.0067)  # float64: within 1e-6 by far
  assert rd_lambda.quality_to_lambda(3.5) == pytest.approx(np.sqrt(0.0067 * 0.0130))
  with pytest.raises(GrmError, match='outside 1 to 8'):
    rd_lambda.quality_to_lambda(9)


def test_rate_control_finds_the_largest_file_under_the_target(variable_dirs, natural_image):
  codec = grm_jax.load(variable_dirs['mean_scale'])
  image = _photo(natural_image, (64, 96))
  low, high = (len(codec.compress(image, lambda_=v)) for v in RANGE)
  target = (low + high) // 2
  search = rate_control.fit_to_size(codec, image, target)
  assert search.reached and len(search.result.data) <= target and RANGE[0] <= search.lambda_ <= RANGE[1]
  assert len(search.result.data) >= 0.9 * target or search.encodes == 12, (len(search.result.data), target)
  assert codec.decode(search.result.data).image.shape == image.shape
  too_small = rate_control.fit_to_size(codec, image, low - 1)
  assert not too_small.reached and len(too_small.result.data) == low


def test_compress_command_lambda_quality_and_target_rate(capsys, tmp_path, variable_dirs, natural_image):
  source = tmp_path / 'photo.png'
  image_io.write_png(source, _photo(natural_image, (64, 96)))
  model = str(variable_dirs['mean_scale'])
  assert cli.main(['compress', str(source), str(tmp_path / 'q.grm'), '--model', model, '--quality', '2.5']) == 0
  assert 'lambda 0.0048' in capsys.readouterr().out  # sqrt(0.0035 * 0.0067)
  assert cli.main(['compress', str(source), str(tmp_path / 'b.grm'), '--model', model, '--bpp', '0.5']) == 0
  out = capsys.readouterr().out
  assert 'target' in out and 'reached' in out
  assert 8 * (tmp_path / 'b.grm').stat().st_size / (64 * 96) <= 0.5
  assert cli.main(['decompress', str(tmp_path / 'b.grm'), str(tmp_path / 'b.png'), '--model', model]) == 0
  assert cli.main(['roundtrip', str(source), '--model', model, '--lambda', '0.002', '--out-dir',
                   str(tmp_path / 'demo')]) == 0
  out = capsys.readouterr().out
  assert 'lambda 0.002 of 0.0018-0.0483' in out and 'decoder exact' in out
  (tmp_path / 'keep.grm').write_bytes(b'old')
  for flags, message in ((['--lambda', '0.5'], "outside this model's range"), (['--quality', '0'], 'outside 1 to 8'),
                         (['--bpp', '-1'], 'must be positive')):
    assert cli.main(['compress', str(source), str(tmp_path / 'keep.grm'), '--model', model, '--force'] + flags) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
  assert (tmp_path / 'keep.grm').read_bytes() == b'old'


def test_evaluate_draws_a_curve_from_one_model(tmp_path, variable_dirs, natural_image):
  folder = tmp_path / 'images'
  folder.mkdir()
  image_io.write_png(folder / 'a.png', _photo(natural_image))
  out = tmp_path / 'curve.json'
  result = run_python(['evaluate.py', '--model', str(variable_dirs['mean_scale']), '--lambda', '0.0018',
                       '--lambda', '0.0483', '--lambda', '0.01', '--data', str(folder), '--out', str(out)])
  assert result.returncode == 0, result.stderr
  curve = json.loads(out.read_text())['results']
  assert curve['lambda'] == sorted(curve['lambda']) and len(curve['lambda']) == 3  # sorted by rate: monotone
  assert curve['bpp'] == sorted(curve['bpp'])
  refused = run_python(['evaluate.py', '--model', str(variable_dirs['fixed']), '--lambda', '0.01', '--data',
                        str(folder), '--out', str(tmp_path / 'x.json')])
  assert refused.returncode == 1 and 'fixed-rate' in refused.stderr and not (tmp_path / 'x.json').exists()


def test_models_listing_shows_the_range(variable_dirs):
  from grm_jax import zoo  # pylint: disable=import-outside-toplevel
  meta = json.loads((variable_dirs['mean_scale'] / 'model.json').read_text())
  meta['config'] = json.loads((variable_dirs['mean_scale'] / 'config.json').read_text())
  line = zoo.describe({'name': 'vr', 'meta': meta})
  assert 'lambda 0.0018-0.0483' in line, line
