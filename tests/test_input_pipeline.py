"""The training input pipelines: shapes, determinism, sharding, corrupt and small files, no TensorFlow."""
import numpy as np
import pytest

from grm_jax.errors import GrmError
from grm_jax.training import input_pipeline
from tests.helpers import run_python, tensorflow_stage, write_image_folder


@pytest.fixture
def folder(tmp_path):
  write_image_folder(tmp_path / 'images', count=5)
  return tmp_path / 'images'


def test_folder_batches_have_the_right_shape_and_are_deterministic(folder):
  loader = input_pipeline.BatchLoader(input_pipeline.open_source(f'folder:{folder}'), 4, 32, seed=3)
  images, ids = loader.batch(7)
  assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
  np.testing.assert_array_equal(ids, [28, 29, 30, 31])
  np.testing.assert_array_equal(loader.batch(7)[0], images)
  assert not np.array_equal(loader.batch(8)[0], images)
  streamed = loader.iterate(7)
  np.testing.assert_array_equal(next(streamed)[0], images)
  np.testing.assert_array_equal(next(streamed)[0], loader.batch(8)[0])


def test_processes_split_the_global_batch(folder):
  source = input_pipeline.open_source(f'folder:{folder}')
  whole = input_pipeline.BatchLoader(source, 4, 32, seed=1).batch(2)[0]
  halves = [input_pipeline.BatchLoader(source, 4, 32, seed=1, process_index=p, process_count=2).batch(2)[0]
            for p in range(2)]
  np.testing.assert_array_equal(np.concatenate(halves), whole)


def test_every_file_is_seen_once_per_epoch(folder):
  class RecordingSource(input_pipeline.FolderSource):
    def load(self, index):
      self.loaded.append(index)
      return super().load(index)

  source = RecordingSource(folder)
  source.loaded = []
  loader = input_pipeline.BatchLoader(source, 5, 16, seed=0)
  loader.batch(0)
  assert sorted(source.loaded) == [0, 1, 2, 3, 4]
  loader.batch(1)  # the next epoch: a different order of the same files
  assert sorted(source.loaded[5:]) == [0, 1, 2, 3, 4]


def test_corrupt_file_is_skipped_with_a_warning(folder, caplog):
  (folder / 'broken.png').write_bytes(b'not a png at all')
  loader = input_pipeline.BatchLoader(input_pipeline.open_source(str(folder)), 6, 32)
  for step in range(3):
    assert loader.batch(step)[0].shape == (6, 32, 32, 3)
  assert 'broken.png' in caplog.text


def test_small_images_are_padded_or_skipped(tmp_path):
  write_image_folder(tmp_path / 'mixed', count=2, size=(20, 24), seed=1)
  write_image_folder(tmp_path / 'mixed' / 'big', count=1, size=(64, 64), seed=2)
  padded = input_pipeline.BatchLoader(input_pipeline.open_source(str(tmp_path / 'mixed')), 3, 48)
  assert padded.batch(0)[0].shape == (3, 48, 48, 3)
  skipping = input_pipeline.BatchLoader(input_pipeline.open_source(str(tmp_path / 'mixed')), 3, 48,
                                        small_images='skip')
  batch = skipping.batch(0)[0]
  big = input_pipeline.open_source(str(tmp_path / 'mixed' / 'big')).load(0)
  for crop in batch:  # all three come from the one image large enough
    assert any(np.array_equal(crop[::fy, ::fx], big[r:r + 48, c:c + 48]) for fy in (1, -1) for fx in (1, -1)
               for r in range(17) for c in range(17))


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
  with pytest.raises(GrmError, match='no such folder'):
    input_pipeline.open_source(f'folder:{tmp_path / "nope"}')
  (tmp_path / 'empty').mkdir()
  with pytest.raises(GrmError, match='no PNG or JPEG'):
    input_pipeline.open_source(f'folder:{tmp_path / "empty"}')


def test_held_out_images_are_left_out_of_training_and_are_what_evaluation_reads(folder):
  from grm_jax import evaluation  # pylint: disable=import-outside-toplevel
  source = input_pipeline.open_source('folder:images', data_dir=str(folder.parent), held_out='images/img[13].*')
  assert sorted(p.name for p in source.paths) == ['img0.png', 'img2.png', 'img4.png'] and source.held_out_count == 2
  images, _ = evaluation.load_images(str(folder / 'img[13].*'))
  assert [name for name, _ in images] == ['img1.jpg', 'img3.jpg']
  one = input_pipeline.open_source(f'folder:{folder}', held_out=str(folder / 'img0.png'))  # a file is a pattern too
  assert one.held_out_count == 1
  assert [name for name, _ in evaluation.load_images(folder / 'img0.png')[0]] == ['img0.png']


def test_held_out_patterns_that_hold_out_nothing_or_everything_are_refused(folder, tmp_path):
  with pytest.raises(GrmError, match='no PNG or JPEG images match'):  # a typo must not train on the test set
    input_pipeline.open_source(f'folder:{folder}', held_out=str(folder / 'img9*'))
  write_image_folder(tmp_path / 'elsewhere', count=1)
  with pytest.raises(GrmError, match='none of these images is in'):
    input_pipeline.open_source(f'folder:{folder}', held_out=f"{folder / 'img1.*'},{tmp_path / 'elsewhere' / '*'}")
  with pytest.raises(GrmError, match='but the held-out ones'):
    input_pipeline.open_source(f'folder:{folder}', held_out=str(folder / '*'))
  with pytest.raises(GrmError, match='slice'):
    input_pipeline.open_source('tfds:kodak', held_out='x*')


def test_a_folder_with_a_bracket_in_its_name_is_a_folder_not_a_pattern(tmp_path):
  write_image_folder(tmp_path / 'photos [2024]', count=3)
  assert len(input_pipeline.open_source(str(tmp_path / 'photos [2024]'))) == 3


def test_folder_pipeline_does_not_import_tensorflow(folder):
  code = ('import sys; from grm_jax.training import input_pipeline as ip, trainer; '
          f'l = ip.BatchLoader(ip.open_source("folder:{folder}"), 2, 32); next(l.iterate(0)); '
          'print(sorted(m for m in sys.modules if m.startswith("tensorflow")))')
  result = run_python(['-c', code])
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == '[]'


@tensorflow_stage
def test_tfds_dataset_built_locally(tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  class TinyImages(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
          {'image': tfds.features.Image(shape=(None, None, 3))}))

    def _split_generators(self, dl_manager):
      return {'train': self._generate_examples(7)}

    def _generate_examples(self, count):
      rng = np.random.default_rng(0)
      for i in range(count):
        yield i, {'image': rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)}

  TinyImages(data_dir=str(tmp_path)).download_and_prepare()
  source = input_pipeline.TfdsSource('tiny_images', 'train', data_dir=str(tmp_path))
  assert len(source) == 7
  loader = input_pipeline.BatchLoader(source, 3, 32, seed=0)
  images, _ = loader.batch(1)
  assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
  np.testing.assert_array_equal(loader.batch(1)[0], images)
  with pytest.raises(GrmError, match='cannot open'):
    input_pipeline.TfdsSource('no_such_dataset_here', 'train', data_dir=str(tmp_path))
