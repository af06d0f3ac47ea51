"""One rank of the distributed tests: started by test_distributed.py as a real process per rank
(RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT in the environment, as torchrun sets them).

``python dist_worker.py SCENARIO OUT_DIR``; each rank writes ``OUT_DIR/rank<R>.pt`` with what it saw.
The same functions run in one process (``WORLD_SIZE`` unset) to give the single-process oracle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from deepdojo import Learner
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import ConfigError, TrainingError
from deepdojo.train.callbacks import Callback, CancelFit

N_TRAIN, N_VALID, PER_RANK_BATCH = 17, 11, 4  # 2 ranks: global batch 8, batches of 8, 8, 1 (rank 1 idles in the last)


def make_data(batch_size: int):
    g = torch.Generator().manual_seed(123)
    x = torch.randn(N_TRAIN + N_VALID, 5, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()  # 3 classes
    train = TensorLoader(x[:N_TRAIN], y[:N_TRAIN], batch_size=batch_size, shuffle=True, seed=7)
    valid = TensorLoader(x[N_TRAIN:], y[N_TRAIN:], batch_size=5)
    return train, valid


def make_learner(batch_size: int, run_dir=None, callbacks=(), **kw) -> Learner:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    learn = Learner(model, make_data(batch_size), opt="sgd", momentum=0.9, seed=0, progress=False, run_dir=run_dir,
                    metrics=["accuracy", "f1_macro"], callbacks=callbacks, **kw)
    return learn


class StopAtStep(Callback):
    def __init__(self, step: int):
        self.at = step

    def after_batch(self):
        if self.learn.step >= self.at:
            raise CancelFit()


class DieAtStep(Callback):
    """Rank 1 kills itself (SIGKILL) mid-epoch: the others must not hang."""

    def __init__(self, step: int):
        self.at = step

    def after_batch(self):
        if self.learn.step >= self.at and self.learn.dist.rank == 1:
            os.kill(os.getpid(), 9)


class WriteAudit:
    """Every file opened for writing, renamed or removed under ``root`` (Python's audit hooks)."""

    def __init__(self, root: Path):
        self.root, self.events = str(root), []
        sys.addaudithook(self)

    def __call__(self, event, args):
        if event == "open" and args and isinstance(args[0], (str, Path)) and str(args[0]).startswith(self.root):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            if (mode and any(c in str(mode) for c in "wax+")) or (flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
                self.events.append(("open", str(args[0])))
        elif event in ("os.rename", "os.replace", "os.remove", "os.unlink") and str(args[0]).startswith(self.root):
            self.events.append((event, str(args[0])))


def parity(out: Path, world: int) -> dict:
    """LR finder, then 2 epochs interrupted after step 3 and resumed from the run folder; rank 0 writes."""
    run = out / "run"
    audit = WriteAudit(run) if world > 1 and int(os.environ["RANK"]) > 0 else None
    batch = PER_RANK_BATCH if world > 1 else PER_RANK_BATCH * 2
    first = make_learner(batch, run_dir=run, callbacks=[StopAtStep(3)])
    suggestion = first.lr_find(num_it=8, show=False).suggestion
    first.callbacks[[type(c).__name__ for c in first.callbacks].index("TrainingCheckpoints")].every_steps = 1
    first.fit(2, 0.1, schedule="one_cycle")
    second = make_learner(batch, run_dir=run)
    second.fit(2, 0.1, schedule="one_cycle", resume=True)
    result = {"weights": {k: v.clone() for k, v in second.model.state_dict().items()}, "history": second.history,
              "suggestion": suggestion, "stopped_at": first.step, "writes": audit.events if audit else None}
    fsdp = make_learner(batch, strategy="fsdp")  # FSDP2 (fully_shard) in the same process group
    fsdp.fit(1, 0.1)
    result["fsdp_weights"] = fsdp.dist.full_state_dict(fsdp.model) if fsdp.dist else fsdp.model.state_dict()
    if world > 1:  # a user's own loaders with a different number of batches per rank: an error, not a hang
        xb = torch.zeros(4, 5)
        batches = [(xb, torch.zeros(4, dtype=torch.long))] * (2 + second.dist.rank)
        odd = Learner(torch.nn.Linear(5, 3), (batches, batches[:1]), progress=False)
        try:
            odd.fit(1, 0.1)
            result["uneven"] = "no error"
        except ConfigError as exc:
            result["uneven"] = str(exc)
    return result


def killed(out: Path, world: int) -> dict:
    learn = make_learner(PER_RANK_BATCH, callbacks=[DieAtStep(2)])
    try:
        learn.fit(50, 0.1)
    except TrainingError as exc:
        return {"error": str(exc)}
    return {"error": None}


class SlowAfter(Callback):
    """From step ``at`` on: leave a marker file (the test then signals one rank) and slow each step down."""

    def __init__(self, at: int, marker: Path):
        self.at, self.marker = at, marker

    def after_batch(self):
        import time

        if self.learn.step >= self.at:
            self.marker.touch()
            time.sleep(0.05)


def sigterm(out: Path, world: int) -> dict:
    from deepdojo.errors import TrainingInterrupted

    learn = make_learner(PER_RANK_BATCH, run_dir=out / "run", callbacks=[SlowAfter(2, out / f"ready{learn_rank()}")])
    try:
        learn.fit(200, 0.1)
    except TrainingInterrupted as exc:
        return {"step": learn.step, "message": str(exc)}
    return {"step": None}


def learn_rank() -> str:
    return os.environ.get("RANK", "0")


if __name__ == "__main__":
    scenario, out = sys.argv[1], Path(sys.argv[2])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(1)
    result = {"parity": parity, "killed": killed, "sigterm": sigterm}[scenario](out, world)
    torch.save(result, out / f"rank{os.environ.get('RANK', '0')}.pt")
