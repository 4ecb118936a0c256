"""Timing things side by side on a shared machine: each measurement in turn, round after round, so that the
machine's load moves them all alike, and the medians of the rounds. Callers warm each measurement up first (the
first call compiles)."""
import statistics


def in_turn(measures, rounds):
  """Calls each of `measures` (callables returning a tuple of seconds) once a round, in turn; [[(seconds, ...)]
  per round] per measure."""
  results = [[] for _ in measures]
  for _ in range(rounds):
    for measure, result in zip(measures, results):
      result.append(tuple(measure()))
  return results


def medians(rounds):
  """[(seconds, ...)] of one measure's rounds -> the median of each column."""
  return [statistics.median(column) for column in zip(*rounds)]
