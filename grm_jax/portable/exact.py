"""Integer arithmetic that every machine computes to the same bits: the building blocks of the portable entropy
path (portable/entropy_path.py).

A float network's output depends on the order its sums are taken in, which differs between CPU instruction sets,
thread counts, XLA versions and GPUs; a range decoder given parameters that differ in one bit decodes garbage. Here
every value is an integer and every operation is exact, so the order cannot matter:

- activations are int32 in [-2^11, 2^11) (12 bits), with a power-of-two scale fixed at export;
- weights are integers of at most 12 bits, held in float32 for the matrix multiply (the fast path on every backend),
  with a power-of-two scale per output column;
- a product of activations and weights is taken on the activations' two base-64 digits, stacked as extra rows of
  one float32 matmul: a digit is below 2^6 in magnitude and a column's weights sum to at most 2^18 in absolute
  value, so every partial sum of every summation order is an integer below 2^24, which float32 holds exactly. The
  digits' sums are recombined in int32. Precision HIGHEST keeps accelerators from rounding the inputs (TF32,
  bfloat16). The same integers can also be carried in int8 (`carried_weights`): the weights cut into two base-64
  digits too, one int8 matmul with int32 sums, exact by integer arithmetic (faster where XLA has fast int8
  kernels, slower elsewhere: `fastest_carrier` times both);
- rescaling is a rounding shift, the nonlinearity a shift-and-multiply, the square root an integer one.

`summation(...)` swaps the matmul for another order of the same sums (a platform simulator for tests): a portable
path must give the same bits under every choice.
"""
import contextlib
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

ACTIVATION_BITS = 12
ACTIVATION_LIMIT = 1 << (ACTIVATION_BITS - 1)  # activations lie in [-2048, 2048)
WEIGHT_LIMIT = (1 << (ACTIVATION_BITS - 1)) - 1  # weights lie in [-2047, 2047]
DIGIT_BITS = 6
FLOAT32_EXACT = 1 << 24  # float32 holds every integer of smaller magnitude
COLUMN_L1_LIMIT = FLOAT32_EXACT >> DIGIT_BITS  # sum of |weights| of one output column
LEAKY_SLOPE = (41, 12)  # 41 / 2^12 = 0.0100, flax's leaky_relu slope (0.01)

_SUMMATIONS = ('matmul', 'blocked', 'int64')
_summation = {'kind': 'matmul', 'seed': 0}


@contextlib.contextmanager
def summation(kind, seed=0):
  """Within the block, functions traced from now on sum products another way: 'blocked' splits the inputs into
  shuffled blocks of random sizes, each its own matmul, added up in reverse; 'int64' computes the sums in numpy's
  int64 on the host. Functions compiled before the block keep their order (jit caches by function)."""
  if kind not in _SUMMATIONS:
    raise ValueError(f"unknown summation {kind!r}; expected one of {_SUMMATIONS}")
  previous = dict(_summation)
  _summation.update(kind=kind, seed=seed)
  try:
    yield
  finally:
    _summation.update(previous)


def _matmul(digits, weights):
  return jnp.matmul(digits, weights, precision=jax.lax.Precision.HIGHEST)


def _blocked_matmul(digits, weights, seed):
  """The same sums in another order: inputs shuffled, cut into blocks of random sizes, blocks added last to first."""
  rng = np.random.default_rng(seed + weights.shape[0])
  order = rng.permutation(weights.shape[0])
  cuts = np.sort(rng.choice(np.arange(1, weights.shape[0]), size=min(7, weights.shape[0] - 1), replace=False))
  total = None
  for block in reversed(np.split(order, cuts)):
    part = _matmul(digits[..., block], weights[block]).astype(jnp.int32)
    total = part if total is None else total + part
  return total.astype(jnp.float32)


def _int64_matmul(digits, weights):
  def host(d, w):
    return (np.asarray(d, np.int64) @ np.asarray(w, np.int64)).astype(np.float32)
  shape = jax.ShapeDtypeStruct(digits.shape[:-1] + weights.shape[-1:], jnp.float32)
  return jax.pure_callback(host, shape, digits, weights)


