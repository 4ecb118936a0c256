"""Training: every family learns, 4 devices match one, a killed run resumes exactly, multi-process works."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from grm_jax.configs import tiny
from grm_jax import losses, models
from grm_jax.errors import GrmError
from grm_jax.training import checkpoints, optim, parallel, trainer
from tests import tolerances
from tests.helpers import REPO, run_python, tensorflow_stage, write_image_folder


def _eval_loss(model, params, x, config):
  """The loss at config.lambda_, or the sum of the losses at both ends of a variable-rate model's range."""
  total = 0.0
  for lambda_ in config.model.lambda_range or (config.lambda_,):
    lambdas = jnp.full((x.shape[0],), lambda_) if model.variable_rate else None
    out = model.apply({'params': params}, x, train=False, lambdas=lambdas)
    total += float(losses.rate_distortion_loss(out, x, lambda_)[0])
  return total


@pytest.mark.parametrize('variable_rate', (False, True), ids=('fixed_rate', 'variable_rate'))
@pytest.mark.parametrize('family', models.FAMILIES)
def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(family, variable_rate, natural_image):
  config = tiny.get_config()
  config.model.family = family
  if variable_rate:  # every example draws its lambda; the loss must fall at both ends of the range
    config.model.lambda_range = (0.0018, 0.0483)
  config.learning_rate = 3e-3
  config.num_steps = 15
  model = models.build(config)
  optimizer, _ = optim.make_optimizer(config)
  state = trainer.init_state(model, optimizer, config)
  images = (np.stack([natural_image[:64, :64], natural_image[200:264, 300:364]]) * 255).astype(np.uint8)
  x = jnp.asarray(images, jnp.float32) / 255.0
  before = _eval_loss(model, state['params'], x, config)
  mesh = parallel.data_mesh(jax.local_devices()[:1])
  step = parallel.data_parallel(trainer.make_train_step(model, optimizer, config), mesh)
  replicated = parallel.replicate(state, mesh)
  batch = parallel.shard_batch((images, np.arange(2, dtype=np.int32)), mesh)
  for _ in range(config.num_steps):
    replicated, _ = step(replicated, *batch)
  after = _eval_loss(model, parallel.to_host(replicated['params']), x, config)
  assert after < 0.7 * before, (before, after)


PMAP_SCRIPT = textwrap.dedent('''
    import jax, numpy as np
    from grm_jax.configs import tiny
    from grm_jax import models
    from grm_jax.training import optim, parallel, trainer
    assert jax.local_device_count() == 4, jax.devices()
    config = tiny.get_config()
    config.batch_size = 4
    model = models.build(config)
    optimizer, _ = optim.make_optimizer(config)
    state = trainer.init_state(model, optimizer, config)
    images = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    ids = np.arange(4, dtype=np.int32)
    results = []
    for devices in (jax.local_devices(), jax.local_devices()[:1]):
      mesh = parallel.data_mesh(devices)
      step = parallel.data_parallel(trainer.make_train_step(model, optimizer, config), mesh)
      new, summary = step(parallel.replicate(state, mesh), *parallel.shard_batch((images, ids), mesh))
      replicas = [[np.asarray(shard.data) for shard in leaf.addressable_shards]
                  for leaf in jax.tree_util.tree_leaves(new['params'])]
      assert all(len(copies) == len(devices) for copies in replicas)
      assert all(np.array_equal(copies[0], copy) for copies in replicas for copy in copies), 'replicas differ'
      results.append(([copies[0] for copies in replicas], float(parallel.to_host(summary['loss']))))
    (four, loss4), (one, loss1) = results
    start = [np.asarray(l) for l in jax.tree_util.tree_leaves(state['params'])]
    moved = max(float(np.max(np.abs(a - s))) for a, s in zip(one, start))
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(four, one))
    print(f'RESULT {loss4} {loss1} {worst} {moved}')
''')


