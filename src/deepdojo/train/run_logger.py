"""Callbacks that write the run folder: config, manifest, metrics, summary, checkpoints.

Example:
    >>> import tempfile, torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> learn = Learner(torch.nn.Linear(2, 2), load_builtin("xor"), progress=False, run_dir=tempfile.mkdtemp())
    >>> _ = learn.fit(1, 0.01)
    >>> sorted(p.name for p in learn.run.path.iterdir() if p.name != ".lock")[:4]
    ['checkpoints', 'config.json', 'manifest.json', 'metrics.csv']
"""

from __future__ import annotations

import sys
import time
import warnings

from deepdojo.errors import DiskFullError
from deepdojo.train.callbacks import Callback
from deepdojo.train.early_stopping import Monitor
from deepdojo.train.run_folder import manifest, refuse_foreign_run


class RunLogger(Callback):
    """config.json + manifest.json + splits.json at the start, a metrics line per epoch,
    summary.json at the end; TensorBoard scalars too when ``tensorboard`` is installed."""

    order = -5

    def __init__(self, tensorboard: bool = True):
        self.tensorboard, self.writer = tensorboard, None
        self.t0 = None  # set by before_fit; None: the fit stopped before it (e.g. no disk space), no summary

    def before_fit(self) -> None:
        learn, run = self.learn, self.learn.run
        refuse_foreign_run(run, learn.resume)  # before anything is written: another run's metrics stay its own
        self.t0 = time.perf_counter()
        if learn.resume and (run.path / "config.json").exists():
            run.truncate_metrics(learn.epoch)  # epochs after the checkpoint are redone; a mid-epoch one is written once
        else:
            run.write_json("config.json", getattr(learn, "config", None) or describe(learn))
            run.write_json("manifest.json", manifest(learn.seed, learn.data.info, str(learn.device)))
            splits = learn.data.info.get("splits")
            if splits is not None:
                from deepdojo.data.splits import save_splits

                save_splits(run.path / "splits.json", splits, learn.data.info.get("ids"))
        if self.tensorboard and self.writer is None:
            self.writer = _tensorboard_writer(run.path / "tensorboard")

    def after_epoch(self) -> None:
        self.learn.run.append_metrics(self.learn.record)
        if self.writer is not None:
            try:
                for key, value in self.learn.record.items():
                    if key != "epoch" and isinstance(value, (int, float)):
                        self.writer.add_scalar(key, value, self.learn.record["epoch"])
            except OSError as exc:  # a full disk or a vanished folder: TensorBoard is a view, metrics.jsonl the record
                self._drop_writer(exc)

    def after_fit(self) -> None:
        in_flight = sys.exc_info()[1]  # after_fit runs in the loop's `finally`: an error may be on its way out
        if self.t0 is None:
            return
        learn, history = self.learn, self.learn.run.read_metrics()
        monitor = Monitor("valid_loss")
        for r in history:
            monitor.improved(r.get("valid_loss", r.get("train_loss")), r["epoch"])
        ckpt = learn.run.path / "checkpoints"
        summary = {
            "epochs": len(history),
            "final": history[-1] if history else None,
            "best_epoch": monitor.best_epoch,
            "best": next((r for r in history if r["epoch"] == monitor.best_epoch), None),
            "lr": learn.lr,
            "lr_find": learn.lr_find_result.to_json() if learn.lr_find_result else None,
            "seconds": round(time.perf_counter() - self.t0, 3),
            "paths": {
                "last": str(ckpt / "last.safetensors") if (ckpt / "last.safetensors").exists() else None,
                "best": str(ckpt / "best.safetensors") if (ckpt / "best.safetensors").exists() else None,
                "metrics": str(learn.run.path / "metrics.jsonl"),
            },
        }
        self.t0 = None
        try:
            learn.run.write_json("summary.json", summary)
        except DiskFullError:
            if in_flight is None:
                raise  # otherwise the error that stopped the fit (often the same full disk) is the one to report
        finally:
            if self.writer is not None:
                try:
                    self.writer.close()  # a writer holds a file and a thread: one per fit, closed with it
                except OSError as exc:
                    self._drop_writer(exc)
                self.writer = None

    def _drop_writer(self, exc: OSError) -> None:
        """Stop writing TensorBoard events for this fit, with one warning; training goes on."""
        warnings.warn(f"TensorBoard logging stopped ({exc.strerror or exc}); metrics.jsonl in the run folder "
                      "still has every epoch", RuntimeWarning, stacklevel=2)
        writer, self.writer = self.writer, None
        try:
            writer.close()
        except OSError:
            pass


class SaveCheckpoints(Callback):
    """``checkpoints/last`` after every epoch, ``checkpoints/best`` when ``monitor`` improves.

    ``monitor=None`` watches what the Learner's task names (``task.monitor``, in its direction).
    """

    order = 5

    def __init__(self, monitor: str | None = None, mode: str = "auto"):
        self.key, self.mode, self._monitor = monitor, mode, None

    @property
    def monitor(self) -> Monitor:
        if self._monitor is None:
            task = self.learn.task
            if self.key is None:
                self._monitor = Monitor(task.monitor, "min" if task.minimize else "max")
            else:
                self._monitor = Monitor(self.key, self.mode)
        return self._monitor

    def before_fit(self) -> None:
        if not self.learn.resume:
            self._monitor = None  # a fresh fit forgets the previous best

    def after_epoch(self) -> None:
        learn = self.learn
        value = learn.record.get(self.monitor.key, learn.record.get("train_loss"))
        learn.save("last", extra={"epoch": learn.epoch, "record": learn.record})
        if self.monitor.improved(value, learn.epoch):
            learn.save("best", extra={"epoch": learn.epoch, "record": learn.record})

    def state_dict(self) -> dict:
        return self.monitor.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.monitor.load_state_dict(state)


def describe(learn) -> dict:
    """A config record for a Learner built by hand (no TrainConfig behind it)."""
    opt = learn.opt
    return {
        "model": type(learn.model).__name__,
        "optimizer": type(opt).__name__,
        "lr": learn.lr,
        "weight_decay": max(g.get("weight_decay", 0.0) for g in opt.param_groups),
        "loss_fn": getattr(learn.loss_fn, "__name__", type(learn.loss_fn).__name__),
        "metrics": [m.name for m in learn.metrics],
        "seed": learn.seed,
        "device": str(learn.device),
        "bf16": learn.bf16,
    }


def _tensorboard_writer(path):
    """A SummaryWriter when the optional ``tensorboard`` package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(path))
