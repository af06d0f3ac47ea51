"""Callback events, cancellation, the shipped callbacks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data, load_builtin
from deepdojo.errors import TrainingError
from deepdojo.train import CancelBatch, CancelEpoch, CancelFit, EarlyStopping, GradientClip
from deepdojo.train.callbacks import EVENTS, Callback


def learner(callbacks=(), **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    return Learner(model, load_builtin("moons", batch_size=100), callbacks=callbacks, progress=False, **kw)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def __getattribute__(self, name):
        if name in EVENTS:
            return lambda: object.__getattribute__(self, "events").append(name)
        return object.__getattribute__(self, name)


for _event in EVENTS:  # make every event count as overridden
    setattr(Recorder, _event, lambda self: None)


def test_event_order():
    rec = Recorder()
    learn = learner([rec])
    learn.fit(2, 1e-2)
    n = len(learn.data.train)
    per_batch = ["before_batch", "before_backward", "after_backward", "after_batch"]
    epoch = ["before_epoch", *per_batch * n, "before_validate", "after_validate", "after_epoch"]
    assert rec.events == ["before_fit", *epoch * 2, "after_fit"]


def test_cancel_batch_skips_the_step():
    class SkipAll(Callback):
        def after_backward(self):
            raise CancelBatch()

    learn = learner([SkipAll()])
    before = [p.clone() for p in learn.model.parameters()]
    learn.fit(1, 1e-1)
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))
    assert learn.step == len(learn.data.train)


def test_cancel_epoch_still_validates_and_cancel_fit_runs_after_fit():
    class StopEarly(Callback):
        def __init__(self):
            self.after_fit_called = False

        def after_batch(self):
            if self.learn.batch_idx == 0:
                raise CancelEpoch()

        def after_epoch(self):
            if self.learn.epoch == 1:
                raise CancelFit()

        def after_fit(self):
            self.after_fit_called = True

    cb = StopEarly()
    learn = learner([cb])
    learn.fit(5, 1e-2)
    assert len(learn.history) == 2 and "valid_loss" in learn.history[0]
    assert learn.step == 2 and cb.after_fit_called


def test_early_stopping_stops_and_restores_best():
    class WorsenValid(Callback):  # a fake validation curve: best at epoch 1
        order = 5
        curve = [0.5, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7]

        def after_validate(self):
            self.learn.record["valid_loss"] = self.curve[self.learn.epoch]

    class Snapshot(Callback):
        order = 11

        def __init__(self):
            self.states = {}

        def after_epoch(self):
            self.states[self.learn.epoch] = {k: v.clone() for k, v in self.learn.model.state_dict().items()}

    es, snap = EarlyStopping(patience=2), Snapshot()
    learn = learner([WorsenValid(), es, snap])
    learn.fit(7, 1e-2)
    assert es.stopped_epoch == 3 and len(learn.history) == 4
    for k, v in learn.model.state_dict().items():
        assert torch.equal(v, snap.states[1][k])


def test_gradient_clipping_by_norm_and_value():
    class Check(Callback):
        order = 100

        def __init__(self):
            self.norms, self.maxes = [], []

        def after_backward(self):
            grads = [p.grad for p in self.learn.model.parameters()]
            self.norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
            self.maxes.append(max(g.abs().max().item() for g in grads))

    chk = Check()
    learner([GradientClip(max_norm=0.01), chk]).fit(1, 1e-2)
    assert max(chk.norms) <= 0.01 * (1 + 1e-5)
    chk = Check()
    learner([GradientClip(max_value=0.001), chk]).fit(1, 1e-2)
    assert max(chk.maxes) <= 0.001 + 1e-9


def test_nan_guard_stops_with_a_clear_message():
    class PoisonLoss(Callback):
        order = -20  # before the guard looks

        def before_backward(self):
            if self.learn.step == 3:
                self.learn.loss = self.learn.loss * float("nan")

    learn = learner([PoisonLoss()])
    before = None

    class Keep(Callback):
        def after_batch(self):
            nonlocal before
            before = [p.clone() for p in self.learn.model.parameters()]

    learn.add_callbacks([Keep()])
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 0, batch 3"):
        learn.fit(1, 1e-2)
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))


def test_lr_schedule_is_applied_per_step():
    class LRs(Callback):
        def __init__(self):
            self.lrs = []

        def before_batch(self):
            self.lrs.append(self.learn.opt.param_groups[0]["lr"])

    from deepdojo.train.schedules import one_cycle

    rec = LRs()
    learn = learner([rec])
    learn.fit_one_cycle(3, 0.05)
    total = 3 * len(learn.data.train)
    expected = [one_cycle(0.05, total)(s) for s in range(total)]
    assert rec.lrs == pytest.approx(expected)


def test_tensor_data_without_valid_split():
    x, y = torch.randn(64, 2), torch.randint(0, 2, (64,))
    learn = Learner(nn.Linear(2, 2), Data.from_tensors(x, y, valid_pct=0), progress=False)
    learn.fit(1, 1e-2)
    assert "valid_loss" not in learn.history[0] and learn.history[0]["train_loss"] > 0


def test_nan_guard_names_the_bad_gradient_and_lets_large_finite_ones_pass():
    def spoil(value):
        class Spoil(Callback):
            order = -20  # after backward, before the guard

            def after_backward(self):
                if self.learn.step == 1:
                    self.learn.model[2].bias.grad.fill_(value)

        return Spoil()

    with pytest.raises(TrainingError, match=r"gradient of 2\.bias became non-finite at epoch 0, batch 1"):
        learner([spoil(float("inf"))]).fit(1, 1e-2)
    # huge but finite gradients are not NaN/Inf: the guard lets them through (AdamW normalizes the step)
    learn = learner([spoil(1e30)])
    learn.fit(1, 1e-2)
    assert learn.step == len(learn.data.train) and all(torch.isfinite(p).all() for p in learn.model.parameters())


def test_every_after_epoch_hook_runs_on_the_epoch_early_stopping_ends():
    class Late(Callback):
        order = 50  # after EarlyStopping (10): the progress line and epoch-end checkpoints sit here

        def __init__(self):
            self.epochs = []

        def after_epoch(self):
            self.epochs.append(self.learn.epoch)

    class Flat(Callback):
        order = 5

        def after_validate(self):
            self.learn.record["valid_loss"] = 1.0  # never improves after epoch 0

    late = Late()
    learn = learner([Flat(), EarlyStopping(patience=1), late])
    learn.fit(5, 1e-2)
    assert late.epochs == [0, 1] and len(learn.history) == 2


def test_resuming_a_run_that_stopped_early_trains_no_more(tmp_path):
    class Flat(Callback):
        order = 5

        def after_validate(self):
            self.learn.record["valid_loss"] = 1.0

    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
        return Learner(model, load_builtin("moons", batch_size=100), callbacks=[Flat(), EarlyStopping(patience=1)],
                       progress=False, run_dir=tmp_path / "run")

    first = make()
    first.fit(5, 1e-2)
    weights = {k: v.clone() for k, v in first.model.state_dict().items()}
    again = make()
    again.fit(5, 1e-2, resume=True)
    assert again.step == first.step and all(torch.equal(v, weights[k]) for k, v in again.model.state_dict().items())
