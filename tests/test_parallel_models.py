"""The parallel (checkerboard) families as a user meets them: a portable model directory coded and decoded through
the command line in two steps, the config's coding order, and what the checkerboard's masks read."""
import numpy as np
import pytest

import grm_jax
from grm_jax import cli, image_io, models
from grm_jax.configs import tiny
from grm_jax.entropy_models import coding_order
from grm_jax.layers import checkerboard_mask, checkerboard_reference_mask
from tests.helpers import export_tiny_model


@pytest.fixture(scope='module')
def portable_grm_checkerboard(tmp_path_factory, natural_image):
  return export_tiny_model(tmp_path_factory, 'grm_checkerboard', calibration_images=[natural_image[:64, :64]])


def test_the_command_line_codes_a_file_in_two_steps_and_decodes_it_exactly(portable_grm_checkerboard, natural_image,
                                                                            tmp_path, capsys):
  codec = grm_jax.load(portable_grm_checkerboard)
  assert codec.portable and codec.model.coding_order == 'checkerboard'
  image = image_io.to_uint8(natural_image[:80, :112])
  image_io.write_png(tmp_path / 'in.png', image)
  model = str(portable_grm_checkerboard)
  assert cli.main(['compress', str(tmp_path / 'in.png'), str(tmp_path / 'in.grm'), '--model', model]) == 0
  assert cli.main(['decompress', str(tmp_path / 'in.grm'), str(tmp_path / 'out.png'), '--model', model]) == 0
  capsys.readouterr()
  encoded = codec.encode(image)
  assert (tmp_path / 'in.grm').read_bytes() == encoded.data  # the portable path: the same bytes in any process
  np.testing.assert_array_equal(image_io.read_image(tmp_path / 'out.png'), encoded.reconstruction)
  steps = []
  codec.decompress(encoded.data, progress=lambda done, total: steps.append((done, total)))
  assert steps == [(1, 2), (2, 2)]  # anchors, then the rest, whatever the size


def test_a_checkerboard_family_codes_in_its_own_order_whatever_model_order_says():
  config = tiny.get_config()
  config.model.family, config.model.order = 'grm_checkerboard', 'wavefront'
  assert models.build(config).coding_order == 'checkerboard'
  config.model.family, config.model.order = 'grm', 'checkerboard'  # a causal family refuses the parallel order
  with pytest.raises(ValueError, match='model.order must be one of raster, wavefront'):
    models.build(config)


def test_the_checkerboard_masks_read_only_decoded_positions():
  """Every tap of a non-anchor's context and of an anchor's reference feature falls on an anchor, the centre of
  the reference feature excepted (a candidate's own value); the search keys of both are anchors too."""
  ranks = coding_order.position_ranks(9, 9, 'checkerboard')
  non_anchor, anchor = (3, 4), (4, 4)
  assert ranks[non_anchor] == 1 and ranks[anchor] == 0
  for mask, (row, col), taps in ((checkerboard_mask(5), non_anchor, 12), (checkerboard_reference_mask(), anchor, 5)):
    size = mask.shape[0]
    read = [(row + r - size // 2, col + c - size // 2) for r, c in zip(*np.nonzero(mask))]
    assert len(read) == taps and all(ranks[position] == 0 for position in read)
  query, candidate = coding_order.key_taps('checkerboard')
  for taps, (row, col) in ((query, non_anchor), (candidate, anchor)):
    assert len(set(taps)) == 4 and 4 not in taps  # four neighbours, never the position itself
    assert all(ranks[row + tap // 3 - 1, col + tap % 3 - 1] == 0 for tap in taps)


def test_the_steps_left_out_work_changes_no_bit_of_a_portable_file(portable_grm_checkerboard, natural_image,
                                                                   monkeypatch):
  """The anchors' pass (the context's one row, no search) and the second pass (nothing committed for later) give
  the integers of the full computation: the same file, decoded by a codec that does all the work."""
  image = image_io.to_uint8(natural_image[200:264, 300:396])
  encoded = grm_jax.load(portable_grm_checkerboard).encode(image)
  monkeypatch.setattr(coding_order, 'step_work', lambda order, steps: [coding_order.StepWork()] * steps)
  full = grm_jax.load(portable_grm_checkerboard)
  assert full.encode(image).data == encoded.data
  np.testing.assert_array_equal(full.decode(encoded.data).y_hat, encoded.y_hat)
