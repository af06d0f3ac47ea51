"""deepdojo: a deep-learning workbench on PyTorch.

``from deepdojo import Learner`` is resolved lazily, so ``import deepdojo``
(and the NumPy-only ``deepdojo.scratch``) never imports torch by itself.
"""

__version__ = "0.1.0"

__all__ = ["Learner", "Predictor", "__version__", "load_learner"]


def __getattr__(name: str):
    if name == "Learner":
        from deepdojo.train.learner import Learner

        return Learner
    if name in ("load_learner", "Predictor"):
        from deepdojo import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'deepdojo' has no attribute {name!r}")
