"""Experiment configurations (ml_collections), installed with the package and loaded by name or path
(grm_jax/config_io.py). Each file has get_config(); default.py holds the shared defaults. The repository's top-level
`configs` is a link to this folder."""
