"""The project's range coder against tensorflow-compression's ops, the reference: the same tables from the same
pmfs, the same bytes from the same symbols, and each decodes the other's strings. Runs in the TensorFlow stage."""
import numpy as np
import pytest
from scipy.special import ndtr

from grm_jax.codec import range_coder, tables
from tests.helpers import tensorflow_stage

pytestmark = tensorflow_stage


@pytest.fixture(scope='module')
def tfc():
  from grm_jax.codec import tfc_reference  # pylint: disable=import-outside-toplevel
  return tfc_reference


def _pmfs():
  """Pmfs with many equal masses (symmetric, uniform, repeated), the cases where the order of the op's unstable
  sort decides which count moves; totals above and below 2^16 after rounding; the project's Gaussian tables."""
  rng = np.random.default_rng(0)
  pmfs = []
  for scale in tables.scale_table():
    half = int(np.ceil(6.1 * scale))
    values = np.arange(-half, half + 1, dtype=np.float64)
    pmfs.append(ndtr((values + 0.5) / scale) - ndtr((values - 0.5) / scale))
  for size in (2, 3, 7, 16, 17, 33, 100, 1000, 5000):
    pmfs.append(np.full(size, 1.0 / size))
    pmfs.append(rng.dirichlet(np.full(size, 0.3)))
    pmfs.append(np.repeat(rng.dirichlet(np.ones(max(1, size // 4))), 4)[:size] / 4)
    spiky = rng.dirichlet(np.full(size, 0.05))
    pmfs.append(spiky / spiky.sum() * 0.999)
  pmfs.append(np.array([1e-9, 1 - 2e-9, 1e-9]))
  pmfs.append(np.array([0.5, 0.5]))
  return pmfs


def test_quantized_cdf_equals_the_op(tfc):
  for i, pmf in enumerate(_pmfs()):
    np.testing.assert_array_equal(range_coder.quantized_cdf(pmf), tfc.quantized_cdf(pmf), err_msg=f'pmf {i}')


def _random_table(rng, rows=12):
  lookup = range_coder.stack_rows([range_coder.quantized_cdf(rng.dirichlet(np.full(rng.integers(2, 60), 0.5)))
                                   for _ in range(rows)])
  return lookup, rng.integers(-30, 5, rows).astype(np.int32)


@pytest.mark.parametrize('seed', range(6))
def test_same_bytes_and_each_decodes_the_other(tfc, seed):
  rng = np.random.default_rng(seed)
  lookup, offsets = _random_table(rng)
  count = int(rng.integers(1, 20000))
  indexes = rng.integers(0, len(lookup), count).astype(np.int32)
  # Mostly in range, some far outside it on both sides: the overflow escape and its Elias gamma code.
  values = (offsets[indexes] + rng.geometric(0.15, count) - 1).astype(np.int32)
  escape = rng.random(count) < 0.02
  values[escape] = rng.integers(-5000, 5000, int(escape.sum()))
  ours, theirs = range_coder.encode(lookup, offsets, indexes, values), tfc.encode(lookup, offsets, indexes, values)
  assert ours == theirs
  for decoder_class in (range_coder.Decoder, tfc.Decoder):
    decoder = decoder_class(ours, lookup, offsets)
    pieces = np.split(indexes, np.sort(rng.integers(0, count, 5)))
    np.testing.assert_array_equal(np.concatenate([decoder.decode(p) for p in pieces]), values)
    assert decoder.finish()


def test_strings_that_outgrow_the_encoders_buffer_are_the_ops_bytes(tfc):
  rng = np.random.default_rng(7)
  lookup, offsets = _random_table(rng)
  indexes = rng.integers(0, len(lookup), 3000).astype(np.int32)
  values = rng.integers(-(1 << 29), 1 << 29, 3000).astype(np.int32)  # every one escaped, about 8 bytes each
  ours = range_coder.encode(lookup, offsets, indexes, values)
  assert len(ours) > 10 * 3000 // 2 and ours == tfc.encode(lookup, offsets, indexes, values)


def test_strings_ending_in_every_encoder_state(tfc):
  """Short strings end in the branches of the encoder's flush (a pending carry, base 0, rounding to 2^24 or 2^16),
  and long runs of near-certain symbols build long runs of delayed carry bytes."""
  rng = np.random.default_rng(7)
  lookup = range_coder.stack_rows([range_coder.quantized_cdf([0.999, 0.0009]),
                                   range_coder.quantized_cdf([0.0009, 0.999]),
                                   range_coder.quantized_cdf(np.full(300, 1 / 300))])
  offsets = np.zeros(3, np.int32)
  for trial in range(400):
    count = int(rng.integers(0, 40)) if trial < 300 else int(rng.integers(1000, 4000))
    indexes = rng.integers(0, 3, count).astype(np.int32)
    if trial % 3 == 0:
      indexes[:] = trial % 2
    values = np.where(indexes == 2, rng.integers(0, 300, count), indexes).astype(np.int32)
    string = range_coder.encode(lookup, offsets, indexes, values)
    assert string == tfc.encode(lookup, offsets, indexes, values)
    decoder = tfc.Decoder(string, lookup, offsets)
    np.testing.assert_array_equal(decoder.decode(indexes), values)
    assert decoder.finish()


@pytest.fixture
def both_coders(monkeypatch, tfc):
  """range_coder's encode and Decoder replaced by ones that run the project's coder and the op side by side and
  fail on any difference: the codec's real strings, both ways. Returns the list of strings coded."""
  encode, decoder_class, strings = range_coder.encode, range_coder.Decoder, []

  def encode_both(lookup, offsets, indexes, values):
    ours = encode(lookup, offsets, indexes, values)
    assert ours == tfc.encode(lookup, offsets, indexes, values)
    strings.append(ours)
    return ours

  class BothDecoders:

    def __init__(self, data, lookup, offsets):
      self._ours, self._theirs = decoder_class(data, lookup, offsets), tfc.Decoder(data, lookup, offsets)

    def decode(self, indexes):
      ours = self._ours.decode(indexes)
      np.testing.assert_array_equal(ours, self._theirs.decode(indexes))
      return ours

    def finish(self):
      assert self._ours.finish() == self._theirs.finish()
      return self._ours.finish()

  monkeypatch.setattr(range_coder, 'encode', encode_both)
  monkeypatch.setattr(range_coder, 'Decoder', BothDecoders)
  return strings


@pytest.fixture(scope='module')
def family_models(tmp_path_factory):
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  from tests.helpers import export_tiny_model  # pylint: disable=import-outside-toplevel
  return {family: export_tiny_model(tmp_path_factory, family) for family in models.FAMILIES}


def _check_real_files(codec, image, strings, lambdas=(None,)):
  for lambda_ in lambdas:
    del strings[:]
    encoded = codec.encode(image, lambda_=lambda_)
    assert len(strings) == (1 if codec.model.family == 'factorized' else 2) and all(strings)  # y (and z)
    decoded = codec.decode(encoded.data)
    np.testing.assert_array_equal(decoded.y_hat, encoded.y_hat)


@pytest.mark.parametrize('family', ['factorized', 'hyperprior', 'mean_scale', 'context', 'grm'])
def test_real_files_of_every_family_are_the_ops_bytes(family, family_models, both_coders, natural_image):
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  _check_real_files(grm_jax.load(family_models[family]), image_io.to_uint8(natural_image[100:164, 300:396]),
                    both_coders)


@pytest.mark.parametrize('name', ['grm-small', 'context-small'])
def test_real_files_of_the_shipped_models_are_the_ops_bytes(name, both_coders, natural_image):
  import grm_jax  # pylint: disable=import-outside-toplevel
  from grm_jax import image_io  # pylint: disable=import-outside-toplevel
  codec = grm_jax.load(name)
  low, high = codec.lambda_range
  _check_real_files(codec, image_io.to_uint8(natural_image[200:328, 0:192]), both_coders, lambdas=(low, high))


def test_tables_built_here_are_the_ops_tables(family_models, monkeypatch, tfc):
  """An export on a machine without TensorFlow writes the coding tables an export with the op would."""
  from grm_jax.codec import model_dir  # pylint: disable=import-outside-toplevel
  from grm_jax import models  # pylint: disable=import-outside-toplevel
  config, params, _, _ = model_dir.load(family_models['mean_scale'])
  model = models.build(config)
  ours = tables.build(model, params)
  monkeypatch.setattr(range_coder, 'quantized_cdf', tfc.quantized_cdf)
  theirs = tables.build(model, params)
  assert sorted(ours) == sorted(theirs)
  for name, value in ours.items():
    np.testing.assert_array_equal(value, theirs[name], err_msg=name)
