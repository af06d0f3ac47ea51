"""Transfer learning: layer groups, freezing, discriminative LRs (against a hand-computed SGD step),
fine_tune, --pretrained from a run folder, hub weights' missing-package message, activation hooks."""

from __future__ import annotations

import json
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepdojo import Learner
from deepdojo.errors import CheckpointError, ConfigError
from deepdojo.models import create_model, list_models, model_kind
from deepdojo.models.examples import example_model
from deepdojo.train.transfer import hub_model, layer_groups, load_pretrained, slice_scales


def tiny_resnet(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return create_model("resnet18", num_classes, in_channels=1, small_input=True, width_mult=0.125)


def one_batch_learner(model, **kw):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 1, 8, 8, generator=g), torch.arange(8) % 3
    return Learner(model, ([(x, y)], [(x, y)]), progress=False, default_callbacks=False, **kw), x, y


@pytest.mark.parametrize("name", [n for n in list_models() if model_kind(n) not in ("vector", "detector", "segmenter")])
def test_layer_groups_cover_every_parameter_once_head_last(name):
    model = example_model(name)
    groups = layer_groups(model)
    ids = [id(p) for g in groups for p in g]
    assert len(groups) >= 2 and len(ids) == len(set(ids)) == len(list(model.parameters()))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]  # none in a dot-product recommender
    if linears:
        assert {id(p) for p in linears[-1].parameters()} <= {id(p) for p in groups[-1]}


def test_generic_fallback_splits_off_the_last_linear():
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    groups = layer_groups(m)
    assert [len(g) for g in groups] == [2, 2] and groups[1][0] is m[2].weight


