"""Numerical guards: stop on a non-finite loss; clip gradients.

Example:
    >>> import torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> learn = Learner(torch.nn.Linear(2, 2), load_builtin("xor"), progress=False, grad_clip=1.0)
    >>> [type(cb).__name__ for cb in learn.callbacks]
    ['NanGuard', 'GradientClip']
"""

from __future__ import annotations

import math

import torch

from deepdojo.errors import TrainingError
from deepdojo.train.callbacks import Callback


class NanGuard(Callback):
    """Stop with a clear message as soon as the loss is NaN or infinite.

    Reads the loss each ``check_every`` steps: a host sync on a GPU (on the CPU
    it is a plain read). The optimizer step of the bad batch is never taken.
    """

    order = -10  # before other before_backward hooks

    def __init__(self, check_every: int = 1):
        self.check_every = check_every

    def before_backward(self) -> None:
        learn = self.learn
        if learn.step % self.check_every == 0 and not math.isfinite(learn.loss.item()):
            raise TrainingError(
                f"loss became {learn.loss.item()} at epoch {learn.epoch}, batch {learn.batch_idx} (step {learn.step})",
                where="training",
                fix="lower the learning rate (try lr_find), add gradient clipping, or check the inputs for NaN",
            )


class GradientClip(Callback):
    """Clip gradients after backward: by global norm (``max_norm``) or elementwise (``max_value``)."""

    def __init__(self, max_norm: float | None = None, max_value: float | None = None):
        if max_norm is None and max_value is None:
            raise ValueError("give max_norm or max_value")
        self.max_norm, self.max_value = max_norm, max_value

    def after_backward(self) -> None:
        params = [p for p in self.learn.model.parameters() if p.grad is not None]
        if self.max_value is not None:
            torch.nn.utils.clip_grad_value_(params, self.max_value)
        if self.max_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.max_norm, foreach=True)
