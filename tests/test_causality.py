"""Causality of the autoregressive entropy models: a position's prediction never sees itself or later positions.

For every position p, y_hat[p] is changed by a large amount; (mu, sigma), the earlier stages, the similarity, the
confidence and the reference index must then be unchanged at p and at every earlier position, and something
must change at some later one (otherwise the test would prove nothing).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.configs import tiny
from grm_jax import models
from grm_jax.entropy_models import coding_order
from tests import tolerances

H, W = 5, 6


def _parameter_fn(family, **model_overrides):
  config = tiny.get_config()
  config.model.family = family
  config.model.update(model_overrides)
  model = models.build(config)
  m = config.model.latent_channels
  variables = model.init({'params': jax.random.PRNGKey(0), 'noise': jax.random.PRNGKey(1)},
                         jnp.zeros((1, 64, 64, 3)))

  @jax.jit
  def predict(y_hat, hyper):
    mu, sigma, aux = model.apply(variables, y_hat, hyper, method=model.gaussian_parameters)
    outputs = {'mu': mu, 'sigma': sigma}
    for i, (stage_mu, stage_sigma) in enumerate(aux.get('stages', [])):
      outputs[f'stage{i}_mu'], outputs[f'stage{i}_sigma'] = stage_mu, stage_sigma
    for name in ('similarity', 'confidence', 'reference_index'):
      if name in aux:
        outputs[name] = aux[name]
    return outputs
  return predict, m, config.model.order


@pytest.mark.parametrize('family,overrides', [('context', {}), ('grm', {}), ('grm', {'gating': 'channels'}),
                                              ('grm', {'gating': 'blind'}),
                                              ('grm', {'order': 'raster'}), ('grm', {'order': 'wavefront'}),
                                              ('grm', {'references': 3}),
                                              ('grm', {'references': 3, 'gating': 'channels'}),
                                              ('checkerboard', {'order': 'checkerboard'}),
                                              ('grm_checkerboard', {'order': 'checkerboard'}),
                                              ('grm_checkerboard', {'order': 'checkerboard', 'references': 3})])
def test_prediction_never_depends_on_current_or_later_positions(family, overrides):
  predict, m, order = _parameter_fn(family, **overrides)
  key_y, key_h = jax.random.split(jax.random.PRNGKey(42))
  y_hat = jnp.round(3.0 * jax.random.normal(key_y, (1, H, W, m)))
  hyper = jax.random.normal(key_h, (1, H, W, 2 * m))
  base = jax.device_get(predict(y_hat, hyper))
  if family.startswith('grm'):
    assert {'similarity', 'confidence', 'reference_index', 'stage0_mu', 'stage1_mu'} <= set(base)
  ranks = coding_order.position_ranks(H, W, order)
  for row in range(H):
    for col in range(W):
      changed = jax.device_get(predict(y_hat.at[0, row, col].add(25.0), hyper))
      not_later = ranks <= ranks[row, col]  # positions decoded with or before (row, col)
      later_changed = False
      for name, value in base.items():
        np.testing.assert_array_equal(changed[name][0][not_later], value[0][not_later],
                                      err_msg=f'{name} at or before ({row}, {col}) saw y_hat[{row}, {col}]')
        later_changed |= bool(np.any(changed[name][0][~not_later] != value[0][~not_later]))
      if ranks[row, col] < ranks.max():
        assert later_changed, f'no later position reacted to y_hat[{row}, {col}]'


def test_reference_search_finds_a_planted_match():
  """A position whose causal neighbourhood repeats an earlier one's takes it as reference with S = 1."""
  predict, m, _ = _parameter_fn('grm', order='raster')
  y_hat = np.array(jnp.round(3.0 * jax.random.normal(jax.random.PRNGKey(7), (1, H, W, m))))
  # Copy the neighbourhood of (1, 1) to that of (3, 4): rows 0..1 around columns 0..2 -> rows 2..3 around 3..5.
  y_hat[0, 2, 3:6] = y_hat[0, 0, 0:3]
  y_hat[0, 3, 3] = y_hat[0, 1, 0]
  out = predict(jnp.asarray(y_hat), jnp.zeros((1, H, W, 2 * m)))
  assert int(out['reference_index'][0, 3, 4]) == 1 * W + 1
  # The cosine of a 48-value key with itself, 1 within gamma(49 + 2 * (4 + 1) + 1 + 47): the squared norm (48 squares
  # and 47 + 1 additions), halved by rsqrt (2 ulps) and the product with the key, doubled by squaring, then summed.
  assert float(out['similarity'][0, 3, 4]) == pytest.approx(1.0, abs=tolerances.gamma(49 + 2 * (4 + 1) + 1 + 47))
  assert float(out['similarity'][0, 0, 0]) == pytest.approx(1e-8)  # the first position has no candidate
  assert np.all(np.asarray(out['confidence']) > 0) and np.all(np.asarray(out['confidence']) <= 1)


