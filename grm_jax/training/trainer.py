"""train_and_evaluate(config, workdir): data-parallel training over every device JAX sees, on one or many hosts.

The train step is a pure function of per-device code (`parallel.data_parallel`: jit over a device mesh, with
shard_map): each device takes its slice of the batch, gradients and metrics are averaged with a collective
(pmean), and every replica applies the same update. The noise of each example comes from a key folded from
(seed, step, global sample index), so the update does not depend on how the batch is split across devices or
hosts, and a resumed run repeats an uninterrupted one.

The loop never waits for the device between steps: metrics stay on the device until a logging or checkpoint
step fetches them (the NaN check happens there, before anything is saved), figures that only feed the log
(MS-SSIM of the training crops) are computed on logging steps only, and the input pipeline prepares the next
batches in background threads.
"""
import json
import logging
import os
import signal
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm
from flax import traverse_util

from grm_jax import losses, metrics, models, rd_lambda, zoo
from grm_jax.models import gain_folding, saved, widening
from grm_jax.errors import GrmError
from grm_jax.layers import gain
from grm_jax.training import checkpoints, input_pipeline, optim, parallel, params_bundle, provenance
from grm_jax.training.summary import SummaryWriter

AXIS = parallel.AXIS


class TrainingDiverged(GrmError):
  pass


class TrainingStopped(GrmError):
  """SIGTERM stopped the run; a checkpoint of the step it stopped at is saved (the message says which)."""


class _Preemption:
  """SIGTERM (a scheduler's preemption notice, `kill`, `docker stop`) stops the run at the step it is at, with a
  checkpoint, instead of losing the steps since the last one.

  One process: a Python handler, on the main thread only (Python delivers signals there), the handler before it
  put back afterwards; a second SIGTERM ends the process as usual. Several processes: jax.distributed's preemption
  service owns SIGTERM, and its sync point has every process stop at the same step.
  """

  def __init__(self):
    self.requested, self._previous, self._installed = False, None, False
    self._sync = jax.process_count() > 1
    if not self._sync and threading.current_thread() is threading.main_thread():
      self._previous = signal.getsignal(signal.SIGTERM)
      signal.signal(signal.SIGTERM, self._handle)
      self._installed = True

  def _handle(self, signum, frame):
    del signum, frame
    self.requested = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

  def reached(self, step):
    """Whether to stop at this step: the same answer on every process."""
    if self._sync and not self.requested:
      from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
      try:
        self.requested = multihost_utils.reached_preemption_sync_point(step)
      except RuntimeError:  # the preemption service is off (jax_enable_preemption_service): SIGTERM ends the run
        self._sync = False
    return self.requested

  def restore(self):
    if self._installed:
      signal.signal(signal.SIGTERM, self._previous if self._previous is not None else signal.SIG_DFL)


def init_state(model, optimizer, config):
  """The train state: step, params and optimizer state, as a plain dict (what checkpoints hold)."""
  x = jnp.zeros((1, config.patch_size, config.patch_size, 3), jnp.float32)
  params = model.init({'params': jax.random.PRNGKey(config.seed)}, x)['params']
  return {'step': jnp.zeros((), jnp.int32), 'params': params, 'opt_state': optimizer.init(params)}


def training_lambdas(config, sample_ids):
  """Each example's lambda: config.lambda_ for a fixed-rate model; for a variable-rate one, a log-uniform draw
  from config.model.lambda_range that depends on the seed and the global sample index alone."""
  lambda_range = config.model.get('lambda_range', ())
  if not lambda_range:
    return config.lambda_
  base_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x1A4BDA)  # apart from the noise keys' stream
  keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(sample_ids)
  low, high = np.log(lambda_range[0]), np.log(lambda_range[1])
  return jnp.exp(jax.vmap(lambda key: jax.random.uniform(key, (), jnp.float32, low, high))(keys))


def example_weights(config, lambdas):
  """Each example's weight in a variable-rate batch's loss, (middle of the range / lambda) ^ exponent: with
  exponent 0 the high lambdas, whose lambda * D + R is many times larger, drive most of the gradient."""
  exponent = config.get('lambda_weight_exponent', 0.0)
  lambda_range = config.model.get('lambda_range', ())
  if not lambda_range or not exponent:
    return None
  return (rd_lambda.middle(lambda_range) / lambdas) ** exponent


