"""tensorflow-compression's range coder, bit for bit, in numba: no TensorFlow.

The bitstream is that of tensorflow-compression's `range_coder.cc` (G. N. N. Martin's range coder: 32-bit state,
16-bit renormalisation, carries held back in a delay counter) driven as its `entropy_encode_index` /
`entropy_decode_index` ops drive it, overflow escape included. `tests/test_range_coder_tfc.py` proves byte
equality against the op, both ways, on real files. `grm_jax/codec/tfc_reference.py` wraps the op itself.

A coding table ("lookup") is an int32 matrix with one row per distribution: the row starts with -precision (the
minus sign enables the overflow escape, so values outside a table's range are still coded, with an Elias gamma
code), followed by the quantised CDF, padded with 2^precision. A value v of distribution i is coded as the symbol
v - offsets[i].

Why numba: the coder is a loop over symbols with data-dependent branches and output, which XLA runs poorly and
Python runs ~100x too slowly; numba compiles it to machine code from wheels on x86-64 and aarch64, no compiler
needed, and caches the compiled code beside the module.
"""
import math

import numba
import numpy as np

from grm_jax.errors import GrmError

PRECISION = 16
_M32 = 0xFFFFFFFF
# Values of an escaped symbol beyond this magnitude are refused: tensorflow-compression's Elias gamma loop shifts
# an int32 by up to the value's bit length, which is undefined past 2^30, and no latent of a working model is near.
MAX_ESCAPE = 1 << 30
# Failure codes of the compiled functions (0 = success).
_BAD_INDEX, _BAD_VALUE, _DAMAGED, _TOO_SHORT = 1, 2, 3, 4


# ---- tables


@numba.njit(cache=True, nogil=True)
def _scan_rows(lookup):
  """Each row's precision (negative: overflow escape on) and CDF length, checked as the op's ScanCDF does:
  |precision| in [1, 16], the CDF starts at 0, never decreases, reaches 2^precision and stays there.
  Returns (meta [rows, 2], 0) or (meta, row + 1) for the first bad row."""
  rows, width = lookup.shape
  meta = np.zeros((rows, 2), np.int64)
  for r in range(rows):
    precision = lookup[r, 0]
    magnitude = -precision if precision < 0 else precision
    if width < 3 or magnitude < 1 or magnitude > 16 or lookup[r, 1] != 0:
      return meta, r + 1
    top = 1 << magnitude
    end = -1
    for j in range(2, width):
      if lookup[r, j] < lookup[r, j - 1]:
        return meta, r + 1
      if lookup[r, j] == top:
        end = j
        break
    if end < 0:
      return meta, r + 1
    for j in range(end + 1, width):
      if lookup[r, j] != top:
        return meta, r + 1
    meta[r, 0] = precision
    meta[r, 1] = end  # CDF entries lookup[r, 1 : end + 1]; symbols 0 .. end - 2
  return meta, 0


def check_lookup(lookup):
  """(int32 lookup, row metadata) of a table the coder can use, or a GrmError naming the first bad row."""
  lookup = np.ascontiguousarray(lookup, np.int32)
  if lookup.ndim != 2 or lookup.shape[0] == 0:
    raise GrmError(f"invalid coding table (shape {lookup.shape}; expected [rows, cdf])")
  meta, bad = _scan_rows(lookup)
  if bad:
    raise GrmError(f"invalid coding table (row {bad - 1} is not a CDF of precision 1 to 16 from 0 to 2^precision)")
  return lookup, meta


def quantized_cdf(pmf, precision=PRECISION):
  """The lookup row of a pmf over consecutive integers; the mass outside them becomes the overflow symbol.

  Exactly tensorflow-compression's pmf_to_quantized_cdf, so that an export here writes the tables it would."""
  pmf = np.asarray(pmf, np.float64)
  overflow = max(0.0, 1.0 - float(pmf.sum()))
  masses = np.append(pmf, overflow).astype(np.float32)
  if masses.size < 2 or not np.all(np.isfinite(masses)) or np.any(masses < 0):
    raise GrmError("cannot build a coding table from a pmf that is empty, negative or not finite")
  if not 1 <= precision <= 16:
    raise GrmError(f"coding table precision {precision} is not in [1, 16]")
  counts = np.maximum(np.rint(masses * np.float32(1 << precision)), 1).astype(np.int64)
  _fix_total(masses.astype(np.float64), counts, 1 << precision)
  return np.concatenate([[-precision, 0], np.cumsum(counts)]).astype(np.int32)


