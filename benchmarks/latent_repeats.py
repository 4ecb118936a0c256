"""How often the global reference finds a repeat: for each model's coded latents on a folder of images, the earlier
position the paper's search picks (the most similar causal 3x3 neighbourhood), and how much of the current
position's latent it repeats, against the left neighbour as a control.

  python benchmarks/latent_repeats.py --model runs/seeds/models/grm-s1 --model runs/seeds/models/context-s1 \
      --lambda 0.013 --data ../shared/data/kodak

The search depends on the latents alone, so it runs the same on a context model's latents, which were never
trained beside a reference: if grm's transforms learn latents that repeat where a reference can find them, its
latents repeat more at the chosen reference than context's do. Per image, over the positions with an earlier one:
  repeat      among the current position's elements of magnitude 0.5 or more, the fraction the chosen reference
              matches to within half a quantisation step
  left        the same for the left neighbour (positions not in the first column)
  cosine      the cosine between the two latent vectors (reference; left in brackets)
  S           the search's own score, the cosine of the causal neighbourhoods
Means over the images.
"""
import argparse

import jax.numpy as jnp
import numpy as np

import grm_jax
from grm_jax import evaluation, zoo
from grm_jax.entropy_models import coding_order
from grm_jax.entropy_models.autoregressive import best_reference, descriptors, neighbourhoods


def _repeat(current, other):
  """Among the current latent's elements of magnitude 0.5 or more (y_hat = mu + symbol is not an integer), the
  fraction the other position's element matches to within half a quantisation step."""
  significant = np.abs(current) >= 0.5
  return float(np.sum((np.abs(current - other) < 0.5) & significant) / max(np.sum(significant), 1))


def _cosine(a, b):
  norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
  return float(np.mean(np.sum(a * b, axis=-1) / np.maximum(norms, 1e-12)))


def image_figures(y_hat, order):
  """The figures of one coded latent y_hat [1, h, w, M]."""
  _, h, w, m = y_hat.shape
  patches = neighbourhoods(jnp.asarray(y_hat), 3)
  query_taps, candidate_taps = coding_order.key_taps(order)  # the model's own search (checkerboard: two rings)
  keys = np.asarray(descriptors(patches, query_taps)).reshape(h * w, 4 * m)
  candidate_keys = np.asarray(descriptors(patches, candidate_taps)).reshape(h * w, 4 * m)
  index, score, found = best_reference(jnp.asarray(keys @ candidate_keys.T), coding_order.earlier_mask(h, w, order))
  index, score, found = np.asarray(index), np.asarray(score), np.asarray(found)
  flat = y_hat.reshape(h * w, m)
  ranks = coding_order.position_ranks(h, w, order).reshape(-1)
  has_left = ((np.arange(h * w) % w) > 0) & (np.roll(ranks, 1) < ranks)  # a left neighbour decoded before
  return {'repeat': _repeat(flat[found], flat[index[found]]),
          'left': _repeat(flat[has_left], flat[np.flatnonzero(has_left) - 1]),
          'cosine': _cosine(flat[found], flat[index[found]]),
          'cosine_left': _cosine(flat[has_left], flat[np.flatnonzero(has_left) - 1]),
          'similarity': float(np.mean(score[found]))}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', action='append', required=True)
  parser.add_argument('--lambda', dest='lambda_', type=float, default=None)
  parser.add_argument('--data', required=True)
  args = parser.parse_args()
  images, _ = evaluation.load_images(args.data)
  print(f"{len(images)} images of {args.data}, lambda {args.lambda_}; means over the images")
  print("| model | family | repeat at the reference | repeat at the left neighbour | cosine, reference (left) | S |")
  print("| --- | --- | --- | --- | --- | --- |")
  for model in args.model:
    codec = grm_jax.load(model)
    figures = [image_figures(codec.encode(image, reconstruct=False, lambda_=args.lambda_).y_hat,
                             codec.model.coding_order) for _, image in images]
    mean = {k: np.mean([f[k] for f in figures]) for k in figures[0]}
    print(f"| {zoo.display_name(zoo.resolve(model))} | {codec.family} | {mean['repeat']:.3f} | {mean['left']:.3f} | "
          f"{mean['cosine']:.3f} ({mean['cosine_left']:.3f}) | {mean['similarity']:.3f} |", flush=True)


if __name__ == '__main__':
  main()
