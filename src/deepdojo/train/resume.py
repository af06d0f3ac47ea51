"""Resumable training: full-state checkpoints during ``fit``, resume to the bit, stop cleanly on signals.

Two callbacks, added by default when the Learner has a run folder:

- :class:`ResumeFromCheckpoint` (first in ``before_fit``): sweeps orphaned temp files, refuses to
  start when the disk cannot hold two checkpoints, and with ``fit(..., resume=True)`` restores the
  newest checkpoint that verifies (a corrupt one is skipped with a message naming it).
- :class:`TrainingCheckpoints` (last in every event): writes a checkpoint every ``every_steps``
  steps and/or ``every_seconds`` seconds and at each epoch end, keeps the newest ``keep``; on
  SIGTERM or SIGINT it writes one at the next step boundary and raises
  :class:`~deepdojo.errors.TrainingInterrupted` (CLI exit code 75, "try again later").

A run killed at any point and resumed ends with the same weights, bit for bit (CPU), as one that
was never interrupted.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> run = tempfile.mkdtemp()
    >>> learn = vision.classifier("builtin:xor", out=run, name="r", progress=False, seed=0)
    >>> learn.fit(2, 0.05)
    >>> again = vision.classifier("builtin:xor", out=run, name="r", progress=False, seed=0)
    >>> again.fit(2, 0.05, resume=True)   # nothing left to do: the run had finished
    >>> again.history == learn.history
    True
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from deepdojo.errors import TrainingError, TrainingInterrupted
from deepdojo.train.callbacks import Callback
from deepdojo.train.run_folder import refuse_foreign_run
from deepdojo.train.state_files import check_free_space, list_states, newest_good_state, sweep, write_state
from deepdojo.train.train_state import check_finite, expected_bytes, gather_state, restore_state

log = logging.getLogger("deepdojo")
EXIT_INTERRUPTED = TrainingInterrupted.exit_code


def checkpoint_dir(learn) -> Path:
    return learn.run.path / "checkpoints"


class ResumeFromCheckpoint(Callback):
    """Start-up housekeeping, and the restore for ``fit(..., resume=True)``."""

    order = -20  # before the run logger truncates metrics to the restored epoch

    def __init__(self):
        self.resumed_from: Path | None = None
        self.rejected: list[str] = []

    def before_fit(self) -> None:
        learn, folder = self.learn, checkpoint_dir(self.learn)
        refuse_foreign_run(learn.run, learn.resume)  # first: a fresh fit below deletes the folder's checkpoints
        sweep(folder)
        sweep(learn.run.path)
        self.resumed_from, self.rejected = None, []
        lr_factor = learn.__dict__.pop("rollback_lr_factor", None)  # set by Learner.fit for a NaN rollback
        found = newest_good_state(folder) if learn.resume else None
        size = found[0].stat().st_size if found else expected_bytes(learn)
        check_free_space(folder, size)
        if found is None:
            if lr_factor is not None:
                raise TrainingError("a non-finite value appeared and there is no good checkpoint to roll back to",
                                    where=str(folder), fix="lower the learning rate, or checkpoint more often")
            if learn.resume and list_states(folder):
                log.warning("deepdojo: no checkpoint in %s verifies; starting from the beginning", folder)
            elif not learn.resume:
                for path in list_states(folder):  # a fresh fit starts a fresh series
                    path.with_suffix(".json").unlink(missing_ok=True)
                    path.unlink(missing_ok=True)
            return
        path, tensors, meta, self.rejected = found
        restore_state(learn, tensors, meta, str(path))
        self.resumed_from = path
        if lr_factor is not None:
            learn.lr_factor = lr_factor
            log.warning("deepdojo: rolled back to %s (epoch %d, step %d); learning rate x%g",
                        path.name, learn.epoch, learn.step, learn.lr_factor)


class TrainingCheckpoints(Callback):
    """Periodic, epoch-end and on-signal full-state checkpoints.

    Args:
        every_steps: also save after every this many optimizer steps (``None``: not by steps).
        every_seconds: also save when this much time has passed since the last save.
        keep: how many finished checkpoints to keep (at least 2 are kept).
        handle_signals: turn SIGTERM/SIGINT into "checkpoint, then stop" (main thread only).
    """

    order = 100  # after every other callback has updated its state for the step

    def __init__(self, every_steps: int | None = None, every_seconds: float | None = 600.0, keep: int = 2,
                 handle_signals: bool = True):
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self.keep, self.handle_signals = max(keep, 2), handle_signals
        self.signal: int | None = None
        self.saved: Path | None = None
        self._previous: dict[int, object] = {}

    def before_fit(self) -> None:
        self.last_save, self.signal = time.monotonic(), None
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signal = signum  # acted on at the next step boundary, never inside a write

    def after_batch(self) -> None:
        learn = self.learn
        last_in_epoch = learn.batch_idx + 1 >= learn.steps_per_epoch  # the epoch-end save follows soon
        due = self.signal is not None or not last_in_epoch and (
            (self.every_steps and learn.step % self.every_steps == 0)
            or (self.every_seconds is not None and time.monotonic() - self.last_save >= self.every_seconds))
        if due:
            self.save((learn.epoch, learn.batch_idx + 1), None)
        self._stop_if_signalled()

    def after_epoch(self) -> None:
        self.save((self.learn.epoch + 1, 0), ([], []))
        self._stop_if_signalled()

    def after_fit(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def save(self, position: tuple[int, int], accumulators: tuple[list, list] | None) -> Path:
        """Write one checkpoint of the Learner's state; refuses non-finite weights or optimizer state."""
        learn, folder = self.learn, checkpoint_dir(self.learn)
        tensors, meta = gather_state(learn, position, accumulators)
        check_finite(tensors, str(folder))
        self.saved = write_state(folder, tensors, meta, self.keep)
        self.last_save = time.monotonic()
        return self.saved

    def _stop_if_signalled(self) -> None:
        if self.signal is None:
            return
        name = signal.Signals(self.signal).name
        learn = self.learn
        raise TrainingInterrupted(
            f"stopped by {name} at epoch {learn.epoch}, step {learn.step}; checkpoint saved ({self.saved.name})",
            where=str(learn.run.path), fix="rerun the same command with --resume")
