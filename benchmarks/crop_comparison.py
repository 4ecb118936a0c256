"""A look, not only a number: one photograph at about the same size through several codecs, a crop of each side by
side, with its bpp, PSNR and MS-SSIM under it.

  python benchmarks/crop_comparison.py IMAGE --bpp 0.25 --model grm-small-wide --model grm-small-msssim \
      --crop 320,160,256,192 --out results/msssim/crops.png

Each model codes the whole image at the largest file not above --bpp (real encodes, `grm compress --bpp`); JPEG,
WebP and AVIF (Pillow) at the highest quality whose file is not above it. The figures are of the whole image; the
crop (x, y, width, height) is enlarged 2x with nearest-neighbour sampling, so that the codecs' artefacts show.
"""
import argparse
import io
import sys

import numpy as np

from grm_jax import evaluation, image_io, outputs, zoo
from grm_jax.errors import GrmError, report_errors

PILLOW = {'jpeg': 'JPEG', 'webp': 'WEBP', 'avif': 'AVIF'}


def _classical_at_size(codec, image, target_bytes):
  """(decoded uint8, bytes) of Pillow's codec at the highest quality whose file is not above target_bytes."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  best = None
  low, high = 1, 100
  while low <= high:  # the size grows with the quality: bisection
    quality = (low + high) // 2
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=PILLOW[codec], quality=quality)
    if buffer.tell() <= target_bytes:
      best, low = buffer.getvalue(), quality + 1
    else:
      high = quality - 1
  if best is None:
    raise GrmError(f"{codec}: even quality 1 is above {target_bytes:.0f} bytes")
  with Image.open(io.BytesIO(best)) as decoded:
    return np.asarray(decoded.convert('RGB'), np.uint8), len(best)


def _ours_at_size(model, image, target_bytes):
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import rate_control  # pylint: disable=import-outside-toplevel
  codec = grm_jax.load(model)
  search = rate_control.fit_to_size(codec, image, target_bytes)
  return codec.decompress(search.result.data), len(search.result.data)


def draw(image, panels, crop, out, force):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  x, y, width, height = crop
  columns = len(panels) + 1
  fig, axes = plt.subplots(1, columns, figsize=(3.2 * columns, 3.2 * height / width + 0.9))
  pixels = image.shape[0] * image.shape[1]
  entries = [('original', image, None)] + panels
  for ax, (name, decoded, size) in zip(axes, entries):
    ax.imshow(np.kron(decoded[y:y + height, x:x + width], np.ones((2, 2, 1), np.uint8)), interpolation='nearest')
    ax.set_xticks([])
    ax.set_yticks([])
    if size is None:
      ax.set_title(name, fontsize=9)
    else:
      figures = evaluation.psnr_uint8(image, decoded), evaluation.ms_ssim_uint8(image, decoded)
      ax.set_title(f"{name}\n{8 * size / pixels:.3f} bpp, {figures[0]:.2f} dB, MS-SSIM {figures[1]:.4f}", fontsize=8)
  fig.tight_layout()
  with outputs.output(out, force=force) as tmp:
    fig.savefig(tmp, dpi=110, format='png')
  plt.close(fig)


def run(args):
  image = image_io.read_image(args.image)
  crop = tuple(int(v) for v in args.crop.split(','))
  if len(crop) != 4 or crop[0] + crop[2] > image.shape[1] or crop[1] + crop[3] > image.shape[0]:
    raise GrmError(f"--crop {args.crop}: x,y,width,height inside the {image.shape[1]}x{image.shape[0]} image")
  outputs.target(args.out, force=args.force)
  target = args.bpp * image.shape[0] * image.shape[1] / 8
  panels = []
  for model in args.model:
    decoded, size = _ours_at_size(model, image, target)
    panels.append((zoo.display_name(zoo.resolve(model)), decoded, size))
  for codec in args.codec:
    if not evaluation.available_classical(codec):
      print(f"note: Pillow here has no {codec}; left out", file=sys.stderr)
      continue
    decoded, size = _classical_at_size(codec, image, target)
    panels.append((f"{codec.upper()} (Pillow)", decoded, size))
  draw(image, panels, crop, args.out, args.force)
  for name, decoded, size in panels:
    pixels = image.shape[0] * image.shape[1]
    print(f"{name}: {size} bytes, {8 * size / pixels:.4f} bpp, PSNR {evaluation.psnr_uint8(image, decoded):.2f} dB,"
          f" MS-SSIM {evaluation.ms_ssim_uint8(image, decoded):.4f}")
  print(f"figure: {args.out}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('image')
  parser.add_argument('--bpp', type=float, required=True, help='the size every codec is held to, in bits per pixel')
  parser.add_argument('--model', action='append', required=True, help='a shipped model or a model directory')
  parser.add_argument('--codec', action='append', default=None, choices=sorted(PILLOW))
  parser.add_argument('--crop', required=True, metavar='X,Y,W,H')
  parser.add_argument('--out', required=True, help='the PNG to write')
  parser.add_argument('-f', '--force', action='store_true')
  args = parser.parse_args()
  args.codec = args.codec or sorted(PILLOW, key=['avif', 'webp', 'jpeg'].index)
  return report_errors('crop_comparison.py', run, args)


if __name__ == '__main__':
  sys.exit(main())
