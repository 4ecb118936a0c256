"""Choosing a variable-rate model's lambda from a target size, by real encodes (a quality level:
grm_jax/rd_lambda.quality_to_lambda).

  search = rate_control.fit_to_size(codec, image, target_bytes)
  search.result.data, search.lambda_                   # the largest file not above the target, and its lambda
"""
import dataclasses

import numpy as np

from grm_jax.errors import GrmError


@dataclasses.dataclass
class SearchResult:
  result: object  # the chosen EncodeResult
  lambda_: float
  encodes: int  # how many real encodes the search took
  reached: bool  # False when even the lowest lambda gives a file above the target


def fit_to_size(codec, image, target_bytes, tolerance=0.01, max_encodes=12):
  """The encode at the largest lambda whose file is not larger than target_bytes, by bisection on log(lambda)
  over real encodes. Stops within `tolerance` (relative) below the target or after max_encodes encodes.

  A file's size grows with lambda in practice but not strictly (the range coder's bytes are whole), so the answer
  is the best encode seen, never one above the target unless nothing reaches it (reached=False: the lowest
  lambda's file, the smallest this model makes).
  """
  if not codec.variable_rate:
    raise GrmError("a target size needs a variable-rate model; this one is fixed-rate "
                   f"(lambda {codec.config.lambda_})")
  if target_bytes <= 0:
    raise GrmError(f"the target size must be positive, got {target_bytes:g} bytes")
  low, high = np.log(codec.lambda_range[0]), np.log(codec.lambda_range[1])
  encodes = 0

  def encode(log_lambda):
    nonlocal encodes
    encodes += 1
    lambda_ = codec.check_lambda(float(np.exp(log_lambda)))
    return lambda_, codec.encode(image, lambda_=lambda_)

  lambda_, result = encode(high)
  if len(result.data) <= target_bytes:
    return SearchResult(result, lambda_, encodes, True)
  lambda_, result = encode(low)
  if len(result.data) > target_bytes:
    return SearchResult(result, lambda_, encodes, False)
  best = (lambda_, result)
  while encodes < max_encodes and len(best[1].data) < (1 - tolerance) * target_bytes:
    middle = (low + high) / 2
    lambda_, result = encode(middle)
    if len(result.data) <= target_bytes:
      low = middle
      if len(result.data) > len(best[1].data):
        best = (lambda_, result)
    else:
      high = middle
  return SearchResult(best[1], best[0], encodes, True)
