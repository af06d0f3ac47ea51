"""The search in process: validation only, satisficing winner, failures recorded, OOM retry, best config trains."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
import torch
from PIL import Image

from deepdojo import search
from deepdojo.search import driver
from deepdojo.search.trial import Objective, TrialSpec
from deepdojo.cli.main import main as cli_main
from deepdojo.config import TrainConfig
from deepdojo.data.builtin import digits_arrays
from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import TrainingError
from deepdojo.train.learner import Learner

XOR = dict(epochs=1, arch="mlp", lr=0.05)


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


def _load(result):
    return optuna.load_study(study_name=result.study, storage=f"sqlite:///{result.folder / 'study.db'}")


def _digit_splits(root, per_class: int = 6):
    """root/{train,valid,test}/<digit>/<i>.png from scikit-learn's digits."""
    x, y = digits_arrays()
    for split_no, split in enumerate(("train", "valid", "test")):
        for label in range(10):
            idx = np.flatnonzero(y == label)[split_no * per_class:(split_no + 1) * per_class]
            folder = root / split / str(label)
            folder.mkdir(parents=True)
            for i in idx:
                Image.fromarray(x[i, 0], mode="L").save(folder / f"{i}.png")
    return root


def test_search_never_reads_the_test_split(tmp_path, monkeypatch):
    data_dir = _digit_splits(tmp_path / "digits")
    tests_built, test_reads = [], []
    original_from_tensors, original_iter_from = Data.from_tensors, TensorLoader.iter_from

    def from_tensors(cls, *args, **kw):
        data = original_from_tensors(*args, **kw)
        if data.test is not None:
            data.test.is_test_split = True
            tests_built.append(data.test)
        return data

    def iter_from(self, start_batch):
        if getattr(self, "is_test_split", False):
            test_reads.append(start_batch)
        return original_iter_from(self, start_batch)

    monkeypatch.setattr(Data, "from_tensors", classmethod(from_tensors))
    monkeypatch.setattr(TensorLoader, "iter_from", iter_from)
    result = search.run(str(data_dir), trials=2, space={"lr": "log(1e-3, 1e-1)"}, out=tmp_path / "s", epochs=1,
                        arch="cnn", model_kwargs={"widths": [8]})
    assert result.counts == {"COMPLETE": 2}
    assert len(tests_built) >= 2  # every trial's data had a test split on hand ...
    assert test_reads == []  # ... and nothing iterated it
    for row in result.rows:
        metrics = (tmp_path / "s" / result.study / "trials" / f"trial-{row['number']:04d}" / "metrics.jsonl").read_text()
        assert "test" not in metrics


def test_trial_folders_report_and_best_config_that_train_accepts(tmp_path):
    result = search.run("builtin:xor", trials=3, space={"lr": "log(1e-3, 1e-1)", "model_kwargs.width": "choice(4, 32)"},
                        out=tmp_path, study="xor", epochs=1, arch="mlp")
    study = _load(result)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 3
    for t in done:  # every trial is a normal run that reported its validation metric per epoch
        run = json.loads((tmp_path / "xor" / "trials" / f"trial-{t.number:04d}" / "summary.json").read_text())
        assert t.intermediate_values == {0: run["final"]["accuracy"]} and t.value == run["final"]["accuracy"]
    best = result.best
    assert best["value"] == max(t.value for t in done)
    cfg = TrainConfig.from_file(result.best_config)
    assert cfg.lr == best["params"]["lr"] and cfg.model_kwargs == {"width": best["params"]["model_kwargs.width"]}
    html = result.report.read_text()
    assert "<img" in html and f"trials/trial-{best['number']:04d}/report.html" in html
    assert (tmp_path / "xor" / "history.png").stat().st_size > 0 and (tmp_path / "xor" / "slices.png").exists()
    assert cli_main(["train", "--config", str(result.best_config), "--out", str(tmp_path / "runs"), "--json"]) == 0


