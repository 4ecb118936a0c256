"""The shipped model's transforms with another entropy model: what does the global reference give over the local
context alone, on the same g_a and g_s?

  python examples/swap_entropy_model.py --data FOLDER --workdir runs/swap [--family context] [--steps 300]

grm-small's (or --from MODEL's) transforms, gain units and hyperprior are kept, its entropy model of y is replaced
by a fresh one of another family (or of its own, the control: what retraining alone gives), and only the entropy
models train (the transforms' learning rate is zero). Then both models code the same photographs into real .grm
files.
"""
import argparse
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

import grm_jax
from grm_jax import image_io, models
from grm_jax.codec import model_dir
from grm_jax.errors import report_errors
from grm_jax.training import trainer


def transplanted(new_params, shipped_params):
  """new_params with every part of the shipped model that has the same name and shapes, except y's entropy model,
  which starts fresh even where the family is the source's own (the control of a swap)."""
  return {name: shipped_params[name] if name != 'y_parameters' and name in shipped_params
          and models.same_layout(shipped_params[name], value) else value for name, value in new_params.items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--data', required=True, help='training photographs: a folder, or folders comma-separated')
  parser.add_argument('--from', dest='source', default='grm-small', help='the model whose transforms are kept')
  parser.add_argument('--workdir', required=True, help='a new folder: checkpoints, the model, the .grm files')
  parser.add_argument('--family', default='context', choices=models.families.names(),
                      help="the entropy model's family (models/families.py)")
  parser.add_argument('--steps', type=int, default=300)
  parser.add_argument('--patch', type=int, help="training crops' side (default: the source model's recipe)")
  return report_errors(parser.prog, run, parser.parse_args())


def run(args):
  workdir = pathlib.Path(args.workdir)

  shipped = grm_jax.load(args.source)
  config = shipped.config.copy_and_resolve_references()
  config.model.family, config.train_data, config.val_data = args.family, f'folder:{args.data}', ''
  config.num_steps, config.patch_size = args.steps, args.patch or config.patch_size  # else the source's recipe
  config.warmup_steps = min(config.warmup_steps, args.steps // 10)
  config.checkpoint_every, config.log_every = (min(every, max(1, args.steps // 4))
                                               for every in (config.checkpoint_every, config.log_every))
  config.transform_lr_scale, config.init_from = 0.0, ''  # g_a and g_s stay the source model's
  fresh = models.build(config).init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))['params']
  start = transplanted(fresh, shipped.params)
  print(f"kept from {args.source}:", ', '.join(name for name in start if start[name] is shipped.params.get(name)))

  state = trainer.train_and_evaluate(config, str(workdir / 'train'), initial_params=start)
  model_dir.export(state['params'], config, workdir / 'model')
  swapped = grm_jax.load(workdir / 'model')
  for path in image_io.list_images(args.data.split(',')[0])[:2]:
    image = image_io.read_image(path)
    for name, codec in ((args.source, shipped), (f'{args.family} on its transforms', swapped)):
      encoded = codec.encode(image, lambda_=codec.default_lambda)
      grm_file = workdir / f"{pathlib.Path(path).stem}.{codec.family}.grm"
      grm_file.write_bytes(encoded.data)
      assert np.array_equal(codec.decompress(grm_file.read_bytes()), encoded.reconstruction)
      print(f"{path} by {name}: {len(encoded.data)} bytes, decoded exactly")


if __name__ == '__main__':
  sys.exit(main())
