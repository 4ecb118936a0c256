"""A bounded, seeded fuzz test of the decoder: every mutation of a valid file decodes or is refused in one line.

The longer run of the same fuzzer is benchmarks/fuzz_decoder.py (docs/untrusted_input.md).
"""
import numpy as np
import pytest

import grm_jax
from grm_jax import image_io
from grm_jax.codec import fuzzing
from tests.helpers import export_tiny_model

MUTATIONS = 150
SECONDS_PER_DECODE = 10.0
PEAK_RSS_MB = 4000


@pytest.mark.parametrize('family', ['grm', 'mean_scale', 'factorized', 'grm-3-references', 'grm_checkerboard'])
def test_every_mutation_decodes_or_is_refused_in_one_line(family, tmp_path_factory, natural_image):
  overrides = {'references': 3} if family == 'grm-3-references' else None
  codec = grm_jax.load(export_tiny_model(tmp_path_factory, family.split('-')[0], model_overrides=overrides))
  natural = image_io.to_uint8(natural_image)
  images = [natural[:64, :64], natural[200:232, 300:364], np.full((64, 64, 3), 90, np.uint8),
            natural[300:302, :512]]  # the last one thin: a folded, version-3 file
  files = [codec.compress(image) for image in images]
  for data in files:  # the compiles happen here, not in the timed decodes
    codec.decode(data)
  report = fuzzing.fuzz(codec, files, MUTATIONS, seed=1)
  assert report.failures == [], report.failures[:5]
  assert sum(report.outcomes.values()) == MUTATIONS
  assert report.outcomes['decoded'] > 0 and report.outcomes['decoded'] < MUTATIONS  # both paths exercised
  assert set(report.kinds) == {'bit flips', 'bit flips, re-signed', 'header field', 'string resized',
                               'strings swapped', 'truncated file'}
  assert report.slowest_seconds < SECONDS_PER_DECODE, report.slowest_kind
  assert report.peak_rss_mb < PEAK_RSS_MB


def test_mutations_are_reproducible_and_re_signed(tmp_path_factory, natural_image):
  codec = grm_jax.load(export_tiny_model(tmp_path_factory, 'grm'))
  files = [codec.compress(image_io.to_uint8(natural_image[:32, :32]))]
  first = [data for _, (_, data) in zip(range(40), fuzzing.mutations(files, seed=3))]
  again = [data for _, (_, data) in zip(range(40), fuzzing.mutations(files, seed=3))]
  assert first == again and any(data != files[0] for data in first)
  from grm_jax.codec import bitstream  # pylint: disable=import-outside-toplevel
  re_signed = [data for _, (kind, data) in zip(range(40), fuzzing.mutations(files, seed=3))
               if kind in ('string resized', 'strings swapped')]
  assert re_signed
  for data in re_signed:  # these reach the decoder: the CRC is right
    bitstream.unpack(data)


def test_a_forged_escape_code_in_a_real_file_is_refused(tmp_path_factory, natural_image):
  """z's string replaced by two bytes that put the range decoder at the bottom of the escape interval of z's first
  table: a naive decoder then reads zero bits for ever, past the string's end, for the escaped value's length."""
  from grm_jax.errors import GrmError  # pylint: disable=import-outside-toplevel
  codec = grm_jax.load(export_tiny_model(tmp_path_factory, 'mean_scale'))
  fixed, strings = fuzzing._parts(codec.compress(image_io.to_uint8(natural_image[:64, :64])))  # pylint: disable=protected-access
  row = codec.tables['factorized_lookup'][0]
  escape_lower = int(row[np.argmax(row == 1 << 16) - 1])
  strings[0] = bytes([escape_lower >> 8, escape_lower & 0xFF])
  forged = fuzzing._assemble(fixed, strings)  # pylint: disable=protected-access
  with pytest.raises(GrmError, match='escape code no encoder writes'):
    codec.decode(forged)
