"""Two training runs side by side, step by step, from their logs (train.py's `step N/M  loss ...` lines): the mean
training loss, PSNR and the top lambda's PSNR over windows of steps, and the loss of the second against the first.

Runs with the same seed and data see the same crops, lambdas and noise at every step (trainer.py), so their
difference at equal steps is free of the batch-to-batch noise that makes one run's log hard to read:

  python benchmarks/paired_runs.py runs/flattening/wide.log runs/flattening/t128.log --window 500
"""
import argparse
import re
import sys

# The fields of trainer._format: step, loss, bpp, PSNR, and the lowest and highest lambda's bpp and PSNR.
LINE = re.compile(r'step (\d+)/\d+\s+loss ([-\d.]+)\s+bpp ([\d.]+).*?psnr ([\d.]+) dB.*?'
                  r'lambda [\d.]+/[\d.]+: bpp ([\d.]+)/([\d.]+) psnr ([\d.]+)/([\d.]+)')
LOSS, BPP, PSNR, TOP_BPP, TOP_PSNR = 0, 1, 2, 4, 6


def read_log(path):
  """{step: [loss, bpp, psnr, low bpp, high bpp, low psnr, high psnr]} of a train.py log."""
  try:
    with open(path, encoding='utf-8', errors='replace') as log:
      rows = {int(m.group(1)): [float(v) for v in m.groups()[1:]] for m in map(LINE.search, log) if m}
  except OSError as error:
    sys.exit(f"paired_runs.py: {path}: {error.strerror}")
  if not rows:
    sys.exit(f"paired_runs.py: {path}: no train.py step lines")
  return rows


def windows(first, second, size):
  """(start, end, steps, means of first, means of second) over windows of `size` steps both logs have."""
  common = sorted(set(first) & set(second))
  for start in range(0, common[-1] if common else 0, size):
    steps = [s for s in common if start < s <= start + size]
    if steps:
      means = [[sum(run[s][i] for s in steps) / len(steps) for i in range(7)] for run in (first, second)]
      yield start + 1, start + size, len(steps), means[0], means[1]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
  parser.add_argument('first', help="the baseline's log")
  parser.add_argument('second', help="the log of the run it is compared with")
  parser.add_argument('--window', type=int, default=500, help='steps a row (default 500)')
  args = parser.parse_args()
  if args.window < 1:
    parser.error('--window must be at least 1')
  first, second = read_log(args.first), read_log(args.second)
  print("| steps | logged | loss, first / second | second against first | PSNR (dB) | top lambda's PSNR |")
  print("| --- | --- | --- | --- | --- | --- |")
  for start, end, count, a, b in windows(first, second, args.window):
    print(f"| {start}-{end} | {count} | {a[LOSS]:.4f} / {b[LOSS]:.4f} | {100 * (b[LOSS] / a[LOSS] - 1):+.2f}% | "
          f"{a[PSNR]:.2f} / {b[PSNR]:.2f} | {a[TOP_PSNR]:.2f} / {b[TOP_PSNR]:.2f} |")


if __name__ == '__main__':
  main()
