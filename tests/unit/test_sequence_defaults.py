"""Defaults for numeric sequences and tables: recurrent models normalize, project, read both ways and pool
over time; the Learner clips their gradients unless told; CLI runs on tables pick their epoch count from the
data and say so first."""

from __future__ import annotations

import json

import pytest
import torch

from deepdojo import Learner
from deepdojo.errors import ConfigError
from deepdojo.models import create_model
from deepdojo.train.auto_defaults import (IMAGE_MAX_EPOCHS, IMAGE_TARGET_STEPS, MAX_EPOCHS, TARGET_STEPS,
                                          auto_epochs)
from deepdojo.train.guards import GradientClip


def test_numeric_gru_ignores_raw_units_per_feature():
    torch.manual_seed(0)
    m = create_model("gru", 3, in_features=2, hidden_size=8).train()  # batch statistics: a per-feature affine change
    x = torch.randn(6, 10, 2)                                          # of the inputs is normalized away exactly
    shifted = x * torch.tensor([7.0, 0.2]) + torch.tensor([30.0, -4.0])
    torch.testing.assert_close(m(shifted), m(x), rtol=1e-4, atol=1e-4)
    plain = create_model("gru", 3, in_features=2, hidden_size=8, input_norm=False, proj=0, pool="last",
                         bidirectional=False).train()
    assert not torch.allclose(plain(shifted), plain(x), atol=1e-2)  # what the old defaults did


def test_numeric_defaults_read_both_ways_and_pool_every_step():
    m = create_model("lstm", 4, in_features=3, hidden_size=8)
    assert m.dirs == 2 and m.pool == "concat" and m.head[1].in_features == 8 * 2 * 3
    x = torch.randn(2, 30, 3)
    m.eval()
    y = m(x)
    x2 = x.clone()
    x2[:, 0] += 5.0  # the first step reaches the output (the backward direction ends there; mean/max see it)
    assert not torch.allclose(m(x2), y)
    tokens = create_model("gru", 2, vocab_size=20, hidden_size=8)
    assert tokens.dirs == 1 and tokens.pool == "last" and tokens.input_norm is None and tokens.proj is None
    with pytest.raises(ConfigError, match="concat"):
        create_model("gru", 2, vocab_size=20, pool="concat")


def test_recurrent_models_get_gradient_clipping_unless_told():
    data = ([(torch.randn(4, 5, 2), torch.tensor([0, 1, 0, 1]))],)
    clips = lambda learn: [cb.max_norm for cb in learn.callbacks if isinstance(cb, GradientClip)]  # noqa: E731
    assert clips(Learner(create_model("gru", 2, in_features=2), data, progress=False)) == [1.0]
    assert clips(Learner(create_model("gru", 2, in_features=2), data, progress=False, grad_clip=0)) == []
    assert clips(Learner(create_model("gru", 2, in_features=2), data, progress=False, grad_clip=5.0)) == [5.0]
    assert clips(Learner(create_model("mlp", 2, in_features=10), data, progress=False)) == []


@pytest.mark.parametrize("spe,image,expected", [(13, False, 77), (1, False, MAX_EPOCHS), (400, False, 5),
                                                (23, True, 16), (1, True, IMAGE_MAX_EPOCHS), (79, True, 5)])
def test_auto_epochs_aim_at_a_step_budget(spe, image, expected):
    epochs, why = auto_epochs(spe, image)
    assert epochs == expected and "--epochs" in why
    target, cap = (IMAGE_TARGET_STEPS, IMAGE_MAX_EPOCHS) if image else (TARGET_STEPS, MAX_EPOCHS)
    if 5 < expected < cap:
        assert (epochs - 1) * spe < target <= epochs * spe
    assert auto_epochs(spe, image, pretrained=True)[0] == 5  # fine-tuning keeps its short recipe


def test_cli_table_run_chooses_epochs_and_says_so_first(tmp_path, capsys, monkeypatch):
    from deepdojo.cli.main import main
    from deepdojo.train import auto_defaults

    monkeypatch.setattr(auto_defaults, "TARGET_STEPS", 30)  # the rule, at a test's scale

    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 3, generator=g)
    rows = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}" for a, b, c in x.tolist()]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    args = ["train", str(tmp_path / "t.csv"), "--lr", "0.01", "--out", str(tmp_path / "runs"), "--batch-size", "64"]
    assert main([*args, "--name", "auto"]) == 0
    out = capsys.readouterr().out.splitlines()
    # 240 training rows, 4 steps per epoch -> 8 epochs for 30 steps
    assert out[0].startswith("task: classification (inferred")  # the run's first lines say what was chosen
    assert out[1] == "deepdojo: tabular on 240 training examples: 8 epochs of 4 steps (about 30 " \
                     "optimizer steps for tables and sequences; set --epochs to choose)"
    assert json.loads((tmp_path / "runs" / "auto" / "config.json").read_text())["epochs"] == 8
    assert main([*args, "--name", "given", "--epochs", "2"]) == 0
    assert "training examples:" not in capsys.readouterr().out
    assert json.loads((tmp_path / "runs" / "given" / "config.json").read_text())["epochs"] == 2
