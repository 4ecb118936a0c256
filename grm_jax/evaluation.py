"""Rate-distortion evaluation: our codecs through real files, classical codecs through Pillow, one schema.

Every figure is measured on 8-bit RGB: bpp from the bytes of the whole file (header included) over the pixel
count, PSNR of the decoded image rounded to uint8, MS-SSIM (images of at least 161x161 pixels), wall times.
"""
import functools
import io
import pathlib
import time

import numpy as np

from grm_jax import image_io, metrics
from grm_jax.errors import GrmError

CLASSICAL = {'jpeg': 'JPEG', 'webp': 'WEBP', 'avif': 'AVIF', 'heif': 'HEIF'}
DEFAULT_QUALITIES = {'jpeg': (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
                     'webp': (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
                     'avif': (10, 20, 30, 40, 50, 60, 70, 80, 90),
                     'heif': (10, 20, 30, 40, 50, 60, 70, 80, 90)}


def load_images(folder):
  """(images as [(name, uint8 array)], ignored file names) of a folder, or of the files a glob pattern names
  (held-out photographs of a training folder), sorted by name.

  Files without an image suffix (checksums, READMEs) are ignored and named; a file with an image suffix that is
  not a readable image stops the evaluation with a GrmError: a benchmark must not silently drop images.
  """
  pattern = image_io.names_files(folder)
  if pattern:
    files = image_io.matching_files(folder)
  else:
    if not pathlib.Path(folder).is_dir():
      raise GrmError(f"{folder}: no such folder")
    files = sorted(p for p in pathlib.Path(folder).iterdir() if p.is_file() and not p.name.startswith('.'))
  paths = [p for p in files if p.suffix.lower() in image_io.IMAGE_SUFFIXES]
  if not paths:
    raise GrmError(f"{folder}: no PNG or JPEG images {'match this pattern' if pattern else 'in it'}")
  ignored = [p.name for p in files if p not in paths]
  return [(p.name, image_io.read_image(p)) for p in paths], ignored


def psnr_uint8(original, decoded):
  mse = np.mean((original.astype(np.float64) - decoded.astype(np.float64))**2)
  return float('inf') if mse == 0 else float(10 * np.log10(255.0**2 / mse))


@functools.lru_cache(maxsize=1)
def _jitted_ms_ssim():
  import jax  # pylint: disable=import-outside-toplevel
  return jax.jit(metrics.ms_ssim)


def ms_ssim_uint8(original, decoded):
  """MS-SSIM of two uint8 images, or None where the image is too small for 5 scales."""
  if min(original.shape[:2]) < metrics.MS_SSIM_MIN_SIDE:
    return None
  a, b = image_io.to_float(original)[None], image_io.to_float(decoded)[None]
  return float(_jitted_ms_ssim()(a, b)[0])


def _quality(original, decoded):
  return {'psnr': psnr_uint8(original, decoded), 'ms_ssim': ms_ssim_uint8(original, decoded)}


def timed_round_trip(codec, image, lambda_=None):
  """(EncodeResult, DecodeResult, encoding seconds, decoding seconds) of one image (at lambda_, for a
  variable-rate model)."""
  start = time.perf_counter()
  encoded = codec.encode(image, lambda_=lambda_)
  encoding_time = time.perf_counter() - start
  start = time.perf_counter()
  decoded = codec.decode(encoded.data)
  return encoded, decoded, encoding_time, time.perf_counter() - start


def evaluate_codec(codec, name, image, lambda_=None):
  """Figures of one image through a real .grm file; checks the decoder against the encoder."""
  pixels = image.shape[0] * image.shape[1]
  encoded, decoded, encoding_time, decoding_time = timed_round_trip(codec, image, lambda_)
  return {'image': name, 'bpp': 8 * len(encoded.data) / pixels, 'bpp_estimated': encoded.estimated_bits / pixels,
          'encoding_time': encoding_time, 'decoding_time': decoding_time,
          'exact': bool(np.array_equal(decoded.image, encoded.reconstruction)), **_quality(image, decoded.image)}


def estimate_image(forward, params, name, image, lambda_=None):
  """Figures of one image from a forward pass of the model (no range coder): the estimated rate only.

  The autoregressive families' forward pass rounds y without the predicted mean, so its rate is a little above
  what the codec's mean-shifted symbols cost (docs/evaluation.md)."""
  start = time.perf_counter()
  lambdas = None if lambda_ is None else np.full((1,), lambda_, np.float32)
  out = forward(params, image_io.to_float(image)[None], lambdas)
  bpp = float(out['bpp'])
  elapsed = time.perf_counter() - start
  decoded = image_io.to_uint8(np.asarray(out['x_hat'][0]))
  return {'image': name, 'bpp': bpp, 'bpp_estimated': bpp, 'encoding_time': elapsed, 'decoding_time': None,
          **_quality(image, decoded)}


def make_forward(model):
  """The jit-compiled forward pass at test time: forward(params, x, lambdas=None) -> the model's outputs."""
  import jax  # pylint: disable=import-outside-toplevel
  return jax.jit(lambda params, x, lambdas=None: model.apply({'params': params}, x, train=False, lambdas=lambdas))


def available_classical(codec):
  from PIL import features  # pylint: disable=import-outside-toplevel
  if codec not in CLASSICAL:
    raise GrmError(f"unknown codec {codec!r}; expected one of {sorted(CLASSICAL)}")
  if codec == 'heif':
    try:
      import pillow_heif  # pylint: disable=import-outside-toplevel
      pillow_heif.register_heif_opener()
    except ImportError:
      return False
    return True
  return bool(features.check({'jpeg': 'jpg'}.get(codec, codec)))


def evaluate_classical(codec, quality, name, image):
  """Figures of one image through Pillow's encoder at one quality (Pillow's defaults otherwise)."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  pixels = image.shape[0] * image.shape[1]
  buffer = io.BytesIO()
  start = time.perf_counter()
  Image.fromarray(image).save(buffer, format=CLASSICAL[codec], quality=int(quality))
  encoding_time = time.perf_counter() - start
  data = buffer.getvalue()
  start = time.perf_counter()
  with Image.open(io.BytesIO(data)) as decoded_image:
    decoded = np.asarray(decoded_image.convert('RGB'))
  decoding_time = time.perf_counter() - start
  return {'image': name, 'bpp': 8 * len(data) / pixels, 'encoding_time': encoding_time,
          'decoding_time': decoding_time, **_quality(image, decoded)}


def summarize(per_image):
  """The mean of each figure over images (None where any image lacks it)."""
  summary = {}
  for key in ('bpp', 'bpp_estimated', 'psnr', 'ms_ssim', 'encoding_time', 'decoding_time'):
    values = [r.get(key) for r in per_image]
    if key in per_image[0]:
      summary[key] = None if any(v is None for v in values) else float(np.mean(values))
  if 'exact' in per_image[0]:
    summary['exact'] = all(r['exact'] for r in per_image)
    ratios = [r['bpp'] / r['bpp_estimated'] for r in per_image]  # real file over the model's own estimate
    summary['real_over_estimated'] = [float(min(ratios)), float(max(ratios))]
  return summary


def to_compressai_json(name, description, points, per_image=None):
  """CompressAI's eval_model schema: one entry per RD point in each list, sorted by rate, plus bpp_estimated."""
  points = sorted(points, key=lambda p: p['bpp'])
  results = {'psnr-rgb': [p['psnr'] for p in points], 'ms-ssim-rgb': [p['ms_ssim'] for p in points],
             'bpp': [p['bpp'] for p in points], 'encoding_time': [p['encoding_time'] for p in points],
             'decoding_time': [p['decoding_time'] for p in points]}
  for key in ('bpp_estimated', 'model', 'lambda', 'quality'):  # what made each point
    if all(key in p for p in points):
      results[key] = [p[key] for p in points]
  data = {'name': name, 'description': description, 'results': results}
  if per_image is not None:
    data['per_image'] = per_image
  return data
