"""Experiment configurations (ml_collections). Each file has get_config(); default.py holds the shared defaults."""
