"""Learning-rate schedules, evaluated per optimizer step.

A schedule is a callable ``step -> lr`` built for a known number of steps.
Warmup wraps any schedule. One-cycle also returns a momentum schedule.

Example:
    >>> s = one_cycle(lr_max=0.1, total_steps=100)
    >>> round(s(0), 4), round(s(25), 4), s(99) < 1e-4
    (0.004, 0.1, True)
    >>> w = with_warmup(constant(0.1), warmup_steps=10)
    >>> round(w(0), 3), round(w(5), 3), w(50)
    (0.01, 0.06, 0.1)
"""

from __future__ import annotations

import math
from typing import Callable

from deepdojo.errors import ConfigError

Schedule = Callable[[int], float]


def _cos(start: float, end: float, pct: float) -> float:
    """Cosine interpolation from ``start`` (pct=0) to ``end`` (pct=1)."""
    return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))


def constant(lr: float) -> Schedule:
    return lambda step: lr


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (step // step_size)``: drop by ``gamma`` every ``step_size`` steps."""
    return lambda step: lr * gamma ** (step // step_size)


def multistep(lr: float, milestones: tuple[int, ...], gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (number of milestones passed)``: drops at the given steps."""
    return lambda step: lr * gamma ** sum(step >= m for m in milestones)


def exponential(lr: float, gamma: float, steps_per_decay: int = 1) -> Schedule:
    """``lr * gamma ** (step / steps_per_decay)``: smooth exponential decay."""
    return lambda step: lr * gamma ** (step / steps_per_decay)


def cosine(lr: float, total_steps: int, min_lr: float = 0.0) -> Schedule:
    """Cosine annealing from ``lr`` to ``min_lr`` over ``total_steps``."""
    return lambda step: _cos(lr, min_lr, min(step / max(total_steps - 1, 1), 1.0))


def with_warmup(schedule: Schedule, warmup_steps: int, start_factor: float = 0.0) -> Schedule:
    """Linear warmup from ``start_factor * lr`` over ``warmup_steps``, then ``schedule``.

    The wrapped schedule keeps its own clock (step 0 after warmup is its step 0).
    """
    if warmup_steps <= 0:
        return schedule

    def lr_at(step: int) -> float:
        if step < warmup_steps:
            frac = start_factor + (1 - start_factor) * (step + 1) / warmup_steps
            return schedule(0) * frac
        return schedule(step - warmup_steps)

    return lr_at


def one_cycle(lr_max: float, total_steps: int, pct_start: float = 0.25, div: float = 25.0,
              final_div: float = 1e4) -> Schedule:
    """Smith's one-cycle: cosine up from ``lr_max/div`` to ``lr_max``, then down to ``lr_max/final_div``."""
    up = max(int(total_steps * pct_start), 1)
    down = max(total_steps - up, 1)

    def lr_at(step: int) -> float:
        if step < up:
            return _cos(lr_max / div, lr_max, step / up)
        return _cos(lr_max, lr_max / final_div, min((step - up) / down, 1.0))

    return lr_at


def one_cycle_momentum(total_steps: int, pct_start: float = 0.25, high: float = 0.95, low: float = 0.85) -> Schedule:
    """Momentum that mirrors one-cycle's LR: high -> low while LR rises, back up as it falls."""
    up = max(int(total_steps * pct_start), 1)
    down = max(total_steps - up, 1)
    return lambda step: _cos(high, low, step / up) if step < up else _cos(low, high, min((step - up) / down, 1.0))


SCHEDULES = ("constant", "one_cycle", "cosine", "step", "exponential")


def make_schedule(name: str, lr: float, total_steps: int, warmup_pct: float = 0.0, *, pct_start: float = 0.25,
                  div: float = 25.0, final_div: float = 1e4, moms: tuple[float, float] = (0.95, 0.85)) -> Schedule:
    """A schedule by name for a run of ``total_steps`` (used by ``fit`` and the CLI).

    ``step`` drops by 10x at 50% and 75% of training; ``exponential`` decays to
    1% by the end; ``warmup_pct`` of the steps warm up linearly first.
    ``one_cycle`` also carries ``.momentum`` (``step -> momentum``), in phase with its LR after warmup;
    ``pct_start``, ``div``, ``final_div`` and ``moms`` (high, low) shape it (fastai's names and defaults,
    except ``pct_start`` 0.25).
    """
    warm = int(total_steps * warmup_pct)
    rest = max(total_steps - warm, 1)
    if name == "constant":
        sched = constant(lr)
    elif name == "one_cycle":
        sched = one_cycle(lr, rest, pct_start=pct_start, div=div, final_div=final_div)
        mom = one_cycle_momentum(rest, pct_start=pct_start, high=moms[0], low=moms[1])
        out = with_warmup(sched, warm)
        out.momentum = lambda step: mom(max(step - warm, 0))  # held high during warmup
        return out
    elif name == "cosine":
        sched = cosine(lr, rest)
    elif name == "step":
        sched = multistep(lr, (rest // 2, rest * 3 // 4))
    elif name == "exponential":
        sched = exponential(lr, gamma=0.01, steps_per_decay=rest)
    else:
        raise ConfigError(f"unknown schedule {name!r}", where="schedule", fix=f"use one of {', '.join(SCHEDULES)}")
    return with_warmup(sched, warm)
