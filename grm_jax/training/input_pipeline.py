"""Training batches: random crops and flips of images from a folder or a tensorflow-datasets dataset.

The data order is a pure function of (seed, step): sample g of the run (g = step * global_batch + k) comes from
a per-epoch permutation and gets its crop from a generator seeded by (seed, g). A run resumed at step s therefore
sees exactly the batches an uninterrupted run would, without saving any loader state, and each process of a
multi-host run decodes only its own slice of every global batch.

`folder:PATH` needs only Pillow and numpy: it must work where TensorFlow is not installed.
"""
import concurrent.futures
import glob
import logging
import os
import queue
import threading

import numpy as np

from grm_jax import image_io
from grm_jax.errors import GrmError

SMALL_IMAGE_RULES = ('pad', 'skip')


class FolderSource:
  """Every PNG and JPEG below one or more folders (comma-separated), read on demand; a file that cannot be decoded
  is reported once."""

  def __init__(self, folders, held_out=()):
    """held_out: glob patterns of images to leave out, each naming at least one image of the folders."""
    listed = [path for folder in str(folders).split(',') for path in image_io.list_images(folder)]
    resolved = {path.resolve() for path in listed}
    held = set()
    for pattern in held_out:
      named = {path.resolve() for path in image_io.list_images(pattern)}
      if not named & resolved:  # a typo must not leave the test set in training
        raise GrmError(f"held_out {pattern}: none of these images is in {folders}")
      held |= named
    self.paths = [path for path in listed if path.resolve() not in held]
    self.held_out_count = len(listed) - len(self.paths)
    if not self.paths:
      raise GrmError(f"{folders}: no PNG or JPEG images found" + (" but the held-out ones" if held else ""))
    self._warned = set()

  def __len__(self):
    return len(self.paths)

  def load(self, index):
    """uint8 [H, W, 3], or None for a corrupt file."""
    try:
      return image_io.read_image(self.paths[index])
    except GrmError as error:
      if index not in self._warned:
        self._warned.add(index)
        logging.warning("skipping %s", error)
      return None


class TfdsSource:
  """Images of a tensorflow-datasets split, by random access.

  Datasets prepared in the array_record format (tfds's `file_format='array_record'`) are read through tfds's
  data source, on demand. Others are read once as encoded bytes held in memory (decoded with Pillow when used):
  fine for small splits; prepare large ones as array_record.
  """

  def __init__(self, name, split='train', data_dir=None):
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    self.name = f'{name}:{split}'
    try:
      builder = tfds.builder(name, data_dir=data_dir)
      try:
        self._random_access = builder.as_data_source(split=split)
        self._encoded = None
      except Exception:  # not array_record: read the encoded images once
        self._random_access = None
        dataset = builder.as_dataset(split=split, decoders={'image': tfds.decode.SkipDecoding()},
                                     shuffle_files=False)
        self._encoded = [example['image'] for example in dataset.as_numpy_iterator()]
    except GrmError:
      raise
    except Exception as error:  # tfds raises many types for a missing or unprepared dataset
      raise GrmError(f"tfds:{name}:{split}: cannot open ({type(error).__name__}: {error})") from None

  def __len__(self):
    return len(self._random_access) if self._random_access is not None else len(self._encoded)

  def load(self, index):
    import io  # pylint: disable=import-outside-toplevel
    from PIL import Image  # pylint: disable=import-outside-toplevel
    try:
      if self._random_access is not None:
        image = np.asarray(self._random_access[index]['image'], np.uint8)
        return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
      with Image.open(io.BytesIO(self._encoded[index])) as image:
        return np.asarray(image.convert('RGB'), np.uint8)
    except (OSError, ValueError):
      logging.warning("skipping undecodable example %d of %s", index, self.name)
      return None


def open_source(spec, data_dir='', held_out=''):
  """'folder:PATH[,PATH...]' or 'tfds:NAME[:SPLIT]' (a bare path means a folder); relative folders, and the glob
  patterns of held_out (comma-separated), are taken below data_dir where it is set."""
  if not spec:
    raise GrmError("no training data: set --config.train_data=folder:PATH (or tfds:NAME)")
  kind, _, rest = spec.partition(':')
  if kind == 'tfds':
    if held_out:
      raise GrmError("held_out names files of folders; hold out part of a tfds split with a slice "
                     "(tfds:NAME:train[10%:])")
    name, _, split = rest.partition(':')
    return TfdsSource(name, split or 'train')
  patterns = [os.path.join(glob.escape(data_dir), pattern) for pattern in str(held_out).split(',') if pattern]
  try:
    return FolderSource(source_folders(spec, data_dir), patterns)
  except GrmError as error:
    if data_dir or all(os.path.isabs(folder) for folder in source_folders(spec).split(',')):
      raise
    raise GrmError(f"{error} (relative folders are taken below --config.data_dir, which is not set)") from None


