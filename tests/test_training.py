"""Training: every family learns, pmap matches one device, a killed run resumes exactly, multi-process works."""
import json
import os
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

from configs import tiny
from grm_jax import losses, models
from grm_jax.training import checkpoints, optim, trainer
from tests.helpers import REPO, run_python, write_image_folder


def _eval_loss(model, params, x, config):
  out = model.apply({'params': params}, x, train=False)
  return float(losses.rate_distortion_loss(out, x, config.lambda_)[0])


@pytest.mark.parametrize('family', models.FAMILIES)
def test_a_few_steps_reduce_the_loss_on_a_fixed_batch(family, natural_image):
  config = tiny.get_config()
  config.model.family = family
  config.learning_rate = 3e-3
  config.num_steps = 15
  model = models.build(config)
  optimizer, _ = optim.make_optimizer(config)
  state = trainer.init_state(model, optimizer, config)
  images = (np.stack([natural_image[:64, :64], natural_image[200:264, 300:364]]) * 255).astype(np.uint8)
  x = jnp.asarray(images, jnp.float32) / 255.0
  before = _eval_loss(model, state['params'], x, config)
  step = jax.pmap(trainer.make_train_step(model, optimizer, config), axis_name=trainer.AXIS,
                  devices=jax.local_devices()[:1])
  replicated = jax.device_put_replicated(state, jax.local_devices()[:1])
  for _ in range(config.num_steps):
    replicated, _ = step(replicated, images[None], np.arange(2, dtype=np.int32)[None])
  after = _eval_loss(model, jax.tree_util.tree_map(lambda p: p[0], replicated['params']), x, config)
  assert after < 0.7 * before, (before, after)


PMAP_SCRIPT = textwrap.dedent('''
    import jax, numpy as np
    from configs import tiny
    from grm_jax import models
    from grm_jax.training import optim, trainer
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
      n = len(devices)
      step = jax.pmap(trainer.make_train_step(model, optimizer, config), axis_name=trainer.AXIS, devices=devices)
      new, summary = step(jax.device_put_replicated(state, devices), images.reshape(n, 4 // n, 64, 64, 3),
                          ids.reshape(n, 4 // n))
      leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(new['params'])]
      assert all(np.array_equal(leaf[0], leaf[i]) for leaf in leaves for i in range(n)), 'replicas differ'
      results.append(([leaf[0] for leaf in leaves], float(summary['loss'][0])))
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
  assert loss4 == pytest.approx(loss1, rel=1e-5)
  assert moved > 1e-5  # the step did update the parameters (Adam moves each by about the learning rate)
  assert worst < 2e-6, f'parameters differ by {worst} after one step on 4 devices vs 1'


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


DISTRIBUTED_SCRIPT = textwrap.dedent('''
    import sys, jax, numpy as np
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
    from configs import tiny
    from grm_jax.training import trainer
    config = tiny.get_config()
    config.train_data, config.num_steps, config.batch_size = 'folder:' + sys.argv[3], 4, 4
    config.checkpoint_every, config.log_every = 100, 2
    state = trainer.train_and_evaluate(config, sys.argv[4])
    np.savez(sys.argv[5], *jax.tree_util.tree_leaves(state['params']))
''')


def test_two_processes_train_together(tmp_path):
  folder = tmp_path / 'images'
  write_image_folder(folder, count=6)
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
  processes = [subprocess.Popen([sys.executable, '-c', DISTRIBUTED_SCRIPT, f'127.0.0.1:{port}', str(i),
                                 str(folder), str(tmp_path / 'work'), str(tmp_path / f'params{i}.npz')],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(2)]
  outputs = [p.communicate(timeout=400)[0] for p in processes]
  assert all(p.returncode == 0 for p in processes), outputs[0][-2000:] + outputs[1][-2000:]
  assert 'step 4/4' in outputs[0] and 'step 4/4' not in outputs[1]  # only process 0 logs
  first, second = np.load(tmp_path / 'params0.npz'), np.load(tmp_path / 'params1.npz')
  assert len(first.files) > 10
  for name in first.files:
    np.testing.assert_array_equal(first[name], second[name])


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


def test_init_from_another_run(tmp_path):
  write_image_folder(tmp_path / 'images', count=4, size=(64, 64))
  config = tiny.get_config()
  config.train_data, config.num_steps = f'folder:{tmp_path / "images"}', 3
  first = trainer.train_and_evaluate(config, str(tmp_path / 'first'))
  config.init_from, config.num_steps, config.learning_rate = str(tmp_path / 'first'), 1, 0.0
  second = trainer.train_and_evaluate(config, str(tmp_path / 'second'))  # lr 0: the parameters pass through
  assert int(second['step']) == 1
  for a, b in zip(jax.tree_util.tree_leaves(first['params']), jax.tree_util.tree_leaves(second['params'])):
    np.testing.assert_array_equal(a, b)
  record = json.loads((tmp_path / 'second' / 'provenance.json').read_text())
  assert record['initialized_from']['steps'] == 3  # the fine-tuned run records the run it started from
  assert record['initialized_from']['path'] == str(tmp_path / 'first')
  config.num_steps = 2  # resuming keeps that record
  trainer.train_and_evaluate(config, str(tmp_path / 'second'))
  assert json.loads((tmp_path / 'second' / 'provenance.json').read_text())['initialized_from'] == \
      record['initialized_from']
  config.num_steps = 1
  from grm_jax.codec import model_dir
  model_dir.export(first['params'], config, tmp_path / 'exported')  # a model directory works as well
  config.init_from = str(tmp_path / 'exported')
  third = trainer.train_and_evaluate(config, str(tmp_path / 'from_export'))
  for a, b in zip(jax.tree_util.tree_leaves(first['params']), jax.tree_util.tree_leaves(third['params'])):
    np.testing.assert_array_equal(a, b)
  config.model.hidden = 32
  with pytest.raises(trainer.GrmError, match='does not match'):
    trainer.train_and_evaluate(config, str(tmp_path / 'mismatch'))


def test_validation_pass_and_tensorboard_events(tmp_path, capsys):
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
  write_image_folder(tmp_path / 'train', count=4, size=(64, 64))
  write_image_folder(tmp_path / 'val', count=3, size=(180, 200), seed=4)
  config = tiny.get_config()
  config.train_data, config.val_data = f'folder:{tmp_path / "train"}', f'folder:{tmp_path / "val"}'
  config.num_steps, config.eval_every, config.val_crop, config.log_every = 2, 2, 176, 1
  trainer.train_and_evaluate(config, str(tmp_path / 'work'))
  output = capsys.readouterr().out
  assert 'step 1/2' in output and 'validation at step 2: bpp' in output and 'ms_ssim' in output
  events = EventAccumulator(str(tmp_path / 'work' / 'tensorboard'))
  events.Reload()
  tags = set(events.Tags()['scalars'])
  assert {'train/loss', 'train/bpp_y', 'train/bpp_z', 'train/psnr', 'train/learning_rate',
          'train/steps_per_second', 'val/bpp', 'val/psnr', 'val/ms_ssim'} <= tags
  assert [event.step for event in events.Scalars('val/bpp')] == [2]