def small_dot(values, weights):
  """float32 [..., n] @ [n, m] for integers whose products sum to less than 2^24 in absolute value: exact in any
  order (the caller guarantees the bound)."""
  kind = _summation['kind']
  if kind == 'blocked':
    return _blocked_matmul(values, weights, _summation['seed'])
  if kind == 'int64':
    return _int64_matmul(values, weights)
  return _matmul(values, weights)


CARRIERS = ('float32', 'int8')


@functools.lru_cache(maxsize=None)
def fastest_carrier(inputs, outputs, positions=16):
  """The carrier whose exact matmul of a layer of this shape, for a decoding step of `positions`, runs faster on
  this process's default device. Neither is fastest everywhere (docs/portable.md): int8 digits win where XLA has
  fast int8 kernels (the paper-size model's entropy parameters 2x faster with AMX), float32 elsewhere (1.4x on
  an AMD EPYC with AVX-512 VNNI; 5x on the XLA of jax 0.5). Timed once per shape and process, each carrier
  compiled, then both run alternately: a fraction of a second, against the seconds a model's steps take to
  compile."""
  rng = np.random.default_rng(0)
  weights = rng.integers(-WEIGHT_LIMIT, WEIGHT_LIMIT + 1, (inputs, outputs))
  activations = jnp.asarray(rng.integers(-ACTIVATION_LIMIT, ACTIVATION_LIMIT, (positions, inputs)), jnp.int32)
  dot = jax.jit(exact_dot)
  carried = {carrier: jax.device_put(carried_weights(weights, carrier)) for carrier in CARRIERS}
  seconds = {carrier: [] for carrier in CARRIERS}
  for round_ in range(6):
    for carrier in CARRIERS:
      start = time.perf_counter()
      jax.block_until_ready(dot(activations, carried[carrier]))
      if round_:  # the first compiles
        seconds[carrier].append(time.perf_counter() - start)
  return min(CARRIERS, key=lambda carrier: min(seconds[carrier]))


def carried_weights(weights, carrier='float32'):
  """Integer weights [n, m] (numpy) in the form exact_dot takes: float32, or for 'int8' their high and low base-64
  digits side by side, int8 [n, 2m]."""
  weights = np.asarray(weights, np.int32)
  if carrier == 'float32':
    return weights.astype(np.float32)
  if carrier == 'int8':
    high = weights >> DIGIT_BITS
    return np.concatenate([high, weights - (high << DIGIT_BITS)], axis=1).astype(np.int8)
  raise ValueError(f"unknown carrier {carrier!r}; expected one of {CARRIERS}")


def _int8_dot(digits, weights):
  """digits int [2, ..., n] times int8 weight digits [n, 2m]: the four digit products, recombined. Sums may wrap
  in int32 on the way; the result is exact because the true value fits int32 (arithmetic modulo 2^32)."""
  if _summation['kind'] == 'matmul':
    sums = jax.lax.dot_general(digits.astype(jnp.int8), weights, (((digits.ndim - 1,), (0,)), ((), ())),
                               preferred_element_type=jnp.int32)
  else:  # the simulator's orders, on the same integers
    sums = small_dot(digits.astype(jnp.float32), weights.astype(jnp.float32)).astype(jnp.int32)
  m = weights.shape[1] // 2
  high_high, high_low = sums[0, ..., :m], sums[0, ..., m:]
  low_high, low_low = sums[1, ..., :m], sums[1, ..., m:]
  return (high_high << (2 * DIGIT_BITS)) + ((high_low + low_high) << DIGIT_BITS) + low_low


def exact_dot(activations, weights):
  """int32 [..., n] activations (12 bits) times integer weights [n, m] (carried_weights) -> the exact int32 [..., m]."""
  high = activations >> DIGIT_BITS  # arithmetic shift: floor, so the low digit lies in [0, 64)
  low = activations - (high << DIGIT_BITS)
  if weights.dtype == jnp.int8:
    return _int8_dot(jnp.stack([high, low]), weights)
  sums = small_dot(jnp.stack([high, low]).astype(jnp.float32), weights).astype(jnp.int32)
  return (sums[0] << DIGIT_BITS) + sums[1]


