"""Training: input pipelines, the optimiser, checkpoints, and train_and_evaluate."""
