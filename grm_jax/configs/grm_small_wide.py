"""grm-small-wide: the shipped grm-small fine-tuned to variable rate over CompressAI's qualities 1 to 8 (lambda
0.0018-0.18, 8 gain anchors; init_from moves the 6 anchors of 0.0018-0.0483 there).

A fine-tune: 1e-4 for every parameter after a short warm-up, a tenth of it for the last 1000 steps (a constant rate
stops at a noisy point; the annealing tail gained 3.6% (grm) and 2.7% (context) on Kodak, results/flattening/), no
validation pass, one loader worker beside the one core it trains on (`SIZE=small_wide recipes/shipped_models.sh
train`). The shipped model ran the two rates as two runs, the tail a fine-tune of the first with a fresh optimiser
(its model.json records both). recipes/flattening.sh runs context_small_wide at a constant rate with one thing
changed per arm.
"""
from grm_jax.configs import grm_small


def get_config():
  config = grm_small.get_config()
  config.init_from = 'grm_jax/pretrained/grm-small'
  config.model.lambda_range = (0.0018, 0.18)
  config.model.gain_anchors = 8
  config.num_steps = 9000
  config.learning_rate = 1e-4
  config.schedule = 'step'
  config.decay_boundaries = (8 / 9,)  # 8000 steps at 1e-4, then 1000 at 1e-5
  config.warmup_steps = 200
  config.transform_lr_scale = 1.0
  config.eval_every = 0
  config.val_data = ''
  config.loader_workers = 1
  return config
