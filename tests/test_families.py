"""A family is a registration: a new one codes real files with no edits elsewhere."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import grm_jax
from grm_jax import models
from grm_jax.codec import latent_coders, model_dir
from grm_jax.configs import tiny
from grm_jax.models import families


@pytest.fixture(autouse=True)
def _registry_restored(monkeypatch):
  """A family registered here is gone after the test: other tests see the five."""
  monkeypatch.setattr(families, '_REGISTRY', dict(families._REGISTRY))  # pylint: disable=protected-access


def test_a_registered_family_codes_exactly_with_no_edits_elsewhere(tmp_path, natural_image):
  # A mean-scale hyperprior whose h_a sees |y|: not one of the five, made of their parts.
  family = families.register(families.Family('mean_scale_of_magnitude', 'gaussian', hyper_of_magnitude=True))
  config = tiny.get_config()
  config.model.family = family.name
  model = models.build(config)
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))['params']
  model_dir.export(params, config, tmp_path / 'model')
  codec = grm_jax.load(tmp_path / 'model')
  assert isinstance(codec.y_coder, latent_coders.GaussianCoder) and codec.z_coder is not None
  image = (natural_image[:40, :56] * 255).astype(np.uint8)
  encoded = codec.encode(image)
  np.testing.assert_array_equal(codec.decompress(encoded.data), encoded.reconstruction)


def test_registrations_are_checked():
  with pytest.raises(ValueError, match='y_coding'):
    families.Family('nameless', 'checkerboard')
  with pytest.raises(ValueError, match='already registered'):
    families.register(families.Family('grm', 'gaussian'))
  with pytest.raises(ValueError, match='model.family must be one of'):
    models.check_model_config({**tiny.get_config().model.to_dict(), 'family': 'unregistered'})
