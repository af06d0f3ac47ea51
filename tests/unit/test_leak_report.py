"""Leaks found during `train` are shown: the console line before epoch 1, data_summary.json and the
report; --no-leak-check says the check was off in all three (issue 13, item 12)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepdojo.cli.main import main


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def _leaky_folder(root):
    rng = np.random.default_rng(0)
    for part, n in (("train", 12), ("valid", 4)):
        for i in range(n):
            path = root / part / "ab"[i % 2] / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path)
    Image.open(root / "train" / "a" / "0.png").save(root / "valid" / "a" / "copy.png")  # an exact duplicate
    return root


def _train(tmp_path, name, *extra):
    args = ["train", str(tmp_path / "d"), "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"),
            "--name", name, "--device", "cpu", "--arch", "mlp", *extra]
    assert main(args) == 0
    return tmp_path / "runs" / name


def test_leaks_shown_before_epoch_one_in_summary_and_report(tmp_path, capsys):
    _leaky_folder(tmp_path / "d")
    run = _train(tmp_path, "r")
    out = capsys.readouterr().out.splitlines()
    line = next(i for i, l in enumerate(out) if l.startswith("leak check:"))
    assert "1 valid/test item duplicates a training item (1 exact, 0 near copies)" in out[line]
    assert line < next(i for i, l in enumerate(out) if l.startswith("epoch 0"))
    leaks = json.loads((run / "data_summary.json").read_text())["leaks"]
    assert leaks["checked"] and leaks["exact"] == 1 and leaks["examples"][0]["item"] == "valid/a/copy.png"
    html = (run / "report.html").read_text()
    assert "Leakage across splits" in html and "valid/a/copy.png" in html and "train: train/a/0.png" in html


def test_no_leak_check_is_said_everywhere(tmp_path, capsys):
    _leaky_folder(tmp_path / "d")
    run = _train(tmp_path, "off", "--no-leak-check")
    assert "leak check: off (--no-leak-check)" in capsys.readouterr().out
    assert json.loads((run / "data_summary.json").read_text())["leaks"] == {"checked": False}
    assert json.loads((run / "config.json").read_text())["leak_check"] is False
    assert "The leak check was off" in (run / "report.html").read_text()
    assert main(["train", str(tmp_path / "d"), "--no-leak-check", "--dedupe", "--out", str(tmp_path / "runs")]) == 2