def make_train_step(model, optimizer, config):
  """(state, uint8 images [b, P, P, 3], int32 sample ids [b]) -> (state, metrics): per-device code, for
  parallel.data_parallel (or any mapping that names AXIS)."""
  base_key = jax.random.PRNGKey(config.seed)

  def train_step(state, images, sample_ids):
    step_key = jax.random.fold_in(base_key, state['step'])
    keys = jax.vmap(lambda i: jax.random.fold_in(step_key, i))(sample_ids)
    lambdas = training_lambdas(config, sample_ids)
    x = images.astype(jnp.float32) / 255.0

    def loss_fn(params):
      out = model.apply({'params': params}, x, train=True, example_keys=keys,
                        lambdas=lambdas if model.variable_rate else None)
      return losses.rate_distortion_loss(out, x, lambdas, config.distortion, config.stage_rate_weight,
                                         example_weights(config, lambdas))

    (_, summary), grads = jax.value_and_grad(loss_fn, has_aux=True)(state['params'])
    grads, summary = jax.lax.pmean((grads, summary), AXIS)
    updates, opt_state = optimizer.update(grads, state['opt_state'], state['params'])
    params = optax.apply_updates(state['params'], updates)
    return {'step': state['step'] + 1, 'params': params, 'opt_state': opt_state}, summary

  return train_step


def make_crop_metrics(model, config):
  """(params, uint8 images [b, P, P, 3], int32 sample ids [b]) -> {'ms_ssim'}: per-device code, for logging
  steps only (MS-SSIM costs as much as a third of a small model's train step). The reconstruction is the one
  training sees: g_s of the rounded latents, at each example's training lambda."""

  def crop_metrics(params, images, sample_ids):
    x = images.astype(jnp.float32) / 255.0
    lambdas = training_lambdas(config, sample_ids) if model.variable_rate else None
    out = model.apply({'params': params}, x, train=False, lambdas=lambdas)
    return {'ms_ssim': jax.lax.pmean(jnp.mean(metrics.ms_ssim(jnp.clip(out['x_hat'], 0, 1), x)), AXIS)}

  return crop_metrics


def make_eval_step(model):
  """(params, uint8 image, lambda or None) -> {'bpp', 'psnr', 'ms_ssim' where the image is large enough}."""

  def eval_step(params, image, lambda_):
    x = image[None].astype(jnp.float32) / 255.0
    out = model.apply({'params': params}, x, train=False, lambdas=lambda_)
    x_hat = jnp.round(jnp.clip(out['x_hat'], 0, 1) * 255.0) / 255.0
    summary = {'bpp': out['bpp'], 'psnr': metrics.psnr(x, x_hat)}
    if min(image.shape[:2]) >= metrics.MS_SSIM_MIN_SIDE:
      summary['ms_ssim'] = metrics.ms_ssim(x_hat, x)[0]
    return summary
  return jax.jit(eval_step)


def _format(step, total, summary, lr, steps_per_second):
  parts = [f"step {step}/{total}", f"loss {summary['loss']:.4f}",
           f"bpp {summary['bpp']:.4f} (y {summary['bpp_y']:.4f}, z {summary['bpp_z']:.4f})",
           f"psnr {summary['psnr']:.2f} dB"]
  if 'ms_ssim' in summary:
    parts.append(f"ms-ssim {summary['ms_ssim']:.4f}")
  if 'lambda_low' in summary:  # a variable-rate model: what the ends of each batch's lambdas gave
    parts.append(f"lambda {summary['lambda_low']:.4f}/{summary['lambda_high']:.4f}: "
                 f"bpp {summary['bpp_at_lambda_low']:.3f}/{summary['bpp_at_lambda_high']:.3f} "
                 f"psnr {summary['psnr_at_lambda_low']:.2f}/{summary['psnr_at_lambda_high']:.2f}")
  parts += [f"lr {lr:.2e}", f"{steps_per_second:.2f} steps/s"]
  return '  '.join(parts)


