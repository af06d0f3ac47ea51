"""One preprocessing-and-decoding path for predictions: ``Learner.predict`` and ``Predictor`` both use it.

Raw inputs (uint8 images, unscaled features) go through the training data's
evaluation transform, the model, and the task's decoding.

Example:
    >>> import torch
    >>> from deepdojo.tasks import get_task
    >>> model = torch.nn.Linear(2, 2)
    >>> out = predict_batch(model, torch.zeros(3, 2), None, get_task("classification"))
    >>> out.shape, bool(torch.allclose(out.sum(1), torch.ones(3)))
    (torch.Size([3, 2]), True)
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from deepdojo.data.transforms import transform_from_json


@torch.no_grad()
def predict_batch(model: nn.Module, x: torch.Tensor, transform: dict[str, Any] | None, task,
                  device: torch.device | str = "cpu", autocast: contextlib.AbstractContextManager | None = None
                  ) -> torch.Tensor:
    """Raw batch ``(B, ...)`` -> the task's decoded outputs (probabilities for classification), on the CPU."""
    tf = transform_from_json(transform)
    x = torch.as_tensor(x).to(device)
    if tf is not None:
        x, _ = tf(x, None, None)
    if x.dtype == torch.uint8 or (not x.is_floating_point() and tf is not None):
        x = x.float()
    was_training = model.training
    model.eval()
    try:
        with autocast or contextlib.nullcontext():
            out = model(x)
    finally:
        model.train(was_training)
    return task.decode(out.float()).cpu()
