"""Layers: GDN and GSDN against their formulas, the sub-pixel up-sampling against a true transposed convolution."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.layers import GDN, GSDN, MaskedConv, SubpixelConvTranspose, gather_patches, lower_bound, nonneg


def _random_params(variables, key):
  """Moves every parameter away from its initial value, so that the formulas are tested in general."""
  leaves, tree = jax.tree_util.tree_flatten(variables)
  keys = jax.random.split(key, len(leaves))
  return jax.tree_util.tree_unflatten(
      tree, [leaf + 0.2 * jax.random.uniform(k, leaf.shape) for leaf, k in zip(leaves, keys)])


@pytest.mark.parametrize('inverse', [False, True])
def test_gdn_matches_formula(inverse):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 6, 4))
  layer = GDN(inverse=inverse)
  variables = _random_params(layer.init(jax.random.PRNGKey(1), x), jax.random.PRNGKey(2))
  p = variables['params']['norm']
  beta, gamma = np.asarray(nonneg(p['beta'], 1e-6)), np.asarray(nonneg(p['gamma']))
  xn = np.asarray(x, np.float64)
  norm = np.sqrt(beta + np.einsum('bhwj,ij->bhwi', xn**2, gamma))
  expected = xn * norm if inverse else xn / norm
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('inverse', [False, True])
def test_gsdn_matches_formula(inverse):
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 6, 4))
  layer = GSDN(inverse=inverse)
  variables = _random_params(layer.init(jax.random.PRNGKey(1), x), jax.random.PRNGKey(3))
  p = variables['params']
  b, g = np.asarray(nonneg(p['norm']['beta'], 1e-6)), np.asarray(nonneg(p['norm']['gamma']))
  b_mean, g_mean = np.asarray(nonneg(p['mean_bias'])), np.asarray(nonneg(p['mean_matrix']))
  xn = np.asarray(x, np.float64)
  norm = np.sqrt(b + np.einsum('bhwj,ij->bhwi', xn**2, g))
  mean = b_mean + np.einsum('bhwj,ij->bhwi', xn, g_mean)
  expected = xn * norm + mean if inverse else (xn - mean) / norm
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=1e-5, atol=1e-6)


def test_gsdn_initial_values():
  """b = 1, G = 0.1 I, G' = 0.1 I, b' = 0, as in the authors' code."""
  x = jnp.ones((1, 2, 2, 3))
  p = GSDN().init(jax.random.PRNGKey(0), x)['params']
  np.testing.assert_allclose(nonneg(p['norm']['beta'], 1e-6), np.ones(3), atol=1e-6)
  np.testing.assert_allclose(nonneg(p['norm']['gamma']), 0.1 * np.eye(3), atol=1e-6)
  np.testing.assert_allclose(nonneg(p['mean_matrix']), 0.1 * np.eye(3), atol=1e-6)
  np.testing.assert_allclose(nonneg(p['mean_bias']), np.zeros(3), atol=1e-6)


def test_igsdn_approximately_inverts_gsdn_at_init():
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 16), minval=-1.0, maxval=1.0)
  forward, inverse = GSDN(), GSDN(inverse=True)
  y = forward.apply(forward.init(jax.random.PRNGKey(1), x), x)
  x_back = inverse.apply(inverse.init(jax.random.PRNGKey(2), y), y)
  # Not exact by design (a learned inverse): within 3% of the input's scale at initialisation.
  assert float(jnp.max(jnp.abs(x_back - x))) < 0.03
  assert float(jnp.max(jnp.abs(y - x))) > 0.05  # while GSDN itself does change its input


@pytest.mark.parametrize('shape', [(2, 7, 9, 3), (1, 4, 4, 5), (1, 1, 1, 2)])
def test_subpixel_equals_transposed_convolution(shape):
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  layer = SubpixelConvTranspose(4)
  variables = layer.init(jax.random.PRNGKey(1), x)
  kernel, bias = variables['params']['kernel'], variables['params']['bias']
  reference = jax.lax.conv_transpose(x, kernel, (2, 2), ((2, 3), (2, 3)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC')) + bias
  out = layer.apply(variables, x)
  assert out.shape == (shape[0], 2 * shape[1], 2 * shape[2], 4)
  np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_subpixel_matches_flax_conv_transpose_semantics():
  """The same layer as flax.linen.ConvTranspose(5x5, stride 2, padding ((2, 3), (2, 3))) with the same kernel."""
  import flax.linen as nn
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 6, 5, 3))
  ours = SubpixelConvTranspose(2)
  variables = ours.init(jax.random.PRNGKey(1), x)
  theirs = nn.ConvTranspose(2, (5, 5), strides=(2, 2), padding=((2, 3), (2, 3)))
  np.testing.assert_allclose(ours.apply(variables, x), theirs.apply(variables, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kind,size', [('context', 5), ('reference', 3)])
def test_masked_conv_patches_equal_full_convolution(kind, size):
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 6, 7, 3))
  layer = MaskedConv(5, 3, kind, size)
  variables = layer.init(jax.random.PRNGKey(1), x)
  full = layer.apply(variables, x)[0]
  rows, cols = jnp.array([0, 2, 5, 5]), jnp.array([0, 3, 6, 0])
  padded = jnp.pad(x[0], ((2, 2), (2, 2), (0, 0)))
  at = layer.apply(variables, gather_patches(padded, rows, cols, size, 2 - size // 2), method=layer.at_patches)
  np.testing.assert_allclose(at, full[rows, cols], rtol=1e-5, atol=1e-6)


def test_lower_bound_gradient_rule():
  """The gradient passes above the bound, and below it only where descent raises the value."""
  grad_up = jax.grad(lambda x: -lower_bound(x, 1.0))(0.5)  # descent increases x: passes
  grad_down = jax.grad(lambda x: lower_bound(x, 1.0))(0.5)  # descent decreases x further: blocked
  grad_above = jax.grad(lambda x: lower_bound(x, 1.0))(2.0)
  assert (float(grad_up), float(grad_down), float(grad_above)) == (-1.0, 0.0, 1.0)
