"""deepdojo.scratch: the glass box -- a NumPy-only autograd engine shaped like PyTorch.

Swap ``import torch`` for these names and a small model trains the same way:

>>> import numpy as np
>>> from deepdojo.scratch import Tensor, nn, optim, functional as F, manual_seed
>>> _ = manual_seed(0)
>>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
>>> opt = optim.SGD(model.parameters(), lr=0.5)
>>> x, y = Tensor([[0.0, 1.0], [1.0, 0.0]]), np.array([1, 0])
>>> first = F.cross_entropy(model(x), y).item()
>>> for _ in range(20):
...     opt.zero_grad()
...     loss = F.cross_entropy(model(x), y)
...     loss.backward()
...     opt.step()
>>> loss.item() < first
True

This package never imports torch (torch is only the tests' oracle).
"""

from deepdojo.scratch import functional, lr_scheduler, nn, optim
from deepdojo.scratch._random import default_generator, manual_seed
from deepdojo.scratch.gradcheck import GradcheckError, gradcheck
from deepdojo.scratch.tensor import (
    Tensor,
    cat,
    concatenate,
    is_grad_enabled,
    no_grad,
    ones,
    randn,
    stack,
    tensor,
    zeros,
)

__all__ = [
    "GradcheckError",
    "Tensor",
    "cat",
    "concatenate",
    "default_generator",
    "functional",
    "gradcheck",
    "is_grad_enabled",
    "lr_scheduler",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "randn",
    "stack",
    "tensor",
    "zeros",
]
