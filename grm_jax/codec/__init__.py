"""The codec: coding tables, the range coder, the .grm format, model directories, and Codec."""
from grm_jax.codec.codec import Codec, DecodeResult, EncodeResult
