"""Growing a trained model (models/widening.py): g_a and g_s, or y with the networks of its entropy model; the grown
model codes as the narrow one did, its new channels learn, and init_from grows a narrow run into a wider config."""
import jax
import numpy as np
import pytest

from grm_jax import losses, models
from grm_jax.configs import tiny
from grm_jax.models import widening
from grm_jax.training import trainer
from tests import tolerances
from tests.helpers import write_image_folder

WIDER = 16  # tiny's N is 8
MORE_LATENTS = 20  # tiny's M is 12


def _models():
  narrow = tiny.get_config()
  wide = tiny.get_config()
  wide.model.transform_channels = WIDER
  return narrow, models.build(narrow), models.build(wide)


def _trained_like(params, seed=0):
  """params with every value moved at random (GDN/GSDN matrices no longer diagonal), as training leaves them."""
  leaves, tree = jax.tree_util.tree_flatten(params)
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  return jax.tree_util.tree_unflatten(tree, [np.asarray(p) + 0.05 * np.asarray(jax.random.normal(k, p.shape))
                                             for p, k in zip(leaves, keys)])


def test_the_widened_model_codes_exactly_as_the_narrow_one_and_its_new_channels_learn(natural_image):
  config, narrow, wide = _models()
  x = np.asarray(natural_image[None, :64, :64])
  old = _trained_like(narrow.init(jax.random.PRNGKey(1), x)['params'])
  fresh = wide.init(jax.random.PRNGKey(2), x)['params']
  grown = widening.grown_params(old, fresh, wide)
  assert grown['g_a']['conv_1']['kernel'].shape == (5, 5, WIDER, WIDER)
  assert grown['g_s']['inorm_0']['norm']['gamma'].shape == (WIDER, WIDER)
  before, after = narrow.apply({'params': old}, x), wide.apply({'params': grown}, x)
  # The new channels add exact zeros, but the wider sums may run in other orders (tolerances.network, to the
  # scale of x_hat; bpp also sums its -log2 likelihoods in any order).
  network = tolerances.network(tolerances.tiny_depth(channels=WIDER))
  count = sum(lik.size for lik in after['likelihoods'].values())
  np.testing.assert_allclose(after['x_hat'], before['x_hat'], atol=network * float(np.max(np.abs(before['x_hat']))))
  np.testing.assert_allclose(after['bpp'], before['bpp'],
                             rtol=network + tolerances.relative(tolerances.depth_of_sum(count) + 2))

  def loss(params):
    out = wide.apply({'params': params}, x, train=True, rngs={'noise': jax.random.PRNGKey(3)})
    return losses.rate_distortion_loss(out, x, config.lambda_, 'mse', config.stage_rate_weight)[0]

  gradient = jax.grad(loss)(grown)
  for layer in ('conv_1', 'conv_2', 'conv_3'):  # the zero weights from new channels into old ones
    assert np.abs(gradient['g_a'][layer]['kernel'][:, :, 8:, :8]).max() > 0, layer
  assert np.abs(gradient['g_s']['deconv_3']['kernel'][:, :, 8:]).max() > 0  # 3 outputs, all old


def test_a_wider_model_is_not_narrowed():
  _, narrow, wide = _models()
  x = np.zeros((1, 64, 64, 3), np.float32)
  with pytest.raises(ValueError, match='g_a/conv_0/kernel is .* wider than'):
    widening.grown_params(wide.init(jax.random.PRNGKey(0), x)['params'],
                          narrow.init(jax.random.PRNGKey(0), x)['params'], narrow)


def _latent_models(family, **options):
  narrow = tiny.get_config()
  narrow.model.family, narrow.model.lambda_range = family, (0.002, 0.05)
  narrow.model.update(options)
  grown = tiny.get_config()
  grown.model.update(narrow.model.to_dict())
  grown.model.latent_channels, grown.model.hidden = MORE_LATENTS, 24
  return narrow, models.build(narrow.model.to_dict()), models.build(grown.model.to_dict())


@pytest.mark.parametrize('family,options', [
    ('context', {}), ('mean_scale', {}), ('hyperprior', {}), ('grm', {'gating': 'blind'}),
    ('grm', {'use_confidence': False, 'gating': 'channels', 'references': 2}),  # every block of the reference
    ('grm', {})], ids=['context', 'mean_scale', 'hyperprior', 'grm-blind', 'grm-every-reference-block', 'grm'])
