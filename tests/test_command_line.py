"""The command line as a daily tool: many files in one process, `-` and pipes, signals, the no-replace placement,
process memory limits, output formats, and the compilation cache a second process reuses."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from grm_jax import cli, compile_cache, image_io, outputs
from grm_jax.codec import memory
from grm_jax.errors import GrmError, Terminated, report_errors
from tests.helpers import REPO, export_tiny_model, run_python, write_image_folder


@pytest.fixture(scope='module')
def model(tmp_path_factory):
  return str(export_tiny_model(tmp_path_factory, 'hyperprior'))


@pytest.fixture
def photos(tmp_path):
  return write_image_folder(tmp_path / 'photos', count=3, size=(40, 48))


def _grm(args, env=None, **kwargs):
  """`python -m grm_jax ARGS` in a fresh process (bytes in and out)."""
  full_env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', **(env or {})}
  return subprocess.run([sys.executable, '-m', 'grm_jax'] + [str(a) for a in args], cwd=REPO, env=full_env,
                        capture_output=True, timeout=600, check=False, **kwargs)


# ---- many files in one process


def test_several_inputs_go_to_a_folder_and_a_bad_one_does_not_stop_the_others(capsys, model, photos, tmp_path):
  broken = tmp_path / 'photos' / 'broken.png'
  broken.write_bytes(b'not an image')
  out = tmp_path / 'out'
  out.mkdir()
  argv = ['compress', *map(str, photos), str(broken), '--out-dir', str(out), '--model', model]
  assert cli.main(argv) == 1
  err = capsys.readouterr().err
  assert 'broken.png: not an image' in err and '3 of 4 files compressed' in err and '1 of 4 files failed' in err
  assert sorted(p.name for p in out.iterdir()) == sorted(p.stem + '.grm' for p in photos)
  decoded = tmp_path / 'decoded'
  decoded.mkdir()
  assert cli.main(['decompress', *map(str, sorted(out.iterdir())), '--out-dir', str(decoded), '--model', model]) == 0
  for photo in photos:  # the same pixels as one file at a time
    single = tmp_path / f'{photo.stem}.single.png'
    assert cli.main(['decompress', str(out / f'{photo.stem}.grm'), str(single), '--model', model]) == 0
    assert np.array_equal(image_io.read_image(decoded / f'{photo.stem}.png'), image_io.read_image(single))


def test_outputs_of_a_batch_are_checked_before_any_work(capsys, model, photos, tmp_path):
  out = tmp_path / 'out'
  out.mkdir()
  (out / f'{photos[1].stem}.grm').write_bytes(b'mine')
  assert cli.main(['compress', *map(str, photos), '--out-dir', str(out), '--model', model]) == 1
  assert 'exists; refusing' in capsys.readouterr().err
  assert sorted(p.name for p in out.iterdir()) == [f'{photos[1].stem}.grm']  # nothing coded, nothing replaced
  twins = [photos[0], tmp_path / 'other' / photos[0].name]
  twins[1].parent.mkdir()
  shutil.copy(photos[0], twins[1])
  assert cli.main(['compress', *map(str, twins), '--out-dir', str(out), '--model', model]) == 1
  assert 'share a name' in capsys.readouterr().err
  assert cli.main(['compress', str(photos[0]), '--model', model]) == 1
  assert 'give an input and an output' in capsys.readouterr().err


# ---- standard input and output, pipes


def test_dash_is_standard_input_and_output_and_the_summary_goes_to_stderr(model, photos, tmp_path):
  by_name = tmp_path / 'a.grm'
  assert _grm(['compress', photos[0], by_name, '--model', model]).returncode == 0
  piped = _grm(['compress', '-', '-', '--model', model], input=photos[0].read_bytes())
  assert piped.returncode == 0, piped.stderr.decode()[-2000:]
  assert piped.stdout == by_name.read_bytes()  # the data alone on stdout
  assert b' -> -: ' in piped.stderr
  decoded = _grm(['decompress', '-', '-', '--model', model], input=piped.stdout)
  assert decoded.returncode == 0 and decoded.stdout.startswith(b'\x89PNG')
  through_a_pipe = subprocess.run(f'"{sys.executable}" -m grm_jax decompress "{by_name}" /dev/stdout --model "{model}"'
                                  ' | cat',
                                  shell=True, cwd=REPO, capture_output=True, timeout=600, check=False)
  assert through_a_pipe.returncode == 0 and through_a_pipe.stdout == decoded.stdout
  empty = _grm(['decompress', '-', tmp_path / 'x.png', '--model', model], input=b'')
  assert empty.returncode == 1 and len(empty.stderr.decode().strip().splitlines()) == 1


# ---- signals and placement


@pytest.mark.parametrize('name', ['SIGTERM', 'SIGHUP', 'SIGINT'])
def test_a_terminating_signal_removes_the_temporary_file_and_says_so_in_one_line(name, tmp_path, capsys):
  (tmp_path / 'kept.grm').write_bytes(b'what the user had')

  def interrupted_write():
    with outputs.output(tmp_path / 'new.grm') as tmp:
      tmp.write_bytes(b'half')
      os.kill(os.getpid(), getattr(signal, name))
      raise AssertionError('the signal did not stop the write')

  before = signal.getsignal(signal.SIGTERM)
  number = getattr(signal, name)
  assert report_errors('grm', interrupted_write) == 128 + number
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and ('interrupted' in err or name in err)
  assert sorted(p.name for p in tmp_path.iterdir()) == ['kept.grm']  # no .partial left, nothing new
  assert signal.getsignal(signal.SIGTERM) == before  # the handler is the caller's again


def test_sigterm_ends_a_real_process_by_the_signal_in_one_line(model, tmp_path):
  big = tmp_path / 'big.png'
  Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(big)
  process = subprocess.Popen([sys.executable, '-m', 'grm_jax', 'compress', str(big), str(tmp_path / 'b.grm'),
                              '--model', model], cwd=REPO, stderr=subprocess.PIPE)
  import time  # pylint: disable=import-outside-toplevel
  time.sleep(3)  # inside the imports or the coding: either way a clean end
  process.send_signal(signal.SIGTERM)
  _, err = process.communicate(timeout=120)
  if process.returncode == 0:
    pytest.skip('the process finished before the signal')
  # it ends by the signal itself, as a shell's loop needs to stop (the shell shows 128 + 15)
  assert process.returncode == -signal.SIGTERM, err.decode()[-2000:]
  assert err.decode().strip().splitlines()[-1] == 'grm: stopped by SIGTERM'
  assert [p.name for p in tmp_path.iterdir()] == ['big.png']


def test_a_file_that_appears_meanwhile_is_never_replaced(tmp_path):
  destination = tmp_path / 'out.grm'
  with pytest.raises(GrmError, match='appeared while this command ran'):
    with outputs.output(destination) as tmp:
      tmp.write_bytes(b'ours')
      destination.write_bytes(b'theirs')  # another program, between the check and the placement
  assert destination.read_bytes() == b'theirs'
  assert sorted(p.name for p in tmp_path.iterdir()) == ['out.grm']
  with outputs.output(destination, force=True) as tmp:  # asked to: replaced
    tmp.write_bytes(b'ours')
  assert destination.read_bytes() == b'ours'


# ---- memory limits


def test_the_memory_check_sees_the_process_limit(monkeypatch):
  import resource  # pylint: disable=import-outside-toplevel
  status = memory._proc_status_bytes(('VmSize', 'VmData'))  # pylint: disable=protected-access
  assert status['VmSize'] > 0 and status['VmData'] > 0
  limit = status['VmSize'] + 100 * 2**20
  real = resource.getrlimit
  monkeypatch.setattr(resource, 'getrlimit', lambda which: (limit, limit) if which == resource.RLIMIT_AS
                      else real(which))
  free = memory.available_bytes()
  assert free is not None and free <= 101 * 2**20  # what the limit leaves, not the machine's free memory


def test_a_photo_above_the_process_limit_is_one_line(tmp_path):
  if shutil.which('prlimit') is None:
    pytest.skip('prlimit is not installed')
  big = tmp_path / 'big.png'
  Image.fromarray(np.random.default_rng(0).integers(0, 256, (2048, 3072, 3), np.uint8)).save(big)
  probe = subprocess.run([sys.executable, '-c', 'import jax, grm_jax.cli; jax.numpy.zeros(1);'
                          'print(open("/proc/self/status").read())'], capture_output=True, text=True, check=True)
  vm_size = next(int(line.split()[1]) for line in probe.stdout.splitlines() if line.startswith('VmSize:')) * 1024
  # room for the default model and the image, not for its analysis transform of 6 megapixels (about 260 bytes a
  # pixel: 1.6 GB)
  limit = vm_size + 1024 * 2**20
  result = subprocess.run(['prlimit', f'--as={limit}', sys.executable, '-m', 'grm_jax', 'compress', str(big),
                           str(tmp_path / 'big.grm')], cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
  assert result.returncode == 1, result.stderr[-2000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and ('memory' in lines[0]), result.stderr[-2000:]
  assert not (tmp_path / 'big.grm').exists()


# ---- output formats and transparency


def test_decompress_writes_the_lossless_format_its_extension_names(capsys, model, photos, tmp_path):
  coded = tmp_path / 'a.grm'
  assert cli.main(['compress', str(photos[0]), str(coded), '--model', model]) == 0
  assert cli.main(['decompress', str(coded), str(tmp_path / 'a.png'), '--model', model]) == 0
  reference = image_io.read_image(tmp_path / 'a.png')
  for suffix, pillow_format in (('.tif', 'TIFF'), ('.ppm', 'PPM'), ('.bmp', 'BMP'), ('.webp', 'WEBP')):
    path = tmp_path / f'a{suffix}'
    assert cli.main(['decompress', str(coded), str(path), '--model', model]) == 0
    with Image.open(path) as written:
      assert written.format == pillow_format
    assert np.array_equal(image_io.read_image(path), reference), suffix  # lossless: the same pixels
  capsys.readouterr()
  assert cli.main(['decompress', str(coded), str(tmp_path / 'a.jpg'), '--model', model]) == 1
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and 'not a lossless format' in err and not (tmp_path / 'a.jpg').exists()
  assert cli.main(['decompress', str(coded), str(tmp_path / 'plain'), '--model', model]) == 0
  assert 'written as PNG' in capsys.readouterr().err
  with Image.open(tmp_path / 'plain') as written:
    assert written.format == 'PNG'


def test_dropped_transparency_is_said(tmp_path):
  rgba = np.zeros((8, 8, 4), np.uint8)
  rgba[..., 3] = 128
  Image.fromarray(rgba, 'RGBA').save(tmp_path / 'a.png')
  palette = Image.new('P', (8, 8))
  palette.info['transparency'] = 0
  palette.save(tmp_path / 'p.png', transparency=0)
  for name in ('a.png', 'p.png'):
    notes = []
    image_io.read_image(tmp_path / name, notes)
    assert any('transparency (alpha) is dropped' in note for note in notes), (name, notes)


# ---- the compilation cache


def test_the_cache_folder_is_per_machine_and_can_be_moved_or_switched_off(tmp_path):
  assert compile_cache.base_folder({'GRM_CACHE_DIR': 'off'}) is None
  assert compile_cache.base_folder({'GRM_CACHE_DIR': ''}) is None
  assert compile_cache.base_folder({'GRM_CACHE_DIR': str(tmp_path)}) == tmp_path
  assert compile_cache.base_folder({'XDG_CACHE_HOME': str(tmp_path)}) == tmp_path / 'grm_jax'
  assert compile_cache.base_folder({'HOME': str(tmp_path)}).name == 'grm_jax'
  # programs compiled under other XLA flags (an instruction set held lower, say) never share a folder
  assert compile_cache.machine_key({}) != compile_cache.machine_key({'XLA_FLAGS': '--xla_cpu_max_isa=SSE4_2'})
  assert compile_cache.machine_key({}) == compile_cache.machine_key({})


def test_a_second_process_hits_the_cache_and_codes_the_same_bytes(model, photos, tmp_path):
  cache = tmp_path / 'cache'
  env = {'GRM_CACHE_DIR': str(cache)}
  first = _grm(['compress', photos[0], tmp_path / 'first.grm', '--model', model], env=env)
  assert first.returncode == 0, first.stderr.decode()[-2000:]
  (folder,) = cache.iterdir()
  entries = sorted(p.name for p in folder.iterdir() if p.name.endswith('-cache'))
  assert entries, list(folder.iterdir())
  # beside the programs: the model's parameter shapes, and that its files (named by their hash) passed the checks
  assert {p.name.split('-')[1] for p in folder.glob('grm-*.json')} == {'parameter', 'checked'}
  second = _grm(['compress', photos[0], tmp_path / 'second.grm', '--model', model], env=env)
  assert second.returncode == 0, second.stderr.decode()[-2000:]
  assert (tmp_path / 'first.grm').read_bytes() == (tmp_path / 'second.grm').read_bytes()
  # every program the second process needed was there: it compiled nothing new
  assert sorted(p.name for p in folder.iterdir() if p.name.endswith('-cache')) == entries
  isa = _grm(['decompress', tmp_path / 'first.grm', tmp_path / 'isa.png', '--model', model],
             env={**env, 'XLA_FLAGS': '--xla_cpu_max_isa=SSE4_2'} if os.uname().machine == 'x86_64' else env)
  assert isa.returncode == 0, isa.stderr.decode()[-2000:]
  if os.uname().machine == 'x86_64':
    assert len(list(cache.iterdir())) == 2  # another instruction set: another folder
