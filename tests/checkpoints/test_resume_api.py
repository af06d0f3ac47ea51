"""``Learner.fit(..., resume=True)`` and ``deepdojo train --resume`` in-process: mid-epoch resume is
bit-exact (early-stopping state included), settings must match, rotation and start-up sweep work."""

from __future__ import annotations

import signal

import pytest
import torch
from conftest import same_weights

from deepdojo import Learner, vision
from deepdojo.config import TrainConfig
from deepdojo.data import load_builtin
from deepdojo.errors import CheckpointError, ConfigError, TrainingInterrupted
from deepdojo.models import create_model
from deepdojo.train.callbacks import Callback
from deepdojo.train.early_stopping import EarlyStopping
from deepdojo.train.resume import ResumeFromCheckpoint, TrainingCheckpoints
from deepdojo.train.state_files import list_states


class Crash(Callback):
    """Stands in for a crash: raise out of the loop right after step ``at``."""

    def __init__(self, at):
        self.at = at

    def after_batch(self):
        if self.learn.step == self.at:
            raise RuntimeError("crash")


def make(run_dir, *callbacks, every=3):
    torch.manual_seed(0)
    model = create_model("mlp", 2, in_features=2, width=16, dropout=0.3, batch_norm=True)
    learn = Learner(model, load_builtin("moons", seed=0), seed=0, progress=False, run_dir=run_dir,
                    callbacks=[EarlyStopping(patience=50, restore_best=True), *callbacks])
    learn.callback(TrainingCheckpoints).every_steps = every
    return learn


def without_time(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


class Signal(Callback):
    """SIGTERM to this process during step ``at``."""

    def __init__(self, at):
        self.at = at

    def before_batch(self):
        if self.learn.step == self.at:
            signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [Crash(10), Signal(13)])  # mid-epoch 1; SIGTERM in its last batch (7 steps/epoch)
def test_mid_epoch_resume_is_bit_exact(tmp_path, stop):
    ref = make(tmp_path / "ref")
    ref.fit_one_cycle(4, 0.05)
    crashed = make(tmp_path / "run", stop)
    with pytest.raises((RuntimeError, TrainingInterrupted), match="crash|stopped by SIGTERM at epoch 1, step 14"):
        crashed.fit_one_cycle(4, 0.05)
    if isinstance(stop, Signal):  # saved after the epoch's last batch, before its validation
        assert crashed.callback(TrainingCheckpoints).saved.name == "state-000006.safetensors"
    resumed = make(tmp_path / "run")
    resumed.fit_one_cycle(4, 0.05, resume=True)
    assert resumed.callback(ResumeFromCheckpoint).resumed_from is not None
    assert same_weights(resumed.model.state_dict(), ref.model.state_dict())  # best weights restored by EarlyStopping
    assert without_time(resumed.history) == without_time(ref.history)
    assert without_time(resumed.run.read_metrics()) == without_time(ref.run.read_metrics())
    assert resumed.callback(EarlyStopping).monitor.best_epoch == ref.callback(EarlyStopping).monitor.best_epoch


def test_resume_needs_same_settings(tmp_path):
    make(tmp_path / "run").fit(2, 0.05)
    with pytest.raises(CheckpointError, match=r"other settings: epochs 2 -> 3"):
        make(tmp_path / "run").fit(3, 0.05, resume=True)


def test_resume_needs_a_run_folder():
    learn = Learner(torch.nn.Linear(2, 2), load_builtin("xor"), progress=False)
    with pytest.raises(ConfigError, match="resume needs a run folder"):
        learn.fit(1, 0.05, resume=True)


def test_finished_run_resumes_to_nothing_and_keeps_two_checkpoints(tmp_path):
    first = make(tmp_path / "run", every=1)
    first.fit(2, 0.05)
    folder = first.run.path / "checkpoints"
    assert len(list_states(folder)) == 2
    (folder / ".state-000099.safetensors.abc.tmp").write_bytes(b"half")  # what a kill mid-write leaves
    (folder / "state-000098.safetensors").write_bytes(b"no sidecar")
    again = make(tmp_path / "run", every=1)
    again.fit(2, 0.05, resume=True)
    assert again.step == first.step and without_time(again.history) == without_time(first.history)
    assert sorted(p.name for p in folder.glob("*.tmp")) == [] and not (folder / "state-000098.safetensors").exists()


def test_checkpoint_every_seconds(tmp_path):
    learn = make(tmp_path / "run", every=None)
    learn.callback(TrainingCheckpoints).every_seconds = 0.0  # due at every step boundary
    learn.fit(1, 0.05)
    newest = list_states(learn.run.path / "checkpoints")[-1]
    assert newest.name == "state-000007.safetensors"  # steps 1..6 by time, then the epoch end


def test_cli_resume_reuses_the_recorded_lr_and_the_newest_run(tmp_path, monkeypatch):
    from deepdojo.cli.train_cmd import train

    cfg = TrainConfig(data="builtin:moons", arch="mlp", epochs=1, lr="auto", seed=0, device="cpu",
                      out=str(tmp_path), model_kwargs={"width": 8})
    first = train(cfg, quiet=True)

    def no_second_search(*a, **k):
        raise AssertionError("the LR finder ran again on resume")

    monkeypatch.setattr(Learner, "lr_find", no_second_search)
    again = train(cfg.merged(resume=True), quiet=True)  # no --name: the newest run folder under --out
    assert again["run_dir"] == first["run_dir"] and again["lr"] == first["lr"]
    assert again["final"] == first["final"]


def test_vision_resume_uses_named_folder(tmp_path):
    a = vision.classifier("builtin:xor", out=tmp_path, name="x", progress=False, seed=0, checkpoint_every=2)
    assert a.callback(TrainingCheckpoints).every_steps == 2
    b = vision.classifier("builtin:xor", out=tmp_path, name="x", progress=False, seed=0, resume=True)
    assert a.run.path == b.run.path
