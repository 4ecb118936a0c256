"""JAX's persistent compilation cache for the command line: a second `grm` process loads the programs the first
compiled instead of compiling them again (docs/speed.md, "Cold start").

Where: $GRM_CACHE_DIR, else $XDG_CACHE_HOME/grm_jax, else ~/.cache/grm_jax; GRM_CACHE_DIR=off (or empty) switches
it off. Inside, one folder per JAX version and machine: XLA compiles for the instruction set of the CPU it runs on,
and a home folder shared between machines must never serve one CPU's program to another, so the folder's name
carries a digest of the CPU's features and of the XLA flags. The programs are bounded (JAX's least-recently-used
eviction, under a file lock that keeps two processes from reading an entry while it is written); the memos beside
them (`remembered`) are a few kB each. A folder that another user owns or can write is not used.
"""
import functools
import hashlib
import json
import os
import pathlib
import platform

MAX_BYTES = 512 * 2**20  # the shipped models' programs take a few MB; room for many image shapes and models
OFF = ('', 'off', '0', 'none')


def base_folder(environ=None):
  """The cache's folder for this user, or None where it is switched off."""
  environ = os.environ if environ is None else environ
  if 'GRM_CACHE_DIR' in environ:
    value = environ['GRM_CACHE_DIR'].strip()
    return None if value.lower() in OFF else pathlib.Path(value).expanduser()
  root = environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return pathlib.Path(root) / 'grm_jax'


def machine_key(environ=None):
  """A digest of what a compiled CPU program depends on beyond JAX's own cache key: the processor's architecture
  and feature flags, and the XLA flags that can limit them."""
  environ = os.environ if environ is None else environ
  parts = [platform.machine(), _cpu_features(), environ.get('XLA_FLAGS', '')]
  return hashlib.sha256('\n'.join(parts).encode()).hexdigest()[:16]


def _cpu_features():
  """The CPU's feature flags as the kernel lists them (x86 'flags', Arm 'Features'); the processor's name
  elsewhere."""
  try:
    with open('/proc/cpuinfo', encoding='utf-8', errors='replace') as cpuinfo:
      for line in cpuinfo:
        key = line.split(':', 1)[0].strip().lower()
        if key in ('flags', 'features'):
          return ' '.join(sorted(line.split(':', 1)[1].split()))
  except OSError:
    pass
  return platform.processor()


def folder(environ=None):
  """This machine's cache folder (None where the cache is off)."""
  base = base_folder(environ)
  if base is None:
    return None
  import jax  # pylint: disable=import-outside-toplevel
  return base / f'xla-jax{jax.__version__}-{machine_key(environ)}'


def enable(environ=None):
  """Points JAX's persistent cache at this machine's folder, for every program however short its compile (the
  codec's many small programs add up to seconds). Returns the folder, or None where the cache is off or its folder
  cannot be made (the command then compiles as usual)."""
  path = folder(environ)
  if path is None or not _usable(path):
    return None
  import jax  # pylint: disable=import-outside-toplevel
  jax.config.update('jax_compilation_cache_dir', str(path))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)
  jax.config.update('jax_compilation_cache_max_size', MAX_BYTES)
  global _FOLDER  # pylint: disable=global-statement
  _FOLDER = path
  return path


# What enable() switched on in this process: the folder, or None. Memos (below) are kept only then, so that the
# library keeps nothing on disk unless a command line asked.
_FOLDER = None


def _usable(path):
  """Whether the folder can serve as this user's cache: made if missing, owned by this user and writable by no one
  else (whoever can write it can plant programs and memos this process trusts), and writable here (JAX would warn
  at every program otherwise)."""
  try:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if hasattr(os, 'getuid') and (info.st_uid != os.getuid() or info.st_mode & 0o022):
      return False
    probe = path / f'.probe-{os.getpid()}'
    probe.write_bytes(b'')
    probe.unlink()
  except OSError:
    return False
  return True


def remembered(name, key_bytes, compute, to_json, from_json):
  """compute(), kept on disk in this machine's cache folder under a digest of key_bytes, of the package's source
  and of the JAX and Flax versions, so that a change to any of them computes afresh: for results that take seconds
  of tracing and depend on nothing else (a model's parameter shapes). Without the cache, compute() alone."""
  if _FOLDER is None:
    return compute()
  import flax  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  digest = hashlib.sha256(key_bytes + _source_digest() + jax.__version__.encode() + flax.__version__.encode())
  path = _FOLDER / f'grm-{name}-{digest.hexdigest()[:32]}.json'
  try:
    return from_json(json.loads(path.read_text()))
  except Exception:  # pylint: disable=broad-exception-caught  # missing, damaged or of another form: computed again
    pass
  value = compute()
  try:
    staging = path.with_name(f'.{path.name}.{os.getpid()}')
    staging.write_text(json.dumps(to_json(value)))
    os.replace(staging, path)  # whole or not at all, whatever another process does meanwhile
  except OSError:
    pass
  return value


@functools.cache
def _source_digest():
  """A digest of the package's Python source (read once a process)."""
  digest = hashlib.sha256()
  package = pathlib.Path(__file__).resolve().parent
  for path in sorted(package.rglob('*.py')):
    digest.update(str(path.relative_to(package)).encode() + b'\0' + path.read_bytes())
  return digest.digest()
