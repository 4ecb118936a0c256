"""The one exception type users see: a message that fits on one line and says what to do."""


class GrmError(Exception):
  """Bad input or a broken file: reported as one line and a non-zero exit, never a traceback."""
