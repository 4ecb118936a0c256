"""PSNR and MS-SSIM against tf.image, a real peer implementation: its values for fixed image pairs are stored in
tests/data/metrics_reference.json (checked against tf.image itself in the TensorFlow stage)."""
import json

import numpy as np
import pytest

from grm_jax import evaluation, image_io, metrics
from tests.conftest import REPO
from tests.helpers import tensorflow_stage

REFERENCE = REPO / 'tests' / 'data' / 'metrics_reference.json'


def _pairs(natural_image):
  rng = np.random.default_rng(0)
  noise = rng.uniform(size=(2, 192, 200, 3)).astype(np.float32)
  crop = natural_image[None, 100:356, 200:461]  # an odd width exercises the padding before down-sampling
  degraded = np.clip(crop + rng.normal(0, 0.05, crop.shape), 0, 1).astype(np.float32)
  blurred = (0.5 * crop + 0.25 * np.roll(crop, 1, axis=1) + 0.25 * np.roll(crop, 1, axis=2)).astype(np.float32)
  return [(noise[:1], noise[1:]), (crop, degraded), (crop, blurred)]


def _uint8_pair(natural_image):
  original = image_io.to_uint8(natural_image[:256, :320])
  noisy = np.clip(original + np.random.default_rng(0).normal(0, 6, original.shape), 0, 255).astype(np.uint8)
  return original, noisy


def _tf_image_values(natural_image):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  pairs = _pairs(natural_image)
  original, noisy = _uint8_pair(natural_image)
  return {
      'ms_ssim': [float(tf.image.ssim_multiscale(tf.constant(a), tf.constant(b), max_val=1.0).numpy()[0])
                  for a, b in pairs],
      'psnr': [float(tf.image.psnr(tf.constant(a), tf.constant(b), max_val=1.0).numpy()[0]) for a, b in pairs],
      'uint8_psnr': float(tf.image.psnr(original, noisy, max_val=255)),
      'uint8_ms_ssim': float(tf.image.ssim_multiscale(original, noisy, max_val=255)),
  }


@pytest.fixture(scope='module')
def reference():
  return json.loads(REFERENCE.read_text())


def test_ms_ssim_matches_tf_image(natural_image, reference):
  for (a, b), expected in zip(_pairs(natural_image), reference['ms_ssim']):
    np.testing.assert_allclose(float(np.asarray(metrics.ms_ssim(a, b))[0]), expected, rtol=1e-4, atol=1e-5)


def test_psnr_matches_tf_image(natural_image, reference):
  for (a, b), expected in zip(_pairs(natural_image), reference['psnr']):
    assert float(metrics.psnr(a, b)) == pytest.approx(expected, rel=1e-4)


def test_uint8_metrics_of_the_evaluation_match_tf_image(natural_image, reference):
  original, noisy = _uint8_pair(natural_image)
  assert evaluation.psnr_uint8(original, noisy) == pytest.approx(reference['uint8_psnr'], rel=1e-5)
  assert evaluation.ms_ssim_uint8(original, noisy) == pytest.approx(reference['uint8_ms_ssim'], rel=1e-4)


@tensorflow_stage
def test_the_stored_values_are_tf_images(natural_image, reference):
  expected = _tf_image_values(natural_image)
  for name, values in reference.items():
    np.testing.assert_allclose(values, expected[name], rtol=1e-6, err_msg=name)


def test_ms_ssim_refuses_small_images():
  with pytest.raises(ValueError, match='at least 161x161'):
    metrics.ms_ssim(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)))
