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
    >>> _ = learn.fit(2, 0.05)
    >>> again = vision.classifier("builtin:xor", out=run, name="r", progress=False, seed=0)
    >>> _ = again.fit(2, 0.05, resume=True)   # nothing left to do: the run had finished
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
from deepdojo.train.state_files import check_free_space, list_states, newest_good_state, read_state, sweep, write_state
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
        dist = learn.dist
        self.resumed_from, self.rejected = None, []
        lr_factor, learn.rollback_lr_factor = getattr(learn, "rollback_lr_factor", None), None  # a pending NaN rollback
        found = self._housekeeping(folder) if dist is None or dist.main else None
        if dist is not None:  # [distributed] rank 0 chose the file (or none); every rank loads that same file
            chosen = dist.broadcast_object(str(found[0]) if found else None)
            if not dist.main and chosen is not None:
                found = (Path(chosen), *read_state(Path(chosen)), [])
        if found is None:
            if lr_factor is not None:
                raise TrainingError("a non-finite value appeared and there is no good checkpoint to roll back to",
                                    where=str(folder), fix="lower the learning rate, or checkpoint more often")
            return
        path, tensors, meta, self.rejected = found
        restore_state(learn, tensors, meta, str(path))
        if dist is not None:
            from deepdojo.train.distributed import keep_accumulators

            keep_accumulators(learn)
        self.resumed_from = path
        if lr_factor is not None:
            learn.lr_factor = lr_factor
            log.warning("deepdojo: rolled back to %s (epoch %d, step %d); learning rate x%g",
                        path.name, learn.epoch, learn.step, learn.lr_factor)


    def _housekeeping(self, folder: Path):
        """Sweep temp files, check the disk; the newest good checkpoint to resume (a fresh fit clears old ones)."""
        learn = self.learn
        sweep(folder)
        sweep(learn.run.path)
        found = newest_good_state(folder) if learn.resume else None
        size = found[0].stat().st_size if found else expected_bytes(learn)
        check_free_space(folder, size)
        if found is None:
            if learn.resume and list_states(folder):
                log.warning("deepdojo: no checkpoint in %s verifies; starting from the beginning", folder)
            elif not learn.resume:
                for path in list_states(folder):  # a fresh fit starts a fresh series
                    path.with_suffix(".json").unlink(missing_ok=True)
                    path.unlink(missing_ok=True)
        return found


class TrainingCheckpoints(Callback):
    """Periodic, epoch-end and on-signal full-state checkpoints.

    Args:
        every_steps: also save after every this many optimizer steps (``None``: not by steps).
        every_seconds: also save when this much time has passed since the last save.
        keep: how many finished checkpoints to keep (at least 2 are kept).
        handle_signals: turn SIGTERM/SIGINT into "checkpoint, then stop" (main thread only).
        agree_every: [distributed] every this many steps the ranks agree (one small all-reduce) on
            whether a signal arrived or the time for a save has come; ``None``: every step on the
            CPU, every 20 steps on a GPU (a signal is then acted on within 20 steps).
    """

    order = 100  # after every other callback has updated its state for the step

    def __init__(self, every_steps: int | None = None, every_seconds: float | None = 600.0, keep: int = 2,
                 handle_signals: bool = True, agree_every: int | None = None):
        self.every_steps, self.every_seconds, self.agree_every = every_steps, every_seconds, agree_every
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
        timed = self.every_seconds is not None and time.monotonic() - self.last_save >= self.every_seconds
        signalled = self.signal is not None
        if learn.dist is not None:  # [distributed] act only on what every rank agrees on, at the same step
            signalled, timed = self._agree(signalled, timed, last_in_epoch)
        due = signalled or not last_in_epoch and ((self.every_steps and learn.step % self.every_steps == 0) or timed)
        if due:
            self.save((learn.epoch, learn.batch_idx + 1), None)
        self._stop_if_signalled(signalled)

    def after_epoch(self) -> None:
        signalled = self.signal is not None
        if self.learn.dist is not None:
            signalled, _ = self._agree(signalled, False, True)
        self.save((self.learn.epoch + 1, 0), ([], []))
        self._stop_if_signalled(signalled)

    def _agree(self, signalled: bool, timed: bool, force: bool) -> tuple[bool, bool]:
        """[distributed] (any rank was signalled, rank 0's clock says save): the same answer on every rank."""
        import torch

        learn = self.learn
        every = self.agree_every or (20 if learn.device.type == "cuda" else 1)
        if not force and learn.step % every:
            return False, False
        flags = torch.tensor([float(signalled), float(timed and learn.dist.main)], device=learn.device)
        learn.dist.all_reduce(flags, "max")
        signalled, timed = (bool(v) for v in flags.tolist())
        if signalled and self.signal is None:
            self.signal = signal.SIGTERM  # a peer was signalled: stop with it
        return signalled, timed

    def after_fit(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def save(self, position: tuple[int, int], accumulators: tuple[list, list] | None) -> Path:
        """Write one checkpoint of the Learner's state; refuses non-finite weights or optimizer state."""
        learn, folder = self.learn, checkpoint_dir(self.learn)
        for cb in learn.callbacks:  # a guard that reads its device flag every k steps reads it now: never save a bad step
            if callable(getattr(cb, "flush", None)):
                cb.flush()
        if learn.dist is not None:  # [distributed] the running loss over every rank; rank 0 writes
            from deepdojo.train.distributed import reduced_accumulators

            if accumulators is None:
                accumulators = reduced_accumulators(learn.dist, learn.epoch_losses, learn.epoch_sizes)
            if not learn.dist.main:
                self.last_save = time.monotonic()
                return folder
        tensors, meta = gather_state(learn, position, accumulators)
        check_finite(tensors, str(folder))
        self.saved = write_state(folder, tensors, meta, self.keep)
        self.last_save = time.monotonic()
        return self.saved

    def _stop_if_signalled(self, signalled: bool) -> None:
        if not signalled or self.signal is None:
            return
        name = signal.Signals(self.signal).name
        learn = self.learn
        saved = self.saved.name if self.saved is not None and self.saved.is_file() else "by rank 0"
        raise TrainingInterrupted(
            f"stopped by {name} at epoch {learn.epoch}, step {learn.step}; checkpoint saved ({saved})",
            where=str(learn.run.path), fix="rerun the same command with --resume")
