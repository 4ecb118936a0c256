"""Shared fixtures: tiny models and sample images. Tests never need ../shared (those that use it skip)."""
import pathlib

import jax
import numpy as np
import pytest
from PIL import Image

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = REPO / 'samples'
SHARED = REPO.parent / 'shared'


@pytest.fixture(scope='session')
def natural_image():
  """kodim23 as float32 [H, W, 3] in [0, 1]."""
  return np.asarray(Image.open(SAMPLES / 'kodim23.png').convert('RGB'), np.float32) / 255.0


@pytest.fixture
def rng():
  return jax.random.PRNGKey(0)