class Validation:
  """The held-out images (centre crops of config.val_crop pixels), evaluated with replica 0's parameters; a
  variable-rate model at both ends and the middle of its range (keys val/bpp@LAMBDA, ...)."""

  def __init__(self, model, config):
    source = input_pipeline.open_source(config.val_data, config.get('data_dir', ''))
    images = []
    for index in range(len(source)):
      image = source.load(index)
      if image is not None:
        images.append(input_pipeline.center_crop(image, config.get('val_crop', config.patch_size)))
      if len(images) == config.val_images:
        break
    self.images = images
    self.eval_step = make_eval_step(model)
    lambda_range = config.model.get('lambda_range', ())
    self.lambdas = ((lambda_range[0], rd_lambda.middle(lambda_range), lambda_range[1]) if lambda_range
                    else (None,))

  def __call__(self, params):
    result = {}
    for lambda_ in self.lambdas:
      argument = None if lambda_ is None else jnp.full((1,), lambda_, jnp.float32)
      summaries = [jax.device_get(self.eval_step(params, image, argument)) for image in self.images]
      suffix = '' if lambda_ is None else f'@{lambda_:.4g}'
      result.update({f'val/{k}{suffix}': float(np.mean([s[k] for s in summaries])) for k in summaries[0]})
    return result


def _initialize_from(state, optimizer, workdir, model, lambda_, transforms=None, distortion='mse'):
  """The state with the parameters of another run's latest checkpoint, of an exported model directory or of a
  parameter bundle (same networks; a fixed-rate model also initialises its variable-rate form, a variable-rate
  model one of another lambda range or the fixed-rate model of lambda_, and a model with fewer channels in g_a and
  g_s or in y its grown form: models/widening.py), and a fresh optimiser. A model trained for another distortion
  starts with its gains at equal quality (rd_lambda.equivalent_lambda)."""
  folder = os.path.join(workdir, 'checkpoints')
  if os.path.isfile(os.path.join(workdir, 'model.json')):
    source_config, params, meta = saved.read(workdir, transforms)
    step = meta.get('checkpoint_step', 0)
  elif params_bundle.is_bundle(workdir):
    params, source_config, step = params_bundle.read(workdir)
  elif os.path.isdir(folder):
    params, source_config, step = checkpoints.restore_latest_params(folder)
  else:
    params = None
  if params is None:
    raise GrmError(f"init_from: {workdir} has no checkpoint and is not a model directory")
  params = _with_gains_of_this_model(params, model, source_config, lambda_, distortion)
  if transforms is None:  # the shipped transforms only: a researcher's own layers may not widen this way
    try:
      params = widening.grown_params(params, state['params'], model)
    except ValueError as error:
      raise GrmError(f"init_from: the model in {workdir} does not match this config's model ({error})") from None
  state = _starting_from(state, optimizer, params, f"init_from: the model in {workdir}")
  logging.info("initialised from step %d of %s", step, workdir)
  return state


def _starting_from(state, optimizer, params, what):
  """The state with these parameters (of the state's tree and shapes, else a GrmError about `what`) and a fresh
  optimiser."""
  if not models.same_layout(params, state['params']):
    raise GrmError(f"{what} does not match this config's model")
  params = jax.tree_util.tree_map(jnp.asarray, params)
  return {'step': state['step'], 'params': params, 'opt_state': optimizer.init(params)}


