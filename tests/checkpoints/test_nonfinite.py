"""NaN in the loss and Inf in a gradient are caught in the step they appear: the optimizer never
takes that step, every checkpoint on disk is finite, none is deleted; with rollback the run
continues from the last good checkpoint at a lower learning rate."""

from __future__ import annotations

import pytest
import torch
from conftest import same_weights

from deepdojo import Learner
from deepdojo.data import load_builtin
from deepdojo.errors import TrainingError
from deepdojo.models import create_model
from deepdojo.train.guards import NanGuard
from deepdojo.train.resume import TrainingCheckpoints
from deepdojo.train.state_files import list_states, read_state

BAD_STEP = 10  # moons: 7 steps per epoch, so this is mid-epoch 1


def make(tmp_path, loss_fn=None, guard=None):
    torch.manual_seed(0)
    model = create_model("mlp", 2, in_features=2, width=16)
    learn = Learner(model, load_builtin("moons", seed=0), loss_fn=loss_fn, seed=0, progress=False, run_dir=tmp_path / "run")
    if isinstance(loss_fn, NanLossOnce):
        loss_fn.learn = learn
    learn.callback(TrainingCheckpoints).every_steps = 1
    if guard is not None:
        learn.remove_callback(NanGuard).add_callbacks([guard])
    return learn


class NanLossOnce:
    """Cross-entropy, except NaN the first time training reaches ``step`` (a rollback replays it cleanly)."""

    def __init__(self, step: int):
        self.step, self.fired, self.learn = step, False, None

    def __call__(self, pred, target):
        loss = torch.nn.functional.cross_entropy(pred, target)
        if self.learn.model.training and self.learn.step == self.step and not self.fired:
            self.fired = True
            return loss * float("nan")
        return loss


def assert_all_checkpoints_finite(learn):
    states = list_states(learn.run.path / "checkpoints")
    assert states
    for path in states:
        tensors, _ = read_state(path)
        assert all(bool(torch.isfinite(t).all()) for k, t in tensors.items() if t.is_floating_point()), path
    return states


def newest_weights(learn):
    tensors, meta = read_state(list_states(learn.run.path / "checkpoints")[-1])
    return {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}, meta


def test_nan_loss_stops_within_the_step_and_keeps_good_checkpoints(tmp_path):
    learn = make(tmp_path, loss_fn=NanLossOnce(BAD_STEP))
    with pytest.raises(TrainingError, match=f"loss became nan at epoch 1, batch 3 \\(step {BAD_STEP}\\)"):
        learn.fit(3, 0.05)
    assert learn.step == BAD_STEP  # caught in the step it appeared
    states = assert_all_checkpoints_finite(learn)
    weights, meta = newest_weights(learn)
    assert meta["step"] == BAD_STEP and len(states) == 2  # the last good ones are kept
    assert same_weights(weights, learn.model.state_dict())  # the bad step never reached the weights


def test_inf_gradient_is_caught_within_the_step_and_named(tmp_path):
    learn = make(tmp_path)
    weight = learn.model[-1].weight
    weight.register_hook(lambda g: g * float("inf") if learn.step == BAD_STEP else g)
    with pytest.raises(TrainingError, match=f"gradient of 5.weight became non-finite .*step {BAD_STEP}"):
        learn.fit(3, 0.05)
    assert learn.step == BAD_STEP
    assert_all_checkpoints_finite(learn)
    weights, _ = newest_weights(learn)
    assert same_weights(weights, learn.model.state_dict())


def test_non_finite_weights_are_never_written(tmp_path):
    learn = make(tmp_path)
    learn.fit(1, 0.05)
    before = list_states(learn.run.path / "checkpoints")
    with torch.no_grad():
        learn.model[1].weight[0, 0] = float("inf")
    with pytest.raises(TrainingError, match="non-finite values in model/1.weight"):
        learn.callback(TrainingCheckpoints).save((1, 0), ([], []))
    assert list_states(learn.run.path / "checkpoints") == before


def test_rollback_resumes_from_last_good_checkpoint_with_lower_lr(tmp_path):
    learn = make(tmp_path, loss_fn=NanLossOnce(BAD_STEP),
                 guard=NanGuard(on_nonfinite="rollback", lr_factor=0.5))
    learn.fit(3, 0.05)
    assert learn.lr_factor == 0.5 and learn.callback(NanGuard).rollbacks == 1
    assert [r["epoch"] for r in learn.run.read_metrics()] == [0, 1, 2]  # no gap, no duplicate
    assert learn.history[-1]["lr"] == pytest.approx(0.025)
    assert_all_checkpoints_finite(learn)
    # epoch 0 was before the fault: identical to a run that never saw it
    clean = make(tmp_path / "clean")
    clean.fit(3, 0.05)
    assert learn.history[0]["train_loss"] == clean.history[0]["train_loss"]


def test_rollback_without_a_checkpoint_stops(tmp_path):
    learn = make(tmp_path, loss_fn=NanLossOnce(0), guard=NanGuard(on_nonfinite="rollback"))
    with pytest.raises(TrainingError, match="no good checkpoint to roll back to"):
        learn.fit(1, 0.05)
