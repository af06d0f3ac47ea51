"""One raw input -> a decoded prediction; shared by :meth:`Learner.predict` and :class:`~deepdojo.predict.Predictor`.

A raw input is what a person has: an image path, a PIL image, an array, a CSV
row (a dict, a list, or a ``"a,b,c"`` line, categories as text) or a string.
It goes through the preprocessing the data source recorded
(``data.info["preprocess"]``, :mod:`deepdojo.data.preprocess`), then the model.

Classification returns ``(label, index, probabilities)`` like fastai;
multi-label ``(labels, mask, probabilities)``; other tasks the model's output.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepdojo.data.preprocess import Preprocessor
from deepdojo.errors import ConfigError


@torch.no_grad()
def model_outputs(model: nn.Module, x: torch.Tensor, task: str, device: torch.device | str = "cpu",
                  batch_size: int = 256) -> torch.Tensor:
    """Decoded outputs of ``model`` on a model-ready batch ``x`` ``(B, ...)``, in eval mode, on the CPU.

    Probabilities (softmax) for classification, sigmoid for multi-label, raw outputs otherwise.
    """
    was_training = model.training
    model.eval()
    try:
        outs = []
        for i in range(0, len(x), batch_size):
            out = model(x[i : i + batch_size].to(device)).float()
            if task in ("classification", "language_model"):
                out = out.softmax(-1)
            elif task == "multilabel":
                out = out.sigmoid()
            outs.append(out.cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


def decode(out: torch.Tensor, task: str, classes: list[str] | None, threshold: float = 0.5) -> Any:
    """One sample's decoded output -> ``(label, index, probs)`` / ``(labels, mask, probs)`` / the output."""
    if task == "language_model" and out.dim() == 2:
        out = out[-1]  # (T, V) -> the next token's distribution
    if task in ("classification", "language_model"):
        i = int(out.argmax())
        return (classes[i] if classes else str(i)), i, out
    if task == "multilabel":
        mask = out > threshold
        return [classes[i] if classes else str(i) for i in mask.nonzero().flatten().tolist()], mask, out
    return out


def predict_raw(model: nn.Module, pre: Preprocessor | None, task: str, classes: list[str] | None, item: Any,
                device: torch.device | str = "cpu", strict: bool = False) -> Any:
    """Preprocess one raw ``item`` as training did, run ``model``, decode (see the module docstring)."""
    if pre is None:
        raise ConfigError("this model's data recorded no preprocessing, so raw inputs cannot be prepared",
                          where="predict", fix="pass a tensor batch shaped and scaled like the training batches")
    x = pre.encode([item], strict=strict)  # (1, ...)
    return decode(model_outputs(model, x, task, device)[0], task, classes)
