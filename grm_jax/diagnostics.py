"""What the global reference contributes to one coded image: `grm inspect`.

The codec's own encoder gives y_hat, exactly the latent the decoder will hold. The grm entropy model is then
evaluated on it in one parallel pass (causal masks make that equal to the step-by-step decode, up to float
rounding), and the rate of y is read off four ways: under stage 1 (local context), stage 2 (local context and
reference), the final stage (what the file codes), and the final stage with the reference zeroed. The last two
differ by what the reference is worth to this image; the similarity S and confidence U say why.

It also asks whether the reference carries information the networks leave unused: the final stage's normalised
residual r = (y_hat - mu) / sigma at a position, against r at its reference. Where the two correlate, a decoder
could shift mu by c * sigma * r_reference (r_reference is decoded by then; c is one number per image, fitted by
least squares) and the rate it would then code is printed too. The left neighbour's residual is the control.
"""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from grm_jax import outputs
from grm_jax.codec import entropy_paths
from grm_jax.codec.layout import LATENT_STRIDE
from grm_jax.entropy_models import coding_order, gaussian_likelihood
from grm_jax.errors import GrmError

FAR = 8  # a reference this many positions away or more (Chebyshev) is "far": outside any local context


@dataclasses.dataclass
class ReferenceReport:
  summary: dict  # JSON-ready figures
  maps: dict  # [h, w] arrays: similarity, confidence, saved_bits, reference_row, reference_col, has_reference


def _bits_per_position(y_hat, mu, sigma):
  return -jnp.sum(jnp.log2(gaussian_likelihood(y_hat, mu, sigma)), axis=-1)[0]


def _residual_correction(y_hat, mu, sigma, source, valid):
  """How the final stage's residual at each position correlates with the residual at `source` [h * w] (an earlier
  position; `valid` [h * w] where there is one), and the bits per position once mu is shifted by the least-squares
  multiple of the source's residual."""
  _, h, w, m = y_hat.shape
  residual = ((y_hat - mu) / sigma).reshape(h * w, m)
  at_source = jnp.where(valid[:, None], residual[source], 0.0)
  product, energy = jnp.sum(residual * at_source), jnp.sum(jnp.square(at_source))
  correlation = product / jnp.sqrt(jnp.sum(jnp.square(jnp.where(valid[:, None], residual, 0.0))) * energy + 1e-12)
  shifted = mu + (product / (energy + 1e-12)) * sigma * at_source.reshape(1, h, w, m)
  return correlation, _bits_per_position(y_hat, shifted, sigma)


def _make_rate_maps(codec):
  """A compiled function of (params, y_hat, hyper): bits per position under each stage, and the scores."""
  model = codec.model

  def gaussian(params, y_hat, hyper, drop_reference):
    return model.apply({'params': params}, y_hat, hyper, drop_reference,
                       method=type(model).gaussian_parameters)

  def rate_maps(params, y_hat, hyper):
    mu, sigma, aux = gaussian(params, y_hat, hyper, False)
    mu_without, sigma_without, _ = gaussian(params, y_hat, hyper, True)
    local, reference = aux['stages']
    _, h, w, _ = y_hat.shape
    positions = jnp.arange(h * w)
    has_reference = aux['has_reference'].reshape(-1)  # in checkerboard order the anchors have none
    reference_correlation, corrected = _residual_correction(y_hat, mu, sigma, aux['reference_index'].reshape(-1),
                                                            has_reference)
    # The control: the left neighbour, where it is decoded before the position.
    ranks = coding_order.position_ranks(h, w, model.coding_order).reshape(-1)
    left_decoded_before = (positions % w > 0) & (jnp.roll(jnp.asarray(ranks), 1) < jnp.asarray(ranks))
    left_correlation, left_corrected = _residual_correction(y_hat, mu, sigma, positions - 1, left_decoded_before)
    return {'reference_corrected': corrected, 'left_corrected': left_corrected,
            'reference_residual_correlation': reference_correlation, 'left_residual_correlation': left_correlation,
            'final': _bits_per_position(y_hat, mu, sigma),
            'without_reference': _bits_per_position(y_hat, mu_without, sigma_without),
            'local': _bits_per_position(y_hat, *local), 'local_and_reference': _bits_per_position(y_hat, *reference),
            'reference_index': aux['reference_index'][0], 'similarity': aux['similarity'][0],
            'confidence': aux['confidence'][0], 'has_reference': aux['has_reference'][0]}

  return jax.jit(rate_maps)


