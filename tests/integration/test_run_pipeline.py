"""One pipeline for CLI and API: the same run folder, the right task end to end, typed hand-offs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import deepdojo
from deepdojo.cli.main import main
from deepdojo.config import TrainConfig
from deepdojo.predict import Predictor

LABELS = ("red", "green", "blue")


def multilabel_csv(root: Path, n: int = 90, seed: int = 0) -> Path:
    """8x8 RGB images; label k is on when channel k is bright. ``labels`` lists them space-separated."""
    rng = np.random.default_rng(seed)
    lines = ["path,labels"]
    for i in range(n):
        on = rng.random(3) > 0.5
        if not on.any():
            on[i % 3] = True
        img = rng.integers(0, 50, (8, 8, 3)).astype(np.uint8)
        img[..., on] += 180
        Image.fromarray(img).save(root / f"{i}.png")
        lines.append(f"{i}.png,{' '.join(l for l, k in zip(LABELS, on) if k)}")
    (root / "list.csv").write_text("\n".join(lines) + "\n")
    return root / "list.csv"


RUN_FILES = {"baselines.json", "config.json", "data_summary.json", "evaluation.json", "manifest.json",
             "metrics.csv", "metrics.jsonl", "report.html", "splits.json", "summary.json", "checkpoints"}


def test_multilabel_csv_trains_with_bce_and_multilabel_metrics_from_the_cli(tmp_path, capsys):
    csv = multilabel_csv(tmp_path)
    assert main(["train", str(csv), "--arch", "cnn", "--epochs", "4", "--lr", "0.01", "--batch-size", "16",
                 "--out", str(tmp_path / "runs"), "--name", "ml", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "task: multilabel (inferred from the data" in out
    run = tmp_path / "runs" / "ml"
    assert RUN_FILES <= {p.name for p in run.iterdir()}
    assert json.loads((run / "config.json").read_text())["task"] == "multilabel"
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"multilabel_f1", "hamming_loss", "multilabel_map"} <= set(last) and "mae" not in last
    ev = json.loads((run / "evaluation.json").read_text())
    assert 0 < ev["chosen_on_valid"]["threshold"] < 1 and "multilabel_f1_per_label" in ev["valid"]
    assert json.loads((run / "baselines.json").read_text())["baselines"]["frequency"]["multilabel_f1"] >= 0
    assert not (run / "diagnosis.json").exists()  # no error rate: no bias/variance recipe
    # the checkpoint carries the task and its threshold; predict prints labels, not a class
    p = Predictor.from_run(run)
    assert p.task.name == "multilabel" and p.task.threshold == ev["chosen_on_valid"]["threshold"]
    result = p.predict_input(str(tmp_path / "0.png"))
    assert isinstance(result["prediction"], list) and set(result["probabilities"]) == set(LABELS)


def test_multilabel_from_the_api_uses_bce_and_writes_the_same_files_as_the_cli(tmp_path):
    csv = multilabel_csv(tmp_path)
    learn = deepdojo.learner(str(csv), arch="cnn", out=str(tmp_path / "runs"), name="api", progress=False, seed=0,
                             batch_size=16)
    pred, target = torch.randn(4, 3), torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 1, 1], [0, 0, 1]])
    assert torch.allclose(learn.loss_fn(pred, target), F.binary_cross_entropy_with_logits(pred, target))
    learn.fit_one_cycle(2, 0.01)
    summary = learn.finish(baseline_budget_s=1)
    assert RUN_FILES <= {p.name for p in Path(summary["run_dir"]).iterdir()}


def test_python_api_run_writes_what_the_cli_writes(tmp_path, capsys):
    common = ["--arch", "mlp", "--epochs", "2", "--lr", "0.05", "--seed", "0"]
    assert main(["train", "builtin:moons", *common, "--out", str(tmp_path / "cli"), "--name", "r", "--json"]) == 0
    capsys.readouterr()
    learn = deepdojo.learner("builtin:moons", arch="mlp", out=str(tmp_path / "api"), name="r", progress=False, seed=0)
    learn.fit_one_cycle(2, 0.05)
    learn.finish()
    cli, api = tmp_path / "cli" / "r", tmp_path / "api" / "r"
    assert sorted(p.name for p in cli.iterdir()) == sorted(p.name for p in api.iterdir())
    assert {"interpretation.json", "confusion_matrix.png", "label_suspects.csv", "diagnosis.json"} <= {
        p.name for p in api.iterdir()}


def test_data_check_results_reach_the_data_summary_and_the_report(tmp_path, capsys):
    """The checks' results were written as info["check"] and read as "checks": lost. Now they arrive."""
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "d" / c).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(rng.integers(0, 255, (8, 8)).astype(np.uint8), mode="L").save(tmp_path / "d" / c / f"{i}.png")
    assert main(["train", str(tmp_path / "d"), "--arch", "mlp", "--epochs", "1", "--lr", "0.01", "--out",
                 str(tmp_path / "runs"), "--name", "c", "--json"]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "runs" / "c" / "data_summary.json").read_text())
    assert summary["checks"]["checked"] == 16 and "leaks" in summary
    assert "No data-check results recorded" not in (tmp_path / "runs" / "c" / "report.html").read_text()


