"""The lambda's vocabulary: the policy a codec checks a lambda with, and the spacing every part shares."""
import numpy as np
import pytest

from grm_jax import rd_lambda
from grm_jax.errors import GrmError
from grm_jax.layers import gain
from tests import tolerances


def test_a_fixed_rate_model_codes_at_its_own_lambda_only():
  policy = rd_lambda.RatePolicy(0.013)
  assert not policy.variable_rate and policy.check() == policy.check(0.013) == float(np.float32(0.013))
  with pytest.raises(GrmError, match='fixed-rate'):
    policy.check(0.02)
  assert policy.of_file(None) is None and policy.model_input(0.013) is None


def test_a_variable_rate_model_checks_its_range_and_the_files_lambda():
  policy = rd_lambda.RatePolicy(0.5, (0.0018, 0.0483))  # a default outside the range: the range's middle
  assert policy.default == float(np.float32(np.sqrt(0.0018 * 0.0483)))
  assert policy.check(0.0483 * (1 + 1e-7)) == float(np.float32(0.0483))  # the printed range's rounding is inside
  for bad in (0.001, 0.06):
    with pytest.raises(GrmError, match='outside this model'):
      policy.check(bad)
  with pytest.raises(GrmError, match="no lambda in this model's range"):
    policy.of_file(0.06)
  assert policy.model_input(0.01).dtype == np.float32 and policy.model_input(0.01).shape == (1,)


def test_rate_levels_take_the_nearest_and_refuse_any_other_in_a_file():
  levels = rd_lambda.log_spaced((0.0018, 0.0483), 256).astype(np.float32)
  policy = rd_lambda.RatePolicy(0.013, (0.0018, 0.0483), levels)
  chosen = policy.check(0.0100001)
  # Within half a step in log(lambda) of the nearest level, but for the float32 logs the policy compares (numpy's
  # to 4 ulps, of |log| < 7, on either side: 2 * 8 * 7 U) and the float32 levels' own spacing (4 U).
  assert chosen in levels and abs(np.log(chosen / 0.0100001)) <= np.log(levels[1] / levels[0]) / 2 + \
      tolerances.gamma(2 * 8 * 7 + 4)
  assert policy.of_file(chosen) == chosen
  with pytest.raises(GrmError, match='not one of this model'):
    policy.of_file(float(np.sqrt(levels[10] * levels[11])))


def test_one_spacing_for_gain_anchors_and_rate_levels():
  anchors = gain.anchor_lambdas((0.0018, 0.0483), 6)
  assert anchors == tuple(float(v) for v in rd_lambda.log_spaced((0.0018, 0.0483), 6))
  assert anchors[0] == pytest.approx(0.0018) and anchors[-1] == pytest.approx(0.0483)
  assert rd_lambda.middle((0.0018, 0.0483)) == pytest.approx(np.sqrt(0.0018 * 0.0483))
