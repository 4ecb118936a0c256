"""Float tolerances derived from the arithmetic, so that a test holds on every CPU, not only on the one that wrote
its expected values.

float32 rounds every operation to within the unit roundoff U = 2^-24 of the exact result. A chain of n roundings,
a product of n factors, or a sum of n terms of one sign in any order (the order changes with the instruction set:
vector width, FMA, blocking) stays within gamma(n) = n U / (1 - n U) relative of the exact value (Higham, "Accuracy
and Stability of Numerical Algorithms", 2nd ed., sections 3.1 and 4.2). Two machines that are each within that bound
of the exact value differ from each other by at most twice it: `relative(n)`. A sum whose terms cancel is worse by
its condition number, sum |terms| / |sum|: `relative(n, condition)`, with the condition stated where it is used.

What is exact needs no tolerance and gets none: integer arithmetic, the portable path, the range coder, a model's
decode of a file (bit for bit, on every machine).
"""
import math

U = 2.0**-24  # float32 unit roundoff (half of numpy's float32 eps)


def gamma(n):
  """Higham's gamma_n: the relative error bound of n float32 roundings."""
  if n * U >= 1:
    raise ValueError(f"no float32 bound for a depth of {n}")
  return n * U / (1 - n * U)


def relative(depth, condition=1.0):
  """The relative difference two float32 evaluations of a computation of this depth may show (each within
  gamma(depth) of the exact value, times the condition number where terms cancel)."""
  return 2.0 * gamma(depth) * condition


def depth_of_sum(count):
  """The depth of a sum of `count` terms, whatever order a machine adds them in."""
  return max(int(count) - 1, 1)



LAMBDA = 6.0  # probable_gamma() is exceeded with probability at most 2 exp(-LAMBDA^2 / 2) = 3e-8


def probable_gamma(depth):
  """The relative error that float32 roundings exceed with probability at most 2 exp(-LAMBDA^2 / 2) when they are
  independent and of mean zero: LAMBDA sqrt(depth) U rather than depth U, since their effects add as a random walk
  (Higham and Mary, "A new approach to probabilistic rounding error analysis", SIAM J. Sci. Comput. 41 (2019);
  Hoeffding's inequality). `depth`: the sum over the roundings of the square of the result's relative sensitivity
  to each (their count where each is 1), both evaluations' roundings for the difference of two. For long or
  ill-conditioned computations whose worst case, gamma(), lies orders of magnitude above what any machine
  produces and above what a real error changes: say so where it is used."""
  return math.expm1(LAMBDA * math.sqrt(depth) * U + depth * U**2 / (1 - U))


def network(depth):
  """The relative difference, to the scale of its values, that two float32 evaluations of a network's output may
  show when they sum its products in other orders (another batch size, grouping of positions or channel width):
  probable_gamma of both evaluations' roundings, `depth` the fan-ins summed along the longest path. A stated
  model: each layer's sum of terms of both signs rounds like a random walk relative to the terms' root mean
  square, which these networks keep at the scale of their outputs (their initialisation, their training), and the
  layers after pass it on about unmagnified. The worst case has no bound short of each network's condition."""
  return probable_gamma(2 * depth)


def tiny_depth(channels=8, latent_channels=12, hidden=16, rounded=True):
  """network()'s depth for configs/tiny.py's model (or one of other widths): the most products a float path sums
  from x to an output, between roundings of y and z (rounded) or through training's noise instead (not rounded).
  g_a's 5x5 convolutions (3, N, N, N channels in, GSDN between: 2 N + 4); h_a's 3x3 (M in) and 5x5 (N, N); h_s's
  3x3 sub-pixel (N, N in) and 3x3 (3 M / 2 in); the entropy parameters' 5x5 masked context (12 taps of M) and
  dense layers (6 M, hidden, hidden in); g_s's 3x3 sub-pixel (M, N, N, N in, IGSDN between)."""
  n, m = channels, latent_channels
  g_a, h_a = 25 * 3 + 3 * 25 * n + 3 * (2 * n + 4), 9 * m + 2 * 25 * n
  h_s, parameters, g_s = 2 * 9 * n + 9 * (3 * m // 2), 12 * m + 6 * m + 2 * hidden, 9 * m + 3 * 9 * n + 3 * (2 * n + 4)
  if rounded:
    return max(g_a + h_a, h_s + parameters + g_s)
  return g_a + max(g_s, h_a + h_s + parameters)
