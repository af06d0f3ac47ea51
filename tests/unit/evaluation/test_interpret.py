"""Interpretation: top losses, uncertainty, confusion, error-analysis round trip, filters, activations, Grad-CAM."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, log_loss
from torch import nn

from deepdojo.errors import ConfigError, DataError
from deepdojo.evaluate.interpret import Interpretation, import_errors
from deepdojo.evaluate.visualize import activation_maps, first_layer_filters, grad_cam


def random_interp(n=60, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    probs = torch.randn(n, k, generator=g).mul(2).softmax(-1)
    return Interpretation(probs, torch.randint(0, k, (n,), generator=g), classes=list("abcd")[:k])


def test_losses_top_losses_and_uncertainty():
    it = random_interp()
    p, y = it.probs.numpy(), it.targets.numpy()
    assert it.losses.mean().item() == pytest.approx(log_loss(y, p, labels=range(4)), rel=1e-5)
    top = it.top_losses(5)
    want = np.argsort(-(-np.log(p[np.arange(len(y)), y])))[:5]
    assert [r["index"] for r in top] == want.tolist()
    assert all(r["probability"] == pytest.approx(p[r["index"]].max()) for r in top)
    unsure = it.most_uncertain(3)
    sorted_p = np.sort(p, 1)
    margins = sorted_p[:, -1] - sorted_p[:, -2]
    assert [r["index"] for r in unsure] == np.argsort(margins)[:3].tolist()


def test_confusion_pairs_and_per_class_accuracy_match_sklearn():
    it = random_interp(n=200)
    cm = confusion_matrix(it.targets.numpy(), it.preds.numpy(), labels=range(4))
    np.testing.assert_array_equal(it.confusion_matrix(), cm)
    pairs = it.most_confused()
    assert pairs[0][2] == max(cm[a, b] for a in range(4) for b in range(4) if a != b)
    assert sum(n for _, _, n in pairs) == cm.sum() - np.trace(cm)
    acc = it.per_class_accuracy()
    assert acc["b"] == pytest.approx(cm[1, 1] / cm[1].sum())


def test_error_analysis_round_trip(tmp_path):
    it = random_interp(n=50)
    path = it.export_errors(tmp_path / "errors.csv", tags=("blurry", "mislabeled"))
    rows = list(csv.DictReader(open(path)))
    n_wrong = int((it.preds != it.targets).sum())
    assert len(rows) == n_wrong and all(r["blurry"] == "" and r["mislabeled"] == "" for r in rows)
    assert all(r["actual"] != r["predicted"] for r in rows)
    for i, r in enumerate(rows):  # the user's tagging: every 2nd blurry, every 4th mislabeled, one "no"
        r["blurry"] = "x" if i % 2 == 0 else ""
        r["mislabeled"] = "1" if i % 4 == 0 else ("no" if i == 1 else "")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    table = import_errors(path)
    blurry = sum(1 for i in range(n_wrong) if i % 2 == 0)
    mislabeled = sum(1 for i in range(n_wrong) if i % 4 == 0)
    assert table["errors"] == n_wrong
    assert {r["category"]: r["count"] for r in table["table"]} == {"blurry": blurry, "mislabeled": mislabeled}
    assert table["table"][0]["percent"] == pytest.approx(100 * blurry / n_wrong)
    assert table["mislabeled_fraction"] == pytest.approx(mislabeled / n_wrong)
    assert table["untagged"] == n_wrong - blurry
    with pytest.raises(DataError, match="not found"):
        import_errors(tmp_path / "missing.csv")


class SpotCNN(nn.Module):
    """conv -> global average pool -> linear: class 1's score is the mean of channel 0's map."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0, 1, 1] = 1.0  # channel 0 copies the image
            self.conv.weight[1, 0, 1, 1] = -1.0
            self.conv.bias.zero_()
            self.head.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


def test_grad_cam_finds_the_bright_spot_and_matches_the_formula():
    model = SpotCNN()
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 2:5, 10:13] = 1.0  # a bright patch, top right
    heat = grad_cam(model, x, target=1, layer="conv")
    assert heat.shape == (16, 16) and heat.max() == pytest.approx(1.0)
    assert heat[2:5, 10:13].mean() > 0.8 and heat[10:, :6].max() < 0.05
    # the formula by hand: alpha_k = mean gradient of the class score over the map
    a = model.conv(x).requires_grad_(True)
    score = model.head(torch.relu(a).mean((2, 3)))[0, 1]
    g = torch.autograd.grad(score, a)[0]
    cam = torch.relu((g.mean((2, 3), keepdim=True) * a).sum(1))[0].detach()
    np.testing.assert_allclose(heat.numpy(), (cam / cam.max()).numpy(), atol=1e-6)  # same size: no resampling change


def test_activations_and_filters():
    model = SpotCNN()
    x = torch.rand(1, 1, 8, 8)
    np.testing.assert_allclose(activation_maps(model, x, "conv").numpy(), model.conv(x)[0].detach().numpy(), atol=1e-6)
    f = first_layer_filters(model)
    assert f.shape == (2, 1, 3, 3) and f.min() == 0 and f.max() == 1
    assert f[0, 0, 1, 1] == 1.0 and f[1, 0, 1, 1] == 0.0
    with pytest.raises(ConfigError, match="no layer named"):
        activation_maps(model, x, "nope")
    with pytest.raises(ConfigError, match="no convolution"):
        first_layer_filters(nn.Linear(2, 2))
