"""Where an image's pixels go before the transforms: as they are, or a thin image folded into a squarer one.

The transforms take sides in multiples of models.STRIDE (64 pixels), and the autoregressive decoders take a step
per anti-diagonal of y, each over the whole decoded plane. An image one pixel high, padded to 64 rows, costs 64
times its pixels; a 1x100000 strip takes thousands of steps where a square of as many pixels takes a few dozen.
So a thin image is cut into strips laid side by side (a wide image's strips of columns stacked top to bottom, a
tall image's strips of rows placed left to right), coded as any image, and unfolded after decoding; the last strip
is filled out by repeating the image's last column (or row).

The fold is a function of the image size alone, and a file format: a folded file says so (format version 3) and the
decoder checks that it says what fold_for gives, so changing fold_for changes which files decode (tests freeze
it). A crafted version-3 header cannot make the decoder do more work than its image needs; a version-2 header of a
thin image (as files were written before folding) still decodes unfolded, as slowly as before.
"""
import dataclasses
import math

import numpy as np

from grm_jax.models import STRIDE

LATENT_STRIDE = 16  # pixels per position of y
MAX_STRIPS = 65535  # the file's field is 16 bits
# Fold only thin images, and only where it at least halves the work: a fold puts seams in the image, which cost a
# few bits, and a photograph of ordinary proportions pads by less than 4x (two sides just above 64) anyway.
MIN_ASPECT = 4
MIN_GAIN = 2.0


@dataclasses.dataclass(frozen=True)
class Fold:
  strips: int = 1
  axis: int = 0  # 0: a wide image's column strips, stacked top to bottom; 1: a tall image's row strips, side by side

  @property
  def folded(self):
    return self.strips > 1


def folded_size(height, width, fold):
  """(height, width) of the image the transforms see."""
  if not fold.folded:
    return height, width
  if fold.axis == 0:
    return height * fold.strips, -(-width // fold.strips)
  return -(-height // fold.strips), width * fold.strips


def latent_shape(height, width):
  """(h, w) of y for an image the transforms see at this size (padded to the stride first)."""
  return tuple(-(-side // STRIDE) * (STRIDE // LATENT_STRIDE) for side in (height, width))


def work(height, width):
  """The relative cost of coding an image of this size: y's positions times the wavefront decoder's steps (each
  step reads the whole decoded plane)."""
  h, w = latent_shape(height, width)
  return h * w * (3 * h + w)


def fold_for(height, width):
  """The Fold of an image of this size: the strip count that makes coding cheapest, where it at least halves the
  work; no fold otherwise."""
  axis = 0 if width >= height else 1
  long, short = max(height, width), min(height, width)
  if long < MIN_ASPECT * short:
    return Fold()
  unfolded = work(height, width)
  best, best_work = Fold(), unfolded
  for strips in range(2, min(MAX_STRIPS, 2 * math.isqrt(long // short) + 3) + 1):
    if (strips - 1) * -(-long // strips) >= long:
      continue  # the last strip would be empty
    fold = Fold(strips, axis)
    cost = work(*folded_size(height, width, fold))
    if cost < best_work:
      best, best_work = fold, cost
  return best if best_work * MIN_GAIN <= unfolded else Fold()


def fold(image, fold_):
  """An [H, W, C] image as the transforms see it."""
  if not fold_.folded:
    return image
  k = fold_.strips
  if fold_.axis == 1:
    return np.swapaxes(fold(np.swapaxes(image, 0, 1), Fold(k, 0)), 0, 1)
  height, width = image.shape[:2]
  strip = -(-width // k)
  filled = np.pad(image, ((0, 0), (0, k * strip - width), (0, 0)), mode='edge')
  return filled.reshape(height, k, strip, -1).transpose(1, 0, 2, 3).reshape(k * height, strip, -1)


def unfold(folded, fold_, height, width):
  """The [height, width, C] image of what the transforms saw (cropped to the folded size first)."""
  if not fold_.folded:
    return folded[:height, :width]
  k = fold_.strips
  if fold_.axis == 1:
    return np.swapaxes(unfold(np.swapaxes(folded, 0, 1), Fold(k, 0), width, height), 0, 1)
  strip = -(-width // k)
  strips = folded[:k * height, :strip].reshape(k, height, strip, -1)
  return strips.transpose(1, 0, 2, 3).reshape(height, k * strip, -1)[:, :width]
