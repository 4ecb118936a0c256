"""The optimiser: Adam with warm-up and step or cosine decay, gradient clipping, and the authors' split of the
learning rate between the transforms (g_a, g_s) and the entropy model."""
import optax

TRANSFORMS = ('g_a', 'g_s', 'analysis_transform', 'synthesis_transform')  # the shipped ones, or a researcher's
SCHEDULES = ('constant', 'step', 'cosine')


def learning_rate_schedule(config):
  """Linear warm-up to config.learning_rate, then constant, divided by 10 at each decay boundary, or cosine."""
  base, warmup, total = config.learning_rate, config.warmup_steps, config.num_steps
  if config.schedule not in SCHEDULES:
    raise ValueError(f"unknown schedule {config.schedule!r}; expected one of {SCHEDULES}")
  if config.schedule == 'constant':
    after = optax.constant_schedule(base)
  elif config.schedule == 'step':
    boundaries = {max(1, int(f * total) - warmup): 0.1 for f in config.decay_boundaries}
    after = optax.piecewise_constant_schedule(base, boundaries)
  else:
    after = optax.cosine_decay_schedule(base, max(1, total - warmup))
  if not warmup:
    return after
  return optax.join_schedules([optax.linear_schedule(0.0, base, warmup), after], [warmup])


def parameter_groups(params):
  """'transform' for g_a and g_s (shipped or own), 'entropy' for everything else."""
  return {name: ('transform' if name in TRANSFORMS else 'entropy') for name in params}


def make_optimizer(config):
  schedule = learning_rate_schedule(config)
  transform_schedule = lambda step: config.transform_lr_scale * schedule(step)
  groups = optax.multi_transform({'transform': optax.adam(transform_schedule), 'entropy': optax.adam(schedule)},
                                 parameter_groups)
  clip = optax.clip_by_global_norm(config.grad_clip) if config.grad_clip else optax.identity()
  return optax.chain(clip, groups), schedule
