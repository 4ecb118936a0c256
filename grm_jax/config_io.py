"""ml_collections configs by name (`grm_small`: grm_jax/configs/grm_small.py, installed with the package) or by the
path of any config file, as train.py's --config flag loads them. Config files import their siblings as
`grm_jax.configs.NAME`, so nothing here touches sys.path."""
import importlib
import importlib.util
import pathlib
import pkgutil

from grm_jax import configs
from grm_jax.errors import GrmError


def names():
  """The configs shipped with the package."""
  return sorted(module.name for module in pkgutil.iter_modules(configs.__path__))


def load_config(name_or_path):
  """get_config() of a shipped config's name or of a config file."""
  text = str(name_or_path)
  path = pathlib.Path(text)
  if path.is_file():
    spec = importlib.util.spec_from_file_location(f'_grm_config_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  elif text in names():
    module = importlib.import_module(f'grm_jax.configs.{text}')
  else:
    raise GrmError(f"{text}: neither a config file nor a shipped config (shipped: {', '.join(names())})")
  if not hasattr(module, 'get_config'):
    raise GrmError(f"{text}: a config file must define get_config()")
  return module.get_config()
