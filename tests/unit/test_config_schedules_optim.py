"""Typed config, schedules against torch's own schedulers, optimizers by name."""

from __future__ import annotations

import math

import pytest
import torch

from deepdojo.config import TrainConfig
from deepdojo.errors import ConfigError
from deepdojo.train import schedules
from deepdojo.train.optim import make_optimizer, param_groups


def test_config_rejects_unknown_keys_and_wrong_types(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="batch_size: expected int"):
        TrainConfig.from_dict({"batch_size": "64"})
    with pytest.raises(ConfigError, match="expected bool"):
        TrainConfig.from_dict({"resume": 1})
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0  # ints are fine where floats are expected


@pytest.mark.parametrize("suffix,text", [(".toml", 'data = "builtin:xor"\nepochs = 2\n[model_kwargs]\nwidth = 8\n'),
                                         (".yaml", "data: builtin:xor\nepochs: 2\nmodel_kwargs: {width: 8}\n"),
                                         (".toml", '[train]\ndata = "builtin:xor"\nepochs = 2\nmodel_kwargs = {width = 8}\n')])
def test_config_files(tmp_path, suffix, text):
    p = tmp_path / f"c{suffix}"
    p.write_text(text)
    cfg = TrainConfig.from_file(p)
    assert (cfg.data, cfg.epochs, cfg.model_kwargs) == ("builtin:xor", 2, {"width": 8})


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    with pytest.raises(ConfigError, match="bad.toml: cannot parse config"):
        TrainConfig.from_file(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        TrainConfig.from_file(tmp_path / "missing.toml")
    typo = tmp_path / "typo.yaml"
    typo.write_text("lrate: 0.1\n")
    with pytest.raises(ConfigError, match="typo.yaml: lrate: unknown config key"):
        TrainConfig.from_file(typo)


def _torch_lrs(make_sched, steps, lr=0.1):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_sched(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_match_torch_schedulers():
    n = 50
    assert [schedules.step_decay(0.1, 10, 0.5)(s) for s in range(n)] == pytest.approx(
        _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 10, 0.5), n))
    assert [schedules.exponential(0.1, 0.9)(s) for s in range(n)] == pytest.approx(
        _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9), n))
    assert [schedules.cosine(0.1, n, 0.001)(s) for s in range(n)] == pytest.approx(
        _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, n - 1, 0.001), n))


def test_one_cycle_shape_and_warmup_composition():
    s = schedules.one_cycle(1.0, 100, pct_start=0.3, div=10, final_div=100)
    lrs = [s(i) for i in range(100)]
    peak = int(max(range(100), key=lambda i: lrs[i]))
    assert peak == 30 and lrs[0] == pytest.approx(0.1) and lrs[99] < 0.011
    assert all(a <= b for a, b in zip(lrs[:30], lrs[1:31])) and all(a >= b for a, b in zip(lrs[30:], lrs[31:]))
    w = schedules.make_schedule("cosine", 1.0, 100, warmup_pct=0.1)
    assert [round(w(i), 6) for i in range(3)] == [0.1, 0.2, 0.3] and w(10) == pytest.approx(1.0)
    assert w(99) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ConfigError):
        schedules.make_schedule("triangular", 1.0, 10)


def test_optimizers_by_name():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    sgd = make_optimizer("sgd", model.parameters(), 0.1, weight_decay=1e-4, nesterov=True)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["nesterov"] and sgd.param_groups[0]["momentum"] == 0.9
    # decay on the weight matrix only: not on biases or batch-norm scales
    decayed = [p.shape for g in sgd.param_groups if g["weight_decay"] for p in g["params"]]
    assert decayed == [torch.Size([4, 3])]
    assert isinstance(make_optimizer("rmsprop", model.parameters(), 0.1), torch.optim.RMSprop)
    assert make_optimizer("rmsprop", model.parameters(), 0.1).param_groups[0]["momentum"] == 0
    assert isinstance(make_optimizer("adam", model.parameters(), 0.1), torch.optim.Adam)
    assert isinstance(make_optimizer(torch.optim.Adagrad, model.parameters(), 0.1), torch.optim.Adagrad)
    assert len(param_groups(model.parameters(), 0.0)) == 1
    with pytest.raises(ConfigError, match="unknown optimizer"):
        make_optimizer("lion", model.parameters(), 0.1)


def test_step_schedule_by_name_drops_twice():
    s = schedules.make_schedule("step", 1.0, 100)
    assert (s(0), s(49), s(50), s(75)) == (1.0, 1.0, pytest.approx(0.1), pytest.approx(0.01))
    e = schedules.make_schedule("exponential", 1.0, 100)
    assert e(100) == pytest.approx(0.01) and math.isclose(e(50), 0.1)


@pytest.mark.parametrize("field,value", [("lr", -1.0), ("weight_decay", -0.1), ("warmup_pct", 1.0), ("epochs", 0),
                                         ("checkpoint_every", 0), ("valid_pct", 1.0), ("momentum", 1.5)])
def test_config_ranges_are_checked(field, value):
    with pytest.raises(ConfigError, match=f"^{field}: must be"):
        TrainConfig.from_dict({field: value})
    with pytest.raises(ConfigError, match="test_pct: must be"):
        TrainConfig.from_dict({"valid_pct": 0.6, "test_pct": 0.5})


def test_one_cycle_momentum_stays_in_phase_after_warmup():
    s = schedules.make_schedule("one_cycle", 1.0, 110, warmup_pct=10 / 110)
    lrs = [s(i) for i in range(110)]
    moms = [s.momentum(i) for i in range(110)]
    peak = max(range(110), key=lambda i: lrs[i])
    assert moms[:10] == [0.95] * 10  # held high while warming up
    assert min(range(110), key=lambda i: moms[i]) == peak  # lowest momentum where the LR peaks
