"""The codec: exact round trips for every family, real size vs estimate, determinism, and every bad input."""
import json
import shutil
import time
import pathlib
import zlib

import jax
import numpy as np
import pytest

import grm_jax
from grm_jax.configs import tiny
from grm_jax import cli, image_io, models, outputs
from grm_jax.codec import bitstream, model_dir, model_dir_fuzzing
from grm_jax.training import trainer
from tests.helpers import export_tiny_model, run_python, write_image_folder


@pytest.fixture(scope='module')
def model_dirs(tmp_path_factory):
  dirs = {family: export_tiny_model(tmp_path_factory, family) for family in models.FAMILIES}
  dirs['grm-raster'] = export_tiny_model(tmp_path_factory, 'grm', order='raster')
  dirs['grm-bfloat16'] = export_tiny_model(tmp_path_factory, 'grm', transform_dtype='bfloat16')  # trained in mixed precision
  dirs['grm-3-references'] = export_tiny_model(tmp_path_factory, 'grm', model_overrides={'references': 3})
  return dirs


def _images(natural_image):
  rng = np.random.default_rng(0)
  natural = image_io.to_uint8(natural_image)
  return {'1x1': natural[:1, :1], '17x33': rng.integers(0, 256, (17, 33, 3), dtype=np.uint8),
          '64x64': natural[100:164, 300:364], '100x75': natural[200:300, 0:75]}


@pytest.mark.parametrize('family', models.FAMILIES + ('grm-raster', 'grm-bfloat16', 'grm-3-references'))
def test_round_trip_is_exact(family, model_dirs, natural_image):
  codec = grm_jax.load(model_dirs[family])
  assert codec.model.transform_dtype == 'float32'  # the codec runs float32 whatever precision trained the model
  for name, image in _images(natural_image).items():
    encoded = codec.encode(image)
    decoded = codec.decode(encoded.data)
    assert decoded.image.shape == image.shape, name
    np.testing.assert_array_equal(decoded.image, encoded.reconstruction, err_msg=name)
    np.testing.assert_array_equal(decoded.y_hat, encoded.y_hat, err_msg=name)
    assert codec.decompress(codec.compress(image)).shape == image.shape


@pytest.fixture(scope='module')
def trained_grm(tmp_path_factory):
  return export_tiny_model(tmp_path_factory, 'grm', steps=300)


@pytest.fixture(scope='module')
def held_out_image():
  folder = pathlib.Path(__import__('tempfile').mkdtemp())
  return image_io.read_image(write_image_folder(folder, count=1, size=(192, 256), seed=99)[0])


def test_real_size_is_close_to_the_estimate(trained_grm, held_out_image):
  codec = grm_jax.load(trained_grm)
  result = codec.encode(held_out_image)
  header_bytes = 42  # fixed header, two string lengths, CRC
  assert result.estimated_bits > 2000  # a real rate, not a degenerate model
  # The range coder's overhead over the information content: a figure of the coder, not a rounding bound.
  assert abs(8 * len(result.data) - result.estimated_bits) <= 0.03 * result.estimated_bits + 8 * header_bytes


def test_compression_is_deterministic_and_decodes_in_a_fresh_process(trained_grm, held_out_image, tmp_path):
  codec = grm_jax.load(trained_grm)
  first, second = codec.compress(held_out_image), codec.compress(held_out_image)
  assert first == second
  (tmp_path / 'a.grm').write_bytes(first)
  result = run_python(['-m', 'grm_jax', 'decompress', str(tmp_path / 'a.grm'), str(tmp_path / 'a.png'),
                       '--model', str(trained_grm)])
  assert result.returncode == 0, result.stderr
  np.testing.assert_array_equal(image_io.read_image(tmp_path / 'a.png'), codec.decompress(first))


def test_float16_export_round_trips_exactly(tmp_path, natural_image):
  config = tiny.get_config()
  params = models.build(config).init(jax.random.PRNGKey(3), np.zeros((1, 64, 64, 3), np.float32))['params']
  model_dir.export(params, config, tmp_path / 'half', param_dtype='float16')
  codec = grm_jax.load(tmp_path / 'half')
  image = _images(natural_image)['100x75']
  encoded = codec.encode(image)
  np.testing.assert_array_equal(grm_jax.load(tmp_path / 'half').decompress(encoded.data), encoded.reconstruction)


# ---- bad input: one line, a non-zero exit, nothing written

@pytest.fixture
def grm_file(model_dirs, natural_image, tmp_path):
  path = tmp_path / 'good.grm'
  path.write_bytes(grm_jax.load(model_dirs['grm']).compress(_images(natural_image)['64x64']))
  return path


