"""The one exception type users see: a message that fits on one line and says what to do."""


class GrmError(Exception):
  """Bad input or a broken file: reported as one line and a non-zero exit, never a traceback."""


def report_errors(program, run, *args):
  """Runs run(*args) for a command line: a GrmError becomes one line on stderr and exit status 1."""
  import sys  # pylint: disable=import-outside-toplevel
  try:
    run(*args)
  except GrmError as error:
    print(f"{program}: error: {error}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print(f"{program}: interrupted", file=sys.stderr)
    return 130
  return 0