def stack_rows(rows, precision=PRECISION):
  """Rows of different lengths -> one lookup matrix, padded with 2^precision (zero-probability symbols)."""
  width = max(len(r) for r in rows)
  lookup = np.full((len(rows), width), 1 << precision, np.int32)
  for i, row in enumerate(rows):
    lookup[i, :len(row)] = row
  return lookup


# The quantised counts are brought to the exact total greedily, as PmfToCdfOp does: the count whose change costs
# the least information (mass * log2 ratio) moves first. Its queue is ordered once by libstdc++'s std::sort, which
# is not stable, and equal costs are common (a Gaussian's pmf is symmetric): to pick the same count among equals,
# the sort below is libstdc++'s introsort, step for step.
_SORT_THRESHOLD = 16


@numba.njit(cache=True)
def _cost(count, mass, decrease):
  """The information lost by taking one from count (decrease), or gained by adding one; never below 1 or from 0."""
  if decrease:
    return np.inf if count <= 1 else mass * (math.log2(count) - math.log2(count - 1))
  return -np.inf if count < 1 else mass * (math.log2(count + 1) - math.log2(count))


@numba.njit(cache=True)
def _before(key, i, j, ascending):
  return key[i] < key[j] if ascending else key[i] > key[j]


@numba.njit(cache=True)
def _linear_insert(order, key, last, ascending):
  value = order[last]
  while (key[value] < key[order[last - 1]]) if ascending else (key[value] > key[order[last - 1]]):
    order[last] = order[last - 1]
    last -= 1
  order[last] = value


@numba.njit(cache=True)
def _insertion_sort(order, key, first, last, ascending):
  for i in range(first + 1, last):
    if _before(key, order[i], order[first], ascending):
      value = order[i]
      order[first + 1:i + 1] = order[first:i].copy()
      order[first] = value
    else:
      _linear_insert(order, key, i, ascending)


@numba.njit(cache=True)
def _adjust_heap(order, key, first, hole, length, value, ascending):
  top = hole
  child = hole
  while child < (length - 1) // 2:
    child = 2 * (child + 1)
    if _before(key, order[first + child], order[first + child - 1], ascending):
      child -= 1
    order[first + hole] = order[first + child]
    hole = child
  if length & 1 == 0 and child == (length - 2) // 2:
    child = 2 * (child + 1)
    order[first + hole] = order[first + child - 1]
    hole = child - 1
  parent = (hole - 1) // 2
  while hole > top and _before(key, order[first + parent], value, ascending):
    order[first + hole] = order[first + parent]
    hole = parent
    parent = (hole - 1) // 2
  order[first + hole] = value


@numba.njit(cache=True)
def _heap_sort(order, key, first, last, ascending):
  length = last - first
  if length >= 2:
    parent = (length - 2) // 2
    while True:
      _adjust_heap(order, key, first, parent, length, order[first + parent], ascending)
      if parent == 0:
        break
      parent -= 1
  while last - first > 1:
    last -= 1
    value = order[last]
    order[last] = order[first]
    _adjust_heap(order, key, first, 0, last - first, value, ascending)


@numba.njit(cache=True)
def _introsort(order, key, n, depth, ascending):
  """libstdc++'s __introsort_loop, its recursion on the right part as an explicit stack (numba's cache does not
  hold recursive functions). The parts are disjoint, so the order they are sorted in changes nothing."""
  stack = [(0, n, depth)]
  while len(stack):
    first, last, depth = stack.pop()
    while last - first > _SORT_THRESHOLD:
      if depth == 0:
        _heap_sort(order, key, first, last, ascending)
        break
      depth -= 1
      a, b, c = first + 1, first + (last - first) // 2, last - 1  # median of three to the front
      if _before(key, order[a], order[b], ascending):
        if _before(key, order[b], order[c], ascending):
          pick = b
        elif _before(key, order[a], order[c], ascending):
          pick = c
        else:
          pick = a
      elif _before(key, order[a], order[c], ascending):
        pick = a
      elif _before(key, order[b], order[c], ascending):
        pick = c
      else:
        pick = b
      order[first], order[pick] = order[pick], order[first]
      lo, hi = first + 1, last  # unguarded partition around order[first]
      while True:
        while _before(key, order[lo], order[first], ascending):
          lo += 1
        hi -= 1
        while _before(key, order[first], order[hi], ascending):
          hi -= 1
        if not lo < hi:
          break
        order[lo], order[hi] = order[hi], order[lo]
        lo += 1
      stack.append((lo, last, depth))
      last = lo