def test_freeze_trains_head_and_batchnorm_only():
    model = tiny_resnet()
    learn, x, y = one_batch_learner(model, opt="sgd", weight_decay=0.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    learn.freeze()
    learn.fit(1, 0.1)
    after = model.state_dict()
    assert torch.equal(before["stem.0.weight"], after["stem.0.weight"])  # frozen conv
    assert not torch.equal(before["stem.1.bias"], after["stem.1.bias"])  # BN trains while frozen
    assert not torch.equal(before["head.weight"], after["head.weight"])
    learn.freeze(train_bn=False)
    assert not model.stem[1].weight.requires_grad and model.head.weight.requires_grad
    learn.unfreeze()
    assert all(p.requires_grad for p in model.parameters())
    learn.freeze_to(1)
    groups = layer_groups(model)
    assert not groups[0][0].requires_grad and all(p.requires_grad for p in groups[1] + groups[2])


def test_discriminative_lrs_match_a_hand_computed_sgd_step():
    model = tiny_resnet()
    reference = tiny_resnet()
    learn, x, y = one_batch_learner(model, opt="sgd", momentum=0.0, weight_decay=0.0)
    learn.fit(1, slice(1e-4, 1e-2))  # constant schedule, one step
    reference.train()
    F.cross_entropy(reference(x), y).backward()
    lrs = dict(zip(range(3), (1e-4, 1e-3, 1e-2)))
    for gid, params in enumerate(layer_groups(reference)):
        new = {id(p): q for p, q in zip(layer_groups(reference)[gid], layer_groups(model)[gid])}
        for p in params:
            torch.testing.assert_close(new[id(p)], p - lrs[gid] * p.grad, rtol=1e-5, atol=1e-7)
    assert sorted({round(g["lr"], 8) for g in learn.opt.param_groups}) == [1e-4, 1e-3, 1e-2]
    learn.fit(1, 1e-3)  # a plain number resets every group to one LR
    assert {g["lr"] for g in learn.opt.param_groups} == {1e-3}


def test_a_custom_lr_scale_survives_plain_and_slice_lrs():
    class Custom(Learner):
        def param_groups(self):
            return [{"params": list(self.model[0].parameters()), "lr_scale": 0.5},
                    {"params": list(self.model[2].parameters())}]

    model = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(8, 64), torch.arange(8) % 3
    learn = Custom(model, ([(x, y)], [(x, y)]), progress=False, default_callbacks=False)
    learn.fit(1, 1e-2)
    assert [g["lr"] for g in learn.opt.param_groups] == [5e-3, 1e-2]
    learn.fit(1, slice(1e-4, 1e-2))
    assert [g["lr"] for g in learn.opt.param_groups] == pytest.approx([5e-5, 1e-2])
    learn.fit(1, 1e-3)
    assert [g["lr"] for g in learn.opt.param_groups] == [5e-4, 1e-3]


def test_slice_scales():
    assert slice_scales(slice(1e-3), 3) == [0.1, 0.1, 1.0]
    assert slice_scales(slice(1e-3, 1e-3), 4) == [1.0] * 4
    with pytest.raises(ConfigError, match="lo <= hi"):
        slice_scales(slice(1e-2, 1e-3), 3)


def test_fine_tune_runs_head_then_everything():
    model = tiny_resnet()
    learn, x, y = one_batch_learner(model)
    stem = model.stem[0].weight.clone()
    learn.fine_tune(2, base_lr=1e-2, freeze_epochs=1)
    assert len(learn.history) == 3
    assert not torch.equal(stem, model.stem[0].weight) and all(p.requires_grad for p in model.parameters())
    lrs = sorted({g["lr"] for g in learn.opt.param_groups})
    assert lrs[-1] == pytest.approx(5e-3, rel=0.02) and lrs[0] == pytest.approx(5e-5, rel=0.02)  # one cycle ends at 1e-4x; ratio holds


def test_pretrained_from_a_run_folder_keeps_body_and_makes_a_new_head(tmp_path):
    source = tiny_resnet(num_classes=5, seed=1)
    learn, _, _ = one_batch_learner(source, run_dir=tmp_path / "runA")
    learn.save("best", extra={"arch": "resnet18"})
    target = tiny_resnet(num_classes=3, seed=2)
    head_before = target.head.weight.clone()
    info = load_pretrained(target, tmp_path / "runA", arch="resnet18")
    assert info["new"] == ["head.weight", "head.bias"]
    assert torch.equal(target.stem[0].weight, source.stem[0].weight)
    assert torch.equal(target.head.weight, head_before)
    with pytest.raises(CheckpointError, match="not a 'vgg11'"):
        load_pretrained(target, tmp_path / "runA", arch="vgg11")
    wider = create_model("resnet18", 3, in_channels=1, small_input=True, width_mult=0.25)
    with pytest.raises(CheckpointError, match="below the head"):
        load_pretrained(wider, tmp_path / "runA")
    shallower = create_model("resnet18", 3, in_channels=1, small_input=True, width_mult=0.125)
    shallower.stages = shallower.stages[:1]  # the checkpoint has layers this model lacks
    shallower.head = nn.Linear(8, 3)
    with pytest.raises(CheckpointError, match="below the head"):
        load_pretrained(shallower, tmp_path / "runA")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        load_pretrained(target, tmp_path)


def test_cli_train_pretrained_fine_tunes_head_first_then_everything(tmp_path, capsys, monkeypatch):
    from deepdojo.cli.main import main
    from deepdojo.train.checkpoint import read_verified_tensors
    from deepdojo.train.state_files import list_states, read_state

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"model_kwargs": {"widths": [8]}, "augment": "none"}))
    common = ["builtin:digits", "--arch", "cnn", "--epochs", "1", "--out", str(tmp_path), "--config", str(cfg), "--json"]
    assert main(["train", *common, "--lr", "2e-2", "--name", "a"]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    found = []  # the LR finder must see the frozen model: only the head (and BN) train
    real_lr_find = Learner.lr_find
    monkeypatch.setattr(Learner, "lr_find", lambda self, *a, **k: (
        found.append([p.requires_grad for p in self.model.parameters() if p.dim() > 1]), real_lr_find(self, *a, **k))[1])
    assert main(["train", *common, "--lr", "auto", "--name", "b", "--pretrained", str(tmp_path / "a")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert found == [[False] * (len(found[0]) - 1) + [True]]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["pretrained"] == str(tmp_path / "a")
    assert out["epochs"] == 2 and out["final"]["accuracy"] > first["final"]["accuracy"] + 0.05
    # the training state after the head-only epoch: body weights exactly run a's, head trained; then the body moves
    pre = read_verified_tensors(tmp_path / "a" / "checkpoints" / "best.safetensors")
    states = {read_state(p)[1]["epoch"]: read_state(p)[0] for p in list_states(tmp_path / "b" / "checkpoints")}
    body = next(k for k, v in pre.items() if v.dim() == 4)  # the first conv kernel
    head = [k for k, v in pre.items() if v.dim() == 2][-1]
    assert torch.equal(states[1][f"model/{body}"], pre[body])
    assert not torch.equal(states[2][f"model/{body}"], pre[body])
    assert not torch.equal(states[1][f"model/{head}"], states[2][f"model/{head}"])
    assert main(["train", *common, "--name", "c", "--pretrained", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_hub_weights_without_the_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm -> ImportError
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ConfigError, match="timm is not installed.*pip install timm"):
        hub_model("timm:resnet18", 10)
    with pytest.raises(ConfigError, match="torchvision is not installed"):
        hub_model("torchvision:resnet18", 10)
    with pytest.raises(ConfigError, match="unknown pretrained source"):
        hub_model("keras:resnet", 10)


def fake_timm(calls: list):
    """A stand-in ``timm`` module: ``create_model`` builds a tiny conv net and records how it was asked."""
    import types

    def create_model(name, pretrained=False, num_classes=1000, in_chans=3):
        calls.append((name, pretrained))
        return nn.Sequential(nn.Conv2d(in_chans, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, num_classes))

    return types.SimpleNamespace(create_model=create_model)


def test_a_hub_started_run_records_its_source_and_predict_rebuilds_it(tmp_path, monkeypatch):
    from deepdojo import vision
    from deepdojo.predict import Predictor
    from deepdojo.train.checkpoint import read_meta

    calls = []
    monkeypatch.setitem(sys.modules, "timm", fake_timm(calls))
    learn = vision.classifier("builtin:digits", out=tmp_path, name="hub", progress=False, seed=0,
                              pretrained="timm:tiny", augment="none")
    learn.fit(1, 1e-2)
    meta = read_meta(tmp_path / "hub" / "checkpoints" / "best.safetensors")
    assert (meta["arch"], meta["model_kwargs"]) == ("timm:tiny", {}) and calls == [("tiny", True)]
    p = Predictor.from_run(tmp_path / "hub")
    assert calls[-1] == ("tiny", False)  # rebuilt bare: the run's own weights, no hub download
    x = torch.rand(5, *learn.data.input_shape)
    assert torch.equal(p.model(x), learn.model.cpu().eval()(x))
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ConfigError, match="timm is not installed.*pip install timm"):
        Predictor.from_run(tmp_path / "hub")


def test_replace_head_swaps_the_last_linear():
    from deepdojo.train.transfer import replace_head

    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Sequential(nn.Dropout(), nn.Linear(16, 1000)))
    conv = m[0].weight.clone()
    replace_head(m, 7)
    assert m(torch.zeros(2, 3, 4, 4)).shape == (2, 7) and torch.equal(m[0].weight, conv)


def test_show_activations_equals_a_manual_forward(tmp_path):
    model = tiny_resnet()
    learn, x, _ = one_batch_learner(model, run_dir=tmp_path / "r")
    act = learn.show_activations(layer="stem.2")
    model.eval()
    torch.testing.assert_close(act, model.stem(x[:1])[0])
    assert (tmp_path / "r" / "activations_stem_2.png").is_file()
    last = learn.show_activations(x[1:2], path=tmp_path / "a.png")  # default layer: the last conv
    assert last.dim() == 3 and (tmp_path / "a.png").is_file()
    with pytest.raises(ConfigError, match="no layer named"):
        learn.show_activations(layer="nope")
