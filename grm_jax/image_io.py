"""Reading and writing images: 8-bit RGB in, PNG out, with clear refusals and atomic writes."""
import pathlib

import numpy as np

from grm_jax import outputs
from grm_jax.errors import GrmError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def read_image(path, notes=None):
  """An image file as uint8 [H, W, 3], as an image viewer shows it.

  The EXIF orientation is applied; grayscale, palette, CMYK and alpha images are converted to RGB, 16-bit images
  reduced to 8 bits, and an animated image gives its first frame. Each of these appends a sentence to `notes` (a
  list), so that a command line can say what it did. An image above Pillow's MAX_IMAGE_PIXELS is refused from its
  header, before any pixel is decoded (Pillow itself only warns up to twice that).
  """
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(path)
  if not path.exists():
    raise GrmError(f"{path}: no such file")
  if path.is_dir():
    raise GrmError(f"{path}: is a folder, not an image")
  notes = [] if notes is None else notes
  try:
    with Image.open(path) as image:
      width, height = image.size
      if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
        raise GrmError(f"{path}: refused: {width}x{height} = {width * height} pixels is above the limit of "
                       f"{Image.MAX_IMAGE_PIXELS} (Pillow's MAX_IMAGE_PIXELS)")
      frames = getattr(image, 'n_frames', 1)
      rawmode = str(image.tile[0][3]) if image.tile else ''  # how the file stores samples, e.g. 'RGB;16B'
      image.load()
      if frames > 1:
        notes.append(f"{path.name}: animated image of {frames} frames: only the first is coded")
      image = _as_viewers_show_it(image, path, notes)
      mode = image.mode
      if mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        array = np.asarray(image, np.float64)
        array = np.round(array / (65535.0 if array.max() > 255 else 255.0) * 255.0).astype(np.uint8)
        notes.append(f"{path.name}: 16-bit image reduced to 8 bits")
        return np.repeat(array[..., None], 3, axis=-1)
      if ';16' in rawmode:
        notes.append(f"{path.name}: 16-bit image reduced to 8 bits")
      if mode != 'RGB':
        notes.append(f"{path.name}: {mode} image converted to RGB")
      array = np.asarray(image.convert('RGB'), np.uint8)
  except UnidentifiedImageError:
    raise GrmError(f"{path}: not an image that Pillow can read (PNG or JPEG expected)") from None
  except Image.DecompressionBombError as error:
    raise GrmError(f"{path}: refused: {error} (Pillow's MAX_IMAGE_PIXELS)") from None
  except (OSError, ValueError, SyntaxError) as error:
    raise GrmError(f"{path}: unreadable image ({error})") from None
  return array


def _as_viewers_show_it(image, path, notes):
  """The image turned by its EXIF orientation tag (2-8), as viewers and browsers display it."""
  from PIL import ImageOps  # pylint: disable=import-outside-toplevel
  orientation = image.getexif().get(0x0112, 1)
  if orientation in (2, 3, 4, 5, 6, 7, 8):
    image = ImageOps.exif_transpose(image)
    notes.append(f"{path.name}: EXIF orientation {orientation} applied (the image as viewers show it)")
  return image


def to_float(image):
  """uint8 [H, W, 3] -> float32 in [0, 1]."""
  return np.asarray(image, np.float32) / 255.0


def to_uint8(image):
  """float in [0, 1] -> uint8, rounded and clipped (what a PNG of the reconstruction stores)."""
  return np.clip(np.round(np.asarray(image, np.float64) * 255.0), 0, 255).astype(np.uint8)


def write_png(path, image, inputs=(), force=False):
  """Writes uint8 [H, W, 3] as PNG under the project's output rule (outputs.py: atomic, never over an input or an
  existing file unless force)."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  with outputs.output(path, inputs, force) as tmp:
    Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format='PNG')


def list_images(folder):
  """Every PNG/JPEG file below `folder`, sorted."""
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise GrmError(f"{folder}: no such folder")
  return sorted(p for p in folder.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