def test_four_devices_give_the_update_of_one_device():
  result = run_python(['-c', PMAP_SCRIPT], env={'XLA_FLAGS': '--xla_force_host_platform_device_count=4',
                                                'JAX_PLATFORMS': 'cpu'})
  assert result.returncode == 0, result.stderr[-3000:]
  loss4, loss1, worst, moved = map(float, result.stdout.split('RESULT')[1].split())
  # A batch of 4 on one device against 4 of 1: the networks in other orders (tolerances.network, training's noise
  # for rounding; magnified under 30 times: by 2 |x_hat| / |x_hat - x|, about 0.4 for an untrained model against
  # noise, and by bpp's share of the loss times ln l's sensitivity) and the 64 * 64 * 3-term MSEs: 2e-3. A sum
  # over the devices for their mean is 4 times off, one device's loss alone by the spread of the images' losses.
  rtol = tolerances.relative(tolerances.depth_of_sum(64 * 64 * 3) + 8) + \
      30 * tolerances.network(tolerances.tiny_depth(rounded=False))
  assert loss4 == pytest.approx(loss1, rel=rtol)
  assert moved > 1e-5  # the step did update the parameters (Adam moves each by about the learning rate)
  # Adam's first step moves a parameter by lr g / (|g| + eps): the same for gradients a rounding apart (to
  # lr eps |dg| / g^2) unless one lies within its rounding of zero; then the update's rounding, 2 U |p| (1.2e-7
  # for |p| < 1). 2e-6, 2 % of lr, is a stated margin over that, not a bound; steps from a gradient reduced over
  # the wrong devices differ in sign, 2e-4 apart.
  assert worst < 2e-6, f'parameters differ by {worst} after one step on 4 devices vs 1'


def test_train_py_on_four_devices_says_so_checkpoints_and_resumes(tmp_path):
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  env = {'XLA_FLAGS': '--xla_force_host_platform_device_count=4', 'JAX_PLATFORMS': 'cpu'}
  first = run_python(_train_args(folder, tmp_path / 'work', 4, 2), env=env)
  assert first.returncode == 0, first.stderr[-3000:]
  assert '1 process(es), 4 local and 4 global device(s); global batch 4 = 1 per device' in first.stdout
  assert f'jax {jax.__version__} on cpu' in first.stdout and 'step 4/4' in first.stdout
  _, _, step = _final_params(tmp_path / 'work')
  assert step == 4
  resumed = run_python(_train_args(folder, tmp_path / 'work', 6, 2), env=env)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert 'resumed from the checkpoint of step 4' in resumed.stdout + resumed.stderr
  assert 'step 5/6' in resumed.stdout and 'step 1/6' not in resumed.stdout
  # tiny's step schedule moves with num_steps: the resumed run says so
  assert "differs from its checkpoint's (num_steps: 4 -> 6)" in resumed.stdout + resumed.stderr
  leaves, _, step = _final_params(tmp_path / 'work')
  assert step == 6 and all(np.all(np.isfinite(leaf)) for leaf in leaves)


def _train_args(folder, workdir, steps, every):
  return ['train.py', '--config', 'configs/tiny.py', '--workdir', str(workdir),
          f'--config.train_data=folder:{folder}', f'--config.num_steps={steps}',
          f'--config.checkpoint_every={every}', '--config.keep_checkpoints=2', '--config.patch_size=64',
          '--config.batch_size=4', '--config.log_every=5']


def _final_params(workdir):
  params, config, step = checkpoints.restore_latest_params(str(workdir / 'checkpoints'))
  return jax.tree_util.tree_leaves(params), config, step


def test_killed_run_resumes_to_the_state_of_an_uninterrupted_run(tmp_path):
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  steps = 30
  straight = run_python(_train_args(folder, tmp_path / 'straight', steps, 3))
  assert straight.returncode == 0, straight.stderr[-3000:]

  workdir = tmp_path / 'killed'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
  process = subprocess.Popen([sys.executable] + _train_args(folder, workdir, steps, 3), cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while time.time() < deadline and process.poll() is None:
    done = [p for p in (workdir / 'checkpoints').glob('*') if p.name.isdigit()] if workdir.exists() else []
    if any(int(p.name) >= 9 for p in done):
      break
    time.sleep(0.02)
  process.send_signal(signal.SIGKILL)
  process.wait()
  _, _, killed_at = _final_params(workdir)
  assert killed_at is not None and killed_at < steps, f'the run was not killed mid-way (step {killed_at})'

  resumed = run_python(_train_args(folder, workdir, steps, 3))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  expected, _, _ = _final_params(tmp_path / 'straight')
  got, saved_config, step = _final_params(workdir)
  assert step == steps and saved_config['num_steps'] == steps
  for a, b in zip(expected, got):
    np.testing.assert_array_equal(a, b)


def test_sigterm_stops_with_a_checkpoint_of_the_step_it_is_at(tmp_path):
  """A scheduler's preemption notice loses no steps: the run saves the step it is at, says so and exits 143."""
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  workdir = tmp_path / 'work'
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'PYTHONUNBUFFERED': '1'}
  with open(tmp_path / 'err.txt', 'w') as err_file:  # stderr to a file: a full pipe would stall the run
    process = subprocess.Popen([sys.executable] + _train_args(folder, workdir, 100_000, 50_000), cwd=REPO,
                               env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
    for line in process.stdout:  # logs every 5 steps; ends if the run does
      if line.startswith('step 10/'):
        break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=300)
  err = (tmp_path / 'err.txt').read_text()
  assert process.returncode == 143, err[-3000:]
  stopped_at = int(re.search(r'stopped by SIGTERM at step (\d+): checkpoint saved', err).group(1))
  _, _, step = _final_params(workdir)
  assert 10 <= stopped_at == step < 100_000
  resumed = run_python(_train_args(folder, workdir, stopped_at + 2, 50_000))
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f'resumed from the checkpoint of step {stopped_at}' in resumed.stdout + resumed.stderr