def inspect_reference(codec, image, lambda_=None):
  """The ReferenceReport of a uint8 [H, W, 3] image coded by a grm-family codec."""
  if not codec.model.uses_reference:
    raise GrmError(f"inspect looks at the global reference: it needs a grm model with the reference on, and this "
                   f"one is a {codec.family} model{' without it' if codec.model.family_spec.reference else ''}")
  lambda_ = codec.check_lambda(lambda_)
  encoded = codec.encode(image, reconstruct=False, lambda_=lambda_)  # y_hat: the latent the decoder will hold
  hyper_features = jax.jit(entropy_paths.model_method(codec.model, 'hyper_features'))  # the float model's view
  hyper = hyper_features(codec.params, jnp.asarray(encoded.z_hat), codec.rate.model_input(lambda_))
  maps = _make_rate_maps(codec)(codec.params, jnp.asarray(encoded.y_hat), hyper)
  maps = {k: np.asarray(v) for k, v in maps.items()}
  return _report(maps, image.shape[:2], len(encoded.data), lambda_)


def _report(maps, image_shape, file_bytes, lambda_):
  h, w = maps['final'].shape
  pixels = image_shape[0] * image_shape[1]
  index = maps.pop('reference_index')
  has_reference = maps.pop('has_reference').astype(bool)  # causal orders: every position but the first
  rows, cols = np.divmod(index, w)
  distance = np.maximum(np.abs(rows - np.arange(h)[:, None]), np.abs(cols - np.arange(w)[None, :]))
  correlations = {k: float(maps.pop(k)) for k in ('reference_residual_correlation', 'left_residual_correlation')}
  rates = {k: maps[k] for k in ('local', 'local_and_reference', 'final', 'without_reference')}
  rates.update((k, maps.pop(k)) for k in ('reference_corrected', 'left_corrected'))
  bpp = {k: float(v.sum() / pixels) for k, v in rates.items()}
  s, u = maps['similarity'][has_reference], maps['confidence'][has_reference]
  summary = {
      'lambda': lambda_, 'bytes': file_bytes, 'bpp': 8 * file_bytes / pixels,
      'bpp_y': bpp['final'], 'bpp_y_without_reference': bpp['without_reference'],
      'reference_share_percent': 100 * (bpp['without_reference'] / bpp['final'] - 1),
      'bpp_y_local_stage': bpp['local'], 'bpp_y_reference_stage': bpp['local_and_reference'],
      'latent_positions': h * w,
      'similarity_median': float(np.median(s)), 'similarity_mean': float(np.mean(s)),
      'confidence_median': float(np.median(u)), 'confidence_mean': float(np.mean(u)),
      'similarity_times_confidence_mean': float(np.mean(s * u)),
      'far_reference_fraction': float(np.mean(distance[has_reference] >= FAR)),
      'reference_residual_correlation': correlations['reference_residual_correlation'],
      'bpp_y_reference_residual_corrected': bpp['reference_corrected'],
      'left_residual_correlation': correlations['left_residual_correlation'],
      'bpp_y_left_residual_corrected': bpp['left_corrected'],
  }
  maps.update(saved_bits=maps['without_reference'] - maps['final'], reference_row=rows, reference_col=cols,
              has_reference=has_reference)
  return ReferenceReport(summary, maps)


def format_report(summary):
  """The text of `grm inspect`."""
  return '\n'.join([
      f"file: {summary['bytes']} bytes, {summary['bpp']:.4f} bpp (lambda {summary['lambda']:.5g})",
      "rate of y (bpp, from the model's likelihoods on the coded latent):",
      f"  stage 1, local context:              {summary['bpp_y_local_stage']:.4f}",
      f"  stage 2, local context + reference:  {summary['bpp_y_reference_stage']:.4f}",
      f"  final stage (what the file codes):   {summary['bpp_y']:.4f}",
      f"  final stage, reference removed:      {summary['bpp_y_without_reference']:.4f}  "
      f"({summary['reference_share_percent']:+.2f}%: the reference's share)",
      f"similarity S: median {summary['similarity_median']:.3f}, mean {summary['similarity_mean']:.3f}; "
      f"confidence U: median {summary['confidence_median']:.3f}, mean {summary['confidence_mean']:.3f}; "
      f"mean S*U {summary['similarity_times_confidence_mean']:.3f}",
      f"references {FAR} or more positions away: {100 * summary['far_reference_fraction']:.1f}% of "
      f"{summary['latent_positions']} positions",
      "what the final stage leaves unused (its residual against an earlier position's residual):",
      f"  the reference's residual:  correlation {summary['reference_residual_correlation']:+.3f}, "
      f"y would take {summary['bpp_y_reference_residual_corrected']:.4f} bpp with mu shifted by it",
      f"  the left neighbour's:      correlation {summary['left_residual_correlation']:+.3f}, "
      f"y would take {summary['bpp_y_left_residual_corrected']:.4f} bpp with mu shifted by it"])


