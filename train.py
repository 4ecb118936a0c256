"""Trains a grm_jax model: python train.py --config configs/grm.py --config.train_data=folder:PHOTOS --workdir DIR
[--config.FIELD=VALUE ...].

Runs data-parallel over every device that JAX sees. For several hosts, start one process per host with
--coordinator_address, --num_processes and --process_id (or --distributed on a cluster JAX detects by itself:
Cloud TPU, SLURM). Re-running the same command resumes from the last checkpoint in the workdir. SIGTERM (a
scheduler's preemption notice) stops the run with a checkpoint of the step it is at, and exit status 143.
"""
import logging
import os
import signal
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Where checkpoints and TensorBoard logs go.', required=True)
config_flags.DEFINE_config_file('config', 'configs/grm.py', 'Config file.', lock_config=True)
flags.DEFINE_bool('distributed', False, 'Call jax.distributed.initialize() with cluster auto-detection.')
flags.DEFINE_string('coordinator_address', None, 'host:port of process 0, for multi-process training.')
flags.DEFINE_integer('num_processes', None, 'Number of processes (multi-process training).')
flags.DEFINE_integer('process_id', None, 'This process (0 .. num_processes - 1).')


def _initialize_distributed():
  import jax  # pylint: disable=import-outside-toplevel
  if FLAGS.coordinator_address or FLAGS.distributed:
    # CPU collectives across processes need gloo; the option does nothing on GPU or TPU backends.
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.getLogger().setLevel(logging.INFO)
  logging.getLogger('jax').setLevel(logging.WARNING)
  logging.getLogger('absl').setLevel(logging.WARNING)
  from grm_jax.errors import GrmError  # pylint: disable=import-outside-toplevel
  from grm_jax.training.trainer import TrainingStopped, train_and_evaluate  # pylint: disable=import-outside-toplevel
  try:
    _initialize_distributed()
    train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except TrainingStopped as stopped:
    print(f"train.py: {stopped}", file=sys.stderr)
    sys.exit(128 + signal.SIGTERM)
  except GrmError as error:
    print(f"train.py: error: {error}", file=sys.stderr)
    sys.exit(1)
  except KeyboardInterrupt:
    print("train.py: interrupted; re-run the same command to resume from the last checkpoint", file=sys.stderr)
    sys.exit(130)


if __name__ == '__main__':
  app.run(main)
