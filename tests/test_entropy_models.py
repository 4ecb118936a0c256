"""Entropy models: the likelihoods are those of unit-width bins and sum to one."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.entropy_models import FactorizedDensity, bounded_scale, gaussian_likelihood


@pytest.mark.parametrize('mu', [-7.3, -0.5, 0.0, 0.26, 3.9, 40.0])
@pytest.mark.parametrize('sigma', [0.11, 0.3, 1.0, 4.5, 20.0])
def test_gaussian_likelihoods_sum_to_one(mu, sigma):
  integers = jnp.arange(-300, 301, dtype=jnp.float32)
  total = jnp.sum(gaussian_likelihood(integers, mu, sigma))
  assert abs(float(total) - 1.0) < 1e-4


def test_gaussian_likelihood_values():
  from scipy.stats import norm
  y, mu, sigma = 2.0, 0.7, 1.3
  expected = norm.cdf(y + 0.5, mu, sigma) - norm.cdf(y - 0.5, mu, sigma)
  assert float(gaussian_likelihood(y, mu, sigma)) == pytest.approx(expected, rel=1e-5)


def test_scale_lower_bound():
  assert float(bounded_scale(jnp.float32(0.01))) == pytest.approx(0.11)
  assert float(bounded_scale(jnp.float32(-3.0))) == pytest.approx(0.11)


def test_factorized_density_sums_to_one_and_is_trainable():
  density = FactorizedDensity(3)
  values = jnp.arange(-200.0, 201.0)[:, None] * jnp.ones((1, 3))
  variables = density.init(jax.random.PRNGKey(0), values)
  np.testing.assert_allclose(jnp.sum(density.apply(variables, values), axis=0), np.ones(3), atol=1e-4)
  # A few steps of maximum likelihood move the density towards the data.
  data = jnp.round(2.0 + jax.random.normal(jax.random.PRNGKey(1), (512, 3)))
  nll = lambda p: -jnp.mean(jnp.log(density.apply({'params': p}, data)))
  params = variables['params']
  start = nll(params)
  for _ in range(50):
    params = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, jax.grad(nll)(params))
  assert float(nll(params)) < float(start) - 0.2
