"""Numerical guards: catch a non-finite loss or gradient (stop or roll back); clip gradients.

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

from deepdojo.errors import NonFiniteError
from deepdojo.train.callbacks import Callback


class RollbackRequest(Exception):
    """Raised by :class:`NanGuard` to ask ``Learner.fit`` to resume from the last good checkpoint."""

    def __init__(self, message: str, lr_factor: float):
        super().__init__(message)
        self.lr_factor = lr_factor


class NanGuard(Callback):
    """Catch a NaN/Inf loss or gradient in the step it appears, before the optimizer uses it.

    After backward, the loss and every gradient entry must be finite (gradients checked by
    GradScaler's fused non-finite kernel, one pass): host reads per checked step (on the CPU
    plain reads; on a GPU a sync, so set ``check_every`` there if the step is short). Then either stop with a clear error
    (``on_nonfinite="stop"``), or (``"rollback"``) continue from the newest good checkpoint with the
    learning rate multiplied by ``lr_factor``, at most ``max_rollbacks`` times. With the default
    ``check_every=1`` weights are never updated from a bad step; no checkpoint is ever deleted.

    Example:
        >>> guard = NanGuard(on_nonfinite="rollback", lr_factor=0.5)
        >>> guard.check_grads, guard.max_rollbacks
        (True, 3)
    """

    order = -10  # before gradient clipping, which would spread a NaN through every gradient

    def __init__(self, check_every: int = 1, check_grads: bool = True, on_nonfinite: str = "stop",
                 lr_factor: float = 0.5, max_rollbacks: int = 3):
        if on_nonfinite not in ("stop", "rollback"):
            raise ValueError(f"on_nonfinite must be 'stop' or 'rollback', got {on_nonfinite!r}")
        self.check_every, self.check_grads = check_every, check_grads
        self.on_nonfinite, self.lr_factor, self.max_rollbacks = on_nonfinite, lr_factor, max_rollbacks
        self.rollbacks = 0  # not in state_dict: a rollback restores callback state, this count must survive it

    def before_fit(self) -> None:
        self.params = [(n, p) for n, p in self.learn.model.named_parameters() if p.requires_grad]
        self._found = torch.zeros(1, device=self.learn.device)  # set to 1 by the check below on any NaN/Inf
        self._one = torch.ones(1, device=self.learn.device)

    def after_backward(self) -> None:
        learn = self.learn
        if learn.step % self.check_every:
            return
        loss = learn.loss.detach()
        grads = [p.grad for _, p in self.params if p.grad is not None] if self.check_grads else []
        if grads:
            # GradScaler's fused kernel: one pass over every gradient, flags any NaN/Inf in _found; it also
            # multiplies by _one, which leaves every value bit-identical. ~2x cheaper than foreach norms.
            self._found.zero_()
            torch._amp_foreach_non_finite_check_and_unscale_(grads, self._found, self._one)
        if not math.isfinite(loss.item()) or (grads and self._found.item()):  # host reads: free on CPU
            self._fail(self._describe(loss))

    def _describe(self, loss: torch.Tensor) -> str:
        learn = self.learn
        at = f"at epoch {learn.epoch}, batch {learn.batch_idx} (step {learn.step})"
        if not math.isfinite(loss.item()):
            return f"loss became {loss.item()} {at}"
        bad = next(n for n, p in self.params if p.grad is not None and not bool(torch.isfinite(p.grad).all()))
        return f"gradient of {bad} became non-finite {at} (loss {loss.item():.4g})"

    def _fail(self, what: str) -> None:
        learn = self.learn
        can_roll = learn.run is not None and any(type(cb).__name__ == "ResumeFromCheckpoint" for cb in learn.callbacks)
        if self.on_nonfinite == "rollback" and can_roll and self.rollbacks < self.max_rollbacks:
            self.rollbacks += 1
            raise RollbackRequest(what, self.lr_factor)
        tried = f" after {self.rollbacks} rollback(s)" if self.rollbacks else ""
        raise NonFiniteError(
            what + tried, where="training",
            fix="lower the learning rate (try lr_find), add gradient clipping, check the inputs for NaN, "
                "or use NanGuard(on_nonfinite='rollback'); the last good checkpoint is kept",
        )


class GradientClip(Callback):
    """Clip gradients after backward: by global norm (``max_norm``) or elementwise (``max_value``)."""

    in_lr_find = True  # the LR finder must measure the step training will take

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
