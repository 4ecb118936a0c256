"""evaluate.py, BD-rate and the RD plot."""
import json
import pathlib
import re

import jax
import numpy as np
import pytest
from PIL import Image

import evaluate
from benchmarks import rd_table
from grm_jax.configs import tiny
from grm_jax import bd, evaluation, models, plot
from grm_jax.codec import model_dir
from tests.helpers import write_image_folder

DATA = pathlib.Path(__file__).parent / 'data'


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
  folder = tmp_path_factory.mktemp('models')
  paths = []
  for i, family in enumerate(('grm', 'hyperprior')):
    config = tiny.get_config()
    config.model.family = family
    params = models.build(config).init(jax.random.PRNGKey(i), np.zeros((1, 64, 64, 3), np.float32))['params']
    model_dir.export(params, config, folder / family)
    paths.append(str(folder / family))
  return paths


@pytest.fixture
def images(tmp_path):
  write_image_folder(tmp_path / 'images', count=3, size=(40, 56))
  (tmp_path / 'images' / 'SHA256SUMS').write_text('not an image, and ignored')
  return tmp_path / 'images'


def _validate_schema(data, points):
  assert isinstance(data['name'], str) and isinstance(data['description'], str)
  results = data['results']
  for key in ('psnr-rgb', 'ms-ssim-rgb', 'bpp', 'encoding_time', 'decoding_time'):
    assert isinstance(results[key], list) and len(results[key]) == points, key
  assert results['bpp'] == sorted(results['bpp'])
  return results


def test_models_and_classical_codecs_in_one_run(tiny_models, images, tmp_path, capsys):
  out = tmp_path / 'results.json'
  assert evaluate.main(['--model', tiny_models[0], '--model', tiny_models[1], '--data', str(images),
                        '--out', str(out), '--codec', 'jpeg', '--codec', 'webp', '--per-image']) == 0
  captured = capsys.readouterr()
  assert 'ignoring 1 non-image file' in captured.err
  printed = re.findall(r'real/estimated per image (\d+\.\d+)-(\d+\.\d+)', captured.out)
  data = json.loads(out.read_text())
  results = _validate_schema(data, 2)
  assert len(results['bpp_estimated']) == 2
  for bpp, estimated, psnr, enc, dec in zip(results['bpp'], results['bpp_estimated'], results['psnr-rgb'],
                                            results['encoding_time'], results['decoding_time']):
    assert 0 < bpp < 24 and 0 < estimated < 24 and 0 < psnr < 60 and enc > 0 and dec > 0
  assert results['ms-ssim-rgb'] == [None, None]  # 40x56 images are below MS-SSIM's 161 pixels
  per_image = data['per_image']
  assert [len(m['images']) for m in per_image] == [3, 3] and all(r['exact'] for m in per_image
                                                                 for r in m['images'])
  # The bpp of a model is that of the real files: the mean over images of 8 * bytes / pixels.
  means = sorted(np.mean([r['bpp'] for r in m['images']]) for m in per_image)
  np.testing.assert_allclose(results['bpp'], means)
  for line, model in zip(printed, per_image, strict=True):  # the printed range of real over estimated bpp
    ratios = [r['bpp'] / r['bpp_estimated'] for r in model['images']]  # the same float64 quotients, printed with
    printed_range = [float(v) for v in line]  # 4 decimals: within half a unit of the last
    np.testing.assert_allclose(printed_range, [min(ratios), max(ratios)], rtol=1e-12, atol=0.5e-4)
  for codec in ('jpeg', 'webp'):
    curve = json.loads((tmp_path / f'results.{codec}.json').read_text())
    classical = _validate_schema(curve, len(evaluation.DEFAULT_QUALITIES[codec]))
    assert classical['psnr-rgb'][-1] > classical['psnr-rgb'][0]  # more bits, more quality
    assert classical['quality'] == sorted(evaluation.DEFAULT_QUALITIES[codec])

  assert rd_table.main([str(out), str(tmp_path / 'results.jpeg.json')]) == 0  # results/README.md's table
  table = capsys.readouterr().out.splitlines()
  assert len(table) == 2 + 2 + len(evaluation.DEFAULT_QUALITIES['jpeg'])
  assert all(row.count('|') == 9 for row in table) and pathlib.Path(tiny_models[0]).name in table[2] + table[3]
  assert rd_table.main([str(images / 'SHA256SUMS')]) == 1


