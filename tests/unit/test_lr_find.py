"""LR finder: leaves the Learner bit-identical, is deterministic, suggests sensibly."""

from __future__ import annotations

import numpy as np
import torch

from deepdojo import vision
from deepdojo.train.lr_find import longest_descent, suggest


def small_cnn_learner(seed=0, out=None):
    # dropout + batch norm + augmentation: every kind of state the finder could disturb
    return vision.classifier("builtin:digits", arch="cnn", seed=seed, out=out, progress=False,
                             model_kwargs={"widths": (8, 16), "dropout": 0.3})


def test_lr_find_restores_weights_and_next_step_exactly():
    a = small_cnn_learner()
    before = {k: v.clone() for k, v in a.model.state_dict().items()}
    res = a.lr_find(num_it=30, show=False)
    assert len(res.lrs) > 5
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed by lr_find"
    a.fit(1, 1e-3)  # the next training steps: identical to a learner that never ran the finder
    b = small_cnn_learner()  # built after a's run: both start training from the same global RNG state
    b.fit(1, 1e-3)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


def test_lr_find_is_deterministic_under_a_seed():
    r1 = small_cnn_learner(seed=4).lr_find(num_it=40, show=False)
    r2 = small_cnn_learner(seed=4).lr_find(num_it=40, show=False)
    assert r1.losses == r2.losses and r1.suggestion == r2.suggestion


def test_lr_find_writes_plot_and_explains(tmp_path):
    learn = small_cnn_learner(out=tmp_path)
    res = learn.lr_find(num_it=60, show=False)
    assert (learn.run.path / "lr_find.png").stat().st_size > 1000
    assert "suggests lr=" in res.explanation
    assert set(res.suggestions) == {"valley", "steepest", "minimum_div10"}
    assert res.lrs == sorted(res.lrs) and res.lrs[0] >= 1e-7


def test_suggestions_on_a_synthetic_curve():
    lrs = list(np.logspace(-6, 1, 100))
    x = np.log10(lrs)
    # flat, then a fall centred at 1e-2, then divergence after 1e-1
    losses = list(2.0 - 1.5 / (1 + np.exp(-(x + 2) * 3)) + np.where(x > -1, (x + 1) ** 2 * 5, 0))
    res = suggest(lrs, losses)
    assert 1e-4 < res.suggestions["steepest"] < 1e-1
    assert res.suggestions["minimum_div10"] < lrs[int(np.argmin(losses))]
    assert 1e-5 < res.suggestion < 1e-1


def test_flat_loss_falls_back_and_says_so():
    res = suggest(list(np.logspace(-6, 1, 50)), [1.0] * 50)
    assert res.suggestion == 1e-3 and "never fell" in res.explanation


def test_longest_descent():
    assert longest_descent(np.array([5, 4, 6, 3, 2, 7, 1])) == (0, 6)


def _mlp_learner(name: str, seed: int):
    return vision.classifier(f"builtin:{name}", arch="mlp", seed=seed, out=None, progress=False, device="cpu")


def test_steepest_rule_is_not_the_start_lr_over_several_datasets():
    """It used to name the start LR (1e-7) in 3 of 4 runs on moons: the smoothing's start-up, not a slope."""
    for name, seed in [("moons", 0), ("moons", 1), ("moons", 2), ("moons", 3), ("xor", 0), ("circles", 0), ("blobs", 0)]:
        res = _mlp_learner(name, seed).lr_find(num_it=60, show=False)
        if "steepest" not in res.suggestions:
            continue
        lrs, losses = np.array(res.lrs), np.array(res.losses)
        steep, i_min = res.suggestions["steepest"], int(np.argmin(losses))
        assert steep > 100 * lrs[0], (name, seed, steep)
        assert steep <= lrs[i_min], (name, seed, steep)
        i = int(np.argmin(np.abs(lrs - steep)))
        assert losses[i] < losses[0]  # where the loss is actually falling, not on the flat start


def test_auto_lr_reuses_a_finder_result_until_the_model_changes(monkeypatch):
    from deepdojo.train import lr_find as module

    calls = []
    real = module.lr_find
    monkeypatch.setattr(module, "lr_find", lambda *a, **k: calls.append(1) or real(*a, **k))
    learn = _mlp_learner("moons", 0)
    res = learn.lr_find(num_it=30, show=False)
    assert len(calls) == 1
    history = learn.fit_one_cycle(1, lr_max="auto")
    assert len(calls) == 1 and history is learn.history and learn.lr == res.suggestion  # reused; fit returns history
    learn.fit_one_cycle(1, lr_max="auto")  # the weights were trained since: a new range test
    assert len(calls) == 2


def test_lr_find_result_is_short_text_with_a_png():
    res = _mlp_learner("xor", 0).lr_find(num_it=20, show=False)
    text = repr(res)
    assert len(text) < 300 and "suggestion=" in text
    assert res._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lr_find_runs_the_learners_own_step_with_step_shaping_callbacks_only():
    """The finder drives the normal loop: gradient clipping (in_lr_find) acts, loggers and the like do not."""
    from deepdojo import Learner
    from deepdojo.data import load_builtin
    from deepdojo.models import create_model
    from deepdojo.train.callbacks import Callback
    from deepdojo.train.guards import GradientClip

    class Count(Callback):
        def __init__(self, shapes: bool):
            self.in_lr_find, self.n = shapes, 0

        def after_backward(self):
            self.n += 1

    shaping, logging = Count(True), Count(False)
    clip = GradientClip(max_norm=1e-3)
    learn = Learner(create_model("mlp", 2, in_features=2), load_builtin("moons", seed=0), seed=0, progress=False,
                    callbacks=[shaping, logging, clip])
    norms = []
    real = clip.after_backward

    def spy():
        real()
        norms.append(float(sum(p.grad.norm() ** 2 for p in learn.model.parameters() if p.grad is not None) ** 0.5))

    clip.after_backward = spy
    learn.add_callbacks([])  # re-collect hooks with the spy
    res = learn.lr_find(num_it=30, show=False)
    assert shaping.n == len(norms) >= len(res.lrs) > 5 and logging.n == 0
    assert max(norms) <= 1e-3 * 1.001  # every finder step was clipped, as a training step would be
    assert learn.history == [] and learn.epoch == 0 and learn.step == 0  # no epoch records, loop state restored
