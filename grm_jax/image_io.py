"""Reading and writing images: 8-bit RGB in, PNG out, with clear refusals and atomic writes."""
import glob
import pathlib

import numpy as np

from grm_jax import outputs
from grm_jax.errors import GrmError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def read_image(path, notes=None):
  """An image file (`-`: standard input) as uint8 [H, W, 3], as an image viewer shows it.

  The EXIF orientation is applied; grayscale, palette, CMYK and alpha images are converted to RGB, 16 and 32-bit
  integer and 32-bit float images reduced to 8 bits from their format's range, and an animated image gives its
  first frame; a colour profile other than sRGB is noted, not applied. Each of these appends a sentence to `notes` (a
  list), so that a command line can say what it did. An image above Pillow's MAX_IMAGE_PIXELS is refused from its
  header, before any pixel is decoded (Pillow itself only warns up to twice that).
  """
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  source = _stdin_bytes() if str(path) == '-' else None
  path = pathlib.Path('standard input' if source is not None else path)
  if source is None and not path.exists():
    raise GrmError(f"{path}: no such file")
  if source is None and path.is_dir():
    raise GrmError(f"{path}: is a folder, not an image")
  notes = [] if notes is None else notes
  try:
    with Image.open(source or path) as image:
      width, height = image.size
      if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
        raise GrmError(f"{path}: refused: {width}x{height} = {width * height} pixels is above the limit of "
                       f"{Image.MAX_IMAGE_PIXELS} (Pillow's MAX_IMAGE_PIXELS)")
      frames = getattr(image, 'n_frames', 1)
      rawmode = _rawmode(image)  # how the file stores samples, e.g. 'RGB;16B'
      image.load()
      if frames > 1:
        notes.append(f"{path.name}: animated image of {frames} frames: only the first is coded")
      image = _as_viewers_show_it(image, path, notes)
      _note_icc_profile(image, path, notes)
      if image.mode in ('I', 'F') or image.mode.startswith('I;16'):
        return _wide_samples_to_8_bits(image, rawmode, path, notes)
      if ';16' in rawmode:
        notes.append(f"{path.name}: 16-bit image reduced to 8 bits")
      if image.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La') or 'transparency' in image.info:
        notes.append(f"{path.name}: its transparency (alpha) is dropped: a .grm file codes RGB, and transparent "
                     "pixels keep the colour stored under them")
      elif image.mode != 'RGB':
        notes.append(f"{path.name}: {image.mode} image converted to RGB")
      array = np.asarray(image.convert('RGB'), np.uint8)
  except UnidentifiedImageError:
    raise GrmError(f"{path}: not an image that Pillow can read (PNG or JPEG expected)") from None
  except Image.DecompressionBombError as error:
    raise GrmError(f"{path}: refused: {error} (Pillow's MAX_IMAGE_PIXELS)") from None
  except (OSError, ValueError, SyntaxError) as error:
    raise GrmError(f"{path}: unreadable image ({error})") from None
  return array


MAX_STDIN_BYTES = 1 << 30


def stdin_bytes(what, example, prefix=b'', check_prefix=None):
  """Standard input, whole (at most MAX_STDIN_BYTES), for a command reading `-`: a GrmError where it is a terminal
  (naming `example`, how to pipe `what` in), empty, or larger. check_prefix(first bytes) may refuse a foreign
  stream before the rest is read."""
  import sys  # pylint: disable=import-outside-toplevel
  if sys.stdin is None or sys.stdin.isatty():
    raise GrmError(f"-: standard input is a terminal; pipe {what} into it ({example})")
  stream = sys.stdin.buffer
  if check_prefix is not None:
    prefix = stream.read(len(prefix))
    check_prefix(prefix)
  data = prefix + stream.read(MAX_STDIN_BYTES + 1 - len(prefix))
  if not data:
    raise GrmError(f"standard input: empty, not {what}")
  if len(data) > MAX_STDIN_BYTES:
    raise GrmError(f"standard input: more than {MAX_STDIN_BYTES >> 30} GiB; give {what} as a file")
  return data


def _stdin_bytes():
  """Standard input as a file object for Pillow (which needs to seek)."""
  import io  # pylint: disable=import-outside-toplevel
  return io.BytesIO(stdin_bytes('an image', 'grm compress - out.grm < photo.png'))


def _rawmode(image):
  """The decoder's raw mode of the file's samples ('I;32S', 'RGB;16B', ...): the first of the tile's arguments
  (TIFF adds a stride and an offset after it), '' where Pillow does not say."""
  if not image.tile:
    return ''
  args = image.tile[0][3]
  return str(args[0] if isinstance(args, tuple) and args else args)


