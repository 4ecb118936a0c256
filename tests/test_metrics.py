"""PSNR and MS-SSIM against tf.image, a real peer implementation."""
import numpy as np
import pytest

from grm_jax import metrics

tf = pytest.importorskip('tensorflow')


def _pairs(natural_image):
  rng = np.random.default_rng(0)
  noise = rng.uniform(size=(2, 192, 200, 3)).astype(np.float32)
  crop = natural_image[None, 100:356, 200:461]  # an odd width exercises the padding before down-sampling
  degraded = np.clip(crop + rng.normal(0, 0.05, crop.shape), 0, 1).astype(np.float32)
  blurred = (0.5 * crop + 0.25 * np.roll(crop, 1, axis=1) + 0.25 * np.roll(crop, 1, axis=2)).astype(np.float32)
  return [(noise[:1], noise[1:]), (crop, degraded), (crop, blurred)]


def test_ms_ssim_matches_tensorflow(natural_image):
  for a, b in _pairs(natural_image):
    expected = tf.image.ssim_multiscale(tf.constant(a), tf.constant(b), max_val=1.0).numpy()
    np.testing.assert_allclose(np.asarray(metrics.ms_ssim(a, b)), expected, rtol=1e-4, atol=1e-5)


def test_psnr_matches_tensorflow(natural_image):
  for a, b in _pairs(natural_image):
    expected = tf.image.psnr(tf.constant(a), tf.constant(b), max_val=1.0).numpy()
    assert float(metrics.psnr(a, b)) == pytest.approx(float(expected[0]), rel=1e-4)


def test_ms_ssim_refuses_small_images():
  with pytest.raises(ValueError, match='at least 161x161'):
    metrics.ms_ssim(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)))
