"""Photographs as people have them: EXIF orientation, CMYK, palette, 16-bit, animated, truncated files and bombs."""
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from grm_jax import cli, image_io
from grm_jax.errors import GrmError


def _png(path, width, height, bit_depth, color_type, raw_rows):
  """A PNG written by hand (Pillow cannot write 16-bit RGB), from its filtered scanlines."""
  def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
  header = struct.pack('>IIBBBBB', width, height, bit_depth, color_type, 0, 0, 0)
  path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw_rows)) +
                   chunk(b'IEND', b''))
  return path


def _pattern(height=8, width=16):
  """An image whose orientation can be told: a gradient, with a red top-left pixel."""
  image = np.zeros((height, width, 3), np.uint8)
  image[..., 1] = np.arange(width)[None, :] * 8
  image[..., 2] = np.arange(height)[:, None] * 16
  image[0, 0] = (255, 0, 0)
  return image


def _read(path):
  notes = []
  return image_io.read_image(path, notes), notes


@pytest.mark.parametrize('orientation, turn', [(3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)),
                                               (8, lambda a: np.rot90(a, 1)), (2, lambda a: a[:, ::-1])])
def test_exif_orientation_is_applied_as_viewers_do(tmp_path, orientation, turn):
  stored = _pattern()
  exif = Image.Exif()
  exif[0x0112] = orientation
  Image.fromarray(stored).save(tmp_path / 'photo.png', exif=exif)
  image, notes = _read(tmp_path / 'photo.png')
  np.testing.assert_array_equal(image, turn(stored))
  assert notes == [f"photo.png: EXIF orientation {orientation} applied (the image as viewers show it)"]


def test_orientation_1_and_no_exif_leave_the_image_alone(tmp_path):
  exif = Image.Exif()
  exif[0x0112] = 1
  Image.fromarray(_pattern()).save(tmp_path / 'upright.png', exif=exif)
  Image.fromarray(_pattern()).save(tmp_path / 'plain.png')
  for name in ('upright.png', 'plain.png'):
    image, notes = _read(tmp_path / name)
    np.testing.assert_array_equal(image, _pattern())
    assert notes == []


def test_cmyk_and_palette_images_become_rgb(tmp_path):
  Image.new('CMYK', (16, 8), (0, 255, 255, 0)).save(tmp_path / 'cmyk.jpg', quality=95)  # red in CMYK
  image, notes = _read(tmp_path / 'cmyk.jpg')
  assert image.shape == (8, 16, 3) and image[..., 0].min() > 200 and image[..., 1:].max() < 60
  assert notes == ['cmyk.jpg: CMYK image converted to RGB']
  Image.fromarray(_pattern()).convert('P', palette=Image.Palette.ADAPTIVE).save(tmp_path / 'palette.png')
  image, notes = _read(tmp_path / 'palette.png')
  assert image.shape == (8, 16, 3) and notes == ['palette.png: P image converted to RGB']


def test_16_bit_rgb_and_gray_pngs_are_reduced_to_8_bits(tmp_path):
  rng = np.random.default_rng(0)
  rgb16 = rng.integers(0, 65536, (8, 16, 3), dtype=np.uint16)
  rows = b''.join(b'\x00' + row.astype('>u2').tobytes() for row in rgb16)
  image, notes = _read(_png(tmp_path / 'rgb16.png', 16, 8, 16, 2, rows))
  assert np.abs(image.astype(int) - np.round(rgb16 / 257.0)).max() <= 1
  assert notes == ['rgb16.png: 16-bit image reduced to 8 bits']
  gray16 = rng.integers(0, 65536, (8, 16), dtype=np.uint16)
  rows = b''.join(b'\x00' + row.astype('>u2').tobytes() for row in gray16)
  image, notes = _read(_png(tmp_path / 'gray16.png', 16, 8, 16, 0, rows))
  assert np.abs(image[..., 0].astype(int) - np.round(gray16 / 257.0)).max() <= 1
  assert (image[..., 0] == image[..., 2]).all() and notes == ['gray16.png: 16-bit image reduced to 8 bits']


@pytest.mark.parametrize('name', ['anim.gif', 'anim.png', 'anim.webp'])
def test_an_animated_image_gives_its_first_frame_with_a_note(tmp_path, name):
  first, second = _pattern(), 255 - _pattern()
  frames = [Image.fromarray(first), Image.fromarray(second)]
  save = dict(save_all=True, append_images=frames[1:], duration=100, loop=0)
  if name.endswith('.webp'):
    save['lossless'] = True
  frames[0].save(tmp_path / name, **save)
  image, notes = _read(tmp_path / name)
  assert notes[0] == f"{name}: animated image of 2 frames: only the first is coded"
  if name.endswith('.gif'):  # GIF stores a palette: the first frame is close, not equal
    assert np.abs(image.astype(int) - first).mean() < 8
  else:
    np.testing.assert_array_equal(image, first)


@pytest.mark.parametrize('name', ['cut.png', 'cut.jpg'])
def test_a_truncated_file_is_a_one_line_error(tmp_path, capsys, name):
  rng = np.random.default_rng(1)
  Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / name)
  data = (tmp_path / name).read_bytes()
  (tmp_path / name).write_bytes(data[:len(data) // 2])
  with pytest.raises(GrmError, match='unreadable image'):
    image_io.read_image(tmp_path / name)
  assert cli.main(['compress', str(tmp_path / name), str(tmp_path / 'out.grm')]) == 1
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1 and not (tmp_path / 'out.grm').exists()


@pytest.mark.parametrize('size', [20000, 10000])
def test_a_png_decompression_bomb_is_refused_before_it_is_decoded(tmp_path, capsys, size):
  """A 100-byte PNG that claims 20000x20000 pixels (above twice Pillow's limit: Pillow refuses it) or 10000x10000
  (above the limit, under twice it: Pillow would only warn, then decode 300 MB), refused from its header."""
  bomb = _png(tmp_path / 'bomb.png', size, size, 8, 2, b'\x00' * 16)
  assert bomb.stat().st_size < 200
  start = time.perf_counter()
  with pytest.raises(GrmError, match="refused: .*Pillow's MAX_IMAGE_PIXELS"):
    image_io.read_image(bomb)
  assert time.perf_counter() - start < 1
  assert cli.main(['compress', str(bomb), str(tmp_path / 'out.grm')]) == 1
  assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_command_line_says_what_it_did_to_a_photograph(tmp_path, capsys):
  exif = Image.Exif()
  exif[0x0112] = 6
  Image.fromarray(_pattern()).save(tmp_path / 'phone.png', exif=exif)
  ((_, image),) = list(cli._read_images([tmp_path / 'phone.png']))  # pylint: disable=protected-access
  assert image.shape == (16, 8, 3)
  assert 'note: phone.png: EXIF orientation 6 applied' in capsys.readouterr().err
