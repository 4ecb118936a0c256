"""Model families, registered by name: how a family parameterises the density of y.

Every family shares the transforms, the gain units and, where it has one, the hyperprior (z, h_a, h_s) of
ImageCompressor; a family says what its entropy model of y is, and which latent coder of the codec codes y
(codec/latent_coders.py, by `y_coding`). A new family is a module that calls `register`; nothing else changes,
as long as its y is coded by one of the latent coders (a new coder registers itself there the same way).

  factorized  y ~ a factorized learned density                     (Balle 2017/2018)
  hyperprior  y ~ N(0, sigma(z))                                   (Balle 2018)
  mean_scale  y ~ N(mu(z), sigma(z))                               (Minnen 2018)
  context     y ~ N(mu, sigma)(local context, z)                   (Minnen 2018, joint autoregressive)
  grm         y ~ N(mu, sigma)(local context, global reference, z) (Qian 2021)
  checkerboard      context in two passes: anchors from z alone, then the rest from their anchor
                    neighbours too                                 (He 2021)
  grm_checkerboard  grm in two passes: the non-anchors' reference searched among all anchors
The autoregressive families context and grm code in a causal order the config chooses (raster or wavefront:
model.order); the checkerboard families are their parallel forms, pinned to the checkerboard order.
"""
import dataclasses
from typing import Optional

from grm_jax.entropy_models import coding_order

Y_CODINGS = ('factorized', 'gaussian', 'autoregressive')


@dataclasses.dataclass(frozen=True)
class Family:
  name: str
  # factorized: y has a factorized density of its own, and there is no hyperprior. gaussian: y ~ N(mu, sigma)
  # from h_s alone, coded in one pass. autoregressive: (mu, sigma) also from the decoded latents, coded step by
  # step in a coding order (entropy_models/autoregressive.py).
  y_coding: str
  hyper_means: bool = True  # gaussian: h_s gives means and scales; False: scales only, mu = 0
  hyper_of_magnitude: bool = False  # h_a sees |y| (the scale hyperprior's choice)
  reference: bool = False  # autoregressive: the global reference stage
  order: Optional[str] = None  # autoregressive: the coding order the family is pinned to; None: a causal order of the config

  def __post_init__(self):
    if self.y_coding not in Y_CODINGS:
      raise ValueError(f"family {self.name}: y_coding must be one of {Y_CODINGS}, got {self.y_coding!r}")
    if self.order is not None and (self.y_coding != 'autoregressive' or self.order not in coding_order.ORDERS):
      raise ValueError(f"family {self.name}: only an autoregressive family is pinned to an order, one of "
                       f"{coding_order.ORDERS}; got {self.order!r}")

  @property
  def hyperprior(self):
    return self.y_coding != 'factorized'

  @property
  def autoregressive(self):
    return self.y_coding == 'autoregressive'

  def hyper_channels(self, latent_channels):
    """Channels of h_s's output: (mu | sigma) of y, sigma alone, or the features the entropy model reads."""
    return 2 * latent_channels if self.hyper_means or self.autoregressive else latent_channels


_REGISTRY = {}


def register(family):
  """Makes a family buildable by name (config.model.family); returns it."""
  if family.name in _REGISTRY and _REGISTRY[family.name] != family:
    raise ValueError(f"a different family named {family.name!r} is already registered")
  _REGISTRY[family.name] = family
  return family


def get(name):
  if name not in _REGISTRY:
    raise ValueError(f"unknown model family {name!r}; expected one of {', '.join(names())}")
  return _REGISTRY[name]


def names():
  return tuple(_REGISTRY)


BUILT_IN = tuple(register(family).name for family in (
    Family('factorized', 'factorized'),
    Family('hyperprior', 'gaussian', hyper_means=False, hyper_of_magnitude=True),
    Family('mean_scale', 'gaussian'),
    Family('context', 'autoregressive'),
    Family('grm', 'autoregressive', reference=True),
    Family('checkerboard', 'autoregressive', order='checkerboard'),
    Family('grm_checkerboard', 'autoregressive', reference=True, order='checkerboard'),
))
