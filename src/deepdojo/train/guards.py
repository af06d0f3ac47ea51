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
    """Catch a NaN/Inf loss or gradient, then stop with a clear error or roll back.

    After backward, the loss and every gradient entry must be finite (gradients checked by
    GradScaler's fused non-finite kernel, one pass). Then either stop with a clear error
    (``on_nonfinite="stop"``), or (``"rollback"``) continue from the newest good checkpoint with the
    learning rate multiplied by ``lr_factor``, at most ``max_rollbacks`` times. No checkpoint is ever deleted.

    When the host learns of a bad value (``read_every``):

    - ``read_every=1`` (the default on the CPU, where a read costs nothing): checked in the step it
      appears, before the optimizer uses it -- the weights are never updated from a bad step.
    - ``read_every=k > 1`` (the default on a GPU: 16): the check runs every step on the device
      (a flag and the first bad step are kept there, no host sync), and the host reads the flag
      every ``k`` steps, at each epoch end and before every checkpoint. Guarantee: the error names
      the exact first bad step; at most ``k - 1`` further steps may have updated the weights, and
      no checkpoint ever holds them, so ``rollback`` returns to weights no bad step touched.

    [distributed] The flag is all-reduced (MAX) across ranks, so every rank stops (or rolls back)
    at the same step.

    ``check_every=n`` checks only every ``n``-th step (cheaper, bad steps in between pass unseen).

    Example:
        >>> guard = NanGuard(on_nonfinite="rollback", lr_factor=0.5)
        >>> guard.check_grads, guard.max_rollbacks
        (True, 3)
    """

    order = -10  # before gradient clipping, which would spread a NaN through every gradient

    def __init__(self, check_every: int = 1, check_grads: bool = True, on_nonfinite: str = "stop",
                 lr_factor: float = 0.5, max_rollbacks: int = 3, read_every: int | None = None):
        if on_nonfinite not in ("stop", "rollback"):
            raise ValueError(f"on_nonfinite must be 'stop' or 'rollback', got {on_nonfinite!r}")
        if read_every is not None and read_every < 1:
            raise ValueError(f"read_every must be >= 1, got {read_every}")
        self.check_every, self.check_grads, self.read_every = check_every, check_grads, read_every
        self.on_nonfinite, self.lr_factor, self.max_rollbacks = on_nonfinite, lr_factor, max_rollbacks
        self.rollbacks = 0  # not in state_dict: a rollback restores callback state, this count must survive it

    def before_fit(self) -> None:
        learn = self.learn
        self.params = [(n, p) for n, p in learn.model.named_parameters() if p.requires_grad]
        self._found = torch.zeros(1, device=learn.device)  # set to 1 by the check below on any NaN/Inf
        self._one = torch.ones(1, device=learn.device)
        self._every = self.read_every or (16 if learn.device.type == "cuda" else 1)
        self._first = torch.full((1,), -1, dtype=torch.int64, device=learn.device)  # first bad step, on the device
        self._first_loss = torch.zeros(1, device=learn.device)

    def after_backward(self) -> None:
        learn = self.learn
        if learn.step % self.check_every:
            return
        loss = learn.loss.detach()
        grads = [p.grad for _, p in self.params if p.grad is not None] if self.check_grads else []
        if learn.dist is not None and learn.dist.fsdp:  # FSDP2: each rank checks its shard; the flag is all-reduced
            grads = [g.to_local() if hasattr(g, "to_local") else g for g in grads]
        if self._every == 1 and learn.dist is None:  # one process, read now: plain host reads (free on the CPU)
            if grads:
                # GradScaler's fused kernel: one pass over every gradient, flags any NaN/Inf in _found; it also
                # multiplies by _one, which leaves every value bit-identical. ~2x cheaper than foreach norms.
                self._found.zero_()
                torch._amp_foreach_non_finite_check_and_unscale_(grads, self._found, self._one)
            if not math.isfinite(loss.item()) or (grads and self._found.item()):
                self._fail(self._describe(loss))
            return
        # the device-side check: no host read; the flag and the first bad step stay on the device
        self._found.zero_()
        if grads:
            torch._amp_foreach_non_finite_check_and_unscale_(grads, self._found, self._one)
        torch.maximum(self._found, (~torch.isfinite(loss.float())).float().reshape(1), out=self._found)
        if learn.dist is not None:  # every rank sees any rank's bad value (NCCL: queued on the stream, no sync)
            learn.dist.all_reduce(self._found, "max")
        new = (self._found > 0) & (self._first < 0)
        self._first.masked_fill_(new, learn.step)  # a fill kernel with the step as its argument: no copy, no sync
        torch.where(new, loss.float().reshape(1), self._first_loss, out=self._first_loss)
        if (learn.step + 1) % self._every == 0:
            self.flush()

    def before_validate(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Read the device flag now (one host sync); raise if a bad value was seen since the last read."""
        first = getattr(self, "_first", None)
        if first is None or self._every == 1 and self.learn.dist is None:
            return
        step = int(first.item())
        if step < 0:
            return
        learn = self.learn
        loss = float(self._first_loss.item())
        what = "loss became" if not math.isfinite(loss) else "a gradient became non-finite (loss"
        tail = f" {loss}" if not math.isfinite(loss) else f" {loss:.4g})"
        self._first.fill_(-1)
        self._fail(f"{what}{tail} at step {step} (seen at step {learn.step}, epoch {learn.epoch}; the guard reads "
                   f"its device flag every {self._every} steps)")

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
