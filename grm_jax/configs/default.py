"""Shared defaults: the paper-size GRM (N=192, M=384) and the training recipe of the authors.

Every other config starts from this one and changes what differs. Load one with
`--config configs/NAME.py` and override any field with `--config.FIELD=VALUE`.
"""
import ml_collections


def get_config():
  config = ml_collections.ConfigDict()

  config.model = ml_collections.ConfigDict()
  # factorized | hyperprior | mean_scale | context | grm | checkerboard | grm_checkerboard (models/families.py)
  config.model.family = 'grm'
  config.model.norm = 'gsdn'  # gdn | gsdn
  config.model.channels = 192  # N
  config.model.transform_channels = 0  # g_a and g_s's width where it differs from N (h_a, h_s and z keep N); 0: N
  config.model.latent_channels = 384  # M
  config.model.hidden = 1152  # parameter networks' width: 3M in the paper
  config.model.use_reference = True  # grm families only: the global reference (ablation: False)
  config.model.use_confidence = True  # grm only: gate the reference by U as well as S
  config.model.gating = 'product'  # product: feature * S * U; channels: S and U as extra inputs; blind: zeroed
  # grm only: how many earlier positions the reference stage reads, the most similar first, each gated by its own
  # S and U (the paper: 1).
  config.model.references = 1
  # Coding order of latent positions. wavefront (rank 3 * row + col) decodes an anti-diagonal per step: 5x faster
  # than raster (the paper's order) for the paper-size GRM on a CPU. Training uses the same order, so a model is
  # decoded in the order it was trained with. The checkerboard families are pinned to their two-pass order and
  # do not read this field.
  config.model.order = 'wavefront'
  # Mixed precision: 'bfloat16' runs g_a, g_s, h_a and h_s in bfloat16 with float32 parameters; the entropy model
  # and the loss stay float32. What GPU and TPU users train with; the codec always runs float32.
  config.model.transform_dtype = 'float32'

  # Variable rate (docs/training.md, "Variable-rate models"): one model for every lambda in (low, high); () is a fixed-rate model.
  # Training draws each example's lambda log-uniformly from the range; gain vectors are learned at gain_anchors
  # lambdas log-spaced over it (on y, and on z when z_gain).
  config.model.lambda_range = ()
  config.model.gain_anchors = 6
  config.model.z_gain = True
  # A variable-rate batch's loss weighs each example by (middle of the range / its lambda) ^ this exponent, so that
  # the high lambdas do not take most of the gradient (docs/training.md, "Variable rate, measured": 0.5 beat 0 and 1).
  config.lambda_weight_exponent = 0.5

  # Rate-distortion trade-off, CompressAI's convention: loss = lambda * 255^2 * MSE + bpp. A variable-rate model
  # codes at this lambda unless told otherwise; init_from a fixed-rate model converts it with gain 1 at the source
  # model's own lambda.
  config.lambda_ = 0.013
  config.distortion = 'mse'  # mse | ms-ssim (then loss = lambda * (1 - MS-SSIM) + bpp)
  config.stage_rate_weight = 0.1  # grm: weight of the rates under the local and reference stages

  # Data: 'folder:PATH[,PATH...]' (no TensorFlow needed) or 'tfds:NAME[:SPLIT]'; train_data has no default, where
  # a run's photographs are is the user's to say. Relative folders are taken below data_dir where it is set.
  config.data_dir = ''
  config.train_data = ''
  # Photographs of train_data's folders that training leaves out, to measure on later: comma-separated glob
  # patterns, relative ones below data_dir ('urban100_rest/img_0[12]*.png'); evaluate.py --data takes the same.
  config.held_out = ''
  config.val_data = ''  # '' = no validation pass
  config.batch_size = 8  # global, across all devices and hosts
  config.patch_size = 256
  config.small_images = 'pad'  # images smaller than the patch: pad (reflect) or skip
  config.val_images = 8
  config.val_crop = 256  # validation uses centre crops of this size (MS-SSIM needs 161 pixels or more)
  config.loader_workers = 2

  # Optimisation (optax).
  config.num_steps = 1_000_000
  config.learning_rate = 1e-4
  config.transform_lr_scale = 1.0 / 3.0  # the authors train g_a/g_s with lr/3
  config.warmup_steps = 1000
  config.schedule = 'step'  # step | cosine | constant
  config.decay_boundaries = (0.8, 0.95)  # fractions of num_steps where a step schedule divides the lr by 10
  config.grad_clip = 1.0

  # Start from the parameters of another run (its latest checkpoint, or an exported model directory) with a fresh
  # optimiser: fine-tuning one
  # quality from another. Ignored when the workdir already has a checkpoint to resume from.
  config.init_from = ''

  # Bookkeeping.
  config.seed = 0
  config.log_every = 100
  config.checkpoint_every = 1000
  config.keep_checkpoints = 3
  # Stop after this many minutes of training in this process (0: no limit), with a checkpoint to resume from: for
  # sessions and machine loans of fixed length.
  config.time_limit_minutes = 0.0
  config.eval_every = 5000
  return config
