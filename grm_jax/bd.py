"""Bjontegaard rate difference between two RD curves: python -m grm_jax.bd results.json --anchor ref.json.

The rate of a test curve against an anchor, averaged over their overlapping PSNR range: negative means fewer bits
for the same quality. Two interpolations of log-rate as a function of PSNR:
  cubic            Bjontegaard's original (VCEG-M33): a least-squares cubic polynomial (4 points or more)
  piecewise-cubic  monotone piecewise cubic (PCHIP) through the points (JCTVC-L0242 style; 2 points or more)
"""
import argparse
import json
import pathlib
import sys

import numpy as np
from scipy.interpolate import PchipInterpolator

from grm_jax.errors import GrmError, report_errors

METRICS = ('psnr-rgb', 'ms-ssim-rgb')


MIN_POINTS = {'cubic': 4, 'piecewise-cubic': 2}


def _sorted_curve(rates, quality, method):
  rates, quality = np.asarray(rates, np.float64), np.asarray(quality, np.float64)
  keep = np.isfinite(rates) & np.isfinite(quality) & (rates > 0)
  rates, quality = rates[keep], quality[keep]
  if len(rates) < MIN_POINTS[method]:
    raise GrmError(f"a {method} BD-rate needs at least {MIN_POINTS[method]} points per curve, got {len(rates)}")
  order = np.argsort(quality)
  return np.log(rates[order]), quality[order]


def _integral(log_rate, quality, low, high, method):
  if method == 'cubic':
    poly = np.polyint(np.polyfit(quality, log_rate, 3))
    return np.polyval(poly, high) - np.polyval(poly, low)
  return PchipInterpolator(quality, log_rate).integrate(low, high)


def bd_rate(anchor_rates, anchor_quality, test_rates, test_quality, method='cubic'):
  """Percent rate difference of the test curve against the anchor, over their common quality range."""
  if method not in MIN_POINTS:
    raise GrmError(f"unknown BD-rate method {method!r}")
  anchor = _sorted_curve(anchor_rates, anchor_quality, method)
  test = _sorted_curve(test_rates, test_quality, method)
  low, high = max(anchor[1][0], test[1][0]), min(anchor[1][-1], test[1][-1])
  if low >= high:
    raise GrmError("the two curves do not overlap in quality")
  difference = (_integral(*test, low, high, method) - _integral(*anchor, low, high, method)) / (high - low)
  return float((np.exp(difference) - 1) * 100)


def read_curve(path):
  """The 'results' of a CompressAI-schema JSON file (name, results: {bpp, psnr-rgb, ...})."""
  path = pathlib.Path(path)
  try:
    data = json.loads(path.read_text())
    return data.get('name', path.stem), data['results']
  except FileNotFoundError:
    raise GrmError(f"{path}: no such file") from None
  except (ValueError, KeyError, TypeError) as error:
    raise GrmError(f"{path}: not an RD-curve JSON file ({error})") from None


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m grm_jax.bd', description=__doc__.splitlines()[0])
  parser.add_argument('results', nargs='+', help='curves to compare (CompressAI JSON schema)')
  parser.add_argument('--anchor', required=True, help='the reference curve')
  parser.add_argument('--metric', default='psnr-rgb', choices=METRICS)
  args = parser.parse_args(argv)
  return report_errors('bd', _print_bd_rates, args)


def _print_bd_rates(args):
  anchor_name, anchor = read_curve(args.anchor)
  if args.metric not in anchor:
    raise GrmError(f"{args.anchor}: has no {args.metric}")
  print(f"BD-rate against {anchor_name} ({args.metric}); negative = fewer bits")
  for path in args.results:
    name, curve = read_curve(path)
    quality = curve[args.metric]
    anchor_quality = anchor[args.metric]
    if args.metric == 'ms-ssim-rgb':  # in dB, where the curves are close to straight
      quality = -10 * np.log10(1 - np.asarray(quality, np.float64))
      anchor_quality = -10 * np.log10(1 - np.asarray(anchor_quality, np.float64))
    figures = []
    for method in MIN_POINTS:
      try:
        figures.append(f"{bd_rate(anchor['bpp'], anchor_quality, curve['bpp'], quality, method):+.2f}% ({method})")
      except GrmError as error:
        figures.append(f"n/a ({error})")
    print(f"  {name}: " + ', '.join(figures))


if __name__ == '__main__':
  sys.exit(main())
