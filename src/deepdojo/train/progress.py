"""Progress display: a rich bar in a terminal or notebook, plain lines in logs, or nothing.

The bar advances on the step counter only (no loss read inside the loop); the
epoch's numbers are printed once the epoch ends. Epochs are numbered from 0
everywhere (records, lines, the bar: "epoch 0 (1 of 5)"), as fastai's table does.
In Jupyter, :mod:`deepdojo.train.notebook_progress` draws an HTML table instead.
"""

from __future__ import annotations

import sys
import time

from deepdojo.train.callbacks import Callback


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def interactive() -> bool:
    return sys.stdout.isatty() or in_notebook()


def format_record(record: dict) -> str:
    """``epoch 3  train_loss 0.1234  valid_loss 0.2345  accuracy 0.9612  12.3s``."""
    parts = [f"epoch {record['epoch']}"]
    for key, value in record.items():
        if key in ("epoch", "seconds", "lr"):
            continue
        parts.append(f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}")
    parts.append(f"{record.get('seconds', 0):.1f}s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """``mode="rich"``: a live bar (refreshed at most 10x a second); ``"plain"``: one line per epoch."""

    order = 20

    def __init__(self, mode: str = "rich"):
        self.mode, self.progress = mode, None

    def before_fit(self) -> None:
        if self.mode != "rich":
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=True, refresh_per_second=10)
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.learn.steps_per_epoch, epoch=0)
        self.last = 0.0

    def before_epoch(self) -> None:
        if self.progress is not None:
            self.progress.reset(self.task, total=self.learn.steps_per_epoch, epoch=f"{self.learn.epoch} ({self.learn.epoch + 1} of {self.learn.n_epochs})")
            self.progress.update(self.task, completed=self.learn.start_batch)

    def after_batch(self) -> None:
        if self.progress is not None:
            now = time.monotonic()
            if now - self.last > 0.1:  # rich's lock costs microseconds: update at most 10x a second
                self.progress.update(self.task, completed=self.learn.batch_idx + 1)
                self.last = now

    def after_epoch(self) -> None:
        line = format_record(self.learn.record)
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            print(line, flush=True)

    def after_fit(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
