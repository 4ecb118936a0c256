"""The output rule (grm_jax/outputs.py): no command destroys what the user has unless asked, and write errors are
one line. Each case checks that what the user had is still there."""
import os
import stat

import pytest

import evaluate
from grm_jax import cli, image_io, outputs
from grm_jax.errors import GrmError
from tests.helpers import export_tiny_model, write_image_folder


@pytest.fixture(scope='module')
def model(tmp_path_factory):
  return str(export_tiny_model(tmp_path_factory, 'hyperprior'))


@pytest.fixture
def photo(tmp_path):
  return write_image_folder(tmp_path / 'photos', count=1, size=(40, 48))[0]


def _fails(capsys, argv, message):
  assert cli.main(argv) == 1
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and message in err, err


def test_an_input_is_never_overwritten(capsys, model, photo, tmp_path):
  original = photo.read_bytes()
  _fails(capsys, ['compress', str(photo), str(photo), '--model', model], 'is also an input')
  _fails(capsys, ['roundtrip', str(photo), '--model', model, '--out-dir', str(photo.parent)], 'is also an input')
  assert photo.read_bytes() == original


def test_an_existing_file_needs_force_and_keeps_its_mode(capsys, model, photo, tmp_path):
  out = tmp_path / 'out.grm'
  out.write_bytes(b'precious')
  os.chmod(out, 0o640)
  _fails(capsys, ['compress', str(photo), str(out), '--model', model], 'exists')
  assert out.read_bytes() == b'precious'
  assert cli.main(['compress', str(photo), str(out), '--model', model, '--force']) == 0
  assert out.read_bytes()[:4] == b'GRMJ' and stat.S_IMODE(out.stat().st_mode) == 0o640
  png = tmp_path / 'out.png'
  png.write_bytes(b'precious')
  _fails(capsys, ['decompress', str(out), str(png), '--model', model], 'exists')
  assert png.read_bytes() == b'precious'
  assert cli.main(['decompress', str(out), str(png), '--model', model, '-f']) == 0
  assert image_io.read_image(png).shape == (40, 48, 3)


def test_a_new_file_gets_the_usual_mode(model, photo, tmp_path):
  previous = os.umask(0o022)
  try:
    assert cli.main(['compress', str(photo), str(tmp_path / 'new.grm'), '--model', model]) == 0
  finally:
    os.umask(previous)
  assert stat.S_IMODE((tmp_path / 'new.grm').stat().st_mode) == 0o644


def test_a_symbolic_link_is_written_through_and_a_device_written_to(capsys, model, photo, tmp_path):
  target = tmp_path / 'target.grm'
  link = tmp_path / 'link.grm'
  link.symlink_to(target)
  assert cli.main(['compress', str(photo), str(link), '--model', model]) == 0  # a dangling link: its target made
  assert link.is_symlink() and target.read_bytes()[:4] == b'GRMJ'
  _fails(capsys, ['compress', str(photo), str(link), '--model', model], 'exists')  # the target exists now
  assert cli.main(['compress', str(photo), str(link), '--model', model, '--force']) == 0
  assert link.is_symlink()
  assert cli.main(['decompress', str(target), os.devnull, '--model', model]) == 0
  assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
  assert sorted(p.name for p in tmp_path.iterdir()) == ['link.grm', 'photos', 'target.grm']


def test_write_errors_are_one_line_and_leave_nothing(capsys, model, photo, tmp_path):
  _fails(capsys, ['compress', str(photo), str(tmp_path / ('x' * 300 + '.grm')), '--model', model],
         'cannot write')
  if os.path.exists('/dev/full'):  # a full disk
    _fails(capsys, ['compress', str(photo), '/dev/full', '--model', model], 'cannot write')
  _fails(capsys, ['compress', str(photo), str(tmp_path / 'no' / 'such' / 'x.grm'), '--model', model],
         'does not exist')
  assert sorted(p.name for p in tmp_path.iterdir()) == ['photos']
  with pytest.raises(GrmError, match='cannot write'):
    with outputs.output(tmp_path / 'x.bin'):
      raise OSError(28, 'No space left on device')
  assert not list(tmp_path.glob('.grm-*')) and not (tmp_path / 'x.bin').exists()


def test_export_writes_into_a_new_or_empty_folder_only(capsys, model, tmp_path):
  users = tmp_path / 'users'
  (users / 'sub').mkdir(parents=True)
  (users / 'notes.txt').write_text('mine')
  _fails(capsys, ['export', model, str(users)], 'not empty')
  assert (users / 'notes.txt').read_text() == 'mine' and (users / 'sub').is_dir()
  a_file = tmp_path / 'a_file'
  a_file.write_text('mine')
  _fails(capsys, ['export', model, str(a_file)], 'not a folder')
  assert a_file.read_text() == 'mine' and not list(tmp_path.glob('*.old'))
  empty = tmp_path / 'empty'
  empty.mkdir()
  inode = empty.stat().st_ino
  assert cli.main(['export', model, str(empty)]) == 0
  assert empty.stat().st_ino == inode and (empty / 'model.json').is_file()
  assert cli.main(['export', model, str(tmp_path / 'new' / 'model')]) == 0
  assert not list(tmp_path.glob('.grm-*'))


def test_evaluate_and_inspect_refuse_to_overwrite(capsys, model, photo, tmp_path, tmp_path_factory):
  out = tmp_path / 'results.json'
  out.write_text('mine')
  assert evaluate.main(['--model', model, '--data', str(photo.parent), '--out', str(out), '--estimate']) == 1
  assert 'exists' in capsys.readouterr().err and out.read_text() == 'mine'
  grm = str(export_tiny_model(tmp_path_factory, 'grm'))
  figure = photo.with_suffix('.png')
  assert figure == photo  # the photo is a PNG: the figure would replace it
  _fails(capsys, ['inspect', str(photo), '--model', grm, '--figure', str(figure)], 'is also an input')
  assert image_io.read_image(photo).shape == (40, 48, 3)
