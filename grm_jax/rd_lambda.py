"""The rate-distortion trade-off lambda, in one place: CompressAI's quality lambdas, the log-spaced lambdas of a
range (gain anchors, the portable path's rate levels, calibration), a range's middle, and the policy a codec
applies to the lambda it is asked to code at, checked once, as the float32 value a .grm file carries.

Convention (CompressAI's): loss = lambda * 255^2 * MSE + bpp, or lambda * (1 - MS-SSIM) + bpp for an MS-SSIM
model; a quality level means the same for both metrics (CompressAI's quality lambdas of each).
"""
import numpy as np

from grm_jax.errors import GrmError

# CompressAI's lambdas for MSE models, quality 1 to 8.
QUALITY_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
# CompressAI's lambdas for MS-SSIM models, quality 1 to 8.
MS_SSIM_QUALITY_LAMBDAS = (2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37, 220.00)
QUALITY_LAMBDAS_OF = {'mse': QUALITY_LAMBDAS, 'ms-ssim': MS_SSIM_QUALITY_LAMBDAS}


def quality_lambdas(distortion='mse'):
  """CompressAI's quality lambdas, 1 to 8, of a model trained for this distortion ('mse' or 'ms-ssim')."""
  try:
    return QUALITY_LAMBDAS_OF[distortion]
  except KeyError:
    raise GrmError(f"unknown distortion {distortion!r}; expected one of {tuple(QUALITY_LAMBDAS_OF)}") from None


def quality_to_lambda(quality, distortion='mse'):
  """The lambda of a quality level from 1 to 8, interpolated in log(lambda) between levels."""
  table = quality_lambdas(distortion)
  quality = float(quality)
  if not 1.0 <= quality <= len(table):
    raise GrmError(f"quality {quality:g} is outside 1 to {len(table)}")
  return float(np.exp(np.interp(quality - 1.0, np.arange(len(table)), np.log(table))))


def equivalent_lambda(lambda_, source, target):
  """The lambda of a `target`-distortion model at the quality where a `source`-distortion model codes at lambda_:
  piecewise linear in log(lambda) through the two quality tables, extended beyond their ends by the end segments'
  slopes. What fine-tuning an MSE model into an MS-SSIM one starts its gains from."""
  if source == target:
    return float(lambda_)
  log_source, log_target = (np.log(quality_lambdas(d)) for d in (source, target))
  x = np.log(float(lambda_))
  segment = int(np.clip(np.searchsorted(log_source, x) - 1, 0, len(log_source) - 2))
  slope = (log_target[segment + 1] - log_target[segment]) / (log_source[segment + 1] - log_source[segment])
  return float(np.exp(log_target[segment] + slope * (x - log_source[segment])))


def log_spaced(lambda_range, count):
  """`count` lambdas (float64) log-spaced from the range's low end to its high end."""
  low, high = lambda_range
  return np.exp(np.linspace(np.log(low), np.log(high), count))


def in_range(lambda_, lambda_range):
  """Whether lambda_ lies in the range, the rounding of a printed range counted inside it."""
  low, high = lambda_range
  return low * (1 - 1e-6) <= lambda_ <= high * (1 + 1e-6)


def middle(lambda_range):
  """The range's geometric middle: where an untrained gain unit has gain 1, and what a variable-rate model's
  methods use where they are given no lambda."""
  low, high = lambda_range
  return float(np.sqrt(low * high))


class RatePolicy:
  """The lambdas a model codes at. A fixed-rate model codes at the one it was trained for; a variable-rate model
  anywhere in its range, or where it has rate levels (the portable path's z gains are integer tables, one row per
  level, 1.3% apart with CompressAI's quality lambdas exact), at the nearest level."""

  def __init__(self, lambda_, lambda_range=(), levels=None):
    self.trained = float(lambda_)
    self.lambda_range = tuple(float(v) for v in lambda_range or ())
    self.levels = None if levels is None or not self.lambda_range else np.asarray(levels, np.float32)

  @classmethod
  def of_config(cls, config, levels=None):
    return cls(config.lambda_, config.model.get('lambda_range', ()), levels)

  @property
  def variable_rate(self):
    return bool(self.lambda_range)

  @property
  def default(self):
    """The training lambda of a fixed-rate model; of a variable-rate one its config's lambda_ where that lies in
    its range, else the range's middle (as float32, what a file carries)."""
    value = self.trained
    if self.variable_rate and not self.lambda_range[0] <= value <= self.lambda_range[1]:
      value = middle(self.lambda_range)
    return float(np.float32(value))

  def check(self, lambda_=None):
    """The float32 lambda a file coded at lambda_ (None: the default) carries; a GrmError where this model cannot
    code at it."""
    if lambda_ is None:
      return self._nearest_level(self.default)
    lambda_ = float(lambda_)
    if not self.variable_rate:
      if np.isclose(lambda_, self.trained, rtol=1e-6):
        return self.default
      raise GrmError(f"this model is fixed-rate (lambda {self.trained}); coding at another lambda needs a "
                     "variable-rate model")
    low, high = self.lambda_range
    if not in_range(lambda_, self.lambda_range):
      raise GrmError(f"lambda {lambda_:g} is outside this model's range {low:g} to {high:g}")
    return self._nearest_level(float(np.clip(np.float32(lambda_), np.float32(low), np.float32(high))))

  def of_file(self, lambda_):
    """The lambda a file's header carries, refused unless this model could have written it (None: fixed-rate)."""
    if not self.variable_rate:
      return None
    low, high = np.float32(self.lambda_range[0]), np.float32(self.lambda_range[1])
    if lambda_ is None or not low <= np.float32(lambda_) <= high:
      raise GrmError("damaged .grm file (no lambda in this model's range)")
    if self.levels is not None and not np.any(self.levels == np.float32(lambda_)):
      raise GrmError("damaged .grm file (its lambda is not one of this model's rate levels)")
    return float(lambda_)

  def model_input(self, lambda_):
    """The lambdas argument of the model's methods: float32 [1] for a variable-rate model, None for a fixed-rate
    one."""
    return np.full((1,), lambda_, np.float32) if self.variable_rate and lambda_ is not None else None

  def _nearest_level(self, lambda_):
    if self.levels is None:
      return lambda_
    return float(self.levels[np.argmin(np.abs(np.log(self.levels) - np.log(lambda_)))])
