"""Shared fixtures: sample images. No test needs ../shared: what they use ships in samples/ and tests/data/."""
import importlib.util
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[1]
# The command line's compilation cache stays off in tests, and in the processes they start, unless a test points it
# at a folder of its own: the suite neither reads nor fills the user's cache.
os.environ['GRM_CACHE_DIR'] = 'off'

SAMPLES = REPO / 'samples'


@pytest.fixture(scope='session')
def natural_image():
  """kodim23 as float32 [H, W, 3] in [0, 1]."""
  return np.asarray(Image.open(SAMPLES / 'kodim23.png').convert('RGB'), np.float32) / 255.0


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
  """Tests marked `tensorflow` run in the TensorFlow stage of `make test` (.venv-tf) and skip elsewhere."""
  if importlib.util.find_spec('tensorflow') is not None:
    return
  skip = pytest.mark.skip(reason='TensorFlow stage only (make test runs it in .venv-tf: requirements-tf.txt)')
  for item in items:
    if 'tensorflow' in item.keywords:
      item.add_marker(skip)
