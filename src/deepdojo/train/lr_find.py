"""The LR range test (Smith 2015) that leaves the Learner exactly as it found it.

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over at
most ``num_it`` steps while the (smoothed, bias-corrected) loss is recorded;
the test stops early once the loss diverges (4x its minimum, or non-finite).
It trains with a fresh optimizer of the same kind (the Learner's own optimizer
and its state are never touched), and afterwards
restores the model's weights and buffers, every RNG and the loader's epoch, so
the next training step is bit-identical to one taken without the test.

Example:
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> from deepdojo.models import create_model
    >>> learn = Learner(create_model("mlp", 2, in_features=2), load_builtin("moons"), seed=0, progress=False)
    >>> res = learn.lr_find(show=False)
    >>> sorted(res.suggestions) == ["minimum_div10", "steepest", "valley"] and 1e-5 < res.suggestion < 1
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepdojo.train.callbacks import EVENTS, Callback, CancelFit, hooks_for
from deepdojo.train.optim import make_optimizer
from deepdojo.train.reproducibility import rng_state, set_rng_state

LR_FIND_EPOCH = -1  # the loader's shuffle stream for the test: never one a real epoch uses
FALLBACK_LR = 1e-3


@dataclass
class LRFindResult:
    """Learning rates tried, smoothed losses, suggestions by rule, and the chosen one explained."""

    lrs: list[float]
    losses: list[float]
    suggestions: dict[str, float] = field(default_factory=dict)
    chosen: str = "valley"
    suggestion: float = FALLBACK_LR
    explanation: str = ""
    diverged: bool = False

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("suggestion", "chosen", "suggestions", "explanation", "diverged", "lrs", "losses")}

    def plot(self, path: str | Path | None = None):
        """Loss vs learning rate (log x), one marker per rule; saved to ``path`` (atomically) if given."""
        from deepdojo.figures import fig_to_png, subplots
        from deepdojo.io import atomic_write_bytes

        fig, ax = subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses, color="#1f77b4")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("smoothed training loss")
        markers = {"valley": ("o", "#d62728"), "steepest": ("^", "#2ca02c"), "minimum_div10": ("s", "#9467bd")}
        for rule, lr in self.suggestions.items():
            loss = float(np.interp(math.log(lr), np.log(self.lrs), self.losses))
            m, c = markers.get(rule, ("x", "k"))
            ax.plot([lr], [loss], m, color=c, label=f"{rule}: {lr:.2e}" + (" (chosen)" if rule == self.chosen else ""))
        ax.legend(loc="best")
        ax.set_title("LR finder")
        fig.tight_layout()
        if path is not None:
            atomic_write_bytes(Path(path), fig_to_png(fig))
        return fig

    def __repr__(self) -> str:
        rules = ", ".join(f"{k} {v:.2e}" for k, v in self.suggestions.items())
        return (f"LRFindResult(suggestion={self.suggestion:.2e} ({self.chosen}), {len(self.lrs)} steps"
                + (f"; {rules}" if rules else "") + (", diverged" if self.diverged else "") + ")")

    def _repr_png_(self) -> bytes:
        """Jupyter shows the plot under the short text."""
        from deepdojo.figures import fig_to_png

        if getattr(self, "_shown_inline", False):  # show() already put the plot in this cell's output
            self._shown_inline = False
            return None
        return fig_to_png(self.plot())

    def show(self) -> None:
        """Print the explanation; in Jupyter also show the plot inline."""
        print(self.explanation)
        from deepdojo.train.progress import in_notebook

        if in_notebook():
            from IPython.display import Image, display

            from deepdojo.figures import fig_to_png

            display(Image(data=fig_to_png(self.plot())))  # PNG bytes: shown whatever the notebook's backend
            self._shown_inline = True


class _FinderEpochs:
    """The training loader seen through the finder's own epoch stream (``LR_FIND_EPOCH``, -1, -2, ...).

    A real epoch never uses these shuffle orders, so the finder cannot shift the
    batches training will see.
    """

    def __init__(self, loader):
        self.loader = loader

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(LR_FIND_EPOCH - epoch)

    def __iter__(self):
        return iter(self.loader)

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):  # shard_weight, shard_rows ...: the rank view's own answers
        return getattr(self.loader, name)


class _RangeRecorder(Callback):
    """Records the smoothed (bias-corrected) loss after each step; stops the range test when done or diverged."""

    order = 100  # after every callback that shapes the step

    def __init__(self, start_lr: float, mult: float, num_it: int, beta: float, stop_div: bool):
        self.start_lr, self.mult, self.num_it, self.beta, self.stop_div = start_lr, mult, num_it, beta, stop_div
        self.lrs, self.losses, self.raw_avg, self.best, self.diverged = [], [], 0.0, math.inf, False

    def after_batch(self) -> None:
        it = len(self.lrs)
        learn = self.learn
        if learn.dist is None:
            value = float(learn.loss.detach())  # the test needs each loss: one host read per step
        else:  # [distributed] the global batch's loss, the same on every rank: the same suggestion
            train = learn._train_loader()
            value = learn.dist.mean_loss(learn.loss, learn.dist.local_size(train, learn.batch_idx, len(learn.yb)))
        self.raw_avg = self.beta * self.raw_avg + (1 - self.beta) * value
        smooth = self.raw_avg / (1 - self.beta ** (it + 1))
        if not math.isfinite(smooth) or (self.stop_div and it > 0 and smooth > 4 * self.best):
            self.diverged = True
            raise CancelFit()
        self.best = min(self.best, smooth)
        self.lrs.append(self.start_lr * self.mult**it)
        self.losses.append(smooth)
        if len(self.lrs) >= self.num_it:
            raise CancelFit()


_LOOP_STATE = ("opt", "_hooks", "epoch", "step", "start_batch", "batch_idx", "lr_factor", "epoch_losses",
               "epoch_sizes", "n_epochs", "steps_per_epoch", "resume", "finding_lr")


def lr_find(learn, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100, beta: float = 0.98,
            stop_div: bool = True) -> LRFindResult:
    """Run the range test on ``learn`` through its own training loop, and restore it afterwards.

    The steps are the Learner's own (autocast, the task's training step, DDP
    when under torchrun, and the callbacks that shape a step, such as gradient
    clipping: ``Callback.in_lr_find``); loggers, checkpoints, early stopping
    and the NaN guard sit it out, and no epoch-end validation runs.
    """
    model, loader = learn.model, learn._train_loader()  # [distributed] this rank's part of each global batch
    saved_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_rng, was_training = rng_state(), model.training
    saved_epoch = getattr(loader, "epoch", None)
    saved_loop = {k: getattr(learn, k, None) for k in _LOOP_STATE}
    mult = (end_lr / start_lr) ** (1 / max(num_it - 1, 1))
    recorder = _RangeRecorder(start_lr, mult, num_it, beta, stop_div)
    recorder.learn = learn
    shaping = [cb for cb in learn.callbacks if cb.in_lr_find] + [recorder]
    learn.opt = make_optimizer(learn.opt_spec[0], learn.param_groups(), start_lr, **learn.opt_spec[1])
    learn._hooks = {event: hooks_for(shaping, event) for event in EVENTS}
    finder_loader = _FinderEpochs(loader)
    learn._train_loader, learn.finding_lr = (lambda: finder_loader), True  # shadows the method until restored
    epochs = num_it // max(len(loader), 1) + 2  # enough epochs for num_it steps; the recorder stops it
    try:
        learn._run_fit(epochs, lambda step: start_lr * mult**step, None, False)
    finally:
        del learn._train_loader  # the class's method again
        for k, v in saved_loop.items():
            setattr(learn, k, v)
        with torch.no_grad():
            model.load_state_dict(saved_weights)  # copies into the same tensors: the optimizer still points at them
        set_rng_state(saved_rng)
        model.train(was_training)
        if saved_epoch is not None:
            loader.set_epoch(saved_epoch)
    return suggest(recorder.lrs, recorder.losses, recorder.diverged)


def suggest(lrs: list[float], losses: list[float], diverged: bool = False) -> LRFindResult:
    """Apply the three rules and choose one, with an explanation a person can check on the plot.

    - ``valley``: the longest stretch over which the loss keeps falling; 2/3 of the
      way along it (late enough to be fast, early enough to be safe).
    - ``steepest``: where the loss falls fastest per decade of learning rate.
    - ``minimum_div10``: a tenth of the LR at the lowest loss (Smith's rule of thumb).
    """
    res = LRFindResult(lrs=lrs, losses=losses, diverged=diverged)
    if len(lrs) < 5:
        res.explanation = f"LR finder: only {len(lrs)} usable steps; using lr={FALLBACK_LR:g}."
        return res
    loss, log_lr = np.asarray(losses), np.log(np.asarray(lrs))
    i_min = int(np.argmin(loss))
    if i_min == 0 or loss[i_min] > loss[0] * 0.99:
        res.explanation = f"LR finder: the loss never fell below its starting value; using lr={FALLBACK_LR:g} (check the data and model)."
        return res
    res.suggestions["steepest"] = float(lrs[steepest_index(loss, log_lr, i_min)])
    res.suggestions["minimum_div10"] = float(lrs[i_min] / 10)
    start, end = longest_descent(loss)
    res.suggestions["valley"] = float(lrs[start + (end - start) * 2 // 3])
    res.suggestion = res.suggestions["valley"]
    res.explanation = (
        f"LR finder: suggests lr={res.suggestion:.2e} (valley: 2/3 along the longest stretch where the loss falls, "
        f"{lrs[start]:.1e}..{lrs[end]:.1e}). Other rules: steepest slope {res.suggestions['steepest']:.2e}, "
        f"minimum/10 {res.suggestions['minimum_div10']:.2e}. Lowest loss {loss[i_min]:.4f} at lr={lrs[i_min]:.2e}"
        + ("; the loss diverged after that." if diverged else ".")
    )
    return res


def steepest_index(loss: np.ndarray, log_lr: np.ndarray, i_min: int) -> int:
    """Where the loss falls fastest per unit log-LR, before its minimum, measured robustly.

    A point-wise gradient of the first steps is dominated by the smoothing's
    start-up and by noise at tiny learning rates, and used to name the start
    LR itself. Here the slope is a difference across a window of ``n // 10``
    steps (at least 3), only where the loss has already fallen by 5% of its
    total drop (before that it is flat by definition), and the point named is
    the window's middle.
    """
    w = max(3, len(loss) // 10)
    drop = loss[0] - loss[i_min]
    started = np.flatnonzero(loss[: i_min + 1] <= loss[0] - 0.05 * drop)
    first = max(int(started[0]) - w // 2, 0) if len(started) else 0
    best, best_i = 0.0, None
    for i in range(first, i_min - w + 1):
        slope = (loss[i + w] - loss[i]) / (log_lr[i + w] - log_lr[i])
        if slope < best:
            best, best_i = slope, i + w // 2
    if best_i is None:  # a descent shorter than one window: the middle of it
        return (first + i_min) // 2
    return best_i


def longest_descent(loss: np.ndarray) -> tuple[int, int]:
    """``(start, end)`` of the longest strictly decreasing subsequence of ``loss`` (O(n^2), n <= a few hundred)."""
    n = len(loss)
    length, prev = np.ones(n, dtype=int), np.full(n, -1)
    for j in range(n):
        for i in range(j):
            if loss[i] > loss[j] and length[i] + 1 > length[j]:
                length[j], prev[j] = length[i] + 1, i
    end = int(np.argmax(length))
    start = end
    while prev[start] >= 0:
        start = int(prev[start])
    return start, end
