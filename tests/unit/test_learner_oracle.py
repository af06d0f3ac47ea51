"""The Learner against a plain PyTorch loop (the oracle), seeds, and host syncs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.data.loaders import epoch_permutation
from deepdojo.train.callbacks import Callback


def make_problem(seed=0, n=300):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    return x, y


def make_model():
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))


def plain_loop(model, x, y, epochs, bs, lr, opt_name, seed):
    """What a careful user writes by hand: same shuffle order, same optimizer."""
    opt = {"adamw": lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=0.0),
           "sgd": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)}[opt_name](model.parameters())
    for epoch in range(epochs):
        model.train()
        perm = epoch_permutation(len(x), seed, epoch)
        for i in range(0, len(x), bs):
            idx = perm[i : i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    return model


def test_learner_matches_plain_loop_bit_for_bit():
    x, y = make_problem()
    for opt_name, kw in [("adamw", {}), ("sgd", {"momentum": 0.9, "nesterov": True})]:
        torch.manual_seed(1)
        ref = plain_loop(make_model(), x, y, epochs=3, bs=32, lr=1e-2, opt_name=opt_name, seed=5)
        torch.manual_seed(1)
        model = make_model()  # same initial weights; the global RNG is now where the reference's was
        data = Data.from_tensors(x, y, valid=(x[:50], y[:50]), normalize=False, batch_size=32, seed=5)
        learn = Learner(model, data, opt=opt_name, weight_decay=0.0, progress=False, **kw)
        learn.fit(3, lr=1e-2)
        for (name, a), b in zip(ref.state_dict().items(), learn.model.state_dict().values()):
            assert torch.equal(a, b), f"{opt_name}: {name} differs from the plain loop"


def test_same_seed_twice_is_bit_identical():
    from deepdojo import vision

    weights = []
    for _ in range(2):
        learn = vision.classifier("builtin:digits", arch="cnn", seed=3, out=None, progress=False, model_kwargs={"widths": (8, 16)})
        learn.fit(1, 3e-3)
        weights.append(learn.model.state_dict())
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k


class SyncCounter(Callback):
    """Counts Tensor.item / __float__ / tolist calls made between before_batch and after_batch."""

    def __init__(self):
        self.inside, self.count = False, 0

    def before_batch(self):
        self.inside = True

    def after_batch(self):
        self.inside = False


def test_no_host_sync_inside_the_step_loop(monkeypatch):
    x, y = make_problem()
    data = Data.from_tensors(x, y, batch_size=32)
    counter = SyncCounter()
    # SGD: Adam's own step counter is read with .item() inside torch.optim (a CPU scalar, not ours)
    learn = Learner(make_model(), data, opt="sgd", default_callbacks=False, callbacks=[counter],
                    metrics=["accuracy", "error_rate"])
    for name in ("item", "__float__", "tolist", "__bool__"):
        original = getattr(torch.Tensor, name)

        def wrapped(self, *a, _orig=original, **kw):
            if counter.inside:
                counter.count += 1
            return _orig(self, *a, **kw)

        monkeypatch.setattr(torch.Tensor, name, wrapped)
    learn.fit_one_cycle(2, 1e-2)
    assert counter.count == 0
    assert len(learn.history) == 2 and 0 <= learn.history[-1]["accuracy"] <= 1


def test_plain_dataloaders_work_unchanged():
    from torch.utils.data import DataLoader, TensorDataset

    x, y = make_problem()
    train = DataLoader(TensorDataset(x[:250], y[:250]), batch_size=32, shuffle=True)
    valid = DataLoader(TensorDataset(x[250:], y[250:]), batch_size=64)
    learn = Learner(make_model(), (train, valid), progress=False, seed=0)
    learn.fit(3, 1e-2)
    assert learn.history[-1]["valid_loss"] < learn.history[0]["train_loss"]


def test_bf16_autocast_trains_on_cpu():
    x, y = make_problem()
    learn = Learner(make_model(), Data.from_tensors(x, y), bf16=True, progress=False, seed=0)
    learn.fit(2, 1e-2)
    assert learn.history[-1]["accuracy"] > 0.5
