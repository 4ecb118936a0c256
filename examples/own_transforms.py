"""A researcher's own transforms with this project's GRM entropy model: trained, exported, and real .grm files.

  python examples/own_transforms.py --data FOLDER --workdir runs/own_transforms [--steps 300]

The analysis and synthesis transforms below are not this project's (residual blocks; any Flax modules with 16x
down- and up-sampling do). Everything else is grm_jax's: the grm family's entropy model (local context, global
reference, hyperprior), the training loop, the model directory and the bitstream.
"""
import argparse
import pathlib
import sys

import flax.linen as nn
import numpy as np

import grm_jax
from grm_jax import config_io, image_io, metrics
from grm_jax.codec import model_dir
from grm_jax.errors import report_errors
from grm_jax.training import trainer


class ResidualBlock(nn.Module):
  features: int

  @nn.compact
  def __call__(self, x):
    y = nn.Conv(self.features, (3, 3))(nn.leaky_relu(x))
    return x + nn.Conv(self.features, (3, 3))(nn.leaky_relu(y))


class Analysis(nn.Module):
  """Four stride-2 convolutions with residual blocks between them: 16x down, latent_channels out."""
  features: int
  latent_channels: int

  @nn.compact
  def __call__(self, x):
    for i in range(3):
      x = ResidualBlock(self.features)(nn.Conv(self.features, (5, 5), strides=2)(x))
    return nn.Conv(self.latent_channels, (5, 5), strides=2)(x)


class Synthesis(nn.Module):
  features: int

  @nn.compact
  def __call__(self, y):
    for _ in range(3):
      y = ResidualBlock(self.features)(nn.ConvTranspose(self.features, (5, 5), strides=(2, 2))(y))
    return nn.ConvTranspose(3, (5, 5), strides=(2, 2))(y)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--data', required=True, help='a folder of training photographs')
  parser.add_argument('--workdir', required=True, help='a new folder: checkpoints, the model, the .grm files')
  parser.add_argument('--steps', type=int, default=300)
  parser.add_argument('--patch', type=int, default=128)
  parser.add_argument('--features', type=int, default=64, help='width of the transforms')
  parser.add_argument('--config', default='grm_small', help="whose entropy model and training recipe (a name or path)")
  return report_errors(parser.prog, run, parser.parse_args())


def run(args):
  workdir = pathlib.Path(args.workdir)
  config = config_io.load_config(args.config)  # grm_small: the grm entropy model at the shipped models' size
  config.train_data, config.val_data = f'folder:{args.data}', ''
  config.num_steps, config.patch_size, config.warmup_steps = args.steps, args.patch, args.steps // 10
  config.checkpoint_every = config.log_every = max(1, args.steps // 4)
  transforms = {'analysis': Analysis(args.features, config.model.latent_channels),
                'synthesis': Synthesis(args.features)}

  state = trainer.train_and_evaluate(config, str(workdir / 'train'), transforms=transforms)
  model_dir.export(state['params'], config, workdir / 'model', transforms=transforms)
  codec = grm_jax.load(workdir / 'model', transforms=transforms)
  for path in image_io.list_images(args.data)[:2]:
    image = image_io.read_image(path)
    encoded = codec.encode(image)  # with the reconstruction the decoder will produce
    grm_file = workdir / (pathlib.Path(path).stem + '.grm')
    grm_file.write_bytes(encoded.data)
    decoded = codec.decompress(grm_file.read_bytes())
    assert np.array_equal(decoded, encoded.reconstruction), 'the decoder must reproduce the encoder exactly'
    psnr = float(metrics.psnr(image_io.to_float(image), image_io.to_float(decoded)))
    print(f"{grm_file}: {len(encoded.data)} bytes, PSNR {psnr:.2f} dB, decoded exactly")


if __name__ == '__main__':
  sys.exit(main())
