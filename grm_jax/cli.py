"""The `grm` command line (also `python -m grm_jax`). Errors are one line on stderr and exit status 1."""
import argparse
import pathlib
import sys
import time

from grm_jax import outputs, zoo
from grm_jax.errors import GrmError, report_errors


def _read_images(paths):
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  for path in paths:
    notes = []
    image = image_io.read_image(path, notes)
    for note in notes:
      print(f"note: {note}", file=sys.stderr)
    yield path, image


def _estimate(args):
  """A forward pass on each image: the estimated bpp and PSNR of a model, or of a config's random initialisation."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel

  from grm_jax import evaluation, models  # pylint: disable=import-outside-toplevel
  if args.config:
    from grm_jax.config_io import load_config  # pylint: disable=import-outside-toplevel
    config = load_config(args.config)
    model = models.build(config)
    params = model.init(jax.random.PRNGKey(args.seed), np.zeros((1, 64, 64, 3), np.float32))['params']
    weights = f"random init of {args.config}, seed {args.seed}"
  else:
    import grm_jax  # pylint: disable=import-outside-toplevel
    weights = zoo.resolve(args.model)
    codec = grm_jax.load(weights)
    config, model, params = codec.config, codec.model, codec.params
  forward = evaluation.make_forward(model)
  print(f"model: {config.model.family} ({_widths(config.model)}, {config.model.norm}), weights: {weights}")
  for path, image in _read_images(args.images):
    row = evaluation.estimate_image(forward, params, path, image)
    print(f"{path}: {image.shape[1]}x{image.shape[0]}  estimated {row['bpp']:.4f} bpp  PSNR {row['psnr']:.2f} dB  "
          f"({row['encoding_time']:.1f} s, compile included on the first)")


class _ProgressBar:
  """A progress hook for Codec.encode/decode: a tqdm bar on stderr when it is a terminal and the work lasts more
  than 2 seconds; nothing otherwise (pipes and logs get no extra output)."""

  def __init__(self, label):
    self.label, self.bar = label, None

  def __call__(self, done, total):
    if self.bar is None:
      import tqdm  # pylint: disable=import-outside-toplevel
      self.bar = tqdm.tqdm(total=total, desc=self.label, unit='step', leave=False, delay=2.0,
                           disable=not sys.stderr.isatty())
    self.bar.update(done - self.bar.n)

  def close(self):
    if self.bar is not None:
      self.bar.close()


def _widths(model_config):
  """N and M, and g_a and g_s's width where it differs from N."""
  transforms = model_config.get('transform_channels', 0)
  wider = f", g_a/g_s {transforms}" if transforms and transforms != model_config.channels else ''
  return f"N={model_config.channels}{wider}, M={model_config.latent_channels}"


def _model_for_file(header, path):
  """The model to decode a file with: --model, or the shipped model whose hash the header names."""
  if path:
    return zoo.resolve(path)
  found = zoo.find_by_hash(header.model_hash.hex())
  if found is None:
    raise GrmError(f"no --model given, and no model in {zoo.MODELS} wrote this file "
                   f"(model hash {header.model_hash.hex()}; models shipped before are in git history, "
                   f"{zoo.MODELS / 'README.md'} says how to restore one)")
  return found


def _models(args):
  """Lists the shipped models."""
  del args
  entries = zoo.shipped()
  if not entries:
    raise GrmError(f"no models in {zoo.MODELS}")
  defaults = {name: metric for metric, name in zoo.METRIC_DEFAULTS.items()}
  for entry in entries:
    metric = defaults.get(entry['name'])
    mark = '' if metric is None else '  (default)' if metric == 'mse' else f'  (default of --metric {metric})'
    print(zoo.describe(entry) + mark)


def _check_rate_arguments(args):
  """Bad rate settings fail before the image and the model are loaded."""
  if args.quality is not None:
    from grm_jax import rd_lambda  # pylint: disable=import-outside-toplevel
    rd_lambda.quality_to_lambda(args.quality)  # in 1 to 8, whatever the metric
  for name, value in (('--bpp', getattr(args, 'bpp', None)), ('--size', getattr(args, 'size', None)),
                      ('--lambda', args.lambda_)):
    if value is not None and not value > 0:
      raise GrmError(f"{name} must be positive, got {value:g}")