@numba.njit(cache=True)
def _std_sort(order, key, ascending):
  n = order.shape[0]
  if n == 0:
    return
  depth = 0
  while (1 << (depth + 1)) <= n:
    depth += 1
  _introsort(order, key, n, 2 * depth, ascending)
  if n > _SORT_THRESHOLD:
    _insertion_sort(order, key, 0, _SORT_THRESHOLD, ascending)
    for i in range(_SORT_THRESHOLD, n):
      _linear_insert(order, key, i, ascending)
  else:
    _insertion_sort(order, key, 0, n, ascending)


@numba.njit(cache=True)
def _fix_total(masses, counts, total):
  """Moves counts one at a time until they sum to total (PmfToCdfOp::PerShard)."""
  excess = counts.sum() - total
  if excess == 0:
    return
  decrease = excess > 0
  n = counts.shape[0]
  key = np.empty(n)
  for i in range(n):
    key[i] = _cost(counts[i], masses[i], decrease)
  order = np.arange(n)
  _std_sort(order, key, decrease)  # penalties ascending, gains descending
  for _ in range(abs(excess)):
    head = order[0]
    counts[head] += -1 if decrease else 1
    key[head] = _cost(counts[head], masses[head], decrease)
    stop = 1  # the first later item that head must stay before; head moves just before it
    while stop < n and not _before(key, head, order[stop], decrease):
      stop += 1
    order[:stop - 1] = order[1:stop].copy()
    order[stop - 1] = head


# ---- the range encoder (RangeEncoder::Encode / Finalize)
#
# Within a run of symbols the state (base, size - 1, delay) lives in scalars, the per-symbol steps are inlined into
# the loop (numba's inline='always'; as separate calls with the state in an array they ran 4x slower than the op),
# and the output buffer is never reassigned (numba would count references on every symbol); between runs the
# state waits in an array while the buffer grows.

# Room a run keeps free for one more symbol, besides the carry bytes already pending (delay >> 16): a symbol codes
# at most 61 intervals (its own, and an escape's 29 zeros, 30 bits and sign), each adding at most 2 bytes written
# or pending, plus the 2 of a pending carry's own word; this bound doubles that.
_MARGIN = 2 * 2 * 64 + 8


@numba.njit(cache=True, nogil=True)
def _grown(out, n, size):
  grown = np.empty(max(2 * out.shape[0], size), np.uint8)
  grown[:n] = out[:n]
  return grown


@numba.njit(cache=True, nogil=True, inline='always')
def _encode_interval(base, size_minus1, delay, out, n, lower, upper, precision):
  """Narrows [base, base + size) to [lower, upper) / 2^precision of it and writes what has converged into out,
  which the caller keeps large enough."""
  size = size_minus1 + 1
  a = (size * lower) >> precision
  b = ((size * upper) >> precision) - 1
  base = (base + a) & _M32
  size_minus1 = b - a
  base_overflow = base < a
  if ((base + size_minus1) & _M32) < base:  # state 1: base < 2^32 < base + size; the carry is still open
    if size_minus1 >> 16 == 0:
      base = (base << 16) & _M32
      size_minus1 = ((size_minus1 << 16) & _M32) | 0xFFFF
      delay += 0x20000
    return base, size_minus1, delay, n
  if delay != 0:  # back to state 0: the delayed carry is resolved
    fill = 0
    if not base_overflow:
      delay -= 1
      fill = 0xFF
    count = delay >> 16
    out[n] = (delay >> 8) & 0xFF
    out[n + 1] = delay & 0xFF
    out[n + 2:n + 2 + count] = fill
    n += 2 + count
    delay = 0
  if size_minus1 >> 16 == 0:
    top = base >> 16
    base = (base << 16) & _M32
    size_minus1 = ((size_minus1 << 16) & _M32) | 0xFFFF
    if base <= ((base + size_minus1) & _M32):
      out[n] = (top >> 8) & 0xFF
      out[n + 1] = top & 0xFF
      n += 2
    else:
      delay = top + 1
  return base, size_minus1, delay, n


