"""Layers: GDN and GSDN against their formulas, the sub-pixel up-sampling against a true transposed convolution."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.layers import (GDN, GSDN, MaskedConv, PhaseConvTranspose, SubpixelConvTranspose, gather_patches,
                            lower_bound, nonneg)
from tests import tolerances

# The norm sqrt(b + G x^2) over 4 channels in float32: the parameters (squared, less the pedestal: 2 roundings),
# x^2, the products, 4 additions, the square root (which halves the error before it): within gamma(10) of exact.
NORM_DEPTH = 2 + 1 + 1 + 4 + 1 + 1


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
  # x times or over the norm: no cancellation, so within gamma of exact elementwise, relative.
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=tolerances.gamma(NORM_DEPTH + 1))


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
  # The mean b' + G' x (parameters 2 roundings, products 1, 4 additions) and x cancel: within gamma of exact
  # relative to the sum of their magnitudes, over or times the norm; a transposed G or G' is off by 0.1 or more.
  mean_magnitude = b_mean + np.einsum('bhwj,ij->bhwi', np.abs(xn), g_mean)
  magnitude = np.abs(xn) * norm + mean_magnitude if inverse else (np.abs(xn) + mean_magnitude) / norm
  np.testing.assert_allclose(layer.apply(variables, x), expected, rtol=0,
                             atol=tolerances.gamma(2 + 1 + 4 + 1 + NORM_DEPTH + 1) * magnitude.max())


def test_gsdn_initial_values():
  """b = 1, G = 0.1 I, G' = 0.1 I, b' = 0, as in the authors' code."""
  x = jnp.ones((1, 2, 2, 3))
  p = GSDN().init(jax.random.PRNGKey(0), x)['params']
  stored = tolerances.gamma(5)  # values <= 1: float32, + pedestal, sqrt; squared back, - pedestal
  np.testing.assert_allclose(nonneg(p['norm']['beta'], 1e-6), np.ones(3), atol=stored)
  np.testing.assert_allclose(nonneg(p['norm']['gamma']), 0.1 * np.eye(3), atol=stored)
  np.testing.assert_allclose(nonneg(p['mean_matrix']), 0.1 * np.eye(3), atol=stored)
  np.testing.assert_allclose(nonneg(p['mean_bias']), np.zeros(3), atol=stored)


def test_igsdn_approximately_inverts_gsdn_at_init():
  x = jax.random.uniform(jax.random.PRNGKey(0), (2, 8, 8, 16), minval=-1.0, maxval=1.0)
  forward, inverse = GSDN(), GSDN(inverse=True)
  y = forward.apply(forward.init(jax.random.PRNGKey(1), x), x)
  x_back = inverse.apply(inverse.init(jax.random.PRNGKey(2), y), y)
  # Not exact by design (a learned inverse): within 3% of the input's scale at initialisation.
  assert float(jnp.max(jnp.abs(x_back - x))) < 0.03
  assert float(jnp.max(jnp.abs(y - x))) > 0.05  # while GSDN itself does change its input


@pytest.mark.parametrize('layer_class', [SubpixelConvTranspose, PhaseConvTranspose])
@pytest.mark.parametrize('shape', [(2, 7, 9, 3), (1, 4, 4, 5), (1, 1, 1, 2)])
def test_subpixel_equals_transposed_convolution(shape, layer_class):
  """Both up-sampling forms (one sub-pixel convolution; four phase convolutions) are the transposed convolution."""
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  layer = layer_class(4)
  variables = layer.init(jax.random.PRNGKey(1), x)
  kernel, bias = variables['params']['kernel'], variables['params']['bias']
  reference = jax.lax.conv_transpose(x, kernel, (2, 2), ((2, 3), (2, 3)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC')) + bias
  out = layer.apply(variables, x)
  assert out.shape == (shape[0], 2 * shape[1], 2 * shape[2], 4)
  # Each sums at most 9 * C_in nonzero products of both signs (the transposed form's other taps meet its inserted
  # zeros, the sub-pixel form's its kernel's padding zeros: exact; the phase form leaves them out), and the bias,
  # in any order: apart by at most relative() of their magnitudes; a tap taken from the wrong phase or flipped is
  # off by the size of the outputs.
  magnitude = jax.lax.conv_transpose(jnp.abs(x), jnp.abs(kernel), (2, 2), ((2, 3), (2, 3)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC')) + jnp.abs(bias)
  depth = tolerances.depth_of_sum(9 * shape[-1]) + 1
  np.testing.assert_allclose(out, reference, rtol=0, atol=tolerances.relative(depth) * float(jnp.max(magnitude)))


@pytest.mark.parametrize('layer_class', [SubpixelConvTranspose, PhaseConvTranspose])
def test_subpixel_matches_flax_conv_transpose_semantics(layer_class):
  """The same layer as flax.linen.ConvTranspose(5x5, stride 2, padding ((2, 3), (2, 3))) with the same kernel."""
  import flax.linen as nn
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 6, 5, 3))
  ours = layer_class(2)
  variables = ours.init(jax.random.PRNGKey(1), x)
  theirs = nn.ConvTranspose(2, (5, 5), strides=(2, 2), padding=((2, 3), (2, 3)))
  magnitude = float(jnp.max(theirs.apply(jax.tree_util.tree_map(jnp.abs, variables), jnp.abs(x))))
  depth = tolerances.depth_of_sum(9 * 3) + 1  # as above: the same 9 * 3 products and the bias
  np.testing.assert_allclose(ours.apply(variables, x), theirs.apply(variables, x), rtol=0,
                             atol=tolerances.relative(depth) * magnitude)


@pytest.mark.parametrize('kind,size', [('context', 5), ('reference', 3)])
def test_masked_conv_patches_equal_full_convolution(kind, size):
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 6, 7, 3))
  layer = MaskedConv(5, 3, kind, size)
  variables = layer.init(jax.random.PRNGKey(1), x)
  full = layer.apply(variables, x)[0]
  rows, cols = jnp.array([0, 2, 5, 5]), jnp.array([0, 3, 6, 0])
  padded = jnp.pad(x[0], ((2, 2), (2, 2), (0, 0)))
  at = layer.apply(variables, gather_patches(padded, rows, cols, size, 2 - size // 2), method=layer.at_patches)
  # The same size^2 * 3 products (the masked ones exact zeros) and the bias, summed in other orders.
  magnitude = np.asarray(layer.apply(jax.tree_util.tree_map(jnp.abs, variables), jnp.abs(x))[0])
  depth = tolerances.depth_of_sum(size * size * 3) + 1
  np.testing.assert_allclose(at, full[rows, cols], rtol=0, atol=tolerances.relative(depth) * magnitude.max())


def test_lower_bound_gradient_rule():
  """The gradient passes above the bound, and below it only where descent raises the value."""
  grad_up = jax.grad(lambda x: -lower_bound(x, 1.0))(0.5)  # descent increases x: passes
  grad_down = jax.grad(lambda x: lower_bound(x, 1.0))(0.5)  # descent decreases x further: blocked
  grad_above = jax.grad(lambda x: lower_bound(x, 1.0))(2.0)
  assert (float(grad_up), float(grad_down), float(grad_above)) == (-1.0, 0.0, 1.0)
