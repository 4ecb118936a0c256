"""The one rule for every file the project writes: never destroy what the user has unless asked.

- An output that is one of the command's inputs, or an existing file, is refused unless `force` (the commands'
  `--force` / `-f`).
- `-` is standard output. A symbolic link is written through (its target follows the same rule), never replaced by
  a file; a device or a pipe (`/dev/null`, `/dev/stdout`, a named pipe) is written to directly: there is nothing on
  it to lose.
- A regular file is written atomically (a temporary file beside it, put in place only when complete): an
  interrupted run leaves what was there, and an interrupting signal removes the temporary file (errors.py turns
  SIGTERM and SIGHUP into an exception, as Python does SIGINT). A new file is placed with a hard link, which never
  replaces a file that appeared meanwhile (where the file system has no hard links, a check just before a rename);
  with `force`, a rename replaces what is there. A replaced file keeps its mode; a new one gets 0666 less the umask,
  as any program's new file does.
- Write errors (read-only file system, full disk, permission, a name too long) are one line (GrmError), and the
  temporary file is removed.
"""
import contextlib
import os
import pathlib
import stat
import sys
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


STDOUT = '-'


def is_stdout(path):
  """Whether writing to path writes to this process's standard output (`-`, /dev/stdout, /dev/fd/1, ...)."""
  if str(path) == STDOUT:
    return True
  try:
    return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
  except (OSError, ValueError, AttributeError):  # no such path, or no real standard output (a test's capture)
    return False


def _written_through(path):
  """Whether path (its links followed) is something other than a regular file or a folder: a device, a pipe, a
  socket."""
  try:
    mode = os.stat(path).st_mode
  except OSError:
    return False
  return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def target(path, inputs=(), force=False):
  """The path to write for `path` (a symbolic link's target; `-` or a device or pipe as given), or a GrmError
  saying why not."""
  if is_stdout(path):
    if sys.stdout is not None and sys.stdout.isatty():
      raise GrmError(f"{path}: standard output is a terminal; redirect it to a file or a pipe, or name an output "
                     "file")
    return STDOUT
  path = pathlib.Path(path)
  if _written_through(path):  # /dev/stdout's link ends in 'pipe:[N]', a name that resolves nowhere
    return path
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
  if resolved == STDOUT or _written_through(resolved):
    with _copied_through(resolved) as tmp:
      yield tmp
    return
  existed = resolved.exists()
  mode = stat.S_IMODE(resolved.stat().st_mode) if existed else 0o666 & ~umask()
  with one_line_errors(path):
    fd, tmp = tempfile.mkstemp(prefix='.grm-', suffix='.partial', dir=resolved.parent)  # short: any name fits
    os.close(fd)
  try:
    with one_line_errors(path):
      yield pathlib.Path(tmp)
      os.chmod(tmp, mode)
      if force:
        os.replace(tmp, resolved)
      else:  # target() refused what existed then: anything there now appeared meanwhile
        _place_new(tmp, resolved, path)
  finally:
    if os.path.exists(tmp):
      os.unlink(tmp)


def _place_new(tmp, resolved, path):
  """Puts tmp at `resolved`, never over a file that appeared since target() looked."""
  try:
    os.link(tmp, resolved)
    return
  except FileExistsError:
    pass
  except OSError:  # no hard links on this file system (EPERM, ENOTSUP, EACCES on CIFS, EIO on some FUSE, ...)
    if not os.path.lexists(resolved):  # the narrowest check-then-rename there is
      os.replace(tmp, resolved)
      return
  raise GrmError(f"{path}: appeared while this command ran; refusing to overwrite it (give another name, or "
                 "--force)")


@contextlib.contextmanager
def _copied_through(destination):
  """A temporary file whose bytes go to standard output, a pipe or a device once complete: writers that seek (image
  encoders) work on any of them, and an interrupted command writes nothing there."""
  fd, tmp = tempfile.mkstemp(prefix='grm-', suffix='.partial')
  os.close(fd)
  try:
    yield pathlib.Path(tmp)
    name = 'standard output' if destination == STDOUT else destination
    with open(tmp, 'rb') as finished, one_line_errors(name):
      if destination == STDOUT:
        sys.stdout.flush()
        _copy(finished, sys.stdout.buffer)
      else:
        with open(destination, 'wb') as device:
          _copy(finished, device)
  finally:
    os.unlink(tmp)


def _copy(source, sink):
  while chunk := source.read(1 << 20):
    sink.write(chunk)
  sink.flush()


def write_bytes(path, data, inputs=(), force=False):
  with output(path, inputs, force) as tmp:
    with open(tmp, 'wb') as f:
      f.write(data)
