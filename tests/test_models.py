"""Every configuration builds, and runs one jit-compiled forward and backward pass with finite values."""
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import config_flags  # noqa: F401  (the loader train.py uses)

from grm_jax import losses, models
from tests import tolerances

CONFIGS = sorted(p.stem for p in (pathlib.Path(__file__).resolve().parents[1] / 'configs').glob('*.py')
                 if p.stem != '__init__')


def _load(name):
  import importlib
  return importlib.import_module(f'grm_jax.configs.{name}').get_config()


@pytest.mark.parametrize('name', CONFIGS)
def test_config_trains_one_step_and_evaluates(name):
  config = _load(name)
  model = models.build(config)
  x = jax.random.uniform(jax.random.PRNGKey(0), (1, 64, 64, 3))
  variables = model.init({'params': jax.random.PRNGKey(1), 'noise': jax.random.PRNGKey(2)}, x)

  @jax.jit
  def train_step(params):
    def loss_fn(p):
      out = model.apply({'params': p}, x, train=True, rngs={'noise': jax.random.PRNGKey(3)})
      return losses.rate_distortion_loss(out, x, config.lambda_, 'mse', config.stage_rate_weight)
    (loss, summary), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return loss, summary, grads, model.apply({'params': params}, x)

  loss, summary, grads, evaluation = train_step(variables['params'])
  assert np.isfinite(float(loss))
  assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
  assert any(float(jnp.max(jnp.abs(g))) > 0 for g in jax.tree_util.tree_leaves(grads))
  assert evaluation['x_hat'].shape == x.shape
  assert np.isfinite(float(evaluation['bpp'])) and float(evaluation['bpp']) > 0


@pytest.mark.parametrize('family', models.FAMILIES)
@pytest.mark.parametrize('norm', ['gdn', 'gsdn'])
def test_family_outputs(family, norm):
  config = _load('tiny')
  config.model.family, config.model.norm = family, norm
  model = models.build(config)
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 37, 70, 3))  # padded to 64 x 128 inside, cropped back
  variables = model.init({'params': jax.random.PRNGKey(1)}, x)
  out = jax.jit(lambda v, x: model.apply(v, x))(variables, x)
  assert out['x_hat'].shape == x.shape
  assert out['likelihoods']['y'].shape == (2, 4, 8, config.model.latent_channels)
  assert ('z' in out['likelihoods']) == (family != 'factorized')
  # bpp is the information content over the original pixels. Both sums add the same -log2 likelihoods (all >= 0;
  # log2 to 2 ulps), in jit and out of it, in any order: 1e-4 apart at most, where the padded pixel count (3.2
  # times) or ln for log2 (0.69 times) is far off.
  bits = -sum(float(jnp.sum(jnp.log2(lik))) for lik in out['likelihoods'].values())
  count = sum(lik.size for lik in out['likelihoods'].values())
  assert float(out['bpp']) == pytest.approx(bits / (2 * 37 * 70),
                                            rel=tolerances.relative(tolerances.depth_of_sum(count) + 4 + 2))
  # Evaluation rounds: the latent that the decoder sees is integral relative to the coding offsets.
  if family in ('factorized', 'context', 'grm'):
    np.testing.assert_array_equal(out['y_hat'], jnp.round(out['y_hat']))


@pytest.mark.parametrize('field, value, message', [
    ('family', 'nope', "model.family must be one of factorized, hyperprior, mean_scale, context, grm, checkerboard, grm_checkerboard, "
     "got 'nope'"),
    ('channels', 0, 'model.channels must be an integer from 1 to 1024, got 0'),
    ('latent_channels', 10 ** 9, 'model.latent_channels must be an integer from 1 to 1024'),
    ('hidden', True, 'model.hidden must be an integer'),
    ('hidden', 16.0, 'model.hidden must be an integer'),
    ('norm', None, 'model.norm must be one of gdn, gsdn'),
    ('use_reference', 'yes', 'model.use_reference must be true or false'),
    ('lambda_range', (0.1, 0.01), 'model.lambda_range must have low < high'),
    ('lambda_range', (0.01, float('nan')), 'model.lambda_range must be a number'),
    ('lambda_range', (0.01,), 'model.lambda_range must be empty or'),
])
def test_build_refuses_a_config_that_describes_no_model(field, value, message):
  config = _load('tiny').model.to_dict()
  config[field] = value
  with pytest.raises(ValueError, match=re.escape(message)):
    models.build(config)