def _wide_samples_to_8_bits(image, rawmode, path, notes):
  """A one-channel image of 16 or 32-bit integers or 32-bit floats as 8-bit gray RGB, each scaled from the range
  its format stores (integers: 0 to the type's largest value; floats: 0 to 1, the convention of float TIFF and
  OpenEXR), so that no value wraps around and white stays white."""
  array = np.asarray(image)
  if image.mode == 'F':
    scale, what = 1.0, '32-bit float image (0 to 1)'
    values = np.nan_to_num(array.astype(np.float64), nan=0.0)
  elif image.mode.startswith('I;16') or rawmode.startswith('I;16'):
    signed = rawmode.endswith('S')  # I;16S, I;16BS: signed samples
    scale, what = (32767.0 if signed else 65535.0), '16-bit image'
    values = array.astype(np.float64)
  elif rawmode.startswith('I;32') and not rawmode.endswith('S'):  # unsigned, which Pillow holds as int32
    scale, what = float(2 ** 32 - 1), '32-bit integer image'
    values = array.astype(np.int32).view(np.uint32).astype(np.float64)
  else:  # Pillow's 'I': signed 32-bit samples
    scale, what = float(2 ** 31 - 1), '32-bit integer image'
    values = array.astype(np.float64)
  clipped = int(np.count_nonzero((values < 0) | (values > scale)))
  gray = np.round(np.clip(values / scale, 0.0, 1.0) * 255.0).astype(np.uint8)
  notes.append(f"{path.name}: {what} reduced to 8 bits" + (f" ({clipped} values outside the range clipped)"
                                                             if clipped else ""))
  return np.repeat(gray.reshape(gray.shape[:2])[..., None], 3, axis=-1)


def _note_icc_profile(image, path, notes):
  """A note when the image carries a colour profile other than sRGB: the codec codes the samples as stored, and
  the decoded PNG has no profile, so such colours will look different."""
  icc = image.info.get('icc_profile')
  if not icc:
    return
  try:
    import io  # pylint: disable=import-outside-toplevel
    from PIL import ImageCms  # pylint: disable=import-outside-toplevel
    description = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description or 'unnamed'
  except (ImportError, OSError, ValueError, TypeError):
    description = 'unreadable'
  if 'srgb' not in description.lower():
    notes.append(f"{path.name}: its ICC colour profile ({description.strip()}) is not applied: the colours are coded "
                 "as stored, and the decoded PNG has no profile")


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


# Lossless formats a decoded image is written in, by the output's extension, with Pillow's options for each.
LOSSLESS_FORMATS = {'.png': ('PNG', {}), '.tif': ('TIFF', {'compression': 'tiff_deflate'}),
                    '.tiff': ('TIFF', {'compression': 'tiff_deflate'}), '.ppm': ('PPM', {}), '.bmp': ('BMP', {}),
                    '.webp': ('WEBP', {'lossless': True, 'quality': 100, 'method': 4})}


def output_format(path, notes=None):
  """(Pillow format, options) of the lossless format an output's extension names; PNG for `-` and for a name
  without an extension (with a note); a GrmError for any other extension (a lossy format would change the decoded
  pixels)."""
  suffix = pathlib.Path(str(path)).suffix.lower()
  if str(path) == '-' or not suffix:
    if suffix == '' and str(path) != '-' and notes is not None and not pathlib.Path(str(path)).exists():
      notes.append(f"{path}: no extension: written as PNG")
    return LOSSLESS_FORMATS['.png']
  if suffix not in LOSSLESS_FORMATS:
    names = ', '.join(sorted(LOSSLESS_FORMATS))
    raise GrmError(f"{path}: {suffix} is not a lossless format the decoder writes ({names}): name the output "
                   "with one of these; convert it afterwards if you need a lossy copy")
  return LOSSLESS_FORMATS[suffix]


def write_image(path, image, inputs=(), force=False):
  """Writes uint8 [H, W, 3] in the lossless format the name's extension says (output_format), under the project's
  output rule (outputs.py: atomic, never over an input or an existing file unless force)."""
  _save(path, image, inputs, force, *output_format(path))


def write_png(path, image, inputs=(), force=False):
  """Writes uint8 [H, W, 3] as PNG, whatever the name (outputs.py's rule)."""
  _save(path, image, inputs, force, *LOSSLESS_FORMATS['.png'])


def _save(path, image, inputs, force, pillow_format, options):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  with outputs.output(path, inputs, force) as tmp:
    Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format=pillow_format, **options)


def names_files(spec):
  """Whether spec names files (a glob pattern, such as held-out photographs, or one file) rather than a folder (a
  folder that exists is one, even where its name has a bracket)."""
  path = pathlib.Path(spec)
  return path.is_file() or any(character in str(spec) for character in '*?[') and not path.is_dir()


def matching_files(pattern):
  """The files a glob pattern (or a file's own name) names, sorted (hidden ones only where the pattern names
  them)."""
  if pathlib.Path(pattern).is_file():
    return [pathlib.Path(pattern)]
  return sorted(path for path in map(pathlib.Path, glob.glob(str(pattern))) if path.is_file())


def list_images(folder):
  """Every PNG/JPEG file below `folder`, or that a glob pattern names, sorted."""
  if names_files(folder):
    paths = [path for path in matching_files(folder) if path.suffix.lower() in IMAGE_SUFFIXES]
    if not paths:
      raise GrmError(f"{folder}: no PNG or JPEG images match this pattern")
    return paths
  folder = pathlib.Path(folder)
  if not folder.is_dir():
    raise GrmError(f"{folder}: no such folder")
  return sorted(p for p in folder.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
