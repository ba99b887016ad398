"""Training, checkpoints and evaluation (PyTorch)."""