def test_train_dev_split_feeds_the_diagnosis(tmp_path, capsys):
    assert main(["train", "builtin:digits", "--arch", "mlp", "--epochs", "1", "--lr", "0.01", "--train-dev-pct",
                 "0.1", "--out", str(tmp_path), "--name", "td", "--json"]) == 0
    capsys.readouterr()
    run = tmp_path / "td"
    diag = json.loads((run / "diagnosis.json").read_text())
    assert diag["errors"]["train_dev"] is not None and "data_mismatch" in diag["gaps"]
    splits = json.loads((run / "splits.json").read_text())
    assert "train_dev" in json.dumps(splits)
    # evaluate rebuilds the same split (hash checked) from config.json
    assert main(["evaluate", str(run), "--split", "valid", "--json"]) == 0


def test_lr_auto_is_resolved_once_and_reused(tmp_path, monkeypatch):
    learn = deepdojo.learner("builtin:moons", arch="mlp", out=None, progress=False, seed=0)
    calls = []
    real = type(learn).lr_find

    def counting(self, *a, **kw):
        calls.append(1)
        return real(self, *a, show=False)

    monkeypatch.setattr(type(learn), "lr_find", counting)
    learn.lr_find()
    learn.fit_one_cycle(1, "auto")  # the finder's result still describes this model and data: reused
    assert len(calls) == 1
    learn.fit_one_cycle(1, "auto")  # trained since: a new range test
    assert len(calls) == 2


def test_predict_keeps_non_square_images_whole(tmp_path):
    """A run trained at native 12x6 size predicts a 12x6 image as it is (it used to be cropped to 6x6)."""
    rng = np.random.default_rng(0)
    for c in ("left", "right"):
        (tmp_path / "d" / c).mkdir(parents=True)
        for i in range(12):
            img = rng.integers(0, 40, (6, 12)).astype(np.uint8)
            img[:, :6] += 200 if c == "left" else 0
            img[:, 6:] += 200 if c == "right" else 0
            Image.fromarray(img, mode="L").save(tmp_path / "d" / c / f"{i}.png")
    cfg = TrainConfig(data=str(tmp_path / "d"), arch="mlp", epochs=8, lr=0.01, out=str(tmp_path / "runs"), name="ns",
                      seed=0, augment="none", batch_size=8)
    deepdojo.run.train(cfg, quiet=True)
    p = Predictor.from_run(tmp_path / "runs" / "ns")
    assert p.meta["decode"] == {"size": None, "mode": "L"} and p.input_shape == (1, 6, 12)
    x = p.load_input(str(tmp_path / "d" / "right" / "0.png"))
    expected = torch.from_numpy(np.array(Image.open(tmp_path / "d" / "right" / "0.png")))[None]
    assert torch.equal(x, expected)  # the whole image, not a square crop
    assert p.predict_input(str(tmp_path / "d" / "right" / "0.png"))["prediction"] == "right"