def test_a_model_grown_to_more_latent_channels_codes_as_before_and_its_new_channels_learn(natural_image, family,
                                                                                          options):
  config, narrow, grown_model = _latent_models(family, **options)
  x = np.asarray(natural_image[None, :64, :64])
  lambdas = np.full((1,), 0.01, np.float32)
  old = _trained_like(narrow.init(jax.random.PRNGKey(1), x)['params'])
  grown = widening.grown_params(old, grown_model.init(jax.random.PRNGKey(2), x)['params'], grown_model)
  before = narrow.apply({'params': old}, x, lambdas=lambdas)
  after = grown_model.apply({'params': grown}, x, lambdas=lambdas)
  # As above (tolerances.network): the new channels add exact zeros to sums that may run in other orders.
  network = tolerances.network(tolerances.tiny_depth(latent_channels=MORE_LATENTS, hidden=24))
  np.testing.assert_allclose(after['x_hat'], before['x_hat'], atol=network * float(np.max(np.abs(before['x_hat']))))
  # z_hat the same integers under the same density: equal but for the density's sums (3 wide) and a rounding of z
  # that flips, which this test would show.
  np.testing.assert_allclose(after['likelihoods']['z'], before['likelihoods']['z'], rtol=network)
  old_channels, new_channels = after['likelihoods']['y'][..., :12], after['likelihoods']['y'][..., 12:]
  assert np.min(new_channels) > 0.999  # zeros at the smallest scale: next to no rate
  if family == 'grm' and not options:  # its confidence U is a mean over y's channels: close, not equal
    np.testing.assert_allclose(after['bpp'], before['bpp'], rtol=0.1)  # an approximation by design
  else:
    # A bin's likelihood moves at most 2 + 2 |ln l| times as much as its mean and scale do, relative to the scale
    # (x^2 = 2 |ln l| in the normal tail), and l >= 1e-9.
    condition = 2 + 2 * float(np.max(np.abs(np.log(before['likelihoods']['y']))))
    np.testing.assert_allclose(old_channels, before['likelihoods']['y'], rtol=network * condition)

  def loss(params):
    out = grown_model.apply({'params': params}, x, train=True, lambdas=lambdas, rngs={'noise': jax.random.PRNGKey(3)})
    return losses.rate_distortion_loss(out, x, 0.01, 'mse', config.stage_rate_weight)[0]

  gradient = jax.grad(loss)(grown)
  assert np.abs(gradient['g_a']['conv_3']['kernel'][..., 12:]).max() > 0  # y's new channels start to carry
  if grown_model.autoregressive:  # the new channels' means and scales learn at once
    last = gradient['y_parameters']['final_params']['dense_2']['kernel']
    assert np.abs(last[:, 12:MORE_LATENTS]).max() > 0 and np.abs(last[:, MORE_LATENTS + 12:]).max() > 0


@pytest.mark.parametrize('change', [{'channels': 12}, {'gating': 'channels'}, {'family': 'context'}])
def test_only_channels_grow(change):
  """A source of another N, gating or family is not a narrower form of the model, even where y grows."""
  _, narrow, _ = _latent_models('grm')
  wider = tiny.get_config()
  wider.model.update({'family': 'grm', 'lambda_range': (0.002, 0.05), **change})
  wider.model.latent_channels = MORE_LATENTS
  wider = models.build(wider.model.to_dict())
  x = np.zeros((1, 64, 64, 3), np.float32)
  params = narrow.init(jax.random.PRNGKey(0), x)['params']
  with pytest.raises(ValueError, match="fewer channels|parts"):
    widening.grown_params(params, wider.init(jax.random.PRNGKey(0), x)['params'], wider)


def test_y_grows_only_with_a_hyperprior():
  narrow, grown = tiny.get_config(), tiny.get_config()
  narrow.model.family = grown.model.family = 'factorized'
  grown.model.latent_channels = MORE_LATENTS
  narrow, grown = models.build(narrow.model.to_dict()), models.build(grown.model.to_dict())
  x = np.zeros((1, 64, 64, 3), np.float32)
  with pytest.raises(ValueError, match='hyperprior'):
    widening.grown_params(narrow.init(jax.random.PRNGKey(0), x)['params'],
                          grown.init(jax.random.PRNGKey(0), x)['params'], grown)


def test_init_from_a_narrow_run_grows_its_transforms_and_its_latents(tmp_path):
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps = f'folder:{tmp_path / "images"}', 2
  first = trainer.train_and_evaluate(config, str(tmp_path / 'narrow'))
  config.init_from, config.num_steps, config.learning_rate = str(tmp_path / 'narrow'), 1, 0.0
  config.model.transform_channels = WIDER
  second = trainer.train_and_evaluate(config, str(tmp_path / 'wide'))  # lr 0: the parameters pass through
  np.testing.assert_array_equal(second['params']['g_a']['conv_0']['kernel'][..., :8],
                                first['params']['g_a']['conv_0']['kernel'])
  np.testing.assert_array_equal(second['params']['h_a']['conv_0']['kernel'], first['params']['h_a']['conv_0']['kernel'])
  config.init_from, config.model.latent_channels = str(tmp_path / 'wide'), MORE_LATENTS
  grown = trainer.train_and_evaluate(config, str(tmp_path / 'more_latents'))
  np.testing.assert_array_equal(grown['params']['g_a']['conv_3']['kernel'][..., :12],
                                second['params']['g_a']['conv_3']['kernel'])
  assert not np.any(grown['params']['g_a']['conv_3']['kernel'][..., 12:])
  config.init_from, config.model.transform_channels = str(tmp_path / 'wide'), 0
  with pytest.raises(trainer.GrmError, match='does not match'):
    trainer.train_and_evaluate(config, str(tmp_path / 'narrowed'))
