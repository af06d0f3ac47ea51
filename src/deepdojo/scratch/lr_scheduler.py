"""Learning-rate schedules with torch.optim.lr_scheduler's semantics.

Construction counts as epoch 0 (the optimiser's lr may change right away, e.g.
``LinearLR``); call ``scheduler.step()`` once per epoch *after* ``optimizer.step()``.
Like torch, each ``step`` updates the lr recursively from the current ``group["lr"]``.

>>> import numpy as np
>>> from deepdojo.scratch.optim import SGD
>>> from deepdojo.scratch.nn import Parameter
>>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(sched.get_last_lr()[0])
...     opt.step(); sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

import math
from abc import ABC, abstractmethod

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LinearLR", "LinearWarmup", "StepLR"]


class LRScheduler(ABC):
    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._set(self._initial_lrs())

    def _initial_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set(self, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    @abstractmethod
    def get_lr(self):
        """The learning rates for the current ``last_epoch`` (each schedule's formula)."""

    def step(self):
        self.last_epoch += 1
        self._set(self.get_lr())

    def get_last_lr(self):
        return list(self._last_lr)


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self):
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed
    recursively like torch (so it also composes with other schedules)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def get_lr(self):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (t - 1 - T) % (2 * T) == 0:  # restarting from the bottom of the cosine
            return [
                g["lr"] + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                for base, g in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (g["lr"] - lo) + lo for g in groups]


class LinearLR(LRScheduler):
    """Linear warm-up: scale the lr from ``start_factor`` to ``end_factor`` of its base
    value over ``total_iters`` epochs, then hold it (torch's LinearLR)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def _initial_lrs(self):
        return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch > self.total_iters:
            return lrs
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)
        return [lr * ratio for lr in lrs]


LinearWarmup = LinearLR  # the name the curriculum uses for it