def shift_round(values, shift):
  """values * 2^-shift rounded half up (shift > 0), or values * 2^-shift exactly (shift <= 0); shift broadcasts."""
  shift = jnp.asarray(shift, jnp.int32)
  right, left = jnp.maximum(shift, 0), jnp.maximum(-shift, 0)
  half = jnp.where(right > 0, jnp.left_shift(1, jnp.maximum(right - 1, 0)), 0)
  return jnp.left_shift(jnp.right_shift(values + half, right), left)


def clip_activation(values):
  return jnp.clip(values, -ACTIVATION_LIMIT, ACTIVATION_LIMIT - 1)


def leaky_relu(values):
  """values where >= 0, else values * 41 / 4096 (shifted first, so that int32 cannot overflow)."""
  slope, bits = LEAKY_SLOPE
  return jnp.where(values >= 0, values, jnp.right_shift(jnp.right_shift(values, 5) * slope, bits - 5))


NONLINEARITIES = ('leaky_relu', 'linear', 'output')


def dense(activations, layer, nonlinearity):
  """One quantised layer {'w', 'b', 'shift'}: int32 outputs at the next layer's scale. 'leaky_relu' and 'linear'
  give activations (clipped to 12 bits); 'output' keeps the range (means and scales)."""
  sums = exact_dot(activations, layer['w']) + layer['b']
  if nonlinearity == 'leaky_relu':
    sums = leaky_relu(sums)
  outputs = shift_round(sums, layer['shift'])
  return outputs if nonlinearity == 'output' else clip_activation(outputs)


def isqrt(values):
  """floor(sqrt(values)) of int32 values in [0, 2^30), exact: a float estimate corrected by integer tests."""
  root = jnp.floor(jnp.sqrt(values.astype(jnp.float32))).astype(jnp.int32)
  for _ in range(2):
    root = jnp.where(root * root > values, root - 1, root)
    root = jnp.where((root + 1) * (root + 1) <= values, root + 1, root)
  return root


# ---- export: float layers to integer ones (numpy, float64)


EXPONENT_RANGE = (-16, 20)  # a tensor that calibration never saw nonzero still gets a usable scale


def exponent_for(maximum, limit=ACTIVATION_LIMIT - 1):
  """The largest e with maximum * 2^e <= limit: the scale of an activation whose calibrated range is maximum."""
  return int(np.clip(np.floor(np.log2(limit / max(float(maximum), 1e-30))), *EXPONENT_RANGE))


def quantize_dense(kernel, bias, input_exponents, output_exponents):
  """A float layer y = x @ kernel + bias as {'w' (int16; `dense` takes it as carried_weights), 'b', 'shift'} for
  int inputs x_q = x * 2^input_exponents[i] and outputs at 2^output_exponents[j]. Each column gets the finest
  power-of-two scale that keeps its weights within 12 bits and its absolute sum within COLUMN_L1_LIMIT (the
  condition for exact float32 sums)."""
  kernel = np.asarray(kernel, np.float64) * np.exp2(-np.asarray(input_exponents, np.float64))[:, None]
  columns = kernel.shape[1]
  column_max = np.maximum(np.abs(kernel).max(axis=0), 1e-30)
  column_l1 = np.maximum(np.abs(kernel).sum(axis=0), 1e-30)
  scale = np.minimum(np.floor(np.log2(WEIGHT_LIMIT / column_max)), np.floor(np.log2(COLUMN_L1_LIMIT / column_l1)))
  bias = np.asarray(bias, np.float64)
  scale = np.minimum(scale, np.floor(np.log2(2.0 ** 29 / np.maximum(np.abs(bias), 1e-30))))  # sums stay in int32
  scale = np.minimum(scale, 40).astype(np.int64)
  weights = np.round(kernel * np.exp2(scale))
  while True:  # rounding can push a column's absolute sum over the limit: one step coarser there
    over = np.abs(weights).sum(axis=0) >= COLUMN_L1_LIMIT
    if not over.any():
      break
    scale = scale - over
    weights = np.round(kernel * np.exp2(scale))
  biases = np.round(bias * np.exp2(scale))
  shift = scale - np.broadcast_to(np.asarray(output_exponents, np.int64), (columns,))
  return {'w': weights.astype(np.int16), 'b': biases.astype(np.int32), 'shift': shift.astype(np.int32)}
