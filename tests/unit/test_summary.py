"""summary(): conv arithmetic against what layers produce, parameter and multiply-add counts, the CLI."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch import nn

from deepdojo.cli.main import main
from deepdojo.models import create_model
from deepdojo.models.summary import conv_output_size, summary

# Every (n, f, p, s) with a valid output: padding at most half the kernel (PyTorch's pool rule).
COMBOS = [(n, f, p, s) for n, f, p, s in itertools.product((5, 8, 13, 32), (1, 2, 3, 5, 7), (0, 1, 2, 3), (1, 2, 3))
          if p <= f // 2 and n + 2 * p >= f]


def test_conv_arithmetic_matches_conv_and_pool_layers():
    x2 = {n: torch.zeros(1, 1, n, n) for n in (5, 8, 13, 32)}
    for n, f, p, s in COMBOS:
        want = conv_output_size(n, f, p, s)
        assert want == (n + 2 * p - f) // s + 1
        assert nn.Conv2d(1, 1, f, s, p)(x2[n]).shape[-1] == want, (n, f, p, s)
        assert nn.MaxPool2d(f, s, p)(x2[n]).shape[-1] == want, (n, f, p, s)
        assert nn.AvgPool2d(f, s, p)(x2[n]).shape[-1] == want, (n, f, p, s)
        assert nn.Conv1d(1, 1, f, s, p)(torch.zeros(1, 1, n)).shape[-1] == want, (n, f, p, s)
    assert len(COMBOS) > 100


def test_dilated_conv_arithmetic():
    for n, f, p, s, d in itertools.product((9, 16), (2, 3), (0, 2), (1, 2), (1, 2, 3)):
        if n + 2 * p >= d * (f - 1) + 1:
            assert nn.Conv2d(1, 1, f, s, p, d)(torch.zeros(1, 1, n, n)).shape[-1] == conv_output_size(n, f, p, s, d)


def test_summary_shapes_follow_the_formula_through_lenet():
    s = summary(create_model("lenet5", 10, in_channels=1), (1, 32, 32))
    convs = [r.output_shape[-1] for r in s.rows if r.type in ("Conv2d", "MaxPool2d")]
    n, want = 32, []
    for f, st in ((5, 1), (2, 2), (5, 1), (2, 2)):
        n = conv_output_size(n, f, 0, st)
        want.append(n)
    assert convs == want == [28, 14, 10, 5]


def test_mult_adds_and_memory_by_hand():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, groups=1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=4),
                      nn.Flatten(), nn.Linear(8 * 14 * 14, 5))
    s = summary(m, (3, 16, 16), batch_size=2)
    assert [r.mult_adds for r in s.rows] == [2 * 8 * 256 * 27, 0, 2 * 8 * 196 * 2 * 9, 0, 2 * 5 * 8 * 196]
    assert s.activation_bytes == 4 * 2 * (8 * 256 * 2 + 8 * 196 * 2 + 5)
    assert s.trainable_params == s.total_params == sum(p.numel() for p in m.parameters())


def test_lstm_mult_adds():
    m = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    s = summary(m, (10, 4))
    per_step = 4 * 6 * (4 + 6) + 4 * 6 * (12 + 6)  # layer 1 sees 2 x 6 features from both directions
    assert s.rows[0].mult_adds == 10 * 2 * per_step


def test_summary_counts_shared_and_frozen_parameters_once():
    lin = nn.Linear(4, 4)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    m[0].bias.requires_grad_(False)
    s = summary(m, (4,))
    assert s.total_params == 20 and s.trainable_params == 16
    assert s.rows[0].mult_adds == 2 * 16  # ran twice


def test_summary_leaves_the_model_in_training_mode():
    m = create_model("cnn", 3, in_channels=1, widths=(4,))
    m.train()
    summary(m, (1, 8, 8))
    assert m.training


def test_cli_summary_json(capsys):
    assert main(["summary", "resnet18", "--input", "3x64x64", "--num-classes", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    model = create_model("resnet18", 5)
    assert out["total_params"] == sum(p.numel() for p in model.parameters())
    assert out["layers"][-1]["output_shape"] == [1, 5]


def test_cli_summary_text_and_model_arguments(capsys):
    assert main(["summary", "vgg11", "--input", "1x32x32", "--set", "small_input=True", "--set", "width_mult=0.25"]) == 0
    out = capsys.readouterr().out
    assert "multiply-adds per forward" in out and "BatchNorm2d" in out


@pytest.mark.parametrize("argv, msg", [
    (["summary", "resnet99", "--input", "3x32x32"], "did you mean"),
    (["summary", "alexnet", "--input", "3x16x16"], "cannot run on input"),
    (["summary", "cnn", "--input", "64"], "needs images"),
])
def test_cli_summary_bad_input_is_one_line_exit_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1


def test_cli_summary_bad_shape_flag(capsys):
    assert main(["summary", "cnn", "--input", "3xAx4"]) == 2
    err = capsys.readouterr().err
    assert "--input" in err and len(err.strip().splitlines()) == 1