def test_checkerboard_reference_finds_a_planted_match_among_the_anchors():
  """A non-anchor whose 4 direct neighbours repeat an anchor's 4 diagonal ones (the ring turned by 45 degrees)
  takes that anchor as reference with S = 1, wherever it lies; anchors have no candidate."""
  predict, m, _ = _parameter_fn('grm_checkerboard', order='checkerboard')
  y_hat = np.array(jnp.round(3.0 * jax.random.normal(jax.random.PRNGKey(7), (1, H, W, m))))
  # (3, 4)'s up, left, right, down <- (1, 1)'s up-left, down-left, up-right, down-right.
  for (row, col), (source_row, source_col) in zip([(2, 4), (3, 3), (3, 5), (4, 4)], [(0, 0), (2, 0), (0, 2), (2, 2)]):
    y_hat[0, row, col] = y_hat[0, source_row, source_col]
  out = predict(jnp.asarray(y_hat), jnp.zeros((1, H, W, 2 * m)))
  assert int(out['reference_index'][0, 3, 4]) == 1 * W + 1
  assert float(out['similarity'][0, 3, 4]) == pytest.approx(1.0, abs=tolerances.gamma(49 + 2 * (4 + 1) + 1 + 47))
  anchors = coding_order.position_ranks(H, W, 'checkerboard') == 0
  np.testing.assert_array_equal(np.asarray(out['similarity'][0])[anchors], np.float32(1e-8))
  index = np.asarray(out['reference_index'][0])[~anchors]
  assert np.all((index // W + index % W) % 2 == 0)  # every non-anchor's reference is an anchor


def test_checkerboard_decodes_the_anchors_then_the_rest():
  steps = coding_order.decoding_steps(5, 6, 'checkerboard')
  assert len(steps) == coding_order.step_count(5, 6, 'checkerboard') == 2
  for rank, (rows, cols) in enumerate(steps):
    assert len(rows) == 15 and np.all((rows + cols) % 2 == rank)


def test_wavefront_steps_cover_every_position_once():
  steps = coding_order.decoding_steps(7, 11, 'wavefront')
  assert len(steps) == 3 * 7 + 11 - 3
  positions = [(r, c) for rows, cols in steps for r, c in zip(rows, cols)]
  assert sorted(positions) == [(r, c) for r in range(7) for c in range(11)]
  for rows, cols in steps:  # positions decoded together are 3 columns apart per row: outside each other's context
    for r1, c1 in zip(rows, cols):
      for r2, c2 in zip(rows, cols):
        assert (r1, c1) == (r2, c2) or abs(r1 - r2) >= 1 and abs(c1 - c2) >= 3


@pytest.mark.parametrize('gating,sees_reference', [('product', True), ('channels', True), ('blind', False)])
def test_only_the_blind_control_ignores_its_reference(gating, sees_reference):
  """(3, 4) takes (1, 1) as its reference (a planted match, S = 1), which lies outside its 5x5 local context.
  Changing (1, 1)'s value changes (3, 4)'s prediction through the reference alone: with the paper's gatings it
  must, with 'blind' (grm's networks, the reference's information zeroed) it must not."""
  predict, m, _ = _parameter_fn('grm', order='raster', gating=gating)
  y_hat = np.array(jnp.round(3.0 * jax.random.normal(jax.random.PRNGKey(7), (1, H, W, m))))
  y_hat[0, 2, 3:6] = y_hat[0, 0, 0:3]
  y_hat[0, 3, 3] = y_hat[0, 1, 0]
  hyper = jax.random.normal(jax.random.PRNGKey(8), (1, H, W, 2 * m))
  base = predict(jnp.asarray(y_hat), hyper)
  y_hat[0, 1, 1] += 9.0
  changed = predict(jnp.asarray(y_hat), hyper)
  assert int(base['reference_index'][0, 3, 4]) == int(changed['reference_index'][0, 3, 4]) == 1 * W + 1
  # Untrained networks can sit on a flat spot for one output (the scales at their floor), so any of the reference
  # stage's and the final stage's outputs may show the change; for 'blind' none may.
  moved = [name for name in ('mu', 'sigma', 'stage1_mu', 'stage1_sigma')
           if not np.array_equal(base[name][0, 3, 4], changed[name][0, 3, 4])]
  assert bool(moved) == sees_reference, moved


@pytest.mark.parametrize('count', [1, 3])
def test_several_references_are_the_most_similar_earlier_positions_in_order(count):
  """best_references (float) and the portable path's integer search pick the same k: the most similar earlier
  positions, most similar first, ties to the lowest index; ranks beyond the candidates are marked not found."""
  from grm_jax.portable import entropy_path as portable  # pylint: disable=import-outside-toplevel
  from grm_jax.entropy_models.autoregressive import best_references  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(count)
  similarities = rng.integers(-4, 5, (20, 20)).astype(np.float32)  # many ties
  candidates = np.asarray(coding_order.earlier_mask(4, 5, 'wavefront'))
  index, score, found = (np.asarray(v) for v in best_references(jnp.asarray(similarities / 4), candidates, count))
  q_index, q_score, q_found = (np.asarray(v) for v in portable._best_references(  # pylint: disable=protected-access
      jnp.asarray(similarities * 4096), candidates, count))
  for j in range(20):
    earlier = np.flatnonzero(candidates[j])
    expected = earlier[np.argsort(-similarities[j, earlier], kind='stable')][:count]
    assert list(index[j, :len(expected)]) == list(expected) == list(q_index[j, :len(expected)])
    assert list(found[j]) == list(q_found[j]) == [r < len(earlier) for r in range(count)]
    np.testing.assert_allclose(score[j, :len(expected)], np.clip(similarities[j, expected] / 4, 1e-8, 1))
    assert list(q_score[j, :len(expected)]) == list(np.clip(similarities[j, expected] * 4096, 0, 1 << 14))
