"""Rate-distortion plots: python -m grm_jax.plot results.json ref1.json ... --out rd.png

Draws PSNR against bpp and, for the curves that have it, MS-SSIM in dB (-10 log10(1 - MS-SSIM)) against bpp.
"""
import argparse
import pathlib
import sys

import numpy as np

from grm_jax.bd import read_curve
from grm_jax.errors import report_errors


def plot(paths, out, title='Kodak', max_bpp=None, force=False):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  curves = [read_curve(p) for p in paths]
  fig, (ax_psnr, ax_ssim) = plt.subplots(1, 2, figsize=(14, 6))
  visible = {ax_psnr: [], ax_ssim: []}
  for i, (name, results) in enumerate(curves):
    style = dict(marker='o', markersize=3, linewidth=1.5, color=f'C{i % 10}',
                 linestyle='-' if i < 10 else '--')
    bpp = np.asarray(results['bpp'], np.float64)
    shown = bpp <= max_bpp if max_bpp else np.ones_like(bpp, bool)
    psnr = np.asarray(results['psnr-rgb'], np.float64)
    ax_psnr.plot(bpp, psnr, label=name, **style)
    visible[ax_psnr].extend(psnr[shown])
    ssim = results.get('ms-ssim-rgb')
    if ssim and all(v is not None for v in ssim):
      ssim_db = -10 * np.log10(1 - np.asarray(ssim, np.float64))
      ax_ssim.plot(bpp, ssim_db, label=name, **style)
      visible[ax_ssim].extend(ssim_db[shown])
  for ax, ylabel in ((ax_psnr, 'PSNR (RGB) [dB]'), (ax_ssim, 'MS-SSIM (RGB) [dB]')):
    ax.set_xlabel('bit rate [bpp]')
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc='lower right')
    if max_bpp and visible[ax]:
      ax.set_xlim(0, max_bpp)
      ax.set_ylim(min(visible[ax]) - 0.5, max(visible[ax]) + 0.5)
  ax_psnr.set_title(f'{title}: PSNR')
  ax_ssim.set_title(f'{title}: MS-SSIM')
  fig.tight_layout()
  from grm_jax import outputs  # pylint: disable=import-outside-toplevel
  pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
  with outputs.output(out, inputs=paths, force=force) as tmp:
    fig.savefig(tmp, dpi=110, format='png')
  plt.close(fig)


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m grm_jax.plot', description=__doc__.splitlines()[0])
  parser.add_argument('results', nargs='+', help='RD curves (CompressAI JSON schema)')
  parser.add_argument('--out', required=True, help='PNG file to write')
  parser.add_argument('--title', default='Kodak')
  parser.add_argument('--max-bpp', type=float, help='right end of the bpp axis')
  parser.add_argument('-f', '--force', action='store_true', help='overwrite --out if it exists')
  args = parser.parse_args(argv)
  status = report_errors('plot', plot, args.results, args.out, args.title, args.max_bpp, args.force)
  if status == 0:
    print(f"wrote {args.out}")
  return status


if __name__ == '__main__':
  sys.exit(main())