def _asked_lambda(args, metric):
  """--lambda, or --quality as the lambda of a model trained for `metric` (a quality means the same for both)."""
  if getattr(args, 'quality', None) is None:
    return args.lambda_
  from grm_jax import rd_lambda  # pylint: disable=import-outside-toplevel
  args.lambda_ = rd_lambda.quality_to_lambda(args.quality, metric)
  return args.lambda_


def _named_codec(args):
  """--model's codec, refused where --metric asks for another metric than the model was trained for."""
  import grm_jax  # pylint: disable=import-outside-toplevel
  model = zoo.resolve(args.model)
  codec = grm_jax.load(model)
  metric = getattr(args, 'metric', None)
  if metric is not None and metric != codec.metric:
    raise GrmError(f"{zoo.display_name(model)} is trained for {codec.metric}, not {metric}: drop --metric, or "
                   f"name a model trained for {metric} (`grm models`)")
  return model, codec


def _codec_for_lambda(args):
  """The model, its codec and the checked lambda of a --lambda/--quality request: --model; without it, the
  default of --metric, or the shipped model of its family and metric that codes at that lambda where the default
  cannot."""
  import grm_jax  # pylint: disable=import-outside-toplevel
  if args.model is not None:
    model, codec = _named_codec(args)
    lambda_ = _asked_lambda(args, codec.metric)
  else:
    metric = getattr(args, 'metric', None) or 'mse'
    lambda_ = _asked_lambda(args, metric)
    model = zoo.resolve_for_lambda(None, lambda_, metric)
    default = zoo.default_for(metric)
    if model.name != default:
      print(f"note: {_asked_rate(args)} is outside {default}'s range; coding with {model.name}", file=sys.stderr)
    codec = grm_jax.load(model)
  try:
    return model, codec, codec.check_lambda(lambda_)
  except GrmError as error:
    covering = zoo.covering(lambda_, codec.metric) if lambda_ is not None else []
    if not covering:
      raise
    # the refused model's own family first: the likeliest replacement
    covering.sort(key=lambda entry: entry['meta'].get('family') != codec.family)
    names = ', '.join(entry['name'] for entry in covering)
    raise GrmError(f"{error}; shipped models that code at {_asked_rate(args)}: {names} (--model NAME)") from None


def _codec_for_size(args):
  """The codec of --model, or of --metric's default model, for a --bpp/--size search."""
  import grm_jax  # pylint: disable=import-outside-toplevel
  if args.model is not None:
    return _named_codec(args)[1]
  return grm_jax.load(zoo.resolve(None, args.metric or 'mse'))


def _asked_rate(args):
  """The rate the user asked for, in their words: a quality names its lambda too."""
  if getattr(args, 'quality', None) is None:
    return f"lambda {args.lambda_:g}"
  return f"quality {args.quality:g} (lambda {args.lambda_:.4g})"


def _jobs(args, suffix):
  """[(input, output)] of a command: `INPUT OUTPUT`, or with --out-dir any number of inputs, each written to
  DIR/<its name><suffix>. Every output is checked before any work (outputs.target)."""
  if args.out_dir is None:
    if len(args.inputs) != 2:
      raise GrmError(f"give an input and an output ({len(args.inputs)} names given), or inputs and --out-dir DIR")
    jobs = [tuple(args.inputs)]
  else:
    if '-' in args.inputs:
      raise GrmError("- (standard input) has no name to derive an output from: give it as INPUT OUTPUT")
    folder = pathlib.Path(args.out_dir)
    if not folder.is_dir():
      raise GrmError(f"{folder}: output folder does not exist")
    jobs = [(source, folder / (pathlib.Path(source).stem + suffix)) for source in args.inputs]
    if len({output for _, output in jobs}) < len(jobs):
      raise GrmError("two inputs share a name, so their outputs would too; give them separate --out-dir folders")
    for _, output in jobs:  # names the command made up: written only as files of their own
      if output.is_symlink() or (output.exists() and not output.is_file()):
        raise GrmError(f"{output}: not a regular file; --out-dir writes files of its own names only")
  inputs = [source for source, _ in jobs if source != '-']
  for _, output in jobs:
    outputs.target(output, inputs=inputs, force=args.force)
  return jobs, inputs


