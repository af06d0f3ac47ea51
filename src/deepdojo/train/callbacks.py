"""Callbacks: small objects that act on the Learner's events, and cancel by exception.

Events, in the order the loop fires them::

    before_fit
      before_epoch
        before_batch -> [forward, loss] -> before_backward -> [backward]
                     -> after_backward -> [optimizer step] -> after_batch   (per batch)
        before_validate -> after_validate
      after_epoch
    after_fit

A callback overrides only the events it needs; the Learner dispatches each
event only to callbacks that override it (an empty list costs nothing).
Raise :class:`CancelBatch` to skip the rest of a batch (e.g. the optimizer
step), :class:`CancelEpoch` to end an epoch's training early (validation and
``after_epoch`` still run), :class:`CancelFit` to stop training
(``after_fit`` still runs).

Example:
    >>> class StopAfter(Callback):
    ...     def __init__(self, n): self.n = n
    ...     def after_batch(self):
    ...         if self.learn.step >= self.n: raise CancelFit()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepdojo.train.learner import Learner

EVENTS = (
    "before_fit", "before_epoch", "before_batch", "before_backward", "after_backward",
    "after_batch", "before_validate", "after_validate", "after_epoch", "after_fit",
)


class CancelBatch(Exception):
    """Skip the rest of this batch (the step counter still advances)."""


class CancelEpoch(Exception):
    """Stop this epoch's training batches; validation and ``after_epoch`` still run."""


class CancelFit(Exception):
    """Stop training; ``after_fit`` still runs."""


class Callback:
    """Base class. ``self.learn`` is set by the Learner before ``before_fit``.

    ``order`` sorts callbacks (lower first) within every event.
    ``state_dict``/``load_state_dict`` let checkpoints carry a callback's state.
    """

    order = 0
    # True: also acts during the LR finder's steps (it shapes the training step, like gradient
    # clipping); loggers, checkpoints, early stopping and the NaN guard leave it False
    in_lr_find = False
    learn: "Learner"

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (JSON-ready values)."""

    @property
    def name(self) -> str:
        return type(self).__name__


def hooks_for(callbacks: list[Callback], event: str) -> list:
    """Bound methods of the callbacks that override ``event``, in ``order``."""
    return [
        getattr(cb, event)
        for cb in sorted(callbacks, key=lambda c: c.order)
        if getattr(type(cb), event, None) is not getattr(Callback, event, None)
    ]
