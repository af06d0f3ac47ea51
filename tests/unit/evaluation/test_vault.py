"""The test vault: sealed test split, logged and counted looks, refused mismatched splits."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from evaluate_helpers import make_image_folder, train_run

from deepdojo.cli.main import main
from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import DataError
from deepdojo.evaluate.run_eval import evaluate_run
from deepdojo.evaluate.vault import SealedSplit, TestSetSealedError, TestVault
from deepdojo.models import create_model
from deepdojo.train.early_stopping import EarlyStopping
from deepdojo.train.learner import Learner


class CountingLoader:
    """A test loader that records whether anyone ever asked for its batches."""

    def __init__(self, x, y):
        self.x, self.y, self.reads = x, y, 0

    def __len__(self):
        return 1

    def __iter__(self):
        self.reads += 1
        yield self.x, self.y


def tabular_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 2, generator=g)
    y = (x[:, 0] > 0).long()
    return Data.from_tensors(x, y, test=(torch.randn(30, 2, generator=g), torch.zeros(30, dtype=torch.long)), seed=0)


def test_test_split_is_sealed_on_construction_and_assignment():
    data = tabular_data()
    assert isinstance(data.test, SealedSplit) and len(data.test) == 1
    with pytest.raises(TestSetSealedError, match="sealed.*deepdojo evaluate RUN --split test"):
        iter(data.test)
    data.test = TensorLoader(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    assert isinstance(data.test, SealedSplit)
    with pytest.raises(TestSetSealedError):
        next(iter(data.test))
    assert data.on_device  # a sealed tensor loader still counts as on the device


def test_training_lr_finder_early_stopping_never_read_test():
    data = tabular_data()
    spy = CountingLoader(torch.randn(8, 2), torch.zeros(8, dtype=torch.long))
    data.test = spy
    learn = Learner(create_model("mlp", 2, in_features=2), data, seed=0, progress=False,
                    callbacks=[EarlyStopping(patience=1)])
    learn.lr_find(num_it=10, show=False)
    learn.fit(3, 1e-2)
    learn.validate()
    learn.get_preds()
    assert spy.reads == 0
    with pytest.raises(TestSetSealedError):
        learn.validate(data.test)
    with pytest.raises(TestSetSealedError):
        learn.get_preds(data.test)


def test_vault_logs_every_look_and_warns_from_the_second(tmp_path):
    data = tabular_data()
    vault = TestVault(tmp_path / "runs" / "a")
    first = vault.look(data, lambda loader: {"n": sum(len(y) for _, y in loader)}, checkpoint_sha256="h1")
    assert first["look"] == 1 and first["warning"] is None and first["metrics"] == {"n": 30}
    second = vault.look(data, lambda loader: {"n": 0}, checkpoint_sha256="h2")
    assert second["look"] == 2 and "look number 2" in second["warning"] and "validation set" in second["warning"]
    # a sibling run looking at the same test set counts too
    third = TestVault(tmp_path / "runs" / "b").look(data, lambda loader: {}, checkpoint_sha256="h3")
    assert third["look"] == 3
    entries = vault.entries()
    assert [e["checkpoint_sha256"] for e in entries] == ["h1", "h2"]
    assert {"time", "run", "checkpoint", "test_id", "look", "metrics"} <= set(entries[0])
    with pytest.raises(TestSetSealedError):  # sealed again after the look
        iter(data.test)


def test_other_test_set_is_counted_separately(tmp_path):
    vault = TestVault(tmp_path / "run")
    vault.look(tabular_data(), lambda loader: {}, checkpoint_sha256=None)
    other = tabular_data()
    other.test = TensorLoader(torch.ones(5, 2), torch.ones(5, dtype=torch.long))
    assert vault.look(other, lambda loader: {}, checkpoint_sha256=None)["look"] == 1


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("vault")
    os.environ["DEEPDOJO_CACHE"] = str(root / "cache")
    folder = make_image_folder(root / "imgs")
    learn = train_run(folder, root / "runs")
    return learn.run.path


def test_evaluate_cli_test_split_logs_and_warns(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--split", "test", "--json"]) == 0
    out, err = capsys.readouterr()
    first = json.loads(out.strip().splitlines()[-1])
    assert first["look"] == 1 and "warning" not in err
    assert 0.0 <= first["metrics"]["accuracy"] <= 1.0 and first["metrics"]["error_rate"] == pytest.approx(
        1 - first["metrics"]["accuracy"])
    assert main(["evaluate", str(trained_run), "--split", "test"]) == 0
    out, err = capsys.readouterr()
    assert "look number 2" in err and "look 2 at this test set" in out
    log = [json.loads(line) for line in (trained_run / "test_log.jsonl").read_text().splitlines()]
    file_sha = hashlib.sha256((trained_run / "checkpoints" / "best.safetensors").read_bytes()).hexdigest()
    assert len(log) == 2 and all(e["checkpoint_sha256"] == file_sha for e in log)  # what sha256sum prints
    assert log[0]["metrics"]["accuracy"] == first["metrics"]["accuracy"]


def test_evaluate_valid_matches_the_learner_and_is_not_logged(trained_run):
    result = evaluate_run(trained_run, split="valid", checkpoint="last")
    history = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert result["metrics"]["accuracy"] == pytest.approx(history[-1]["accuracy"])
    assert result["metrics"]["loss"] == pytest.approx(history[-1]["valid_loss"], rel=1e-5)
    before = (trained_run / "test_log.jsonl").read_text() if (trained_run / "test_log.jsonl").exists() else ""
    evaluate_run(trained_run, split="train")
    after = (trained_run / "test_log.jsonl").read_text() if (trained_run / "test_log.jsonl").exists() else ""
    assert before == after


def test_evaluate_refuses_a_changed_split(trained_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    splits = json.loads((copy / "splits.json").read_text())
    splits["hash"] = "0" * 64
    (copy / "splits.json").write_text(json.dumps(splits))
    with pytest.raises(DataError, match="split differs"):
        evaluate_run(copy, split="test")
    assert main(["evaluate", str(copy), "--split", "test"]) == 2
    assert "splits.json" in capsys.readouterr().err
    assert not (copy / "test_log.jsonl").exists() or len((copy / "test_log.jsonl").read_text().splitlines()) == len(
        (trained_run / "test_log.jsonl").read_text().splitlines())
