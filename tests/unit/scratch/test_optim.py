"""Optimisers follow torch.optim's parameter trajectory to 1e-10 over 25 steps (float64),
and schedules produce torch's learning-rate sequence."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from scratch_oracle import assert_close, copy_torch_to_scratch, to_torch

from deepdojo.scratch import Tensor, nn, optim
from deepdojo.scratch import functional as F

STEPS = 25

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


def _twins():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).double()
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    copy_torch_to_scratch(theirs, ours)
    return ours, theirs


@pytest.mark.parametrize(
    "name,kwargs", CONFIGS, ids=[f"{n}-{'-'.join(k)}" for n, k in CONFIGS]
)
def test_trajectory_matches_torch(name, kwargs):
    ours, theirs = _twins()
    opt_ours = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    rng = np.random.default_rng(0)
    for step in range(STEPS):
        x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)  # fresh batch each step
        opt_ours.zero_grad()
        F.cross_entropy(ours(Tensor(x)), y).backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        TF.cross_entropy(theirs(to_torch(x)), torch.from_numpy(y)).backward()
        opt_theirs.step()
        for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert_close(p, q, rtol=0, atol=1e-10, what=f"step {step}: {k}")
    start = _twins()[0]  # and the optimiser actually moved the weights
    assert not np.allclose(ours[0].weight.data, start[0].weight.data)


def test_parameters_without_grad_are_skipped_and_param_groups_work():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad = np.ones(2)
    opt.step()  # b has no gradient
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 1.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),  # runs past T_max: cosine restarts
    ("LinearLR", dict(start_factor=0.1, total_iters=5)),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.2, total_iters=4)),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[f"{n}-{k}" for n, k in SCHEDULES])
def test_schedule_matches_torch(name, kwargs):
    ours_opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.5)
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    ours = getattr(optim.lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    seen = []
    for _ in range(20):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15)
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(theirs_opt.param_groups[0]["lr"])
        seen.append(ours.get_last_lr()[0])
        ours_opt.step(), theirs_opt.step()
        ours.step(), theirs.step()
    assert len(set(seen)) > 1  # the schedule really changed the lr


def test_linear_warmup_alias_and_warmup_effect():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = optim.lr_scheduler.LinearWarmup(opt, start_factor=0.25, total_iters=3)
    lrs = []
    for _ in range(5):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
