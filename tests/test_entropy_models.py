"""Entropy models: the likelihoods are those of unit-width bins and sum to one."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.entropy_models import FactorizedDensity, bounded_scale, gaussian_likelihood
from grm_jax.entropy_models import factorized, gaussian
from tests import tolerances


def _bins_error(y, mu, sigma):
  """The float32 error of gaussian_likelihood's bins at y (float64 arrays), summed: each bin is the difference of
  two normal tails Phi(x) (ndtr to 2 ulps) at x = (+-0.5 - |y - mu|) / sigma, of 5 roundings (mu, sigma to
  float32, the difference, the quotient, the sum) that the tail's log-derivative, |x| phi(x) / Phi(x) <= x^2 + 1,
  magnifies; and the difference's own rounding."""
  from scipy.stats import norm  # pylint: disable=import-outside-toplevel
  x = np.stack([(0.5 - np.abs(y - mu)) / sigma, (-0.5 - np.abs(y - mu)) / sigma])
  return float(np.sum(norm.cdf(x) * (tolerances.gamma(5) * (x**2 + 1) + tolerances.gamma(4 + 1))))


@pytest.mark.parametrize('mu', [-7.3, -0.5, 0.0, 0.26, 3.9, 40.0])
@pytest.mark.parametrize('sigma', [0.11, 0.3, 1.0, 4.5, 20.0])
def test_gaussian_likelihoods_sum_to_one(mu, sigma):
  integers = jnp.arange(-300, 301, dtype=jnp.float32)
  total = jnp.sum(gaussian_likelihood(integers, mu, sigma))
  # 1 but for the floor's mass (601 * 1e-9) and the tails beyond +-300.5 (< 1e-38 here): within the bins' error
  # and the 601-term sum's. A bin width other than 1 misses by 0.2 or more.
  bound = 601 * gaussian.LIKELIHOOD_BOUND + tolerances.gamma(600) + _bins_error(np.arange(-300.0, 301.0), mu, sigma)
  assert abs(float(total) - 1.0) < bound


def test_gaussian_likelihood_values():
  from scipy.stats import norm
  y, mu, sigma = 2.0, 0.7, 1.3
  expected = norm.cdf(y + 0.5, mu, sigma) - norm.cdf(y - 0.5, mu, sigma)
  assert float(gaussian_likelihood(y, mu, sigma)) == pytest.approx(expected, abs=_bins_error(y, mu, sigma))  # 5e-7


def test_scale_lower_bound():
  assert float(bounded_scale(jnp.float32(0.01))) == pytest.approx(0.11)
  assert float(bounded_scale(jnp.float32(-3.0))) == pytest.approx(0.11)


def test_factorized_density_sums_to_one_and_is_trainable():
  density = FactorizedDensity(3)
  values = jnp.arange(-200.0, 201.0)[:, None] * jnp.ones((1, 3))
  variables = density.init(jax.random.PRNGKey(0), values)
  # 1 but for the floor's mass (401 * 1e-9): the bins telescope whatever the (rounded) parameters, so what errs is
  # each logit's evaluation, 20 roundings of a chain of positive matrices (the factors' tanh terms are exact
  # zeros at initialisation) relative to its absolute value (|x| and |biases|), which the sigmoid passes on times
  # at most its own value, its 2 ulps and the difference's rounding, and the 401-term sum.
  absolute = {'params': {k: jnp.abs(v) if k.startswith('bias') else v for k, v in variables['params'].items()}}
  magnitude = np.asarray(density.apply(absolute, jnp.abs(values) + 0.5, method=density.logits_cumulative))
  bins = [np.asarray(density.apply(variables, values + shift, method=density.logits_cumulative), np.float64)
          for shift in (-0.5, 0.5)]
  sign = -np.sign(bins[0] + bins[1])
  tails = sum(1 / (1 + np.exp(-sign * logit)) for logit in bins)
  bound = (401 * factorized.LIKELIHOOD_BOUND + tolerances.gamma(400) +
           np.sum(tails * (tolerances.gamma(20) * magnitude + tolerances.gamma(4 + 1)), axis=0))
  assert np.all(np.abs(np.asarray(jnp.sum(density.apply(variables, values), axis=0)) - 1) < bound)
  # A few steps of maximum likelihood move the density towards the data.
  data = jnp.round(2.0 + jax.random.normal(jax.random.PRNGKey(1), (512, 3)))
  nll = lambda p: -jnp.mean(jnp.log(density.apply({'params': p}, data)))
  params = variables['params']
  start = nll(params)
  for _ in range(50):
    params = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, jax.grad(nll)(params))
  assert float(nll(params)) < float(start) - 0.2
