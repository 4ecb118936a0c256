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


def test_32_bit_integer_and_float_tiffs_keep_their_range_instead_of_wrapping(tmp_path):
  """Integers are scaled from their type's range and floats from 0 to 1: 232000 in a 32-bit TIFF is dark, not the
  135 that wrapping 903 around 256 gives, and a float 1.0 is white, not black."""
  signed = np.array([[0, 232000, 2 ** 30, 2 ** 31 - 1, -5]], np.int32)
  Image.fromarray(signed, 'I').save(tmp_path / 'int32.tif')
  image, notes = _read(tmp_path / 'int32.tif')
  assert list(image[0, :, 0]) == [0, 0, 128, 255, 0] and (image[..., 0] == image[..., 1]).all()
  assert notes == ['int32.tif: 32-bit integer image reduced to 8 bits (1 values outside the range clipped)']
  floats = np.array([[0.0, 0.25, 0.5, 1.0, 1.5, np.nan]], np.float32)
  Image.fromarray(floats, 'F').save(tmp_path / 'float.tif')
  image, notes = _read(tmp_path / 'float.tif')
  assert list(image[0, :, 0]) == [0, 64, 128, 255, 255, 0]
  assert notes == ['float.tif: 32-bit float image (0 to 1) reduced to 8 bits (1 values outside the range clipped)']
  with Image.open(tmp_path / 'int32.tif') as tiff:  # TIFF's tile arguments are (rawmode, stride, offset)
    assert image_io._rawmode(tiff) == 'I;32S'  # pylint: disable=protected-access
  Image.fromarray(np.array([[0, 30000, 65535]], np.uint16)).save(tmp_path / 'int16.tif')
  image, notes = _read(tmp_path / 'int16.tif')
  assert list(image[0, :, 0]) == [0, 117, 255] and notes == ['int16.tif: 16-bit image reduced to 8 bits']


def test_a_colour_profile_other_than_srgb_is_noted_not_silently_dropped(tmp_path):
  from PIL import ImageCms  # pylint: disable=import-outside-toplevel
  profile = lambda kind: ImageCms.ImageCmsProfile(ImageCms.createProfile(kind)).tobytes()
  Image.new('RGB', (8, 8), (10, 200, 30)).save(tmp_path / 'xyz.png', icc_profile=profile('XYZ'))
  Image.new('RGB', (8, 8), (10, 200, 30)).save(tmp_path / 'srgb.png', icc_profile=profile('sRGB'))
  image, notes = _read(tmp_path / 'xyz.png')
  assert tuple(image[0, 0]) == (10, 200, 30)  # coded as stored
  assert notes == ['xyz.png: its ICC colour profile (XYZ identity built-in) is not applied: the colours are coded '
                   'as stored, and the decoded PNG has no profile']
  assert _read(tmp_path / 'srgb.png')[1] == []


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
