"""deepdojo: a deep-learning workbench on PyTorch.

``from deepdojo import Learner`` is resolved lazily, so ``import deepdojo``
(and the NumPy-only ``deepdojo.scratch``) never imports torch by itself.
"""

__version__ = "0.1.0"

__all__ = ["Learner", "__version__"]


def __getattr__(name: str):
    if name == "Learner":
        from deepdojo.train.learner import Learner

        return Learner
    raise AttributeError(f"module 'deepdojo' has no attribute {name!r}")