def test_ms_ssim_distortion_loss(natural_image):
  from grm_jax import metrics
  config = _load('tiny')
  model = models.build(config)
  x = jnp.asarray(natural_image[None, 64:256, 128:320])  # 192x192: MS-SSIM needs 161 pixels or more
  variables = model.init({'params': jax.random.PRNGKey(1)}, x)

  def loss_fn(params):
    out = model.apply({'params': params}, x, train=True, rngs={'noise': jax.random.PRNGKey(2)})
    loss, summary = losses.rate_distortion_loss(out, x, 0.5, 'ms-ssim')
    return loss, (summary, out)

  (loss, (summary, out)), grads = jax.value_and_grad(loss_fn, has_aux=True)(variables['params'])
  expected = 0.5 * (1 - float(metrics.ms_ssim(jnp.clip(out['x_hat'], 0, 1), x)[0])) + float(summary['bpp'])
  # The same float32 operations on the same arrays, one machine, but for the product of the scales' 5 terms, which
  # the gradient's trace multiplies in another order (4 roundings; MS-SSIM is 0.13 here, and reaches the loss
  # diminished), and the loss's own 1 - MS-SSIM, lambda times it and + bpp (3).
  assert float(loss) == pytest.approx(expected, rel=tolerances.relative(4 + 3))
  assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
  with pytest.raises(ValueError, match='unknown distortion'):
    losses.rate_distortion_loss(out, x, 0.5, 'l1')


def test_bfloat16_transforms_keep_float32_parameters_entropy_model_and_outputs():
  config = _load('tiny')
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 64, 64, 3))
  full = models.build(config)
  params = full.init({'params': jax.random.PRNGKey(1)}, x)['params']
  config.model.transform_dtype = 'bfloat16'
  mixed = models.build(config)
  assert jax.tree_util.tree_structure(mixed.init({'params': jax.random.PRNGKey(1)}, x)['params']) == \
      jax.tree_util.tree_structure(params)
  assert all(p.dtype == jnp.float32 for p in jax.tree_util.tree_leaves(
      mixed.init({'params': jax.random.PRNGKey(1)}, x)['params']))
  jaxpr = str(jax.make_jaxpr(lambda p: mixed.apply({'params': p}, x))(params))
  assert 'conv_general_dilated' in jaxpr and 'bf16[2,32,32,8]' in jaxpr  # g_a's first layer runs in bfloat16
  out_mixed, out_full = mixed.apply({'params': params}, x), full.apply({'params': params}, x)
  assert out_mixed['x_hat'].dtype == jnp.float32 and out_mixed['likelihoods']['y'].dtype == jnp.float32
  # bfloat16 transforms (unit roundoff 2^-8) against float32 ones: an approximation by design, not a float32
  # rounding bound.
  np.testing.assert_allclose(np.asarray(out_mixed['x_hat']), np.asarray(out_full['x_hat']), atol=0.05)
  assert abs(float(out_mixed['bpp']) / float(out_full['bpp']) - 1) < 0.05

  def loss_fn(p):
    out = mixed.apply({'params': p}, x, train=True, rngs={'noise': jax.random.PRNGKey(3)})
    return losses.rate_distortion_loss(out, x, config.lambda_)[0]
  grads = jax.grad(loss_fn)(params)
  assert all(g.dtype == jnp.float32 and np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
  assert float(jnp.max(jnp.abs(grads['g_a']['conv_0']['kernel']))) > 0


def test_unknown_transform_dtype_is_refused():
  config = _load('tiny')
  config.model.transform_dtype = 'float8'
  with pytest.raises(ValueError, match='transform_dtype'):
    models.build(config).init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