def chosen_positions(maps, count=6):
  """Positions whose reference saves many bits and lies outside the 5x5 local context (what only the global
  search could find), spread over the image: the best first, then each next best at least a quarter of the
  latent's larger side from those already chosen."""
  h, w = maps['saved_bits'].shape
  rows, cols = np.mgrid[:h, :w]
  outside = np.maximum(np.abs(maps['reference_row'] - rows), np.abs(maps['reference_col'] - cols)) > 2
  eligible = np.flatnonzero((outside & maps['has_reference'] & (maps['saved_bits'] > 0)).reshape(-1))
  spacing = max(h, w) / 4
  chosen = []
  for i in eligible[np.argsort(-maps['saved_bits'].reshape(-1)[eligible], kind='stable')]:
    row, col = divmod(int(i), w)
    if all(max(abs(row - r), abs(col - c)) >= spacing for r, c in chosen):
      chosen.append((row, col))
      if len(chosen) == count:
        break
  return chosen


def draw_figure(report, image, path, title='', inputs=(), force=False):
  """The paper's Figure 1 for one image: the image with lines from a few positions to their references, and maps
  of S, U and of the bits the reference saves at each position. Written atomically as PNG."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  maps, summary = report.maps, report.summary
  h, w = maps['saved_bits'].shape
  extent = (0, w * LATENT_STRIDE, h * LATENT_STRIDE, 0)  # maps drawn over the (padded) image's pixels
  from mpl_toolkits.axes_grid1 import make_axes_locatable  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(2, 2, figsize=(12, 12 * h / w + 1))
  colorbar_axes = [make_axes_locatable(ax).append_axes('right', size='4%', pad=0.08) for ax in axes.reshape(-1)]
  colorbar_axes[0].set_axis_off()  # the image has none; it keeps the four panels the same size
  ax = axes[0, 0]
  ax.imshow(image, extent=(0, image.shape[1], image.shape[0], 0))
  ax.set_xlim(0, w * LATENT_STRIDE)
  ax.set_ylim(h * LATENT_STRIDE, 0)
  for i, (row, col) in enumerate(chosen_positions(maps)):
    here = ((col + 0.5) * LATENT_STRIDE, (row + 0.5) * LATENT_STRIDE)
    there = ((maps['reference_col'][row, col] + 0.5) * LATENT_STRIDE,
             (maps['reference_row'][row, col] + 0.5) * LATENT_STRIDE)
    color = f'C{i % 10}'
    ax.annotate('', xy=there, xytext=here, arrowprops=dict(arrowstyle='->', color=color, linewidth=2))
    ax.plot(*here, 'o', color=color, markersize=6)
    ax.plot(*there, 's', color=color, markersize=6, fillstyle='none')
  ax.set_title('positions (o) and their references (square)')
  for ax, cax, key, name in ((axes[0, 1], colorbar_axes[1], 'similarity', 'similarity S'),
                             (axes[1, 0], colorbar_axes[2], 'confidence', 'confidence U')):
    shown = ax.imshow(maps[key], cmap='viridis', vmin=0, vmax=1, extent=extent)
    ax.set_title(f"{name} (median {np.median(maps[key][maps['has_reference']]):.2f})")
    fig.colorbar(shown, cax=cax)
  saved = maps['saved_bits']
  limit = max(float(np.percentile(np.abs(saved), 99)), 1e-6)
  shown = axes[1, 1].imshow(saved, cmap='RdBu', vmin=-limit, vmax=limit, extent=extent)
  axes[1, 1].set_title(f"bits the reference saves per position (in all {summary['reference_share_percent']:+.2f}% "
                       "of y)")
  fig.colorbar(shown, cax=colorbar_axes[3])
  for ax in axes.reshape(-1):
    ax.set_xticks([])
    ax.set_yticks([])
  fig.suptitle(title or 'global reference')
  fig.tight_layout()
  with outputs.output(path, inputs, force) as tmp:
    fig.savefig(tmp, format='png', dpi=90)
  plt.close(fig)