@numba.njit(cache=True, nogil=True)
def _finalize(base, size_minus1, delay, out, n):
  """The shortest tail that puts the decoder inside the final interval (trailing zeros are implicit)."""
  if delay != 0:
    out[n] = (delay >> 8) & 0xFF
    n += 1
    if delay & 0xFF != 0:
      out[n] = delay & 0xFF
      n += 1
  elif base != 0:
    upper = (base + size_minus1) & _M32
    mid = ((base - 1) >> 24) + 1
    if mid <= (upper >> 24):
      out[n] = mid & 0xFF
      n += 1
    else:
      mid = ((base - 1) >> 16) + 1
      out[n] = (mid >> 8) & 0xFF
      n += 1
      if mid & 0xFF != 0:
        out[n] = mid & 0xFF
        n += 1
  return n


@numba.njit(cache=True, nogil=True)
def _encode_run(lookup, meta, offsets, indexes, values, state, out, start):
  """Codes values from start on while out has room for one more symbol, the state (base, size - 1, delay, bytes
  written) in state; (the index of the first value not coded, status), as the op's RangeEncoderInterface codes
  value k with row indexes[k] as the symbol values[k] - offsets[row].

  out is never reassigned in here: growing it inside the loop made numba count references on every symbol, which
  held the encoder to half the op's speed (docs/range_coder.md)."""
  base, size_minus1, delay, n = state[0], state[1], state[2], state[3]
  rows = lookup.shape[0]
  room = out.shape[0] - _MARGIN
  status = 0
  k = start
  while k < indexes.shape[0] and n + (delay >> 16) <= room:
    index = np.int64(indexes[k])
    if index < 0 or index >= rows:
      status = _BAD_INDEX
      break
    value = np.int64(values[k]) - offsets[index]
    precision = meta[index, 0]
    last = meta[index, 1]  # the CDF is lookup[index, 1 : last + 1]
    k += 1
    if precision > 0:
      if value < 0 or value >= last - 1:
        status = _BAD_VALUE
        break
      base, size_minus1, delay, n = _encode_interval(base, size_minus1, delay, out, n,
                                                     lookup[index, value + 1], lookup[index, value + 2], precision)
      continue
    max_value = last - 2  # the escape symbol
    sign = 1 if value < 0 else 0
    gamma = 0
    if value < 0:
      gamma = -value
      value = max_value
    elif value >= max_value:
      gamma = value - max_value + 1
      value = max_value
    if gamma >= MAX_ESCAPE:
      status = _BAD_VALUE
      break
    base, size_minus1, delay, n = _encode_interval(base, size_minus1, delay, out, n, lookup[index, value + 1],
                                                   lookup[index, value + 2], -precision)
    if value != max_value:
      continue
    bits = 1
    while gamma >= (1 << bits):  # Elias gamma: the length in zeros, then the bits, then the sign
      base, size_minus1, delay, n = _encode_interval(base, size_minus1, delay, out, n, 0, 1, 1)
      bits += 1
    while bits > 0:
      bits -= 1
      bit = (gamma >> bits) & 1
      base, size_minus1, delay, n = _encode_interval(base, size_minus1, delay, out, n, bit, bit + 1, 1)
    base, size_minus1, delay, n = _encode_interval(base, size_minus1, delay, out, n, sign, sign + 1, 1)
  state[0], state[1], state[2], state[3] = base, size_minus1, delay, n
  return k, status