def _with_gains_of_this_model(params, model, source_config, lambda_, distortion='mse'):
  """The parameters of another model of the same networks with the gain units this model needs: a fixed-rate
  model's gain units are added (gain 1 at the lambda it was trained for, layers/gain.py), a variable-rate model's
  are moved to this model's anchors (another range or count: gain.reanchored_params), or folded into its layers at
  lambda_ for a fixed-rate model (models/gain_folding.py); any other params unchanged. lambda_ and the model's
  range are of `distortion`; the source's lambdas are mapped to it at equal quality where it was trained for
  another."""
  units = {'y_gains': model.latent_channels}
  if model.z_gain and model.family_spec.hyperprior:
    units['z_gains'] = model.channels
  if source_config is None:
    return params
  source_distortion = source_config.get('distortion', 'mse')
  to_this_metric = lambda value: rd_lambda.equivalent_lambda(value, source_distortion, distortion)
  if not model.variable_rate:
    if 'y_gains' not in params:
      return params
    try:
      params = gain_folding.folded_gains(params, models.check_model_config(source_config['model']),
                                         rd_lambda.equivalent_lambda(lambda_, distortion, source_distortion))
    except ValueError as error:
      raise GrmError(f"init_from: {error}") from None
    logging.info("folded the variable-rate model's gains at lambda %s into its layers", lambda_)
    return params
  anchors = gain.anchor_lambdas(model.lambda_range, model.gain_anchors)
  params = dict(params)
  if not any(name in params for name in units):
    for name, channels in units.items():
      params[name] = gain.converted_params(anchors, channels, to_this_metric(float(source_config['lambda_'])))
    logging.info("converted a fixed-rate model (lambda %s) to variable rate", source_config['lambda_'])
    return params
  source_model = models.check_model_config(source_config['model'])  # with the defaults a build gives it
  source_anchors = tuple(map(to_this_metric, gain.anchor_lambdas(source_model['lambda_range'],
                                                                  source_model['gain_anchors'])))
  if source_anchors == anchors:
    return params
  for name in units:
    if name in params:
      params[name] = gain.reanchored_params(params[name], source_anchors, anchors)
  logging.info("moved the gains from %d anchors over %s to %d over %s", len(source_anchors),
               source_model['lambda_range'], len(anchors), tuple(model.lambda_range))
  return params


def check_batch_layout(config):
  """A batch the devices can share, of crops the distortion can measure; a GrmError before anything is written."""
  processes, devices = jax.process_count(), jax.local_device_count()
  if config.batch_size % (processes * devices):
    raise GrmError(f"batch_size {config.batch_size} must be a multiple of the {processes * devices} devices "
                   f"({processes} process(es) x {devices} local device(s))")
  if config.distortion not in losses.DISTORTIONS:
    raise GrmError(f"distortion {config.distortion!r}: expected one of {losses.DISTORTIONS}")
  if config.distortion == 'ms-ssim' and config.patch_size < metrics.MS_SSIM_MIN_SIDE:
    raise GrmError(f"distortion 'ms-ssim' needs crops of at least {metrics.MS_SSIM_MIN_SIDE} pixels (its five "
                   f"scales), got patch_size {config.patch_size}")


def _agreed(flag):
  """Process 0's answer, on every process: they must all stop at the same step."""
  if jax.process_count() == 1:
    return flag
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag)))


def describe_devices(config):
  """One line that tells a pod user at once whether every chip takes part."""
  devices = jax.devices()
  kinds = sorted({d.device_kind for d in devices})
  return (f"jax {jax.__version__} on {jax.default_backend()} ({', '.join(kinds)}): {jax.process_count()} "
          f"process(es), {jax.local_device_count()} local and {jax.device_count()} global device(s); global batch "
          f"{config.batch_size} = {config.batch_size // jax.device_count()} per device; transforms in "
          f"{config.model.get('transform_dtype', 'float32')}")


class PendingMetrics:
  """The train metrics of the steps since the last log, left on the device until someone needs them."""

  def __init__(self):
    self.steps, self.summaries = [], []

  def add(self, step, summary):
    self.steps.append(step)
    self.summaries.append(summary)

  def check_finite(self, checkpoint_manager, workdir):
    """Raises TrainingDiverged at the first step whose loss is NaN or Inf (fetches the losses)."""
    for step, summary in zip(self.steps, self.summaries):
      loss = float(parallel.to_host(summary['loss']))
      if not np.isfinite(loss):
        last = checkpoint_manager.latest_step()
        kept = f"the last good checkpoint (step {last}) is kept" if last else "no checkpoint had been saved yet"
        raise TrainingDiverged(f"the loss became {loss} at step {step}; stopped without saving that state; "
                               f"{kept} in {workdir}/checkpoints")

  def mean_and_clear(self):
    fetched = [parallel.to_host(summary) for summary in self.summaries]
    self.steps, self.summaries = [], []
    return {k: float(np.mean([s[k] for s in fetched])) for k in fetched[0]}


