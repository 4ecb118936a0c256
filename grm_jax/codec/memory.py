"""The memory a transform needs for one image, known before it is spent.

g_a and g_s hold activations at the image's resolution (about 260 bytes per pixel for the shipped small models, 25.8
GB for a 10000x10000 photograph): an image below the pixel limit can still ask for more than the machine has, and
XLA's out-of-memory error comes as a traceback. So a transform is compiled ahead of time for each image shape, the
compiled program's own account of its memory (XLA's memory analysis) is compared with what the device has free,
and an image that would not fit is refused in one line before anything runs.
"""
import jax

from grm_jax.errors import GrmError


def available_bytes(device=None):
  """Bytes the device can still allocate: an accelerator's own count, or on the CPU what the operating system
  can give without swapping (MemAvailable, a container's cgroup limit, and this process's own limits: `ulimit -v`
  and `ulimit -d`, as clusters set them); None where none is known."""
  device = device or jax.devices()[0]
  try:
    stats = device.memory_stats()
  except (AttributeError, NotImplementedError, RuntimeError):
    stats = None
  if stats and 'bytes_limit' in stats:
    return int(stats['bytes_limit']) - int(stats.get('bytes_in_use', 0))
  free = None
  try:
    with open('/proc/meminfo', encoding='ascii') as meminfo:
      for line in meminfo:
        if line.startswith('MemAvailable:'):
          free = int(line.split()[1]) * 1024
  except (OSError, ValueError, IndexError):
    pass
  for limit in (_cgroup_free_bytes(), _process_limit_free_bytes()):  # limits MemAvailable does not see
    if limit is not None:
      free = limit if free is None else min(free, limit)
  return free


def _process_limit_free_bytes():
  """What this process's address-space and data limits (RLIMIT_AS, RLIMIT_DATA) leave it: each soft limit less
  what the process already has of it (VmSize, VmData); None without a limit."""
  try:
    import resource  # pylint: disable=import-outside-toplevel
  except ImportError:  # not a Unix
    return None
  used = _proc_status_bytes(('VmSize', 'VmData'))
  free = None
  for name, field in (('RLIMIT_AS', 'VmSize'), ('RLIMIT_DATA', 'VmData')):
    soft, _ = resource.getrlimit(getattr(resource, name))
    if soft != resource.RLIM_INFINITY and used.get(field) is not None:
      left = max(soft - used[field], 0)
      free = left if free is None else min(free, left)
  return free


def _proc_status_bytes(fields):
  """{field: bytes} of /proc/self/status's kB fields; {} where it cannot be read."""
  values = {}
  try:
    with open('/proc/self/status', encoding='ascii') as status:
      for line in status:
        key, _, rest = line.partition(':')
        if key in fields:
          values[key] = int(rest.split()[0]) * 1024
  except (OSError, ValueError, IndexError):
    return {}
  return values


def _cgroup_free_bytes():
  """The memory a cgroup-v2 limit leaves this process's group (limit - usage); None without a limit."""
  try:
    with open('/sys/fs/cgroup/memory.max', encoding='ascii') as limit_file:
      limit = limit_file.read().strip()
    if limit == 'max':
      return None
    with open('/sys/fs/cgroup/memory.current', encoding='ascii') as usage_file:
      return max(int(limit) - int(usage_file.read().strip()), 0)
  except (OSError, ValueError):
    return None


def program_bytes(compiled):
  """Bytes a compiled program allocates (arguments, outputs and temporaries); None where XLA does not say."""
  try:
    stats = compiled.memory_analysis()
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes)
  except (AttributeError, NotImplementedError, RuntimeError, TypeError):
    return None


class BoundedJit:
  """jax.jit(fn), compiled ahead of time once per argument shapes, refusing shapes whose program needs more memory
  than the device has free. `what` names the computation in the refusal."""

  def __init__(self, fn, what):
    self._jitted, self._what, self._compiled = jax.jit(fn), what, {}

  def prepare(self, *args, size):
    """The compiled program for these arguments (arrays or jax.ShapeDtypeStructs); a GrmError naming the image
    `size` (width, height) and the memory when it would not fit."""
    leaves, tree = jax.tree_util.tree_flatten(args)
    key = (tree, tuple((tuple(leaf.shape), str(leaf.dtype)) for leaf in leaves))
    if key not in self._compiled:
      compiled = self._jitted.lower(*args).compile()
      needed, free = program_bytes(compiled), available_bytes()
      if needed is not None and free is not None and needed > free:
        raise GrmError(f"refused: the {self._what} of a {size[0]}x{size[1]} image needs {needed / 2 ** 30:.1f} GiB "
                       f"of memory, and this machine has {free / 2 ** 30:.1f} GiB free; use a machine with more "
                       "memory, or code the image in parts")
      self._compiled[key] = compiled
    return self._compiled[key]

  def needed_bytes(self, *args):
    """Bytes the program needs for these arguments, compiled but neither run nor checked nor kept."""
    return program_bytes(self._jitted.lower(*args).compile())

  def __call__(self, *args, size):
    return self.prepare(*args, size=size)(*args)
