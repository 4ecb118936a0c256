"""PSNR and MS-SSIM against tf.image, a real peer implementation: its values for fixed image pairs are stored in
tests/data/metrics_reference.json (checked against tf.image itself in the TensorFlow stage)."""
import json
import math

import numpy as np
import pytest

from grm_jax import evaluation, image_io, metrics
from tests import tolerances
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


def _ms_ssim_depth(a, b, separable, input_roundings=0):
  """tolerances.probable_gamma's depth for one float32 MS-SSIM of a [1, H, W, C] pair: tf.image's (an 11x11 window,
  a 121-term softmax) or ours (separable: two passes of 11 taps, an 11-term softmax); input_roundings: those of
  each pixel before (a uint8 image's conversion). The sum over the roundings of the squared relative sensitivity
  of the result to each, from the float64 terms of the pair itself:
    - every rounding in a window sum Q (E[x], E[y], E[xy], E[x^2 + y^2]: products and partial sums of positive
      terms, and those of its halved and multiplied inputs) to at most d ln t / d ln Q, which the cancellation in
      E[xy] - E[x]E[y] and E[x^2] - E[x]^2 magnifies up to 1e4 times in flat regions, and every one after them to
      at most that cancellation's condition number;
    - the window's weights, which every pixel shares: their exponents, exp (2 ulps), the normalising sum (a
      common factor, which moves E[x]^2 twice as far as E[x^2]: the largest term) and the quotient;
    - the partial sums of the map means (at most sum |t|), the powers (2 ulps), their product, the channel mean.
  The worst case, every rounding aligned, is 1 to 8 % of these values: above what a wrong weight or padding changes
  and far above any machine, hence the probabilistic bound. A channel that the clip zeroes (the noise pair's blue)
  has no sensitivity: its negative mean lies more than ten times its worst-case rounding error below zero."""
  x, y = (np.asarray(v[0], np.float64) for v in (a, b))
  c1, c2 = 0.01**2, 0.03**2
  exponent = -0.5 * (np.arange(11) - 5.0)**2 / 1.5**2
  exponents = exponent[:, None] + exponent[None, :]
  window = np.exp(exponents) / np.exp(exponents).sum()
  windows = lambda v, shape: np.lib.stride_tricks.sliding_window_view(v, shape, axis=(0, 1))
  scales = []
  for scale in range(len(metrics.MS_SSIM_WEIGHTS)):
    if scale:
      x, y = (np.pad(v, ((0, v.shape[0] % 2), (0, v.shape[1] % 2), (0, 0)), mode='symmetric') for v in (x, y))
      x, y = (v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2, -1).mean(axis=(1, 3)) for v in (x, y))
    fields = (x, y, x * y, x * x + y * y)
    sums = [np.einsum('hwcij,ij->hwc', windows(f, (11, 11)), window) for f in fields]
    mx, my, fxy, fsq = sums
    num0, den0, num1 = 2 * mx * my, mx**2 + my**2, 2 * fxy
    num, den = num1 - num0 + c2, fsq - den0 + c2
    t = num / den
    grads = [2 * mx**2 / den - num0 / num, 2 * my**2 / den - num0 / num, num1 / num, -fsq / den]  # d ln t / d ln Q
    condition = (num1 + num0 + c2) / np.abs(num) + (fsq + den0 + c2) / den
    if scale == len(metrics.MS_SSIM_WEIGHTS) - 1:  # the last scale's term is SSIM: cs times the luminance
      t = t * (num0 + c1) / (den0 + c1)
      grads[0] += num0 / (num0 + c1) - 2 * mx**2 / (den0 + c1)
      grads[1] += num0 / (num0 + c1) - 2 * my**2 / (den0 + c1)
      condition += 2
    scales.append((t, grads, condition, fields, sums))
  weights = np.asarray(metrics.MS_SSIM_WEIGHTS)
  per_channel = np.prod(np.maximum([t.mean(axis=(0, 1)) for t, *_ in scales], 0)**weights[:, None], axis=0)
  channel_share = per_channel / per_channel.sum()  # d ln MS-SSIM / d ln (a channel's MS-SSIM)
  window_sum = 2 * (11 + 10) if separable else 121 + 120  # products and additions of one window sum
  depth, kernel = 0.0, np.zeros((11, 11))  # kernel: d ln MS-SSIM / d ln (a weight of the window)
  for scale, (t, grads, condition, fields, sums) in enumerate(scales):
    share = channel_share * weights[scale] * t / t.sum(axis=(0, 1))  # d ln MS-SSIM / d ln t at each pixel
    own = window_sum + 3 + 3 * scale + input_roundings  # and the inputs': x^2 + y^2, the halvings, a conversion
    depth += np.sum(share**2 * (own * sum(g**2 for g in grads) + 10 * condition**2))
    partial = channel_share * weights[scale] * np.abs(t).sum(axis=(0, 1)) / np.abs(t.sum(axis=(0, 1)))
    depth += t.shape[0] * t.shape[1] * np.sum(partial**2)
    for g, field, q in zip(grads, fields, sums):  # sum over pixels i of share_i g_i w_k field[i + k] / Q_i
      weighted = np.divide(share * g, q, out=np.zeros_like(q), where=q > 0)
      kernel += np.einsum('ijchw,hwc->ij', windows(field, t.shape[:2]), weighted) * window
  if separable:  # each tap weighs a row and a column; its exponent is 1 rounding, magnified |exponent| times
    taps = kernel.sum(axis=0) + kernel.sum(axis=1)
    depth += 10 * taps.sum()**2 + np.sum(taps**2 * (exponent**2 + 16 + 1))
  else:  # exponents of 3 roundings (-0.5 / sigma^2 one for all), each magnified |exponent| times
    depth += 120 * kernel.sum()**2 + np.sum(kernel**2 * (2 * exponents**2 + 16 + 1)) + (kernel * exponents).sum()**2
  return depth + np.sum(channel_share**2) * (len(weights) * 16 + len(weights) - 1) + 3


