"""How well a model's transforms alone reconstruct photographs: the PSNR of g_s(g_a(x)) with y not quantised (the
gains of a variable-rate model applied and undone as in coding), beside the PSNR and bits of a real file at the
same lambda, over a folder of images; means over the images.

  python benchmarks/transform_ceiling.py --model context-small --lambda 0.0018 --lambda 0.0483 \
      --data ../shared/data/kodak

No rate buys more than the unquantised PSNR: where a curve flattens well below it, the entropy model or the gains
stop spending bits well; where the coded PSNR nears it, the transforms are the ceiling.
"""
import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np

import grm_jax
from grm_jax import image_io
from grm_jax.errors import report_errors
from grm_jax.evaluation import evaluate_codec, psnr_uint8


def unquantised_reconstruction(model, params, lambda_):
  """image uint8 [H, W, 3] -> g_s(g_a(image)) as uint8, with y kept continuous."""
  lambdas = None if lambda_ is None else jnp.full((1,), lambda_, jnp.float32)

  @jax.jit
  def reconstruct(params, x):
    y = model.apply({'params': params}, x, lambdas, method=model.analysis)
    return model.apply({'params': params}, y, lambdas, method=model.synthesis)[0, :x.shape[1], :x.shape[2]]

  return lambda image: np.asarray(jnp.round(jnp.clip(reconstruct(params, image_io.to_float(image)[None]), 0, 1)
                                            * 255), np.uint8)


def mean_psnr(reconstruct, images):
  return float(np.mean([psnr_uint8(image, reconstruct(image)) for image in images]))


def run(args):
  codec = grm_jax.load(args.model)
  images = [image_io.read_image(path) for path in image_io.list_images(args.data)]
  for lambda_ in args.lambdas or [None]:
    ceiling = mean_psnr(unquantised_reconstruction(codec.model, codec.params, lambda_), images)
    rows = [evaluate_codec(codec, '', image, lambda_) for image in images]
    coded, bpp = np.mean([row['psnr'] for row in rows]), np.mean([row['bpp'] for row in rows])
    print(f"{args.model} at lambda {lambda_}: y unquantised {ceiling:.2f} dB; real files {coded:.2f} dB at "
          f"{bpp:.4f} bpp ({len(images)} images)", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', default=None, help='a shipped model name or a model directory (default model)')
  parser.add_argument('--lambda', dest='lambdas', type=float, action='append', help='(variable-rate models)')
  parser.add_argument('--data', required=True, help='a folder of images')
  args = parser.parse_args()
  sys.exit(report_errors('transform_ceiling.py', run, args))


if __name__ == '__main__':
  main()