# What a run writes into its workdir: anything else there is the user's, and the run goes elsewhere.
WORKDIR_ENTRIES = ('checkpoints', 'tensorboard', 'provenance.json', '.provenance.json.tmp')


def check_workdir(workdir):
  """A GrmError unless workdir is new, empty, or a run's own (to resume): a run never mixes into a user's folder."""
  if os.path.lexists(workdir) and not os.path.isdir(workdir):
    raise GrmError(f"{workdir}: exists and is not a folder; give a folder for the run")
  if os.path.isdir(workdir):
    foreign = sorted(set(os.listdir(workdir)) - set(WORKDIR_ENTRIES))
    if foreign:
      raise GrmError(f"{workdir}: holds files that are not a training run's ({', '.join(foreign[:3])}"
                     f"{', ...' if len(foreign) > 3 else ''}); give a new or empty folder, or the workdir of a run "
                     "to resume")


# Fields a resumed run may change without changing what it trains: how it logs, validates, checkpoints, stops,
# finds its data and starts (init_from only matters to a new run). num_steps sets a step or cosine schedule.
BOOKKEEPING_FIELDS = frozenset({'time_limit_minutes', 'log_every', 'checkpoint_every', 'keep_checkpoints',
                                'eval_every', 'val_data', 'val_images', 'val_crop', 'loader_workers', 'data_dir',
                                'init_from'})


def config_changes(saved, config):
  """The fields whose value a resuming config changes from its checkpoint's, as 'name: old -> new' (JSON values:
  the config as the checkpoint stores it), leaving out bookkeeping and, under a constant schedule, num_steps."""
  old, new = (traverse_util.flatten_dict(tree, sep='.') for tree in (saved, json.loads(config.to_json())))
  ignored = BOOKKEEPING_FIELDS | ({'num_steps'} if config.schedule == 'constant' else set())
  return [f"{name}: {old.get(name)!r} -> {new.get(name)!r}" for name in sorted(old.keys() | new.keys())
          if name not in ignored and old.get(name) != new.get(name)]


