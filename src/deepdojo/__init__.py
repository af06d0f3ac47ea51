"""deepdojo: a deep-learning workbench on PyTorch."""

__version__ = "0.1.0"
