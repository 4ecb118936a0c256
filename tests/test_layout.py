"""Thin images folded squarer (codec/layout.py) and the memory a transform needs checked before it runs
(codec/memory.py): padding and work within a small factor of the pixels for every shape, and no image that makes
XLA run out of memory."""
import zlib

import numpy as np
import pytest

import grm_jax
from grm_jax import cli, image_io
from grm_jax.codec import bitstream, fuzzing, layout, memory
from grm_jax.errors import GrmError
from tests.helpers import export_tiny_model

SHAPES = [(h, w) for h in (1, 2, 3, 7, 40, 63, 64, 65, 100, 129, 300, 1000, 4000)
          for w in (1, 5, 64, 65, 500, 3000, 100_000)]


@pytest.fixture(scope='module')
def grm_dir(tmp_path_factory):
  return export_tiny_model(tmp_path_factory, 'grm')


@pytest.mark.parametrize('height, width', SHAPES)
def test_fold_and_unfold_are_inverse_and_pad_little(height, width):
  fold = layout.fold_for(height, width)
  image = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
  folded = layout.fold(image, fold)
  assert folded.shape[:2] == layout.folded_size(height, width, fold)
  padded = np.pad(folded, ((0, 64), (0, 64), (0, 0)))  # what g_s returns is padded to the stride
  assert np.array_equal(layout.unfold(padded, fold, height, width), image)
  y_h, y_w = layout.latent_shape(*folded.shape[:2])
  assert y_h * y_w * 16 * 16 <= 4 * max(height * width, 64 * 64)  # before folding: up to 64x (one row)
  if height * width >= 100_000:  # work (y positions x decoding steps) within a small factor of a square's
    side = int(np.sqrt(height * width))
    assert layout.work(*folded.shape[:2]) <= 4 * layout.work(side, side)


def test_the_fold_of_each_size_is_frozen():
  """fold_for is part of the file format (version 3 files carry its choice, and the decoder checks it)."""
  assert layout.fold_for(1, 100_000) == layout.Fold(174, 0)
  assert layout.fold_for(100_000, 1) == layout.Fold(521, 1)
  assert layout.fold_for(1, 1_048_512) == layout.Fold(512, 0)
  assert layout.fold_for(3, 5000) == layout.Fold(20, 0)
  assert layout.fold_for(64, 6400) == layout.Fold(5, 0)
  assert layout.fold_for(1, 65) == layout.Fold(2, 0)


def test_photographs_of_ordinary_proportions_are_never_folded():
  for height, width in [(512, 768), (768, 512), (1365, 2048), (64, 255), (4000, 6000), (1, 3), (65, 67)]:
    assert layout.fold_for(height, width) == layout.Fold()


@pytest.mark.parametrize('height, width', [(1, 700), (700, 1), (3, 2000), (70, 3)])
def test_thin_images_round_trip_exactly_as_version_3_files(grm_dir, natural_image, height, width):
  codec = grm_jax.load(grm_dir)
  natural = image_io.to_uint8(natural_image)
  image = natural[:height, :width] if width <= natural.shape[1] and height <= natural.shape[0] else np.resize(
      natural[:8, :8], (height, width, 3))
  encoded = codec.encode(image)
  header, _ = bitstream.unpack(encoded.data)
  assert header.version == 3 and header.fold_strips > 1 and (header.height, header.width) == (height, width)
  assert encoded.reconstruction.shape == image.shape
  assert np.array_equal(codec.decompress(encoded.data), encoded.reconstruction)


def test_a_folded_file_whose_fold_was_rewritten_is_refused(grm_dir, tmp_path, capsys):
  codec = grm_jax.load(grm_dir)
  data = codec.compress(np.full((1, 900, 3), 120, np.uint8))
  offset = fuzzing.FIELDS[3]['fold_strips'][0]
  forged = bytearray(data[:-4])
  forged[offset:offset + 2] = (int.from_bytes(forged[offset:offset + 2], 'big') + 1).to_bytes(2, 'big')
  forged = bytes(forged) + zlib.crc32(bytes(forged)).to_bytes(4, 'big')
  with pytest.raises(GrmError, match='its fold is not the one'):
    codec.decompress(forged)
  (tmp_path / 'f.grm').write_bytes(forged)
  assert cli.main(['decompress', str(tmp_path / 'f.grm'), str(tmp_path / 'f.png'), '--model', str(grm_dir)]) == 1
  assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not (tmp_path / 'f.png').exists()


def test_a_header_of_zero_height_or_width_is_refused(grm_dir):
  data = grm_jax.load(grm_dir).compress(np.full((16, 16, 3), 50, np.uint8))
  for field in (slice(13, 17), slice(17, 21)):
    forged = bytearray(data[:-4])
    forged[field] = bytes(4)
    forged[21:29] = bytes(8)  # latent shapes consistent with an empty image
    forged = bytes(forged) + zlib.crc32(bytes(forged)).to_bytes(4, 'big')
    with pytest.raises(GrmError, match='damaged .grm file'):
      bitstream.unpack(forged)


def test_an_image_whose_transforms_would_not_fit_in_memory_is_refused_before_anything_runs(
    grm_dir, tmp_path, capsys, monkeypatch):
  codec = grm_jax.load(grm_dir)
  image = np.full((96, 128, 3), 80, np.uint8)
  data = codec.compress(image)
  needs = codec.transform_bytes(96, 128)
  assert needs['analysis'] > 2 * 96 * 128 * 12  # XLA accounts for the activations, not only the input
  needed = min(needs.values())
  free = {'bytes': needed - 1}
  monkeypatch.setattr(memory, 'available_bytes', lambda device=None: free['bytes'])
  fresh = grm_jax.load(grm_dir)  # nothing compiled yet for these shapes
  with pytest.raises(GrmError, match=r'refused: the analysis transform of a 128x96 image needs .* GiB of memory'):
    fresh.compress(image)
  with pytest.raises(GrmError, match='refused: the synthesis transform of a 128x96 image'):
    fresh.decompress(data)
  image_io.write_png(tmp_path / 'in.png', image)
  assert cli.main(['compress', str(tmp_path / 'in.png'), str(tmp_path / 'out.grm'), '--model', str(grm_dir)]) == 1
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and 'GiB of memory' in err and not (tmp_path / 'out.grm').exists()
  free['bytes'] = 10 * needed
  assert np.array_equal(fresh.decompress(data), codec.decompress(data))


def test_a_one_row_image_needs_the_memory_of_a_square_of_as_many_pixels(grm_dir):
  """1x1048512 once asked XLA for 17 GB (64 rows of padding); folded, it needs what 1024x1024 does."""
  codec = grm_jax.load(grm_dir)
  thin, square = codec.transform_bytes(1, 1_048_512), codec.transform_bytes(1024, 1024)
  for transform in ('analysis', 'synthesis'):
    assert thin[transform] <= 1.2 * square[transform], (transform, thin, square)
