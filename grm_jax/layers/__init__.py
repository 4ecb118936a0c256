"""Layers: normalisations, convolutions and parameter networks. They know nothing of entropy coding."""
from grm_jax.layers.conv import (MASKS, MaskedConv, PhaseConvTranspose, SubpixelConvTranspose, causal_mask,
                                 checkerboard_mask, checkerboard_reference_mask, depth_to_space, downsample_conv,
                                 gather_patches, kernel_mask, mask_taps, reference_mask, same_conv, subpixel_kernel)
from grm_jax.layers.gdn import GDN, GSDN, normalization
from grm_jax.layers.param_net import ParameterNet
from grm_jax.layers.parameterization import lower_bound, nonneg, nonneg_init
