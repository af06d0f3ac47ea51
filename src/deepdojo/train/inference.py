"""One preprocessing-and-decoding path for predictions: ``Learner.predict`` and ``Predictor`` both use it.

Tensor batches (uint8 images, unscaled features) go through the training data's
evaluation transform, the model, and the task's decoding (:func:`predict_batch`).
Raw inputs — an image path, a PIL image, an array, a CSV row (a dict, a list or
a ``"a,b,c"`` line, categories as text) or a string — go through the
preprocessing the data source recorded (``data.info["preprocess"]``,
:mod:`deepdojo.data.preprocess`) instead (:func:`predict_raw`): classification
returns ``(label, index, probabilities)`` like fastai.

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


@torch.no_grad()
def decoded_outputs(model: nn.Module, x: torch.Tensor, task, device: torch.device | str = "cpu",
                    batch_size: int = 256) -> torch.Tensor:
    """The task's decoded outputs of ``model`` on a model-ready batch ``x`` ``(B, ...)``, in eval mode, on the CPU."""
    was_training = model.training
    model.eval()
    try:
        outs = [task.decode(model(x[i : i + batch_size].to(device)).float()).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


def unpack(out: torch.Tensor, task, classes: list[str] | None) -> Any:
    """One decoded output -> ``(label, index, probabilities)`` for a single-label task, else what the task formats."""
    formatted = task.format_prediction(out, classes, top=1)
    if "index" in formatted:  # classification
        return formatted["prediction"], formatted["index"], out
    if task.name == "language_model":
        last = out[-1] if out.dim() == 2 else out
        i = int(last.argmax())
        return (classes[i] if classes else str(i)), i, last
    if task.name == "multilabel":
        return formatted["prediction"], out > formatted["threshold"], out
    return out


def predict_raw(model: nn.Module, pre, task, classes: list[str] | None, item: Any,
                device: torch.device | str = "cpu", strict: bool = False) -> Any:
    """Preprocess one raw ``item`` as training did (``pre``: a :mod:`deepdojo.data.preprocess` preprocessor),
    run ``model``, decode with ``task`` (see the module docstring). ``strict`` refuses mismatched inputs."""
    if pre is None:
        from deepdojo.errors import ConfigError

        raise ConfigError("this model's data recorded no preprocessing, so raw inputs cannot be prepared",
                          where="predict", fix="pass a tensor batch shaped and scaled like the training batches")
    x = pre.encode([item], strict=strict)  # (1, ...)
    return unpack(decoded_outputs(model, x, task, device)[0], task, classes)