def train_and_evaluate(config, workdir, transforms=None, initial_params=None):
  """Trains config's model in workdir, resuming from its latest checkpoint; returns the final host state.

  transforms: a researcher's own g_a and g_s (models.build). initial_params: where a new run starts (a params tree
  of the model, for instance one with another model's transforms in it) instead of a random initialisation or
  config.init_from; a fresh optimiser either way.
  """
  check_batch_layout(config)
  check_workdir(workdir)
  is_chief = jax.process_index() == 0
  try:
    model = models.build(config, transforms=transforms)
  except ValueError as error:
    raise GrmError(f"the config describes no model: {error}") from None
  source = input_pipeline.open_source(config.train_data, config.get('data_dir', ''),  # before anything is written
                                      config.get('held_out', ''))
  if getattr(source, 'held_out_count', 0):
    logging.info("training on %d images; %d held out (%s)", len(source), source.held_out_count, config.held_out)
  optimizer, schedule = optim.make_optimizer(config)
  state = init_state(model, optimizer, config)
  checkpoint_manager = checkpoints.manager(os.path.join(os.path.abspath(workdir), 'checkpoints'), config)
  start = checkpoint_manager.latest_step() or 0
  if start:
    state, saved_config = checkpoints.restore(checkpoint_manager, start, jax.device_get(state))
    logging.info("resumed from the checkpoint of step %d", start)
    changes = config_changes(saved_config, config)
    if changes:  # a resumed run silently following another schedule or data would not repeat the one it continues
      logging.warning("resuming step %d with a config that differs from its checkpoint's (%s): training goes on "
                      "with the new values", start, '; '.join(changes))
  elif initial_params is not None:
    state = _starting_from(state, optimizer, initial_params, "initial_params")
  elif config.get('init_from'):
    state = _initialize_from(state, optimizer, zoo.source_folder(config.init_from), model, config.lambda_,
                             transforms, config.distortion)
  if start >= config.num_steps:
    logging.info("already trained to step %d (num_steps=%d): nothing to do", start, config.num_steps)
    checkpoint_manager.close()
    return jax.device_get(state)

  loader = input_pipeline.BatchLoader(
      source, config.batch_size, config.patch_size, seed=config.seed,
      process_index=jax.process_index(), process_count=jax.process_count(), small_images=config.small_images,
      workers=config.loader_workers)
  validation = Validation(model, config) if config.val_data and config.eval_every else None
  writer = SummaryWriter(os.path.join(workdir, 'tensorboard')) if is_chief else None
  mesh = parallel.data_mesh()
  train_step = parallel.data_parallel(make_train_step(model, optimizer, config), mesh, donate_first=True)
  crop_metrics = (parallel.data_parallel(make_crop_metrics(model, config), mesh)
                  if config.patch_size >= metrics.MS_SSIM_MIN_SIDE else None)
  replicated = parallel.replicate(state, mesh)

  bar = tqdm.tqdm(total=config.num_steps, initial=start, unit='step', dynamic_ncols=True,
                  disable=not (is_chief and sys.stdout.isatty()))
  say = bar.write if not bar.disable else print
  if is_chief:
    say(describe_devices(config))
  last_time, last_step = time.perf_counter(), start
  if start:  # resumed: carry on the record of this workdir
    previous = provenance.read(workdir)
    earlier_seconds, parent = float(previous.get('train_wall_seconds', 0.0)), previous.get('initialized_from')
  else:
    earlier_seconds, parent = 0.0, provenance.parent(config)
  session_start = time.perf_counter()
  time_limit = 60.0 * config.get('time_limit_minutes', 0.0)
  pending = PendingMetrics()
  preemption = _Preemption()
  try:
    batches = loader.iterate(start)
    for step in range(start + 1, config.num_steps + 1):
      images, sample_ids = next(batches)
      images, sample_ids = parallel.shard_batch((images, sample_ids.astype(np.int32)), mesh)
      replicated, summary = train_step(replicated, images, sample_ids)
      pending.add(step, summary)
      bar.update(1)
      preempted = preemption.reached(step)
      last = step == config.num_steps or preempted or bool(time_limit and step % config.log_every == 0 and _agreed(
          time.perf_counter() - session_start > time_limit))
      if step % config.log_every == 0 or last:
        pending.check_finite(checkpoint_manager, workdir)
        summary = pending.mean_and_clear()
        if crop_metrics is not None:
          summary.update({k: float(v) for k, v in parallel.to_host(
              crop_metrics(replicated['params'], images, sample_ids)).items()})
        now = time.perf_counter()
        speed = (step - last_step) / (now - last_time)
        last_time, last_step = now, step
        lr = float(schedule(step - 1))
        if is_chief:
          say(_format(step, config.num_steps, summary, lr, speed))
          writer.scalars(step, {**{f'train/{k}': v for k, v in summary.items()}, 'train/learning_rate': lr,
                                'train/steps_per_second': speed})
      if validation is not None and step % config.eval_every == 0:
        result = validation(parallel.to_host(replicated['params']))
        if is_chief:
          say(f"validation at step {step}: " + '  '.join(f"{k[4:]} {v:.4f}" for k, v in result.items()))
          writer.scalars(step, result)
      if step % config.checkpoint_every == 0 or last:
        pending.check_finite(checkpoint_manager, workdir)
        checkpoints.save(checkpoint_manager, step, parallel.to_host(replicated), config)
        if is_chief:
          provenance.write(workdir, config, step, earlier_seconds + time.perf_counter() - session_start, parent)
      if last:
        if step < config.num_steps and preempted:
          raise TrainingStopped(f"stopped by SIGTERM at step {step}: checkpoint saved; the same command resumes "
                                "from it")
        if step < config.num_steps and is_chief:
          say(f"time limit of {config.time_limit_minutes} min reached at step {step}: checkpoint saved; the same "
              "command resumes from it")
        break
  finally:
    bar.close()
    checkpoint_manager.wait_until_finished()
    checkpoint_manager.close()
    if writer is not None:
      writer.close()
    preemption.restore()  # after the last checkpoint is written
  return parallel.to_host(replicated)