TWO_PROCESSES = textwrap.dedent('''
    import sys, jax, numpy as np
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
    from grm_jax.configs import tiny
    from grm_jax.training import trainer
    config = tiny.get_config()
    config.train_data, config.batch_size = 'folder:' + sys.argv[3], 4
''')


def _start_two_processes(script, folder, workdir, *per_process):
  """Two processes of TWO_PROCESSES + script on this machine's CPU, argv: coordinator, process id, folder, workdir,
  then per_process formatted with the process id i."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
  return [subprocess.Popen([sys.executable, '-c', TWO_PROCESSES + textwrap.dedent(script), f'127.0.0.1:{port}',
                            str(i), str(folder), str(workdir), *(a.format(i=i) for a in per_process)],
                           cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
          for i in range(2)]


def test_two_processes_train_together(tmp_path):
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  processes = _start_two_processes('''
      config.num_steps, config.checkpoint_every, config.log_every = 4, 100, 2
      state = trainer.train_and_evaluate(config, sys.argv[4])
      np.savez(sys.argv[5], *jax.tree_util.tree_leaves(state['params']))
  ''', folder, tmp_path / 'work', str(tmp_path / 'params{i}.npz'))
  outputs = [p.communicate(timeout=400)[0] for p in processes]
  assert all(p.returncode == 0 for p in processes), outputs[0][-2000:] + outputs[1][-2000:]
  assert 'step 4/4' in outputs[0] and 'step 4/4' not in outputs[1]  # only process 0 logs
  first, second = np.load(tmp_path / 'params0.npz'), np.load(tmp_path / 'params1.npz')
  assert len(first.files) > 10
  for name in first.files:
    np.testing.assert_array_equal(first[name], second[name])


def test_sigterm_to_one_of_several_processes_stops_them_all_at_one_step(tmp_path):
  """jax.distributed's preemption service: the process a scheduler signals and the others stop together."""
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  processes = _start_two_processes('''
      config.num_steps, config.checkpoint_every, config.log_every = 100_000, 5, 5
      try:
        trainer.train_and_evaluate(config, sys.argv[4])
      except trainer.TrainingStopped as stopped:
        print(stopped)
        sys.exit(143)
  ''', folder, tmp_path / 'work')
  deadline = time.time() + 300
  while time.time() < deadline and not any(p.poll() is not None for p in processes):
    if any(int(c.name) >= 10 for c in (tmp_path / 'work' / 'checkpoints').glob('*') if c.name.isdigit()):
      break
    time.sleep(0.05)
  processes[1].send_signal(signal.SIGTERM)
  outputs = [p.communicate(timeout=300)[0] for p in processes]
  assert [p.returncode for p in processes] == [143, 143], outputs[0][-2000:] + outputs[1][-2000:]
  steps = [int(re.search(r'stopped by SIGTERM at step (\d+)', out).group(1)) for out in outputs]
  _, _, saved = _final_params(tmp_path / 'work')
  assert steps[0] == steps[1] == saved and 10 <= saved < 100_000


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps, config.checkpoint_every = f'folder:{tmp_path / "images"}', 6, 2
  trainer.train_and_evaluate(config, str(tmp_path / 'work'))  # a healthy run to step 6
  config.num_steps, config.learning_rate, config.warmup_steps = 12, 1e30, 0  # then it diverges
  with pytest.raises(trainer.TrainingDiverged, match=r'the loss became nan at step \d+.*step 6\) is kept'):
    trainer.train_and_evaluate(config, str(tmp_path / 'work'))
  _, _, step = _final_params(tmp_path / 'work')
  assert step == 6
  params, _, _ = checkpoints.restore_latest_params(str(tmp_path / 'work' / 'checkpoints'))
  assert all(np.all(np.isfinite(p)) for p in jax.tree_util.tree_leaves(params))


