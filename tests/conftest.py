"""Shared fixtures: sample images. No test needs ../shared: what they use ships in samples/ and tests/data/."""
import pathlib

import numpy as np
import pytest
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = REPO / 'samples'


@pytest.fixture(scope='session')
def natural_image():
  """kodim23 as float32 [H, W, 3] in [0, 1]."""
  return np.asarray(Image.open(SAMPLES / 'kodim23.png').convert('RGB'), np.float32) / 255.0
