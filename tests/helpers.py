"""Helpers shared by tests: tiny image folders and subprocess runs of the project's scripts."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[1]

# Tests of what only the TensorFlow extra provides (tensorflow-compression's op as the coder's reference, tf.image,
# tfds, tensorboard) and of the second JAX stack that comes with it. `make test` runs them in .venv-tf; elsewhere they
# skip (tests/conftest.py).
tensorflow_stage = pytest.mark.tensorflow
HAS_TENSORFLOW = importlib.util.find_spec('tensorflow') is not None


def write_image_folder(folder, count=6, size=(80, 96), seed=0):
  """Smooth random RGB images (PNG and JPEG) with a little noise: compressible like photographs."""
  folder = pathlib.Path(folder)
  folder.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  h, w = size
  paths = []
  for i in range(count):
    base = rng.uniform(0, 255, (h // 8 + 1, w // 8 + 1, 3))
    image = np.kron(base, np.ones((8, 8, 1)))[:h, :w] + rng.normal(0, 4, (h, w, 3))
    path = folder / (f'img{i}.png' if i % 2 == 0 else f'img{i}.jpg')
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    paths.append(path)
  return paths


def run_python(args, env=None, timeout=600, **kwargs):
  """Runs `python ARGS` from the repository root; returns the CompletedProcess (text)."""
  full_env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **(env or {})}
  return subprocess.run([sys.executable] + list(args), cwd=REPO, env=full_env, capture_output=True, text=True,
                        timeout=timeout, check=False, **kwargs)


def export_tiny_model(tmp_path_factory, family, steps=0, order='wavefront', transform_dtype='float32',
                      calibration_images=None, model_overrides=None, config_overrides=None):
  """A model directory of configs/tiny.py's model (config.model updated with model_overrides, the config with
  config_overrides): random weights, or trained for `steps` on tiny images; with calibration_images, its entropy
  path exported portable (integer)."""
  import jax  # pylint: disable=import-outside-toplevel
  from grm_jax.configs import tiny  # pylint: disable=import-outside-toplevel
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import model_dir  # pylint: disable=import-outside-toplevel
  from grm_jax.training import trainer  # pylint: disable=import-outside-toplevel
  config = tiny.get_config()
  config.model.family, config.model.order, config.model.transform_dtype = family, order, transform_dtype
  config.model.update(model_overrides or {})
  config.update(config_overrides or {})
  folder = tmp_path_factory.mktemp(f'{family}_model')
  if steps:
    write_image_folder(folder / 'train', count=8, size=(96, 96), seed=5)
    config.train_data, config.num_steps, config.checkpoint_every = f'folder:{folder / "train"}', steps, steps
    config.log_every, config.learning_rate, config.patch_size, config.batch_size = steps, 1e-3, 64, 4
    params = trainer.train_and_evaluate(config, str(folder / 'work'))['params']
  else:
    model = models.build(config)
    params = model.init(jax.random.PRNGKey(1), np.zeros((1, 64, 64, 3), np.float32))['params']
  model_dir.export(params, config, folder / 'model', calibration_images=calibration_images)
  return folder / 'model'