def test_init_from_another_run(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps = f'folder:{tmp_path / "images"}', 3
  first = trainer.train_and_evaluate(config, str(tmp_path / 'first'))
  config.init_from, config.num_steps, config.learning_rate = 'first', 1, 0.0  # relative, as a user types it
  second = trainer.train_and_evaluate(config, str(tmp_path / 'second'))  # lr 0: the parameters pass through
  assert int(second['step']) == 1
  for a, b in zip(jax.tree_util.tree_leaves(first['params']), jax.tree_util.tree_leaves(second['params'])):
    np.testing.assert_array_equal(a, b)
  record = json.loads((tmp_path / 'second' / 'provenance.json').read_text())
  assert record['initialized_from']['steps'] == 3  # the fine-tuned run records the run it started from
  assert record['initialized_from']['path'] == 'first'  # as given: no path of this machine in the record
  config.num_steps = 2  # resuming keeps that record
  trainer.train_and_evaluate(config, str(tmp_path / 'second'))
  assert json.loads((tmp_path / 'second' / 'provenance.json').read_text())['initialized_from'] == \
      record['initialized_from']
  config.model.channels = 16  # another N: not a wider form of the run's model (models/widening.py)
  with pytest.raises(trainer.GrmError, match='does not match'):
    trainer.train_and_evaluate(config, str(tmp_path / 'mismatch'))


def test_init_from_an_exported_model_directory(tmp_path):
  from grm_jax.codec import model_dir
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps = f'folder:{tmp_path / "images"}', 3
  first = trainer.train_and_evaluate(config, str(tmp_path / 'first'))
  model_dir.export(first['params'], config, tmp_path / 'exported')
  config.init_from, config.num_steps, config.learning_rate = str(tmp_path / 'exported'), 1, 0.0
  third = trainer.train_and_evaluate(config, str(tmp_path / 'from_export'))
  for a, b in zip(jax.tree_util.tree_leaves(first['params']), jax.tree_util.tree_leaves(third['params'])):
    np.testing.assert_array_equal(a, b)


def _train_with_validation(tmp_path):
  """Two steps on 176-pixel crops (large enough for MS-SSIM), logging each, validating at the second."""
  write_image_folder(tmp_path / 'train', count=4, size=(180, 200))
  write_image_folder(tmp_path / 'val', count=3, size=(180, 200), seed=4)
  config = tiny.get_config()
  config.train_data, config.val_data = f'folder:{tmp_path / "train"}', f'folder:{tmp_path / "val"}'
  config.num_steps, config.eval_every, config.val_crop, config.log_every = 2, 2, 176, 1
  config.patch_size = 176
  trainer.train_and_evaluate(config, str(tmp_path / 'work'))
  return tmp_path / 'work' / 'tensorboard'


def test_validation_pass_and_the_ms_ssim_of_logging_steps(tmp_path, capsys):
  _train_with_validation(tmp_path)
  lines = capsys.readouterr().out.splitlines()
  steps = [line for line in lines if line.startswith('step ')]
  assert [line.split()[1] for line in steps] == ['1/2', '2/2']
  assert all(' ms-ssim 0.' in line or ' ms-ssim 1.' in line for line in steps), steps
  validation = [line for line in lines if line.startswith('validation at step 2: bpp')]
  assert len(validation) == 1 and 'ms_ssim' in validation[0]


@tensorflow_stage
def test_tensorboard_reads_the_event_files(tmp_path):
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
  events = event_accumulator.EventAccumulator(str(_train_with_validation(tmp_path)))
  events.Reload()
  tags = set(events.Tags()['scalars'])
  assert {'train/loss', 'train/bpp_y', 'train/bpp_z', 'train/psnr', 'train/ms_ssim', 'train/learning_rate',
          'train/steps_per_second', 'val/bpp', 'val/psnr', 'val/ms_ssim'} <= tags
  assert [event.step for event in events.Scalars('val/bpp')] == [2]
  assert [event.step for event in events.Scalars('train/loss')] == [1, 2]


def test_a_resumed_run_names_what_its_config_changes_from_the_checkpoints():
  config = tiny.get_config()
  saved = json.loads(config.to_json())
  config.learning_rate, config.model.latent_channels, config.log_every, config.num_steps = 3e-5, 16, 7, 99
  assert trainer.config_changes(saved, config) == ['learning_rate: 0.0001 -> 3e-05', 'model.latent_channels: 12 -> 16',
                                                   'num_steps: 1000000 -> 99']
  config.schedule = 'constant'  # num_steps no longer moves the learning rate; the schedule itself does
  assert trainer.config_changes(saved, config)[-1] == "schedule: 'step' -> 'constant'"
  assert not trainer.config_changes(json.loads(config.to_json()), config)


def test_time_limit_stops_at_a_logging_step_with_a_checkpoint_to_resume_from(tmp_path, capsys):
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps, config.log_every, config.checkpoint_every = \
      f'folder:{tmp_path / "images"}', 1000, 3, 1000
  config.time_limit_minutes = 1e-6
  state = trainer.train_and_evaluate(config, str(tmp_path / 'work'))
  assert int(state['step']) == 3
  assert 'time limit of 1e-06 min reached at step 3: checkpoint saved' in capsys.readouterr().out
  _, _, step = _final_params(tmp_path / 'work')
  assert step == 3
  assert json.loads((tmp_path / 'work' / 'provenance.json').read_text())['steps'] == 3


def test_parameter_bundle_round_trips_in_float16_chunks_and_refuses_a_damaged_chunk(tmp_path):
  from grm_jax.training import params_bundle
  config = tiny.get_config()
  params = trainer.init_state(models.build(config), optim.make_optimizer(config)[0], config)['params']
  files = params_bundle.write(tmp_path / 'run', params, config, 7, chunk_bytes=4096)
  assert len(files) > 3 and all(f.stat().st_size <= 4096 for f in files[1:])
  restored, saved_config, step = params_bundle.read(tmp_path / 'run')
  assert step == 7 and saved_config['model'] == json.loads(config.model.to_json())  # tuples become lists
  for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(restored)):
    assert b.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(a, np.float16).astype(np.float32), b)
  damaged = files[2].read_bytes()
  files[2].write_bytes(damaged[:-1] + bytes([damaged[-1] ^ 1]))
  with pytest.raises(trainer.GrmError, match=r'params.msgpack.001: damaged'):
    params_bundle.read(tmp_path / 'run')
  files[2].unlink()
  with pytest.raises(trainer.GrmError, match='unreadable parameter bundle'):
    params_bundle.read(tmp_path / 'run')


