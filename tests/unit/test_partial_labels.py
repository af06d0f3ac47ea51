"""Multi-task labels with gaps: the CSV reader and the masked loss (equal to the loss on the labelled subset)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepdojo.data.partial_labels import multitask_csv, read_partial_labels
from deepdojo.errors import DataError
from deepdojo.tasks import get_task


def test_masked_loss_equals_the_loss_on_the_labelled_subset():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(32, 4, generator=g)
    target = torch.randint(0, 2, (32, 4), generator=g).float()
    target[torch.rand(32, 4, generator=g) < 0.5] = float("nan")  # half the labels missing
    known = ~torch.isnan(target)
    task = get_task("multilabel")
    want = F.binary_cross_entropy_with_logits(pred[known], target[known])
    assert torch.allclose(task.loss(pred, target), want, rtol=0, atol=1e-6)
    # and the gradient flows only into labelled cells
    p = pred.clone().requires_grad_()
    task.loss(p, target).backward()
    assert (p.grad[~known] == 0).all() and (p.grad[known] != 0).all()


def test_reader_maps_question_marks_and_empty_cells_to_nan(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,ped,car\n1.5,2,1,?\n0,1,,0\n3,4,yes,no\n")
    x, y = read_partial_labels(path, ["ped", "car"])
    np.testing.assert_array_equal(x, [[1.5, 2], [0, 1], [3, 4]])
    assert np.array_equal(np.isnan(y), [[False, True], [True, False], [False, False]])
    assert y[0, 0] == 1 and y[1, 1] == 0 and y[2, 0] == 1


def test_reader_names_every_bad_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,ped,car\n1,2,1\nx,1,maybe\n")
    with pytest.raises(DataError) as err:
        read_partial_labels(path, ["ped", "car"])
    msg = str(err.value)
    assert "3 bad cell(s)" in msg and "t.csv" in msg
    for part in ("line 2, column 'ped': label '2'", "line 3, column 'car': label 'maybe'", "line 3, column 'a': 'x'"):
        assert part in msg, part
    with pytest.raises(DataError, match="no column 'bus'"):
        read_partial_labels(path, ["bus"])


def test_multitask_csv_trains_with_the_multilabel_task(tmp_path):
    from deepdojo.train.learner import Learner

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, :2] > 0).astype(int).astype(str)
    y[rng.random(y.shape) < 0.4] = "?"
    lines = [f"{a:.4f},{b:.4f},{c:.4f},{p},{q}" for (a, b, c), (p, q) in zip(x, y)]
    (tmp_path / "m.csv").write_text("f1,f2,f3,left,right\n" + "\n".join(lines) + "\n")
    data = multitask_csv(tmp_path / "m.csv", ["left", "right"], seed=0)
    assert data.task == "multilabel" and data.info["missing_labels"]["left"] == int((y[:, 0] == "?").sum())
    torch.manual_seed(0)  # the weights are made before the Learner seeds anything
    model = torch.nn.Linear(3, 2)
    learn = Learner(model, data, task="multilabel", lr=5e-2, seed=0, progress=False)
    learn.fit(15)
    assert learn.history[-1]["multilabel_f1"] > 0.85
