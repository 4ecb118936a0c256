"""Prints what the global reference is worth to grm models over a folder of images (`grm inspect`, averaged).

  python benchmarks/reference_share.py --model grm-small --lambda 0.0018 --lambda 0.0483 --data ../shared/data/kodak

For each model and lambda: the rate of y under the final stage and with the reference removed (means over the
images), the reference's share (the mean over images of each image's share, and its range), the local and
reference stages' rates, the mean S, U and S*U, and what the final stage leaves unused: the correlation of its
residual with the reference's residual (the left neighbour's in brackets) and the rate of y with mu shifted by it.
"""
import argparse
import os
import sys

import numpy as np

import grm_jax
from grm_jax import diagnostics, image_io
from grm_jax.errors import report_errors


def shares(codec, images, lambda_):
  rows = [diagnostics.inspect_reference(codec, image, lambda_).summary for image in images]
  mean = lambda key: float(np.mean([r[key] for r in rows]))
  share = [r['reference_share_percent'] for r in rows]
  return {'bpp': mean('bpp'), 'bpp_y': mean('bpp_y'), 'bpp_y_without_reference': mean('bpp_y_without_reference'),
          'share_mean': float(np.mean(share)), 'share_min': float(np.min(share)), 'share_max': float(np.max(share)),
          'local': mean('bpp_y_local_stage'), 'reference_stage': mean('bpp_y_reference_stage'),
          's': mean('similarity_mean'), 'u': mean('confidence_mean'), 'su': mean('similarity_times_confidence_mean'),
          'far': mean('far_reference_fraction'), 'rho': mean('reference_residual_correlation'),
          'rho_left': mean('left_residual_correlation'), 'corrected': mean('bpp_y_reference_residual_corrected')}


def run(args):
  paths = image_io.list_images(args.data)[:args.limit or None]
  images = [image_io.read_image(p) for p in paths]
  print(f"{len(images)} images of {args.data}")
  print("| model | lambda | bpp (file) | bpp y | bpp y, reference removed | reference's share (range) | stage 1 | "
        "stage 2 | mean S | mean U | mean S*U | far references | residual correlation (left) | bpp y, shifted |")
  print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for model in args.model:
    codec = grm_jax.load(model)
    for lambda_ in args.lambda_ or [None]:
      r = shares(codec, images, lambda_)
      print(f"| {os.path.basename(os.path.normpath(str(model)))} | {codec.check_lambda(lambda_):.4g} | "
            f"{r['bpp']:.4f} | {r['bpp_y']:.4f} | {r['bpp_y_without_reference']:.4f} | "
            f"{r['share_mean']:+.2f}% ({r['share_min']:+.2f} to {r['share_max']:+.2f}) | {r['local']:.4f} | "
            f"{r['reference_stage']:.4f} | {r['s']:.3f} | {r['u']:.3f} | {r['su']:.3f} | {100 * r['far']:.0f}% | "
            f"{r['rho']:+.3f} ({r['rho_left']:+.3f}) | {r['corrected']:.4f} |",
            flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', action='append', required=True, help='a grm model (repeatable)')
  parser.add_argument('--lambda', dest='lambda_', type=float, action='append',
                      help="a variable-rate model's trade-off (repeatable; default: the model's default)")
  parser.add_argument('--data', required=True, help='a folder of photographs')
  parser.add_argument('--limit', type=int, default=0, help='the first N images only')
  args = parser.parse_args()
  return report_errors('reference_share.py', run, args)


if __name__ == '__main__':
  sys.exit(main())
