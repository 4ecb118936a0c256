"""The package stands without its checkout: built as a wheel, installed into a fresh virtual environment and run
from another directory, it finds its default model and its configs, and codes a real file."""
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
from PIL import Image

from tests.helpers import REPO


def _run(command, cwd, timeout=600):
  env = {key: value for key, value in os.environ.items() if key not in ('PYTHONPATH', 'PYTHONHOME')}
  result = subprocess.run(command, cwd=cwd, env={**env, 'TF_CPP_MIN_LOG_LEVEL': '3'}, capture_output=True,
                          text=True, timeout=timeout, check=False)
  assert result.returncode == 0, result.stdout + result.stderr
  return result.stdout


def _source_tree(destination):
  """The checkout's files (tracked, or new and not ignored) copied to destination: setuptools builds in the source
  folder and packs whatever an earlier build left in its build/ folder."""
  listed = _run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], REPO).split('\0')
  for name in filter(None, listed):
    source, target = REPO / name, destination / name
    if source.is_file() or source.is_symlink():
      target.parent.mkdir(parents=True, exist_ok=True)
      shutil.copy2(source, target, follow_symlinks=False)
  return destination


def test_wheel_installed_elsewhere_codes_with_its_default_model(tmp_path):
  source = _source_tree(tmp_path / 'source')
  _run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', str(tmp_path / 'dist'), str(source)],
       tmp_path)
  wheel, = (tmp_path / 'dist').glob('grm_jax-*.whl')
  venv = tmp_path / 'venv'
  _run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], tmp_path)
  python = venv / 'bin' / 'python'
  site = pathlib.Path(_run([str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                           tmp_path).strip())
  # The dependencies come from the test's own environment (offline); a plain path in a .pth file is only added
  # to sys.path, so that environment's editable install of this checkout is not.
  (site / 'dependencies.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
  _run([sys.executable, '-m', 'pip', '--python', str(python), 'install', '-q', '--no-deps', '--no-index',
        str(wheel)], tmp_path)

  work = tmp_path / 'elsewhere'
  work.mkdir()
  probe = ('import grm_jax, importlib.util; from grm_jax import config_io, zoo; '
           'print(grm_jax.__file__); print(config_io.load_config("grm_small").model.latent_channels); '
           'print(zoo.resolve()); print(importlib.util.find_spec("configs"))')
  module_file, channels, default_model, top_level_configs = _run([str(python), '-c', probe], work).split('\n')[:4]
  assert module_file.startswith(str(site)) and not module_file.startswith(str(REPO))
  assert channels == '96' and default_model.startswith(str(site)) and top_level_configs == 'None'

  rng = np.random.default_rng(0)
  image = np.clip(np.kron(rng.uniform(0, 255, (9, 11, 3)), np.ones((8, 8, 1))), 0, 255).astype(np.uint8)
  Image.fromarray(image).save(work / 'photo.png')
  out = _run([str(venv / 'bin' / 'grm'), 'roundtrip', 'photo.png', '--out-dir', 'coded'], work)
  assert 'grm-small' in out
  assert (work / 'coded' / 'photo.grm').read_bytes()[:4] == b'GRMJ'
  _run([str(venv / 'bin' / 'grm'), 'decompress', 'coded/photo.grm', 'again.png'], work)  # the model from the hash
  decoded = np.asarray(Image.open(work / 'again.png'))
  assert decoded.shape == image.shape
  np.testing.assert_array_equal(decoded, np.asarray(Image.open(work / 'coded' / 'photo.png')))