def _decompress_fails(capsys, tmp_path, data, model, message):
  bad = tmp_path / 'bad.grm'
  bad.write_bytes(data)
  out = tmp_path / 'out.png'
  out.write_bytes(b'precious')  # an existing file survives a failed run
  status = cli.main(['decompress', str(bad), str(out), '--model', str(model), '--force'])
  error = capsys.readouterr().err.strip()
  assert status == 1
  assert len(error.splitlines()) == 1 and message in error, error
  assert out.read_bytes() == b'precious'
  assert [p.name for p in tmp_path.iterdir() if 'partial' in p.name] == []


def test_truncated_file(capsys, tmp_path, grm_file, model_dirs):
  data = grm_file.read_bytes()
  for cut in (3, 20, len(data) // 2, len(data) - 1):
    _decompress_fails(capsys, tmp_path, data[:cut], model_dirs['grm'], 'truncated')


def test_flipped_bit(capsys, tmp_path, grm_file, model_dirs):
  data = bytearray(grm_file.read_bytes())
  for position in (8, 40, len(data) - 10):
    flipped = bytearray(data)
    flipped[position] ^= 0x10
    _decompress_fails(capsys, tmp_path, bytes(flipped), model_dirs['grm'], 'damaged')


def test_wrong_magic(capsys, tmp_path, grm_file, model_dirs):
  _decompress_fails(capsys, tmp_path, b'PNG!' + grm_file.read_bytes()[4:], model_dirs['grm'], 'not a .grm file')


def test_file_from_another_model(capsys, tmp_path, grm_file, model_dirs):
  _decompress_fails(capsys, tmp_path, grm_file.read_bytes(), model_dirs['context'], 'another model')


def test_files_decode_after_an_edit_of_the_config_record_that_keeps_the_former_hash(capsys, tmp_path, grm_file,
                                                                                   model_dirs):
  """Editing config.json's record of where a model trained changes its hash; former_hashes keeps the files it
  wrote before decoding, and nothing else."""
  folder = tmp_path / 'edited'
  shutil.copytree(model_dirs['grm'], folder)
  before = json.loads((folder / 'model.json').read_text())['model_hash']
  config = json.loads((folder / 'config.json').read_text())
  config['data_dir'] = 'elsewhere/train'
  (folder / 'config.json').write_text(json.dumps(config))
  model_dir_fuzzing.resign(folder)
  _decompress_fails(capsys, tmp_path, grm_file.read_bytes(), folder, 'another model')
  meta = json.loads((folder / 'model.json').read_text())
  assert meta['model_hash'] != before
  (folder / 'model.json').write_text(json.dumps({**meta, 'former_hashes': [before]}))
  expected = grm_jax.load(model_dirs['grm']).decode(grm_file.read_bytes()).image
  np.testing.assert_array_equal(grm_jax.load(folder).decode(grm_file.read_bytes()).image, expected)
  header, _ = bitstream.unpack(grm_jax.load(folder).compress(expected))
  assert header.model_hash == bytes.fromhex(meta['model_hash'])[:8]  # new files name the new hash
  for former in ('7fd606', [before[:16]], [before] * 17, [1]):
    (folder / 'model.json').write_text(json.dumps({**meta, 'former_hashes': former}))
    with pytest.raises(grm_jax.errors.GrmError, match='former_hashes|SHA-256'):
      grm_jax.load(folder)


def test_empty_file(capsys, tmp_path, model_dirs):
  _decompress_fails(capsys, tmp_path, b'', model_dirs['grm'], 'empty file')


def test_valid_crc_but_inconsistent_header(capsys, tmp_path, grm_file, model_dirs):
  data = bytearray(grm_file.read_bytes()[:-4])
  data[13:17] = (5000).to_bytes(4, 'big')  # claims another height, re-signed with a correct CRC
  data += zlib.crc32(bytes(data)).to_bytes(4, 'big')
  _decompress_fails(capsys, tmp_path, bytes(data), model_dirs['grm'], 'latent shapes')


def _claiming(data, height, width):
  """A file whose header claims another image size, re-signed with a correct CRC."""
  data = bytearray(data[:-4])
  data[13:21] = height.to_bytes(4, 'big') + width.to_bytes(4, 'big')
  return bytes(data) + zlib.crc32(bytes(data)).to_bytes(4, 'big')


def _forged(data, height, width):
  """A file whose header claims another image size with latent shapes to match, re-signed with a correct CRC:
  consistent, but its strings are far too short for what it claims."""
  y = tuple(-(-(-(-s // 16)) // 4) * 4 for s in (height, width))
  z = (y[0] // 4, y[1] // 4) if any(data[25:29]) else (0, 0)  # (0, 0): the factorized family has no z
  data = bytearray(_claiming(data, height, width)[:-4])
  data[21:29] = b''.join(v.to_bytes(2, 'big') for v in y + z)
  return bytes(data) + zlib.crc32(bytes(data)).to_bytes(4, 'big')


@pytest.mark.parametrize('family', ['grm', 'mean_scale', 'factorized'])
def test_a_file_too_short_for_its_claim_is_refused_early(family, model_dirs, grm_file, natural_image):
  """The issue's second crafted file: a real file claiming 8192x8192 (67M pixels, under the pixel limit) must not
  decode millions of symbols from nothing."""
  codec = grm_jax.load(model_dirs[family])
  data = codec.compress(image_io.to_uint8(natural_image[:64, :64]))
  start = time.perf_counter()
  with pytest.raises(grm_jax.errors.GrmError, match='cannot hold the symbols it decodes to'):
    codec.decode(_forged(data, 8192, 8192))
  assert time.perf_counter() - start < 10


@pytest.mark.parametrize('family', ['grm', 'context', 'mean_scale', 'factorized'])
def test_valid_files_at_the_extremes_never_trip_the_length_check(family, model_dirs):
  """Flat and noise images, the smallest and the largest size: exact round trips with the check on."""
  rng = np.random.default_rng(7)
  for size in ((1, 1), (96, 128)):
    for image in (np.full(size + (3,), 128, np.uint8), rng.integers(0, 256, size + (3,), dtype=np.uint8)):
      codec = grm_jax.load(model_dirs[family])
      encoded = codec.encode(image)
      np.testing.assert_array_equal(codec.decode(encoded.data).image, encoded.reconstruction)


def test_a_header_claiming_a_huge_image_is_refused_before_the_model_loads(capsys, tmp_path, grm_file, model_dirs,
                                                                          monkeypatch):
  bomb = _claiming(grm_file.read_bytes(), 16_777_215, 16_777_215)
  monkeypatch.setattr(grm_jax, 'load', lambda *_: pytest.fail('the model was loaded'))
  _decompress_fails(capsys, tmp_path, bomb, model_dirs['grm'], "above the decoder's limit of 89478485 pixels; "
                    "raise it with --max-pixels N")
  monkeypatch.undo()
  codec = grm_jax.load(model_dirs['grm'])
  with pytest.raises(grm_jax.errors.GrmError, match='limit of 4000 pixels'):  # a 64x64 file under a lower limit
    codec.decode(grm_file.read_bytes(), max_pixels=4000)
  assert codec.decode(grm_file.read_bytes(), max_pixels=4096).image.shape == (64, 64, 3)
  out = tmp_path / 'ok.png'
  for limit in ('0', '-5'):  # no limit at all would let a file claim terabytes
    assert cli.main(['decompress', str(grm_file), str(out), '--model', str(model_dirs['grm']), '--max-pixels',
                     limit]) == 1
    assert '--max-pixels must be at least 1' in capsys.readouterr().err
  assert cli.main(['decompress', str(grm_file), str(out), '--model', str(model_dirs['grm']), '--max-pixels',
                   str(10**12)]) == 0
  assert out.is_file()


def test_missing_model_and_missing_input(capsys, tmp_path, grm_file):
  assert cli.main(['decompress', str(grm_file), str(tmp_path / 'o.png'), '--model', str(tmp_path)]) == 1
  assert 'not a model directory' in capsys.readouterr().err
  assert cli.main(['decompress', str(tmp_path / 'none.grm'), str(tmp_path / 'o.png')]) == 1
  assert 'no such file' in capsys.readouterr().err
  assert not (tmp_path / 'o.png').exists()


def test_compress_refuses_non_images_and_converts_other_formats(capsys, tmp_path, model_dirs):
  from PIL import Image
  (tmp_path / 'notes.txt').write_text('hello')
  assert cli.main(['compress', str(tmp_path / 'notes.txt'), str(tmp_path / 'x.grm'),
                   '--model', str(model_dirs['hyperprior'])]) == 1
  assert 'not an image' in capsys.readouterr().err
  assert not (tmp_path / 'x.grm').exists()
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, (20, 30), dtype=np.uint8), 'L').save(tmp_path / 'gray.png')
  Image.fromarray(rng.integers(0, 256, (20, 30, 4), dtype=np.uint8), 'RGBA').save(tmp_path / 'rgba.png')
  Image.fromarray(rng.integers(0, 65536, (20, 30), dtype=np.uint16)).save(tmp_path / 'deep.png')
  assert Image.open(tmp_path / 'deep.png').mode.startswith('I')
  for name, note in (('gray', 'L image converted to RGB'), ('rgba', 'its transparency (alpha) is dropped'),
                     ('deep', '16-bit image reduced to 8 bits')):
    assert cli.main(['compress', str(tmp_path / f'{name}.png'), str(tmp_path / f'{name}.grm'),
                     '--model', str(model_dirs['hyperprior'])]) == 0
    assert note in capsys.readouterr().err
    assert cli.main(['decompress', str(tmp_path / f'{name}.grm'), str(tmp_path / f'{name}.out.png'),
                     '--model', str(model_dirs['hyperprior'])]) == 0
    assert image_io.read_image(tmp_path / f'{name}.out.png').shape == (20, 30, 3)


def test_atomic_output_keeps_the_old_file_when_interrupted(tmp_path):
  target = tmp_path / 'out.png'
  target.write_bytes(b'old')
  with pytest.raises(KeyboardInterrupt):
    with outputs.output(target, force=True) as tmp:
      tmp.write_bytes(b'half-writ')
      raise KeyboardInterrupt
  assert target.read_bytes() == b'old'
  assert list(tmp_path.iterdir()) == [target]


def test_export_command_and_damaged_model_dir(capsys, tmp_path, monkeypatch):
  config = tiny.get_config()
  write_image_folder(tmp_path / 'train', count=4, size=(64, 64))
  config.train_data, config.num_steps = f'folder:{tmp_path / "train"}', 2
  monkeypatch.chdir(tmp_path)
  trainer.train_and_evaluate(config, 'work')  # paths relative to the working directory, as users type them
  assert cli.main(['export', 'work', 'model']) == 0
  assert 'exported step 2' in capsys.readouterr().out
  meta = json.loads((tmp_path / 'model' / 'model.json').read_text())
  assert meta['steps'] == 2 and meta['train_data'].startswith('folder:') and 'machine' in meta
  (tmp_path / 'model' / 'tables.npz').write_bytes(b'x' + (tmp_path / 'model' / 'tables.npz').read_bytes()[1:])
  with pytest.raises(grm_jax.errors.GrmError, match='do not match the model hash'):
    grm_jax.load(tmp_path / 'model')
  assert cli.main(['export', str(tmp_path / 'nothing'), str(tmp_path / 'm2')]) == 1
  (tmp_path / 'work' / 'provenance.json').write_text('{"steps": 2, "config"')  # a damaged run record
  capsys.readouterr()
  assert cli.main(['export', str(tmp_path / 'work'), str(tmp_path / 'model_again')]) == 1
  assert 'provenance.json: unreadable run record' in capsys.readouterr().err
  assert not (tmp_path / 'model_again').exists()
  assert cli.main(['export', str(tmp_path / 'work'), str(tmp_path / 'model')]) == 1  # never into a model's folder
  assert 'not empty' in capsys.readouterr().err
  assert json.loads((tmp_path / 'model' / 'model.json').read_text()) == meta  # the earlier export is kept


def test_export_of_a_parameter_bundle_from_a_machine_loan(capsys, tmp_path):
  from grm_jax.training import params_bundle
  config = tiny.get_config()
  params = models.build(config).init(jax.random.PRNGKey(4), np.zeros((1, 64, 64, 3), np.float32))['params']
  params_bundle.write(tmp_path / 'run', params, config, 12, chunk_bytes=8192)
  (tmp_path / 'run' / 'provenance.json').write_text(json.dumps({'steps': 12, 'machine': 'a GPU box'}))
  assert cli.main(['export', str(tmp_path / 'run'), str(tmp_path / 'model'), '--dtype', 'float16']) == 0
  assert 'exported step 12' in capsys.readouterr().out
  meta = json.loads((tmp_path / 'model' / 'model.json').read_text())
  assert meta['machine'] == 'a GPU box' and meta['checkpoint_step'] == 12
  loaded = model_dir.load(tmp_path / 'model')[1]
  for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(loaded)):
    np.testing.assert_array_equal(np.asarray(a, np.float16).astype(np.float32), b)


def test_roundtrip_command(capsys, tmp_path, model_dirs):
  image = tmp_path / 'small.png'
  write_image_folder(tmp_path / 'in', count=1, size=(30, 41))
  (tmp_path / 'in' / 'img0.png').rename(image)
  assert cli.main(['roundtrip', str(image), '--model', str(model_dirs['grm']), '--out-dir',
                   str(tmp_path / 'out')]) == 0
  output = capsys.readouterr().out
  assert '41x30' in output and 'bpp' in output and 'decoder exact' in output
  assert image_io.read_image(tmp_path / 'out' / 'small.png').shape == (30, 41, 3)
  assert (tmp_path / 'out' / 'small.grm').read_bytes()[:4] == b'GRMJ'


def test_compress_without_reconstruction_gives_the_same_bytes(model_dirs, natural_image):
  codec = grm_jax.load(model_dirs['grm'])
  image = _images(natural_image)['100x75']
  bare = codec.encode(image, reconstruct=False)
  assert bare.reconstruction is None
  assert bare.data == codec.encode(image).data == codec.compress(image)


class _Payload:
  """Pickling this would run code: it touches the file named in `marker` when unpickled."""

  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_model_directory_is_data_loading_one_runs_no_code(capsys, tmp_path, model_dirs, natural_image):
  """A tables.npz holding a pickled object (its hash recomputed, as an attacker would) is refused in one line, and
  the object is never unpickled; so are files that match their hash but describe no model."""
  import io  # pylint: disable=import-outside-toplevel
  folder = tmp_path / 'model'
  shutil.copytree(model_dirs['grm'], folder)
  marker = tmp_path / 'code-ran'
  buffer = io.BytesIO()
  with np.load(folder / 'tables.npz') as archive:
    arrays = {name: archive[name] for name in archive.files}
  arrays['scale_table'] = np.array([_Payload(str(marker))], dtype=object)
  np.savez(buffer, **arrays)
  (folder / 'tables.npz').write_bytes(buffer.getvalue())
  model_dir_fuzzing.resign(folder)
  image_io.write_png(tmp_path / 'in.png', image_io.to_uint8(natural_image[:32, :32]))
  assert cli.main(['compress', str(tmp_path / 'in.png'), str(tmp_path / 'out.grm'), '--model', str(folder)]) == 1
  err = capsys.readouterr().err
  assert 'not a model this version of grm_jax can load' in err and len(err.strip().splitlines()) == 1
  assert not marker.exists() and not (tmp_path / 'out.grm').exists()
  shutil.copytree(model_dirs['grm'], tmp_path / 'model2')
  (tmp_path / 'model2' / 'config.json').write_text('{"model": {"family": "no-such-family"}}')
  model_dir_fuzzing.resign(tmp_path / 'model2')
  with pytest.raises(grm_jax.errors.GrmError, match='not a model this version'):
    grm_jax.load(tmp_path / 'model2')
  (tmp_path / 'model2' / 'model.json').write_text('{"model_hash": ')
  with pytest.raises(grm_jax.errors.GrmError, match='model.json is not valid JSON'):
    grm_jax.load(tmp_path / 'model2')


def test_progress_hook_counts_every_coding_step_and_the_cli_stays_quiet_off_a_terminal(model_dirs, natural_image,
                                                                                        tmp_path, capsys):
  codec = grm_jax.load(model_dirs['grm'])
  image = image_io.to_uint8(natural_image[:64, :96])
  calls = []
  data = codec.compress(image, progress=lambda done, total: calls.append((done, total)))
  assert calls and calls[-1][0] == calls[-1][1] == len(calls)  # 3H + W - 3 wavefront steps, each reported
  assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
  decoded_calls = []
  codec.decompress(data, progress=lambda done, total: decoded_calls.append((done, total)))
  assert decoded_calls == calls
  image_io.write_png(tmp_path / 'in.png', image)
  capsys.readouterr()
  assert cli.main(['compress', str(tmp_path / 'in.png'), str(tmp_path / 'a.grm'), '--model',
                   str(model_dirs['grm'])]) == 0
  assert cli.main(['decompress', str(tmp_path / 'a.grm'), str(tmp_path / 'a.png'), '--model',
                   str(model_dirs['grm'])]) == 0
  assert capsys.readouterr().err == ''  # stderr is not a terminal here: no bar


def test_a_large_foreign_file_is_refused_before_it_is_read(capsys, tmp_path, model_dirs, monkeypatch):
  foreign = tmp_path / 'large.bin'
  with open(foreign, 'wb') as f:
    f.truncate(1 << 30)  # 1 GiB, sparse: reading it whole would take seconds and a gigabyte
  monkeypatch.setattr(pathlib.Path, 'read_bytes', lambda self: pytest.fail(f'{self} was read whole'))
  assert cli.main(['decompress', str(foreign), str(tmp_path / 'out.png'), '--model', str(model_dirs['grm'])]) == 1
  err = capsys.readouterr().err
  assert 'wrong magic number' in err and len(err.strip().splitlines()) == 1
