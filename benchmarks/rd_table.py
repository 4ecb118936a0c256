"""Prints RD-curve JSON files (CompressAI schema, as evaluate.py writes them) as one Markdown table.

  python benchmarks/rd_table.py results/kodak/grm_small.json results/kodak/context_small.json
"""
import json
import pathlib
import sys

COLUMNS = (('bpp', 'bpp (file)', '{:.4f}'), ('bpp_estimated', 'bpp (estimated)', '{:.4f}'),
           ('psnr-rgb', 'PSNR dB', '{:.2f}'), ('ms-ssim-rgb', 'MS-SSIM', '{:.4f}'),
           ('encoding_time', 'encode s', '{:.2f}'), ('decoding_time', 'decode s', '{:.2f}'))


def rows(path):
  data = json.loads(pathlib.Path(path).read_text())
  results = data['results']
  labels = [pathlib.Path(m).name for m in results.get('model', [])] or \
      [f"q{q}" for q in results.get('quality', [])]
  if 'lambda' in results and len(set(results.get('model', []))) < len(results['lambda']):  # one model, a knob
    labels = [f"{label} @ {lambda_:.4g}" for label, lambda_ in zip(labels, results['lambda'])]
  for index in range(len(results['bpp'])):
    label = labels[index] if index < len(labels) else str(index)
    cells = []
    for key, _, form in COLUMNS:
      values = results.get(key)
      cells.append(form.format(values[index]) if values and values[index] is not None else '')
    yield [data['name'], label] + cells


def main(argv):
  if not argv:
    print(__doc__.strip(), file=sys.stderr)
    return 2
  print('| curve | point | ' + ' | '.join(title for _, title, _ in COLUMNS) + ' |')
  print('| --- ' * (len(COLUMNS) + 2) + '|')
  for path in argv:
    try:
      table = list(rows(path))
    except (OSError, ValueError, KeyError) as error:
      print(f"rd_table: {path}: not a readable RD-curve JSON file ({error})", file=sys.stderr)
      return 1
    for row in table:
      print('| ' + ' | '.join(row) + ' |')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
