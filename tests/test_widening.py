"""Widening g_a and g_s (models/widening.py): the wider model codes exactly as the narrow one did, its new channels
learn, and init_from grows a narrow run into a wider config."""
import jax
import numpy as np
import pytest

from grm_jax import losses, models
from grm_jax.configs import tiny
from grm_jax.models import widening
from grm_jax.training import trainer
from tests.helpers import write_image_folder

WIDER = 16  # tiny's N is 8


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
  grown = widening.widened_transforms(old, fresh)
  assert grown['g_a']['conv_1']['kernel'].shape == (5, 5, WIDER, WIDER)
  assert grown['g_s']['inorm_0']['norm']['gamma'].shape == (WIDER, WIDER)
  before, after = narrow.apply({'params': old}, x), wide.apply({'params': grown}, x)
  np.testing.assert_allclose(after['x_hat'], before['x_hat'], atol=1e-5)
  np.testing.assert_allclose(after['bpp'], before['bpp'], rtol=1e-5)

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
    widening.widened_transforms(wide.init(jax.random.PRNGKey(0), x)['params'],
                                narrow.init(jax.random.PRNGKey(0), x)['params'])


def test_init_from_a_narrow_run_grows_its_transforms(tmp_path):
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
  config.init_from, config.model.transform_channels = str(tmp_path / 'wide'), 0
  with pytest.raises(trainer.GrmError, match='does not match'):
    trainer.train_and_evaluate(config, str(tmp_path / 'narrowed'))