@numba.njit(cache=True, nogil=True)
def _encode(lookup, meta, offsets, indexes, values):
  """(bytes, status) of every value: runs of _encode_run, out grown between them."""
  out = np.empty(max(256, indexes.shape[0] // 2) + _MARGIN, np.uint8)
  state = np.array([0, _M32, 0, 0], np.int64)
  k = 0
  while True:
    k, status = _encode_run(lookup, meta, offsets, indexes, values, state, out, k)
    if status:
      return out[:state[3]], status
    if k >= indexes.shape[0]:
      break
    out = _grown(out, state[3], state[3] + (state[2] >> 16) + 2 * _MARGIN)
  n = state[3]
  if n + 4 > out.shape[0]:
    out = _grown(out, n, n + 4)
  n = _finalize(state[0], state[1], state[2], out, n)
  return out[:n], 0


def _integers(array):
  """A flat contiguous int32 (or int64) array, without a copy where it already is one."""
  array = np.asarray(array)
  if array.dtype not in (np.int32, np.int64):
    array = array.astype(np.int64)
  return np.ascontiguousarray(array.reshape(-1))


def _checked_offsets(offsets, lookup):
  offsets = np.ascontiguousarray(offsets, np.int64)
  if offsets.shape != (lookup.shape[0],):
    raise GrmError(f"range coder: {offsets.size} offsets for a table of {lookup.shape[0]} rows")
  return offsets


def encode(lookup, offsets, indexes, values):
  """One string holding every value (any shape), each coded with the table its index names."""
  lookup, meta = check_lookup(lookup)
  offsets = _checked_offsets(offsets, lookup)
  indexes, values = _integers(indexes), _integers(values)
  if indexes.shape != values.shape:
    raise GrmError(f"range coder: {indexes.size} indexes for {values.size} values")
  data, status = _encode(lookup, meta, offsets, indexes, values)
  if status == _BAD_INDEX:
    raise GrmError(f"range coder: an index outside the table's {lookup.shape[0]} rows")
  if status:
    raise GrmError(f"range coder: a value its table cannot code (beyond +-{MAX_ESCAPE} of the table's range)")
  return data.tobytes()


# ---- the range decoder (RangeDecoder::Decode / Finalize)


@numba.njit(cache=True, nogil=True, inline='always')
def _renormalise(base, size_minus1, value, position, data):
  """Once size is below 2^16, shifts 16 bits into base, size and value (past the string's end, zeros)."""
  if size_minus1 >> 16 != 0:
    return base, size_minus1, value, position
  base = (base << 16) & _M32
  size_minus1 = ((size_minus1 << 16) & _M32) | 0xFFFF
  for _ in range(2):
    value = (value << 8) & _M32
    if position < data.shape[0]:
      value |= data[position]
      position += 1
  return base, size_minus1, value, position


@numba.njit(cache=True, nogil=True, inline='always')
def _decode_symbol(base, size_minus1, value, lookup, row, last, precision):
  """(symbol, base, size - 1): the symbol whose interval of the CDF lookup[row, 1 : last + 1] holds value, found
  as the op's BinarySearch finds it: the smallest v >= 1 with ((value - base) + 1) * 2^precision <= size * cdf[v].
  The symbol is -1 only if value left [base, base + size), which no string can make happen."""
  size = size_minus1 + 1
  bound = (((value - base) & _M32) + 1) << precision
  lo, length = 2, last - 1
  while length > 0:
    half = length // 2
    if bound <= size * lookup[row, lo + half]:
      length = half
    else:
      lo += half + 1
      length -= half + 1
  if lo > last:
    return -1, base, size_minus1
  a = (size * lookup[row, lo - 1]) >> precision
  b = ((size * lookup[row, lo]) >> precision) - 1
  return lo - 2, (base + a) & _M32, b - a


@numba.njit(cache=True, nogil=True, inline='always')
def _decode_bit(base, size_minus1, value):
  """A binary symbol of probability 1/2 (the CDF [0, 1, 2] at precision 1): the escape code's bits."""
  size = size_minus1 + 1
  half = size >> 1
  if (((value - base) & _M32) + 1) << 1 <= size:
    return 0, base, half - 1
  return 1, (base + half) & _M32, size - 1 - half


@numba.njit(cache=True, nogil=True)
def _decode(state, spent, capacity, data, lookup, meta, costs, overflow, offsets, indexes, out):
  """Decodes len(indexes) values into out, adding each symbol's information content to spent[0]; 0, or a failure
  code once the string has been asked for more than it can hold or holds an escape code no encoder writes."""
  base, size_minus1, value, position = state[0], state[1], state[2], state[3]
  rows = lookup.shape[0]
  status = 0
  for k in range(indexes.shape[0]):
    index = np.int64(indexes[k])
    if index < 0 or index >= rows:
      status = _BAD_INDEX
      break
    precision = meta[index, 0]
    last = meta[index, 1]
    symbol, base, size_minus1 = _decode_symbol(base, size_minus1, value, lookup, index, last,
                                               precision if precision > 0 else -precision)
    if symbol < 0:
      status = _DAMAGED
      break
    base, size_minus1, value, position = _renormalise(base, size_minus1, value, position, data)
    cost_symbol = symbol if symbol < overflow[index] else overflow[index]
    spent[0] += costs[index, cost_symbol]
    if precision < 0 and symbol == last - 2:  # the escape: Elias gamma length, bits, sign
      bits = 0
      while True:
        bit, base, size_minus1 = _decode_bit(base, size_minus1, value)
        base, size_minus1, value, position = _renormalise(base, size_minus1, value, position, data)
        if bit:
          break
        bits += 1
        if bits > 30:  # longer than any value an encoder escapes (MAX_ESCAPE): a forged string, read for ever
          status = _DAMAGED
          break
      if status:
        break
      gamma = 1 << bits
      while bits > 0:
        bits -= 1
        bit, base, size_minus1 = _decode_bit(base, size_minus1, value)
        base, size_minus1, value, position = _renormalise(base, size_minus1, value, position, data)
        gamma |= bit << bits
      sign, base, size_minus1 = _decode_bit(base, size_minus1, value)
      base, size_minus1, value, position = _renormalise(base, size_minus1, value, position, data)
      symbol = -gamma if sign else gamma + last - 3
    out[k] = symbol + offsets[index]
    if spent[0] > capacity:
      status = _TOO_SHORT
      break
  state[0], state[1], state[2], state[3] = base, size_minus1, value, position
  return status


@numba.njit(cache=True, nogil=True)
def _decoder_finished(state, data):
  """RangeDecoder::Finalize: the string was read to its end and value is what the encoder's flush chose."""
  base, size_minus1, value, position = state[0], state[1], state[2], state[3]
  if position != data.shape[0]:
    return False
  upper = (base + size_minus1) & _M32
  if base == 0 or upper < base:
    return value == 0
  shift = 24 if ((base - 1) >> 24) < (upper >> 24) else 16
  mid = ((base - 1) >> shift) + 1
  return ((mid << shift) & _M32) == value


# A range coder's output is at least the information content of what it coded, less a few bits of rounding, plus
# the bytes of its final flush: this much beyond 8 bits a byte is never a valid string's.
SLACK_BITS = 64


def symbol_costs(lookup):
  """(bits [rows, symbols], overflow symbol per row): the information content of each symbol under each table,
  and the symbol that stands for values outside the table (costed as that symbol alone: a lower bound)."""
  lookup = np.asarray(lookup, np.int64)
  precision = np.abs(lookup[:, :1])
  cdf = lookup[:, 1:]
  counts = np.diff(cdf, axis=1)
  with np.errstate(divide='ignore'):
    bits = precision - np.log2(np.maximum(counts, 0))  # -log2(count / 2^precision); padding gives inf
  overflow = np.argmax(cdf == (1 << precision), axis=1) - 1  # the last symbol before the CDF reaches the top
  return bits, overflow


class Decoder:
  """Decodes a string in pieces, in the order it was encoded.

  A decoder fed a string too short for what it is asked to decode (a forged header claiming a large image, say)
  would go on producing symbols from nothing. So every symbol's information content is added up, and once it
  exceeds what the string can hold the file is refused: the work done stays proportional to the file.
  """

  def __init__(self, data, lookup, offsets):
    self._lookup, self._meta = check_lookup(lookup)
    self._offsets = _checked_offsets(offsets, self._lookup)
    self._data = np.frombuffer(bytes(data), np.uint8)
    self._state = np.array([0, _M32, 0, 0], np.int64)  # base, size - 1, value, read position
    first = self._data[:4].tobytes()  # value starts as the string's first 32 bits, zeros past its end
    self._state[2], self._state[3] = int.from_bytes(first.ljust(4, b'\0'), 'big'), len(first)
    costs, self._overflow = symbol_costs(self._lookup)
    self._costs = np.ascontiguousarray(costs)
    self._capacity = float(8 * len(self._data) + SLACK_BITS)
    self._spent = np.zeros(1)

  def decode(self, indexes):
    shape = np.shape(indexes)
    flat = _integers(indexes)
    values = np.empty(flat.shape, np.int32)
    status = _decode(self._state, self._spent, self._capacity, self._data, self._lookup, self._meta, self._costs,
                     self._overflow, self._offsets, flat, values)
    if status == _BAD_INDEX:
      raise GrmError(f"range coder: an index outside the table's {self._lookup.shape[0]} rows")
    if status == _TOO_SHORT:
      raise GrmError(f"damaged .grm file (a string of {len(self._data)} bytes cannot hold the symbols it decodes "
                     f"to: {self._spent[0]:.0f} bits of information so far)")
    if status:
      raise GrmError("damaged .grm file (the range decoder read an escape code no encoder writes)")
    return values.reshape(shape)

  def finish(self):
    """False when the decoder noticed an inconsistency (a weak check: the CRC is the real one)."""
    return bool(_decoder_finished(self._state, self._data))
