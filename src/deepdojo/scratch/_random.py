"""The one random-number generator that scratch's initialisers and dropout draw from.

PyTorch has a global generator seeded by ``torch.manual_seed``; we mirror that with a
NumPy ``Generator``. The streams differ from torch's, so seeding both with the same
number gives *different* weights -- copy a ``state_dict`` to compare the two engines.

>>> a = manual_seed(0).random()
>>> b = manual_seed(0).random()
>>> a == b
True
"""

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed scratch's global generator (like ``torch.manual_seed``) and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The global generator; read it at call time, since ``manual_seed`` replaces it."""
    return _generator