def _psnr_error(a, b, from_uint8=False):
  """The error in dB of one float32 PSNR of a pair (tf.image's or ours): the MSE sums n = H * W * C squared
  differences (2 roundings each; with from_uint8, the conversions' roundings too, magnified by (a + b) / |a - b| in
  the difference: the condition measured here) and divides, within gamma(n + 2 + that) of exact, which 10 log10
  turns into 10 / ln 10 times as many dB; the logarithm (2 ulps of |ln MSE| < 14) and the last two operations on a
  PSNR below 60 dB add less than 60 gamma(16) dB."""
  a, b = (np.asarray(v, np.float64) for v in (a, b))
  difference = np.abs(a - b)
  converted = 2 * np.sum(difference * (a + b)) / np.sum(difference**2) + 2 if from_uint8 else 0
  return 10 / math.log(10) * tolerances.gamma(a.size + 2 + converted) + 60 * tolerances.gamma(16)


def _stored_tolerances(natural_image, reference):
  """rtol of each stored figure against tf.image on another machine: two float32 evaluations of each."""
  pairs = _pairs(natural_image)
  original, noisy = _uint8_pair(natural_image)
  converted = [image_io.to_float(v)[None] for v in (original, noisy)]
  return {
      'ms_ssim': [tolerances.probable_gamma(2 * _ms_ssim_depth(a, b, separable=False)) for a, b in pairs],
      'psnr': [2 * _psnr_error(a, b) / value for (a, b), value in zip(pairs, reference['psnr'])],
      'uint8_psnr': 2 * _psnr_error(original, noisy, from_uint8=True) / reference['uint8_psnr'],
      'uint8_ms_ssim': tolerances.probable_gamma(2 * _ms_ssim_depth(*converted, separable=False, input_roundings=2)),
  }


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


@pytest.mark.cross_isa
def test_ms_ssim_matches_tf_image(natural_image, reference):
  # Two float32 evaluations of one formula, ours with the separable window: within probable_gamma of both depths
  # (_ms_ssim_depth), 3e-3 for the noise pair (whose window's normalising sum is magnified 600 times), 2e-5 to
  # 1.4e-4 for the others. A weight off in its third digit, zeros or a crop for the repeated edge of an odd size,
  # another sigma, filter size or c2, and a missing clip (NaN) still fail, by 1.3 times the tolerance or more; a
  # reflected edge, or SSIM for cs at the last scale, changes these values less than rounding may.
  for (a, b), expected in zip(_pairs(natural_image), reference['ms_ssim']):
    rtol = tolerances.probable_gamma(_ms_ssim_depth(a, b, separable=False) + _ms_ssim_depth(a, b, separable=True))
    np.testing.assert_allclose(float(np.asarray(metrics.ms_ssim(a, b))[0]), expected, rtol=rtol)


@pytest.mark.cross_isa
def test_psnr_matches_tf_image(natural_image, reference):
  for (a, b), expected in zip(_pairs(natural_image), reference['psnr']):  # ours and tf's: 0.06 to 0.1 dB
    assert float(metrics.psnr(a, b)) == pytest.approx(expected, abs=2 * _psnr_error(a, b))


@pytest.mark.cross_isa
def test_uint8_metrics_of_the_evaluation_match_tf_image(natural_image, reference):
  original, noisy = _uint8_pair(natural_image)
  # psnr_uint8 is float64 on integer differences (exact to 1e-13 dB): tf's float32 error alone, 0.06 dB.
  assert evaluation.psnr_uint8(original, noisy) == pytest.approx(reference['uint8_psnr'],
                                                                 abs=_psnr_error(original, noisy, from_uint8=True))
  converted = [image_io.to_float(v)[None] for v in (original, noisy)]  # ours: /255, 1 rounding; tf's: * (1/255), 2
  depth = (_ms_ssim_depth(*converted, separable=True, input_roundings=1) +
           _ms_ssim_depth(*converted, separable=False, input_roundings=2))
  assert evaluation.ms_ssim_uint8(original, noisy) == pytest.approx(reference['uint8_ms_ssim'],
                                                                    rel=tolerances.probable_gamma(depth))


@tensorflow_stage
def test_the_stored_values_are_tf_images(natural_image, reference):
  expected, tolerance = _tf_image_values(natural_image), _stored_tolerances(natural_image, reference)
  for name, values in reference.items():
    for value, want, rtol in zip(np.atleast_1d(values), np.atleast_1d(expected[name]), np.atleast_1d(tolerance[name])):
      np.testing.assert_allclose(value, want, rtol=rtol, err_msg=name)


def test_ms_ssim_refuses_small_images():
  with pytest.raises(ValueError, match='at least 161x161'):
    metrics.ms_ssim(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)))
