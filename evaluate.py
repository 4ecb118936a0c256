"""Rate-distortion evaluation with real bitstreams:

  python evaluate.py --model models/A --model models/B --data DIR --out results.json
  python evaluate.py --model ... --data DIR --out results.json --codec jpeg --codec webp --per-image
  python evaluate.py --model VARIABLE_RATE_MODEL --lambda 0.0018 --lambda 0.0067 --lambda 0.025 --data DIR ...

Writes the models' curve to --out in CompressAI's eval_model schema (plus bpp_estimated), and each classical
codec's curve beside it (results.jpeg.json, ...), all measured on the same images in the same run.
"""
import argparse
import json
import pathlib
import sys



def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model', action='append', default=[], help='exported model directory (repeatable)')
  parser.add_argument('--data', required=True,
                      help="folder of PNG/JPEG images, or a quoted glob pattern of them ('DIR/img_0[12]*.png')")
  parser.add_argument('--out', required=True, help='output JSON for the models')
  parser.add_argument('--lambda', dest='lambdas', action='append', type=float, default=[], metavar='L',
                      help='a point of each (variable-rate) model at this lambda (repeatable)')
  parser.add_argument('--codec', action='append', default=[], help='jpeg, webp, avif or heif (repeatable)')
  parser.add_argument('--name', help='curve name of the models (default: from the first model)')
  parser.add_argument('--per-image', action='store_true', help='also write the figures of every image')
  parser.add_argument('--estimate', action='store_true', help='no range coder: estimated rate only (fast)')
  parser.add_argument('-f', '--force', action='store_true', help='overwrite result files that exist')
  args = parser.parse_args(argv)
  if not args.model and not args.codec:
    parser.error('give at least one --model or --codec')
  return args


def _codec_json(out, codec_name):
  """Where a classical codec's curve goes: OUT.CODEC.json beside --out."""
  return out.with_name(f"{out.stem}.{codec_name}.json")


def _outputs(args):
  """The JSON files this run writes: --out for the models, and each classical codec's beside it."""
  out = pathlib.Path(args.out)
  return ([out] if args.model else []) + [_codec_json(out, name) for name in args.codec]


def _write_json(path, data, force):
  from grm_jax import outputs  # pylint: disable=import-outside-toplevel
  outputs.write_bytes(path, (json.dumps(data, indent=2) + '\n').encode(), force=force)


def run(args):
  import tqdm  # pylint: disable=import-outside-toplevel

  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import evaluation  # pylint: disable=import-outside-toplevel
  from grm_jax import outputs  # pylint: disable=import-outside-toplevel
  out = pathlib.Path(args.out)
  if out.is_dir():
    raise grm_jax.errors.GrmError(f"{out}: is a folder; give the output JSON file's name")
  out.parent.mkdir(parents=True, exist_ok=True)
  for path in _outputs(args):  # before any image is coded
    outputs.target(path, force=args.force)
  codecs = [(path, grm_jax.load(path)) for path in args.model]
  for path, codec in codecs:  # before any image is coded
    for lambda_ in args.lambdas:
      codec.check_lambda(lambda_)
  points = [(path, codec, lambda_) for path, codec in codecs for lambda_ in (args.lambdas or [None])]
  images, ignored = evaluation.load_images(args.data)
  if ignored:
    print(f"note: ignoring {len(ignored)} non-image file(s) in {args.data}: {', '.join(ignored)}", file=sys.stderr)
  classical = []
  for name in args.codec:
    if evaluation.available_classical(name):
      classical += [(name, q) for q in evaluation.DEFAULT_QUALITIES[name]]
    else:
      print(f"note: {name} is not available in this Pillow; skipped", file=sys.stderr)

  total = len(images) * (len(points) + len(classical))
  forwards = {}
  with tqdm.tqdm(total=total, unit='image', dynamic_ncols=True, disable=None) as bar:
    model_points, model_per_image = [], []
    for path, codec, lambda_ in points:
      label = str(path) + ('' if lambda_ is None else f" at lambda {lambda_:g}")
      bar.set_description(pathlib.Path(path).name + ('' if lambda_ is None else f"@{lambda_:g}"))
      if args.estimate and path not in forwards:
        forwards[path] = evaluation.make_forward(codec.model)
      rows = []
      for name, image in images:
        rows.append(evaluation.estimate_image(forwards[path], codec.params, name, image, lambda_) if args.estimate
                    else evaluation.evaluate_codec(codec, name, image, lambda_))
        bar.update(1)
      summary = evaluation.summarize(rows)
      if 'exact' in summary and not summary['exact']:
        bar.write(f"WARNING: {label}: a decoded image differs from the encoder's reconstruction")
      made_by = {'model': str(path), 'lambda': codec.check_lambda(lambda_)}
      model_points.append({**summary, **made_by})
      model_per_image.append({**made_by, 'images': rows})
      ratio = (f"; real/estimated per image {summary['real_over_estimated'][0]:.4f}-"
               f"{summary['real_over_estimated'][1]:.4f}") if 'real_over_estimated' in summary else ''
      bar.write(f"{label}: {summary['bpp']:.4f} bpp (estimated {summary['bpp_estimated']:.4f}{ratio}), "
                f"PSNR {summary['psnr']:.2f} dB")
    curves = {}
    for codec_name, quality in classical:
      bar.set_description(f"{codec_name} q{quality}")
      rows = []
      for name, image in images:
        rows.append(evaluation.evaluate_classical(codec_name, quality, name, image))
        bar.update(1)
      curves.setdefault(codec_name, ([], []))
      curves[codec_name][0].append({**evaluation.summarize(rows), 'quality': quality})
      curves[codec_name][1].append({'quality': quality, 'images': rows})

  if codecs:
    name = args.name or f"grm_jax {codecs[0][1].family}"
    lambdas = f" at lambdas {', '.join(f'{v:g}' for v in args.lambdas)}" if args.lambdas else ''
    description = (f"{'estimated rate (no range coder)' if args.estimate else 'real .grm files'} on "
                   f"{len(images)} images of {args.data}; models: {', '.join(args.model)}{lambdas}")
    _write_json(out, evaluation.to_compressai_json(name, description, model_points,
                                                   model_per_image if args.per_image else None), args.force)
    print(f"wrote {out}")
  for codec_name, (points, per_image) in curves.items():
    path = _codec_json(out, codec_name)
    description = f"Pillow {codec_name} at qualities {[p['quality'] for p in points]} on {len(images)} images"
    _write_json(path, evaluation.to_compressai_json(f"{codec_name.upper()} (Pillow)", description, points,
                                                    per_image if args.per_image else None), args.force)
    print(f"wrote {path}")


def main(argv=None):
  args = parse_args(argv)
  from grm_jax.errors import report_errors  # pylint: disable=import-outside-toplevel
  return report_errors('evaluate.py', run, args)


if __name__ == '__main__':
  sys.exit(main())