def _each_job(jobs, label, run):
  """run(source, output) for each job; with several, one bad input is one line and the others still run, a bar
  counts the files (on a terminal), and the exit status says whether any failed."""
  if len(jobs) == 1:
    run(*jobs[0])
    return
  import tqdm  # pylint: disable=import-outside-toplevel
  failed = 0
  start = time.perf_counter()
  with tqdm.tqdm(jobs, desc=label, unit='file', leave=False, disable=not sys.stderr.isatty()) as bar:
    for source, output in bar:
      try:
        run(source, output)
      except GrmError as error:
        failed += 1
        message = str(error) if str(error).startswith(str(source)) else f"{source}: {error}"
        bar.write(f"grm: error: {message}", file=sys.stderr)
  print(f"{len(jobs) - failed} of {len(jobs)} files {label}, {time.perf_counter() - start:.2f} s", file=sys.stderr)
  if failed:
    raise GrmError(f"{failed} of {len(jobs)} files failed (each said why above)")


def _report(output):
  """Where a command's summary lines go: standard error where the data goes to standard output."""
  return sys.stderr if outputs.is_stdout(output) else sys.stdout


def _compress(args):
  _check_rate_arguments(args)
  jobs, inputs = _jobs(args, '.grm')  # before any work
  sized = args.size is not None or args.bpp is not None
  if sized:
    codec, lambda_ = _codec_for_size(args), None
  else:
    _, codec, lambda_ = _codec_for_lambda(args)
  _each_job(jobs, 'compressed', lambda source, output: _compress_one(args, codec, lambda_, source, output, inputs,
                                                                      progress=len(jobs) == 1))


def _compress_one(args, codec, lambda_, source, output, inputs, progress):
  from grm_jax import image_io, metrics  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import rate_control  # pylint: disable=import-outside-toplevel
  ((_, image),) = _read_images([source])
  pixels = image.shape[0] * image.shape[1]
  target = args.size if args.size is not None else (args.bpp * pixels / 8 if args.bpp is not None else None)
  start = time.perf_counter()
  search = None
  if target is not None:
    search = rate_control.fit_to_size(codec, image, target)
    result, lambda_ = search.result, search.lambda_
  else:
    bar = _ProgressBar('encoding') if progress else None
    try:
      result = codec.encode(image, lambda_=lambda_, progress=bar)
    finally:
      if bar is not None:
        bar.close()
  seconds = time.perf_counter() - start
  outputs.write_bytes(output, result.data, inputs=inputs, force=args.force)
  psnr = float(metrics.psnr(image_io.to_float(image), image_io.to_float(result.reconstruction)))
  report = _report(output)
  print(f"{source} -> {output}: {len(result.data)} bytes, {8 * len(result.data) / pixels:.4f} bpp "
        f"(estimated {result.estimated_bits / pixels:.4f}), PSNR {psnr:.2f} dB, lambda {lambda_:.5g}, "
        f"{seconds:.2f} s", file=report)
  if search is not None:
    wanted = f"{target:.0f} bytes ({8 * target / pixels:.4f} bpp)"
    if search.reached:
      print(f"target {wanted}: reached {len(result.data)} bytes in {search.encodes} encodes", file=report)
    else:
      print(f"note: target {wanted} is below this model's smallest file for this image; wrote that file "
            f"(lambda {lambda_:.5g}, the low end of its range)", file=sys.stderr)
    if args.model is None and lambda_ >= codec.lambda_range[1] * (1 - 1e-6) and len(result.data) < 0.97 * target:
      _note_wider_models(codec)


