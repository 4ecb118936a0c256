"""The one rule for every file the project writes: never destroy what the user has unless asked.

- An output that is one of the command's inputs, or an existing file, is refused unless `force` (the commands'
  `--force` / `-f`).
- A symbolic link is written through (its target follows the same rule), never replaced by a file; a device or a
  pipe (`/dev/null`, `/dev/stdout`) is written to directly: there is nothing on it to lose.
- A regular file is written atomically (a temporary file beside it, renamed into place only when complete): an
  interrupted run leaves what was there. A replaced file keeps its mode; a new one gets 0666 less the umask, as
  any program's new file does.
- Write errors (read-only file system, full disk, permission, a name too long) are one line (GrmError), and the
  temporary file is removed.
"""
import contextlib
import os
import pathlib
import stat
import tempfile

from grm_jax.errors import GrmError


@contextlib.contextmanager
def one_line_errors(path):
  """OSError inside the block -> GrmError '<path>: cannot write (<reason>)'."""
  try:
    yield
  except OSError as error:
    raise GrmError(f"{path}: cannot write ({error.strerror or error})") from None


def _same_file(a, b):
  try:
    return os.path.samefile(a, b)
  except OSError:
    return False


def target(path, inputs=(), force=False):
  """The path to write for `path` (a symbolic link's target), or a GrmError saying why not."""
  path = pathlib.Path(path)
  with one_line_errors(path):
    if any(_same_file(path, source) for source in inputs) and not force:
      raise GrmError(f"{path}: is also an input; refusing to overwrite it (give another name, or --force)")
    resolved = pathlib.Path(os.path.realpath(path)) if path.is_symlink() else path
    if resolved.is_dir():
      raise GrmError(f"{path}: is a folder; give an output file name")
    if not resolved.parent.is_dir():
      raise GrmError(f"{resolved.parent}: output folder does not exist")
    if resolved.exists() and stat.S_ISREG(resolved.stat().st_mode) and not force:
      raise GrmError(f"{path}: exists; refusing to overwrite it (give another name, or --force)")
  return resolved


def umask():
  """The process's umask (read by setting it, so set back at once)."""
  mask = os.umask(0)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def output(path, inputs=(), force=False):
  """Yields a path to write the output to; on completion it becomes `path` (see the module's rule)."""
  resolved = target(path, inputs, force)
  if resolved.exists() and not stat.S_ISREG(resolved.stat().st_mode):  # a device or a pipe: written through
    with one_line_errors(path):
      yield resolved
    return
  mode = stat.S_IMODE(resolved.stat().st_mode) if resolved.exists() else 0o666 & ~umask()
  with one_line_errors(path):
    fd, tmp = tempfile.mkstemp(prefix='.grm-', suffix='.partial', dir=resolved.parent)  # short: any name fits
    os.close(fd)
  try:
    with one_line_errors(path):
      yield pathlib.Path(tmp)
      os.chmod(tmp, mode)
      os.replace(tmp, resolved)
  finally:
    if os.path.exists(tmp):
      os.unlink(tmp)


def write_bytes(path, data, inputs=(), force=False):
  with output(path, inputs, force) as tmp:
    with open(tmp, 'wb') as f:
      f.write(data)
