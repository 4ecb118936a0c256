"""The one exception type users see: a message that fits on one line and says what to do."""


class GrmError(Exception):
  """Bad input or a broken file: reported as one line and a non-zero exit, never a traceback."""


class Terminated(BaseException):
  """SIGTERM or SIGHUP, raised where the program is, as Python raises KeyboardInterrupt for SIGINT: the `finally`
  blocks on the way out remove what was half-written (outputs.py)."""

  def __init__(self, signum):
    super().__init__(signum)
    self.signum = signum


TERMINATING_SIGNALS = ('SIGTERM', 'SIGHUP')


def _out_of_memory(error):
  """Whether an exception is XLA's or Python's refusal of an allocation (a process limit, say)."""
  return isinstance(error, MemoryError) or 'RESOURCE_EXHAUSTED' in str(error)[:200]


def report_errors(program, run, *args):
  """Runs run(*args) for a command line: a GrmError becomes one line on stderr and exit status 1; SIGINT, SIGTERM
  and SIGHUP one line and 128 + the signal's number (the command line then ends by the signal itself:
  cli.main); memory that could not be had one line and status 1."""
  import signal  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  previous = {}

  def terminate(signum, frame):
    del frame
    raise Terminated(signum)

  for name in TERMINATING_SIGNALS:
    number = getattr(signal, name, None)
    # a signal the process was started ignoring stays ignored (`nohup grm ...`), as Python leaves SIGINT then
    if number is not None and signal.getsignal(number) is signal.SIG_DFL:
      try:
        previous[number] = signal.signal(number, terminate)
      except ValueError:  # not the main thread: the caller keeps its own handling
        pass
  try:
    run(*args)
  except GrmError as error:
    print(f"{program}: error: {error}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print(f"{program}: interrupted", file=sys.stderr)
    return 128 + signal.SIGINT
  except Terminated as stop:
    print(f"{program}: stopped by {signal.Signals(stop.signum).name}", file=sys.stderr)
    return 128 + stop.signum
  except Exception as error:  # pylint: disable=broad-exception-caught
    if not _out_of_memory(error):
      raise
    print(f"{program}: error: out of memory ({type(error).__name__}; the process's memory limit, `ulimit -v`, or "
          "the machine's): use a machine or limit with more memory, or a smaller image", file=sys.stderr)
    return 1
  finally:
    for number, handler in previous.items():
      signal.signal(number, handler)
  return 0
