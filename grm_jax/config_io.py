"""Loading ml_collections config files by path, as train.py's --config flag does."""
import importlib.util
import pathlib
import sys

from grm_jax.errors import GrmError

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_config(path):
  """get_config() of a config file; configs may import their siblings as `configs.NAME`."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise GrmError(f"{path}: no such config file")
  if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
  spec = importlib.util.spec_from_file_location(f'_grm_config_{path.stem}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, 'get_config'):
    raise GrmError(f"{path}: a config file must define get_config()")
  return module.get_config()
