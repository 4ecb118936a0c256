"""Entropy models: densities of the latents and the networks that predict their parameters."""
from grm_jax.entropy_models import coding_order
from grm_jax.entropy_models.autoregressive import AutoregressiveEntropyParameters
from grm_jax.entropy_models.factorized import FactorizedDensity
from grm_jax.entropy_models.gaussian import bits, bounded_scale, gaussian_likelihood
from grm_jax.entropy_models.quantization import add_uniform_noise, round_with_offset, straight_through_round
