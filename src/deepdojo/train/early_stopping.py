"""Early stopping and the monitored-value bookkeeping it shares with checkpointing.

Example:
    >>> m = Monitor("valid_loss")
    >>> m.improved(0.5), m.improved(0.6), m.improved(0.4)
    (True, False, True)
"""

from __future__ import annotations

import math

import torch

from deepdojo.train.callbacks import Callback, CancelFit

_MAXIMIZE = ("accuracy", "f1", "r2", "auc", "precision", "recall", "dice", "iou")


class Monitor:
    """Tracks the best value of one epoch-record key (``min`` for losses/errors, ``max`` for scores)."""

    def __init__(self, key: str = "valid_loss", mode: str = "auto", min_delta: float = 0.0):
        self.key, self.min_delta = key, abs(min_delta)
        if mode == "auto":
            mode = "max" if any(k in key for k in _MAXIMIZE) and "loss" not in key else "min"
        self.mode = mode
        self.best: float | None = None
        self.best_epoch: int | None = None

    def improved(self, value: float, epoch: int | None = None) -> bool:
        """True (and remembered) when ``value`` beats the best by more than ``min_delta``."""
        if value is None or math.isnan(value):
            return False
        better = (
            self.best is None
            or (self.mode == "min" and value < self.best - self.min_delta)
            or (self.mode == "max" and value > self.best + self.min_delta)
        )
        if better:
            self.best, self.best_epoch = value, epoch
        return better

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the weights of the best epoch are put back at the end
    (kept in memory on the CPU, copied only when the monitored value improves).
    """

    order = 10  # after the run logger has written the epoch

    def __init__(self, monitor: str = "valid_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True):
        self.monitor = Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best = patience, restore_best
        self.wait, self.best_state, self.stopped_epoch = 0, None, None

    def before_fit(self) -> None:
        if not self.learn.resume:
            self.monitor = Monitor(self.monitor.key, self.monitor.mode, self.monitor.min_delta)
            self.wait, self.best_state, self.stopped_epoch = 0, None, None
        elif self.stopped_epoch is not None:  # restored from a run that had already stopped: it stays stopped
            raise CancelFit()

    def after_epoch(self) -> None:
        value = self.learn.record.get(self.monitor.key)
        if self.monitor.improved(value, self.learn.epoch):
            self.wait = 0
            if self.restore_best:
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.learn.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.learn.epoch
            raise CancelFit()

    def after_fit(self) -> None:
        if self.restore_best and self.best_state is not None:
            with torch.no_grad():
                self.learn.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        # best_state (CPU tensors) goes into the checkpoint's tensors file: a resumed run restores the same best
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best_state": self.best_state,
                **self.monitor.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best_state = state.get("best_state")
        self.monitor.load_state_dict(state)
