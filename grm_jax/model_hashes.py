"""The hashes a model's .grm files may name (model.json's model_hash and former_hashes), read without jax: the
zoo finds a file's model by them before anything is built.

former_hashes are the hashes a model's files had before an edit that changed no parameter or table (config.json's
record of where it trained), so that files written then still decode. Like model_hash, they are the model
directory's own claim: they keep files from being decoded by another model by mistake, not by an attacker.
"""
import re

MAX_FORMER_HASHES = 16
HASH_HEX = re.compile('[0-9a-f]{64}')


def file_hashes(meta):
  """The hashes a .grm file of this model may name, as hex: model_hash first (what new files name), then
  former_hashes. A ValueError where they are not SHA-256 hex digests, or former_hashes not a short list."""
  former = meta.get('former_hashes', [])
  if not isinstance(former, list) or len(former) > MAX_FORMER_HASHES:
    raise ValueError(f"model.json: former_hashes must be a list of at most {MAX_FORMER_HASHES} hashes")
  hashes = [meta.get('model_hash'), *former]
  if not all(isinstance(h, str) and HASH_HEX.fullmatch(h) for h in hashes):
    raise ValueError("model.json: a model hash that is not a SHA-256 hex digest")
  return hashes
