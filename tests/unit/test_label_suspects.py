"""Label-noise suspects: 5% flipped training labels of builtin digits are found among the top suspects."""

from __future__ import annotations

import numpy as np
import torch

from deepdojo import vision
from deepdojo.data.builtin import digits_arrays
from deepdojo.data.core import Data
from deepdojo.evaluate.suspects import label_suspects, read_suspects, write_suspects


def flipped_digits(rate: float = 0.05, seed: int = 0):
    """Digits with ``rate`` of the training labels moved to another class; the flipped training positions."""
    x, y = digits_arrays()
    rng = np.random.default_rng(seed)
    data = Data.from_tensors(torch.from_numpy(x), torch.from_numpy(y), seed=seed, augment="none")
    train = data.info["splits"]["train"]
    flip = np.sort(rng.choice(len(train), int(round(rate * len(train))), replace=False))  # positions within train
    y_noisy = y.copy()
    y_noisy[train[flip]] = (y[train[flip]] + rng.integers(1, 10, len(flip))) % 10  # always a different class
    noisy = Data.from_tensors(torch.from_numpy(x), torch.from_numpy(y_noisy), splits=data.info["splits"],
                              seed=seed, augment="none", batch_size=32)
    return noisy, flip


def test_flipped_labels_are_among_the_top_suspects(tmp_path):
    data, flip = flipped_digits()
    learn = vision.classifier(data, arch="cnn", out=tmp_path, progress=False, seed=0)
    learn.fit_one_cycle(4, 1e-2)
    k = 2 * len(flip)  # review budget: twice the number of flipped labels (72 flipped -> top 144)
    rows = label_suspects(learn, splits=("train",), top=k)
    found = {r["index"] for r in rows} & set(flip.tolist())
    assert len(found) >= 0.8 * len(flip), f"{len(found)} of {len(flip)} flipped labels in the top {k}"
    assert all(r["given"] != r["predicted"] for r in rows)
    assert [r["p_given"] for r in rows] == sorted(r["p_given"] for r in rows)
    path = write_suspects(rows, tmp_path)
    back = read_suspects(tmp_path)
    assert path.name == "label_suspects.csv" and len(back) == len(rows) and back[0]["given"] == rows[0]["given"]


def test_training_writes_suspects_and_the_cli_and_report_show_them(tmp_path, capsys):
    from deepdojo.cli.main import main
    from deepdojo.evaluate.finish import finish_run
    from deepdojo.report.html_report import write_report

    learn = vision.classifier("builtin:digits", arch="cnn", out=tmp_path, progress=False, seed=0)
    learn.fit(1, 3e-3)
    finish_run(learn, baseline_budget_s=1)
    run = learn.run.path
    after_training = read_suspects(run)
    assert after_training and {r["split"] for r in after_training} <= {"train", "valid"}
    assert after_training[0]["id"] == after_training[0]["index"]  # in-memory digits: no paths, the index names it
    (run / "label_suspects.csv").unlink()
    assert main(["data", "suspects", str(run), "--top", "5", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = read_suspects(run)
    assert out["suspects"] == len(rows) == 5 and [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [float(r["p_given"]) for r in rows] == sorted(float(r["p_given"]) for r in rows)
    page = write_report(run).read_text()
    assert "Label-noise suspects" in page and rows[0]["id"] in page