def test_a_run_never_mixes_into_a_folder_of_the_users(tmp_path):
  config = tiny.get_config()
  (tmp_path / 'notes.txt').write_text('mine')
  with pytest.raises(GrmError, match=r'holds files that are not a training run.s \(notes.txt\)'):
    trainer.train_and_evaluate(config, str(tmp_path))
  (tmp_path / 'file').write_text('mine too')
  with pytest.raises(GrmError, match='exists and is not a folder'):
    trainer.train_and_evaluate(config, str(tmp_path / 'file'))
  assert (tmp_path / 'notes.txt').read_text() == 'mine' and (tmp_path / 'file').read_text() == 'mine too'
  run = tmp_path / 'run'
  (run / 'checkpoints').mkdir(parents=True)
  (run / 'provenance.json').write_text('{}')
  trainer.check_workdir(str(run))  # a run's own workdir: resumed
  config.model.channels = 0
  with pytest.raises(GrmError, match='the config describes no model: model.channels must be an integer'):
    trainer.train_and_evaluate(config, str(tmp_path / 'new'))


def test_no_config_says_where_the_photographs_are(tmp_path):
  config = tiny.get_config()
  with pytest.raises(GrmError, match='no training data: set --config.train_data'):
    trainer.train_and_evaluate(config, str(tmp_path / 'run'))
  config.train_data = 'folder:photos'
  with pytest.raises(GrmError, match='photos: no such folder .relative folders are taken below --config.data_dir'):
    trainer.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()  # refused before anything is written
  write_image_folder(tmp_path / 'data' / 'photos', count=2)
  config.data_dir, config.num_steps = str(tmp_path / 'data'), 1
  assert int(trainer.train_and_evaluate(config, str(tmp_path / 'run'))['step']) == 1