def source_folders(spec, data_dir=''):
  """The folders of a 'folder:PATH[,PATH...]' (or bare) spec as 'PATH[,PATH...]', each relative PATH below
  data_dir; None for a tfds spec or none."""
  kind, _, rest = str(spec).partition(':')
  if not spec or kind == 'tfds':
    return None
  folders = rest if kind == 'folder' else str(spec)
  return ','.join(os.path.join(data_dir, folder) for folder in folders.split(','))


def random_crop(image, patch_size, rng, small_images='pad'):
  """A random patch_size crop with random horizontal and vertical flips.

  The documented rule for images smaller than the patch: 'pad' mirrors them up to the patch size (then crops),
  'skip' returns None so that the sampler takes the next image.
  """
  h, w = image.shape[:2]
  if h < patch_size or w < patch_size:
    if small_images == 'skip':
      return None
    image = np.pad(image, ((0, max(0, patch_size - h)), (0, max(0, patch_size - w)), (0, 0)), mode='symmetric')
    h, w = image.shape[:2]
  top = rng.integers(0, h - patch_size + 1)
  left = rng.integers(0, w - patch_size + 1)
  crop = image[top:top + patch_size, left:left + patch_size]
  if rng.random() < 0.5:
    crop = crop[:, ::-1]
  if rng.random() < 0.5:
    crop = crop[::-1]
  return np.ascontiguousarray(crop)


class BatchLoader:
  """Deterministic batches for any step, prefetched in a background thread."""

  def __init__(self, source, global_batch, patch_size, seed=0, process_index=0, process_count=1,
               small_images='pad', workers=2, prefetch=2):
    if global_batch % process_count:
      raise GrmError(f"batch size {global_batch} does not divide among {process_count} processes")
    if small_images not in SMALL_IMAGE_RULES:
      raise GrmError(f"small_images must be one of {SMALL_IMAGE_RULES}, got {small_images!r}")
    self.source, self.global_batch, self.patch_size = source, global_batch, patch_size
    self.seed, self.small_images = seed, small_images
    self.local_batch = global_batch // process_count
    self.first_example = process_index * self.local_batch
    self._pool = concurrent.futures.ThreadPoolExecutor(max(1, workers))
    self._prefetch = prefetch
    self._permutations = {}

  def _file_order(self, epoch):
    if epoch not in self._permutations:
      self._permutations = {epoch: np.random.default_rng([self.seed, epoch]).permutation(len(self.source))}
    return self._permutations[epoch]

  def example(self, index):
    """Global sample `index` of the run: a uint8 crop. Unusable files give way to the next file of the epoch."""
    n = len(self.source)
    epoch, position = divmod(index, n)
    order = self._file_order(epoch)
    rng = np.random.default_rng([self.seed, index, 1])
    for offset in range(n):
      image = self.source.load(int(order[(position + offset) % n]))
      if image is not None:
        crop = random_crop(image, self.patch_size, rng, self.small_images)
        if crop is not None:
          return crop
    raise GrmError(f"no usable training image (all {n} are corrupt or smaller than the patch)")

  def example_indices(self, step):
    start = step * self.global_batch + self.first_example
    return np.arange(start, start + self.local_batch, dtype=np.int64)

  def batch(self, step):
    """(uint8 [local_batch, P, P, 3], int64 global sample indices) for a training step."""
    indices = self.example_indices(step)
    self._file_order(int(indices[0]) // len(self.source))  # built once here, not in every worker
    crops = list(self._pool.map(self.example, [int(i) for i in indices]))
    return np.stack(crops), indices

  def iterate(self, start_step):
    """Batches for start_step, start_step + 1, ... prepared ahead in a background thread."""
    batches = queue.Queue(maxsize=self._prefetch)
    stop = threading.Event()

    def produce():
      step = start_step
      while not stop.is_set():
        try:
          item = self.batch(step)
        except Exception as error:  # handed to the consumer, which raises it
          item = error
        batches.put(item)
        if isinstance(item, Exception):
          return
        step += 1

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
      while True:
        item = batches.get()
        if isinstance(item, Exception):
          raise item
        yield item
    finally:
      stop.set()
      while not batches.empty():
        batches.get_nowait()


def center_crop(image, size):
  """A size x size centre crop; smaller images are mirrored up to the size first (validation)."""
  h, w = image.shape[:2]
  if h < size or w < size:
    image = np.pad(image, ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0)), mode='symmetric')
    h, w = image.shape[:2]
  top, left = (h - size) // 2, (w - size) // 2
  return image[top:top + size, left:left + size]