def test_estimate_mode(tiny_models, images, tmp_path):
  out = tmp_path / 'estimate.json'
  assert evaluate.main(['--model', tiny_models[1], '--data', str(images), '--out', str(out), '--estimate']) == 0
  results = _validate_schema(json.loads(out.read_text()), 1)
  assert results['bpp'] == results['bpp_estimated'] and results['decoding_time'] == [None]


def test_bd_rate_reproduces_published_figures():
  _, vtm = bd.read_curve(DATA / 'vtm.json')
  _, mbt = bd.read_curve(DATA / 'compressai-mbt2018_mse_cuda.json')
  _, bpg = bd.read_curve(DATA / 'bpg_444_x265_ycbcr.json')
  rate = lambda test, anchor, method='cubic': bd.bd_rate(anchor['bpp'], anchor['psnr-rgb'], test['bpp'],
                                                         test['psnr-rgb'], method)
  # Published BD-rates, given to 0.1 percentage points (the piecewise cubic fit differs from the cubic one by
  # design); a curve against itself subtracts the same float64 fit from itself: 0.
  assert rate(mbt, vtm) == pytest.approx(10.6, abs=0.1)
  assert rate(bpg, vtm) == pytest.approx(22.1, abs=0.1)
  assert rate(mbt, bpg) == pytest.approx(-11.5, abs=0.1)
  assert rate(mbt, vtm, 'piecewise-cubic') == pytest.approx(10.6, abs=0.6)
  assert rate(vtm, vtm) == pytest.approx(0.0, abs=1e-9)


def test_bd_command_line(capsys, tmp_path):
  assert bd.main([str(DATA / 'compressai-mbt2018_mse_cuda.json'), '--anchor', str(DATA / 'vtm.json')]) == 0
  assert '+10.61% (cubic)' in capsys.readouterr().out
  # Three points (three shipped qualities): piecewise cubic only; the cubic fit says why it is missing.
  name, curve = bd.read_curve(DATA / 'compressai-mbt2018_mse_cuda.json')
  three = {key: values[2:5] for key, values in curve.items()}
  (tmp_path / 'three.json').write_text(json.dumps({'name': 'three', 'results': three}))
  assert bd.main([str(tmp_path / 'three.json'), '--anchor', str(DATA / 'vtm.json')]) == 0
  line = capsys.readouterr().out.splitlines()[-1]
  assert 'n/a (a cubic BD-rate needs at least 4 points' in line and '% (piecewise-cubic)' in line


def test_plot_writes_a_png(tmp_path):
  out = tmp_path / 'rd.png'
  assert plot.main([str(DATA / 'vtm.json'), str(DATA / 'bpg_444_x265_ycbcr.json'), '--out', str(out)]) == 0
  with Image.open(out) as image:
    assert image.format == 'PNG' and image.size[0] > 800


@pytest.mark.parametrize('case', ['missing folder', 'empty folder', 'non-image file', 'missing model'])
def test_bad_input_is_a_clear_error(case, tiny_models, images, tmp_path, capsys):
  data, model = str(images), tiny_models[0]
  if case == 'missing folder':
    data = str(tmp_path / 'nowhere')
  elif case == 'empty folder':
    (tmp_path / 'empty').mkdir()
    data = str(tmp_path / 'empty')
  elif case == 'non-image file':
    (images / 'notes.png').write_text('this is text')
  else:
    model = str(tmp_path / 'no_model')
  out = tmp_path / 'out.json'
  assert evaluate.main(['--model', model, '--data', data, '--out', str(out)]) == 1
  error = capsys.readouterr().err.strip().splitlines()
  assert len(error) == 1 and error[0].startswith('evaluate.py: error:'), error
  assert not out.exists()


def test_output_folders_are_created(tmp_path):
  out = tmp_path / 'new' / 'deeper' / 'rd.png'
  assert plot.main([str(DATA / 'vtm.json'), '--out', str(out)]) == 0 and out.is_file()
  folder = tmp_path / 'images'
  write_image_folder(folder, count=1, size=(24, 24))
  results = tmp_path / 'results' / 'kodak.json'
  assert evaluate.main(['--codec', 'jpeg', '--data', str(folder), '--out', str(results)]) == 0
  assert (tmp_path / 'results' / 'kodak.jpeg.json').is_file()