def test_a_constraint_that_excludes_the_best_trial_changes_the_winner(tmp_path):
    kw = dict(space={"model_kwargs.width": "logint(2, 128)"}, out=tmp_path, study="c", **XOR)
    free = search.run("builtin:xor", trials=4, **kw)
    rows = [r for r in free.rows if r["state"] == "COMPLETE"]
    widths = {r["params"]["model_kwargs.width"] for r in rows}
    assert len(widths) > 1, "the sampler drew a single width; nothing to compare"
    limit = free.best["n_params"] - 1
    tight = search.run("builtin:xor", trials=4, max_params=limit, **kw)  # target met: re-ranks, trains nothing
    assert len(tight.rows) == len(free.rows)
    assert tight.best is None or tight.best["number"] != free.best["number"]
    feasible = [r for r in rows if r["n_params"] <= limit]
    if feasible:  # oracle: the best metric among trials within the limit (ties: the earlier)
        expect = min(feasible, key=lambda r: (-r["value"], r["number"]))
        assert tight.best["number"] == expect["number"]
        assert TrainConfig.from_file(tight.best_config).model_kwargs["width"] == expect["params"]["model_kwargs.width"]
    infeasible = [r for r in tight.rows if r["feasible"] is False]
    assert free.best["number"] in {r["number"] for r in infeasible}


def test_nan_trials_are_recorded_and_the_search_goes_on(tmp_path):
    result = search.run("builtin:xor", trials=2, space={"lr": "choice(1e12, 0.05)"}, out=tmp_path, epochs=1, arch="mlp",
                        opt="sgd")
    study = _load(result)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 2
    assert all(t.params["lr"] == 1e12 and t.user_attrs["failure"].startswith("NaN/inf loss") for t in failed)
    assert result.best["params"]["lr"] == 0.05


def test_out_of_memory_is_retried_once_at_half_batch_size(tmp_path, monkeypatch):
    fit = Learner.fit

    def fit_that_ooms_above_32(self, *args, **kw):
        if self.data.train.batch_size > 32:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return fit(self, *args, **kw)

    monkeypatch.setattr(Learner, "fit", fit_that_ooms_above_32)
    result = search.run("builtin:xor", trials=1, space={"lr": "log(1e-2, 1e-1)"}, out=tmp_path, batch_size=64, **{
        k: v for k, v in XOR.items() if k != "lr"})
    t = _load(result).best_trial
    assert t.user_attrs["oom_retry"] == "out of memory at batch_size 64; retried at 32"
    assert t.user_attrs["batch_size"] == 32 and t.user_attrs["run_dir"].endswith("trial-0000-bs32")
    assert TrainConfig.from_file(result.best_config).batch_size == 32


def test_trials_that_always_fail_stop_the_search_with_the_reason(tmp_path, monkeypatch):
    def always_oom(self, *args, **kw):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(Learner, "fit", always_oom)
    monkeypatch.setattr(driver, "MAX_CONSECUTIVE_FAILURES", 3)
    with pytest.raises(TrainingError, match="the last 3 trials failed; the latest: out of memory"):
        search.run("builtin:xor", trials=1, space={"lr": "log(1e-2, 1e-1)"}, out=tmp_path, study="oom", **XOR)
    trials = optuna.load_study(study_name="oom", storage=f"sqlite:///{tmp_path / 'oom' / 'study.db'}").trials
    assert len(trials) == 3
    assert all("and again at 32" in t.user_attrs["failure"] for t in trials)


def test_rerun_with_a_different_space_is_refused(tmp_path):
    search.run("builtin:xor", trials=1, space={"lr": "log(1e-2, 1e-1)"}, out=tmp_path, study="s", **XOR)
    assert cli_main(["search", "builtin:xor", "--trials", "1", "--param", "lr=log(1e-3,1e-1)", "--out", str(tmp_path),
                     "--study", "s", "--epochs", "1", "--arch", "mlp", "--lr", "0.05"]) == 2


def test_a_pruner_stops_a_bad_trial_after_its_first_epoch(tmp_path):
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
    good = study.ask()
    for epoch in range(3):
        good.report(1.0, epoch)
    study.tell(good, 1.0)
    spec = TrialSpec(base={"data": "builtin:xor", "epochs": 3, "arch": "mlp", "lr": 1e-7, "opt": "sgd"}, space={},
                     metric="accuracy", folder=str(tmp_path), target=5)
    study.optimize(Objective(spec), n_trials=1)
    t = study.trials[-1]
    assert t.state == optuna.trial.TrialState.PRUNED and t.user_attrs["pruned"].startswith("pruned after epoch 1")
    assert list(t.intermediate_values) == [0]
    assert len((tmp_path / "trials" / "trial-0001" / "metrics.jsonl").read_text().splitlines()) == 1
