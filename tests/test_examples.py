"""The examples/ programs run as a researcher runs them (small sizes): their own transforms, or the shipped
transforms with another entropy model, trained, exported, and real .grm files decoded exactly."""
import pytest

from tests.helpers import run_python, write_image_folder


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
  folder = tmp_path_factory.mktemp('photos')
  write_image_folder(folder, count=3, size=(80, 96))
  return folder


def _run_example(args):
  result = run_python(args)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  return result.stdout


def test_own_transforms_with_the_grm_entropy_model(photos, tmp_path):
  out = _run_example(['examples/own_transforms.py', '--data', str(photos), '--workdir', str(tmp_path / 'own'),
                      '--config', 'tiny', '--features', '16', '--steps', '4', '--patch', '64'])
  assert out.count('decoded exactly') == 2
  assert (tmp_path / 'own' / 'model' / 'model.json').is_file() and len(list((tmp_path / 'own').glob('*.grm'))) == 2


def test_shipped_transforms_with_another_entropy_model(photos, tmp_path):
  out = _run_example(['examples/swap_entropy_model.py', '--data', str(photos), '--workdir', str(tmp_path / 'swap'),
                      '--family', 'mean_scale', '--steps', '4', '--patch', '64'])
  kept = out.split('kept from grm-small: ')[1].splitlines()[0].split(', ')
  assert {'g_a', 'g_s'} <= set(kept) and 'y_parameters' not in kept
  assert out.count('decoded exactly') == 4