def _note_wider_models(codec):
  """A size target above what the default codes at the top of its range: name the shipped models that go higher."""
  top = codec.lambda_range[1]
  wider = [entry for entry in zoo.shipped() if entry['meta'].get('family') == codec.family
           and zoo.metric(entry) == codec.metric
           and zoo.lambda_range(entry) and zoo.lambda_range(entry)[1] > top * (1 + 1e-6)]
  if wider:
    names = ', '.join(entry['name'] for entry in wider)
    print(f"note: that is {zoo.default_for(codec.metric)}'s largest file for this image (lambda {top:g}, the top "
          "of its range); "
          f"{names} {'codes' if len(wider) == 1 else 'code'} larger ones (--model NAME)", file=sys.stderr)


def _roundtrip(args):
  """Compresses and decompresses each image through real files, and reports size, quality and time."""
  from grm_jax import evaluation, image_io, metrics  # pylint: disable=import-outside-toplevel
  _check_rate_arguments(args)
  out_dir = pathlib.Path(args.out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  names = [out_dir / f'{pathlib.Path(path).stem}{suffix}' for path in args.images for suffix in ('.grm', '.png')]
  if len(set(names)) < len(names):
    raise GrmError("two images share a name; roundtrip them into separate --out-dir folders")
  for name in names:  # before any work
    outputs.target(name, inputs=args.images, force=args.force)
  model, codec, lambda_ = _codec_for_lambda(args)
  knob = f", lambda {lambda_:.5g} of {codec.lambda_range[0]:g}-{codec.lambda_range[1]:g}" if codec.variable_rate else ''
  trained_for = '' if codec.metric == 'mse' else f", for {codec.metric}"
  print(f"model: {zoo.display_name(model)} ({codec.family}, {_widths(codec.config.model)}{knob}{trained_for})")
  for path, image in _read_images(args.images):
    stem = pathlib.Path(path).stem
    encoded, decoded, encode_seconds, decode_seconds = evaluation.timed_round_trip(codec, image, lambda_)
    outputs.write_bytes(out_dir / f'{stem}.grm', encoded.data, inputs=args.images, force=args.force)
    image_io.write_png(out_dir / f'{stem}.png', decoded.image, inputs=args.images, force=args.force)
    pixels = image.shape[0] * image.shape[1]
    exact = 'exact' if (decoded.image == encoded.reconstruction).all() else 'MISMATCH'
    ms_ssim = ''
    if codec.metric == 'ms-ssim' and min(image.shape[:2]) >= metrics.MS_SSIM_MIN_SIDE:
      ms_ssim = f"MS-SSIM {evaluation.ms_ssim_uint8(image, decoded.image):.4f}  "
    print(f"{path}: {image.shape[1]}x{image.shape[0]}  {len(encoded.data)} bytes  "
          f"{8 * len(encoded.data) / pixels:.4f} bpp  PSNR {evaluation.psnr_uint8(image, decoded.image):.2f} dB  "
          f"{ms_ssim}"
          f"encode {encode_seconds:.2f} s  decode {decode_seconds:.2f} s  (decoder {exact})")
  print(f"files in {out_dir}/")


def _inspect(args):
  """What the global reference is worth to an image: the rate of y under each stage, and the S and U scores."""
  import json  # pylint: disable=import-outside-toplevel

  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import diagnostics  # pylint: disable=import-outside-toplevel
  if args.figure and not str(args.figure).lower().endswith('.png'):
    raise GrmError(f"--figure writes a PNG: give a name ending in .png, not {args.figure}")
  if args.figure:
    outputs.target(args.figure, inputs=[args.image], force=args.force)
  ((path, image),) = _read_images([args.image])
  model = zoo.resolve(args.model)
  codec = grm_jax.load(model)
  report = diagnostics.inspect_reference(codec, image, args.lambda_)
  if args.figure:
    diagnostics.draw_figure(report, image, args.figure, title=f"{pathlib.Path(path).name}, {pathlib.Path(model).name}",
                            inputs=[args.image], force=args.force)
  if args.json:
    print(json.dumps({'image': str(path), 'model': str(model), **report.summary}, indent=1))
  else:
    print(f"{path} with {zoo.display_name(model)}")
    print(diagnostics.format_report(report.summary))
    if args.figure:
      print(f"figure: {args.figure}")


def _decompress(args):
  if args.max_pixels is not None and args.max_pixels < 1:
    raise GrmError(f"--max-pixels must be at least 1, got {args.max_pixels}")
  jobs, inputs = _jobs(args, '.png')  # before any work
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  for _, output in jobs:
    notes = []
    image_io.output_format(output, notes)
    for note in notes:
      print(f"note: {note}", file=sys.stderr)
  codecs = {}  # files of several models: each model loaded once
  _each_job(jobs, 'decompressed', lambda source, output: _decompress_one(args, codecs, source, output, inputs,
                                                                          progress=len(jobs) == 1))


def _decompress_one(args, codecs, source, output, inputs, progress):
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  from grm_jax.codec import bitstream  # pylint: disable=import-outside-toplevel
  if source != '-' and not pathlib.Path(source).is_file():
    raise GrmError(f"{source}: no such file")
  data = bitstream.read_file(source)
  header, _ = bitstream.unpack(data)
  max_pixels = bitstream.DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels
  bitstream.check_pixel_limit(header, max_pixels)  # from the header alone, before the model is loaded
  model = _model_for_file(header, args.model)
  if model not in codecs:
    codecs[model] = grm_jax.load(model)
  start = time.perf_counter()
  bar = _ProgressBar('decoding') if progress else None
  try:
    image = codecs[model].decompress(data, max_pixels, progress=bar)
  finally:
    if bar is not None:
      bar.close()
  seconds = time.perf_counter() - start
  image_io.write_image(output, image, inputs=inputs, force=args.force)
  print(f"{source} -> {output}: {image.shape[1]}x{image.shape[0]}, {seconds:.2f} s", file=_report(output))


def _export(args):
  import ml_collections  # pylint: disable=import-outside-toplevel

  from grm_jax.codec import model_dir  # pylint: disable=import-outside-toplevel
  from grm_jax.training import checkpoints, params_bundle, provenance  # pylint: disable=import-outside-toplevel
  model_dir.check_new_model_dir(args.model_dir)  # before any work
  source = pathlib.Path(args.checkpoint_dir)
  if params_bundle.is_bundle(source):  # what a machine loan brought back (recipes/gpu_box.py)
    folder, run = source, source
    params, config, step = params_bundle.read(source)
    record = {**provenance.read(str(run)), 'checkpoint': str(folder), 'checkpoint_step': step}
  elif (source / 'model.json').is_file():  # a model directory, converted (to the portable form, say)
    folder = source
    config, params, _, meta = model_dir.load(source)
    config, step = config.to_dict(), meta.get('steps')
    record = {key: value for key, value in meta.items() if key not in ('model_hash', 'former_hashes', 'size_bytes',
                                                                        'exported', 'export_machine', 'arithmetic')}
    record['converted_from'] = {'model_dir': str(source), 'model_hash': meta['model_hash']}
  else:
    folder = source / 'checkpoints' if (source / 'checkpoints').is_dir() else source
    if not folder.is_dir():
      raise GrmError(f"{source}: no such checkpoint folder")
    run = folder.parent
    params, config, step = checkpoints.restore_latest_params(str(folder))
    if params is None:
      raise GrmError(f"{folder}: no checkpoint in it")
    record = {**provenance.read(str(run)), 'checkpoint': str(folder), 'checkpoint_step': step}
  config = ml_collections.ConfigDict(config)
  images = None
  if args.portable:
    from grm_jax.portable import conversion  # pylint: disable=import-outside-toplevel
    folders = args.calibration_data or _training_folder(config)
    images = conversion.calibration_images(folders)
    record['calibration_data'] = str(folders)
  model_hash = model_dir.export(params, config, args.model_dir, record, param_dtype=args.dtype,
                                calibration_images=images)
  size = sum(p.stat().st_size for p in pathlib.Path(args.model_dir).iterdir())
  form = {'integer': ', portable entropy path', 'float32': ''}[model_dir.load(args.model_dir)[3]['arithmetic']]
  if args.portable and not form:
    form = ', no float entropy path to convert: the factorized family decodes from tables alone'
  print(f"exported step {step} of {folder} to {args.model_dir} ({size / 1e6:.2f} MB{form}, hash {model_hash[:16]})")


def _training_folder(config):
  """The image folders a model was trained on, for calibration where none is given."""
  from grm_jax.training import input_pipeline  # pylint: disable=import-outside-toplevel
  data = str(config.get('train_data', ''))
  if config.get('held_out'):  # calibrating on the held-out photographs would tune the model on its test set
    raise GrmError(f"--portable needs calibration photographs: give --calibration-data FOLDER (the model holds out "
                   f"{config.held_out} of its training folders)")
  folders = input_pipeline.source_folders(data, config.get('data_dir', ''))
  if folders is None or not all(pathlib.Path(f).is_dir() for f in folders.split(',')):
    raise GrmError(f"--portable needs calibration photographs: give --calibration-data FOLDER (the model was "
                   f"trained on {data or 'an unknown source'}, not a folder here)")
  return folders


MODEL_HELP = 'model directory, or the name of a shipped model (`grm models`; default: grm-small)'
METRIC_HELP = ("what the image is coded for: mse (PSNR; default) or ms-ssim (the shipped model trained for "
               "MS-SSIM, where one is shipped: fine structure kept, flat noise dropped); with --model, the model's own")
FORCE_HELP = 'overwrite outputs that exist, or that are inputs (grm_jax/outputs.py)'
OUT_DIR_HELP = ('code every input into this folder, each as its name with {suffix}: one process for all (one bad '
                'input is reported and the others still coded)')


def build_parser():
  parser = argparse.ArgumentParser(prog='grm', description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest='command', required=True)
  estimate = commands.add_parser('estimate', help='estimated bpp and PSNR of a model on images (no bitstream)')
  estimate.add_argument('images', nargs='+')
  estimate.add_argument('--model', help=MODEL_HELP)
  estimate.add_argument('--config', help='a config file instead of a model: its random initialisation')
  estimate.add_argument('--seed', type=int, default=0, help='seed of the random initialisation')
  estimate.set_defaults(run=_estimate)

  compress = commands.add_parser('compress', help='image (PNG or JPEG) -> .grm file')
  compress.add_argument('inputs', nargs='+', metavar='IMAGE',
                        help='IMAGE OUTPUT (- is standard input or output), or images with --out-dir')
  compress.add_argument('--out-dir', metavar='DIR', help=OUT_DIR_HELP.format(suffix='.grm'))
  compress.add_argument('--model', help=MODEL_HELP)
  compress.add_argument('--metric', choices=zoo.METRICS, help=METRIC_HELP)
  rate = compress.add_mutually_exclusive_group()
  rate.add_argument('--lambda', dest='lambda_', type=float, metavar='L',
                    help="a variable-rate model's trade-off, anywhere in its range (`grm models`)")
  rate.add_argument('--quality', type=float, metavar='Q',
                    help="CompressAI's quality scale, 1 to 8 (fractional levels allowed), as the lambda of the "
                    "model's metric")
  rate.add_argument('--bpp', type=float, metavar='B',
                    help='the largest file not above B bits per pixel (a search over real encodes)')
  rate.add_argument('--size', type=float, metavar='BYTES',
                    help='the largest file not above BYTES bytes (a search over real encodes)')
  compress.add_argument('-f', '--force', action='store_true', help=FORCE_HELP)
  compress.set_defaults(run=_compress)

  decompress = commands.add_parser('decompress', help='.grm file -> PNG (or TIFF, PPM, BMP, lossless WebP)')
  decompress.add_argument('inputs', nargs='+', metavar='FILE',
                          help='FILE OUTPUT (- is standard input or output; the output\'s extension says the '
                          'format: .png, .tif, .ppm, .bmp or .webp, all lossless), or .grm files with --out-dir')
  decompress.add_argument('--out-dir', metavar='DIR', help=OUT_DIR_HELP.format(suffix='.png'))
  decompress.add_argument('--model', help='model directory or shipped model name (default: the shipped model '
                          'that wrote the file)')
  decompress.add_argument('--max-pixels', type=int, default=None, metavar='N',
                          help='refuse files that claim more pixels than N (default: 89478485, as Pillow)')
  decompress.add_argument('-f', '--force', action='store_true', help=FORCE_HELP)
  decompress.set_defaults(run=_decompress)

  roundtrip = commands.add_parser('roundtrip', help='compress and decompress images; report bpp, PSNR, time')
  roundtrip.add_argument('images', nargs='+')
  roundtrip.add_argument('--model', help=MODEL_HELP)
  roundtrip.add_argument('--metric', choices=zoo.METRICS, help=METRIC_HELP)
  roundtrip_rate = roundtrip.add_mutually_exclusive_group()
  roundtrip_rate.add_argument('--lambda', dest='lambda_', type=float, metavar='L',
                              help="a variable-rate model's trade-off (default: the model's default lambda)")
  roundtrip_rate.add_argument('--quality', type=float, metavar='Q', help="CompressAI's quality scale, 1 to 8")
  roundtrip.add_argument('--out-dir', default='demo_output', help='where the .grm and .png files go')
  roundtrip.add_argument('-f', '--force', action='store_true', help=FORCE_HELP)
  roundtrip.set_defaults(run=_roundtrip)

  inspect = commands.add_parser('inspect', help="what the global reference is worth to an image (grm models)")
  inspect.add_argument('image')
  inspect.add_argument('--model', help=MODEL_HELP)
  inspect.add_argument('--lambda', dest='lambda_', type=float, metavar='L',
                       help="a variable-rate model's trade-off (default: the model's default lambda)")
  inspect.add_argument('--json', action='store_true', help='print the figures as one JSON object')
  inspect.add_argument('--figure', metavar='OUT.png',
                       help="draw the paper's Figure 1 for this image: references, S, U and the bits saved")
  inspect.add_argument('-f', '--force', action='store_true', help=FORCE_HELP + ' (--figure)')
  inspect.set_defaults(run=_inspect)

  listing = commands.add_parser('models', help='list the shipped models')
  listing.set_defaults(run=_models)

  export = commands.add_parser('export', help='training checkpoint -> model directory with coding tables')
  export.add_argument('checkpoint_dir', help='a train.py workdir, its checkpoints/ folder, a parameter bundle '
                      '(what recipes/gpu_box.py brings back), or a model directory to convert')
  export.add_argument('model_dir')
  export.add_argument('--dtype', default='float32', choices=('float32', 'float16'),
                      help='storage dtype of the parameters (tables are built from the stored values)')
  export.add_argument('--portable', action='store_true',
                      help='also export the entropy path in exact integer arithmetic: files decode on any machine')
  export.add_argument('--calibration-data', metavar='FOLDER',
                      help="training photographs that set the integer path's ranges (default: the model's "
                      "training folder)")
  export.set_defaults(run=_export)
  return parser


# The commands that compile programs, and so use the compilation cache (compile_cache.py).
COMPILING = ('estimate', 'compress', 'decompress', 'roundtrip', 'inspect', 'export')


def main(argv=None):
  args = build_parser().parse_args(argv)
  if args.command in COMPILING:
    from grm_jax import compile_cache  # pylint: disable=import-outside-toplevel
    compile_cache.enable()
  status = report_errors('grm', args.run, args)
  if argv is None and status > 128:  # the program itself: end by the signal, so that a shell's loop stops too
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    signal.signal(status - 128, signal.SIG_DFL)
    os.kill(os.getpid(), status - 128)
  return status


if __name__ == '__main__':
  sys.exit(main())
