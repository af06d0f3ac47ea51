"""Baselines against scikit-learn's dummy and linear models; the diagnosis on the curriculum's own numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from evaluate_helpers import make_image_folder, train_run
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepdojo.cli.main import main
from deepdojo.data.core import Data
from deepdojo.errors import ConfigError
from deepdojo.evaluate.baselines import compute_baselines, split_arrays
from deepdojo.evaluate.diagnosis import diagnose, parse_error
from deepdojo.tasks import get_task

CLS, REG = get_task("classification"), get_task("regression")


def test_classification_baselines_match_sklearn_dummies():
    from sklearn.datasets import make_classification

    x, y = make_classification(600, 20, n_informative=6, n_classes=3, weights=[0.5, 0.3, 0.2], random_state=0)
    data = Data.from_tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y), seed=0, normalize=False)
    b = compute_baselines(data, CLS, budget_s=20)["baselines"]
    (ftr, ytr), (fva, yva) = split_arrays(data, "train"), split_arrays(data, "valid")
    major = DummyClassifier(strategy="most_frequent").fit(ftr, ytr).score(fva, yva)
    assert b["majority"]["accuracy"] == pytest.approx(major)
    strat = np.mean([DummyClassifier(strategy="stratified", random_state=s).fit(ftr, ytr).score(fva, yva)
                     for s in range(200)])
    assert b["stratified"]["accuracy"] == pytest.approx(strat, abs=0.01)
    assert b["linear"]["rows_used"] == len(ytr)  # digits fits inside the budget
    lin = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(ftr, ytr).score(fva, yva)
    assert b["linear"]["accuracy"] == pytest.approx(lin, abs=0.01)


def test_linear_baseline_is_time_boxed():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6000, 50, generator=g)
    data = Data.from_tensors(x, (x[:, 0] > 0).long(), seed=0)
    lin = compute_baselines(data, CLS, budget_s=0.0)["baselines"]["linear"]
    assert lin["rows_used"] == 1000 < lin["rows_available"]  # one fit on the first subsample, then stop
    assert lin["accuracy"] > 0.9


def test_regression_baselines_match_sklearn_dummies():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 3, generator=g)
    y = (x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(300, generator=g)).exp()  # skewed: mean != median
    data = Data.from_tensors(x, y, seed=0)
    b = compute_baselines(data, REG)["baselines"]
    (xtr, ytr), (xva, yva) = split_arrays(data, "train"), split_arrays(data, "valid")
    for strategy in ("mean", "median"):
        pred = DummyRegressor(strategy=strategy).fit(xtr, ytr).predict(xva)
        assert b[strategy]["mae"] == pytest.approx(np.abs(pred - yva).mean(), rel=1e-5)
    assert b["median"]["mae"] < b["mean"]["mae"]
    lines = REG.compare({"mae": 0.0}, b)
    assert lines[0].startswith("beats the simplest regressor (predict the median) by")


def test_compare_says_when_the_model_loses():
    b = {"majority": {"accuracy": 0.6}, "stratified": {"accuracy": 0.52}, "linear": {"accuracy": 0.9}}
    lines = CLS.compare({"accuracy": 0.8}, b)
    assert lines[0] == "beats the simplest classifier (majority) by 0.2000 accuracy"
    assert lines[1].startswith("does NOT beat the linear model") and "0.1000" in lines[1]


@pytest.mark.parametrize("errors,primary", [
    (dict(human_error=0.01, train_error=0.08, valid_error=0.10), "avoidable_bias"),
    (dict(human_error=0.075, train_error=0.08, valid_error=0.10), "variance"),
    (dict(train_error=0.01, train_dev_error=0.09, valid_error=0.10), "variance"),
    (dict(train_error=0.01, train_dev_error=0.01, valid_error=0.10), "data_mismatch"),
])
def test_diagnosis_on_the_curriculum_numbers(errors, primary):
    d = diagnose(**errors)
    assert d.primary == primary
    assert d.actions and any(word in " ".join(d.actions) for word in ("bigger", "more training data", "more like"))


def test_diagnosis_gaps_and_validation_overfit():
    d = diagnose(train_error=0.01, train_dev_error=0.015, valid_error=0.02, test_error=0.09)
    assert d.gaps == pytest.approx({"avoidable_bias": 0.01, "variance": 0.005, "data_mismatch": 0.005,
                                    "overfitting_to_validation": 0.07})
    assert d.primary == "overfitting_to_validation" and "bigger validation set" in d.actions[0]
    assert diagnose(train_error=0.08, valid_error=0.10, human_error=0.01).gaps["avoidable_bias"] == pytest.approx(0.07)


def test_parse_error_and_bad_values():
    assert parse_error("1%") == pytest.approx(0.01) and parse_error("0.075") == 0.075
    with pytest.raises(ConfigError, match="human-error"):
        parse_error("7.5")
    with pytest.raises(ConfigError, match="fraction"):
        diagnose(train_error=8, valid_error=10)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("diag")
    os.environ["DEEPDOJO_CACHE"] = str(root / "cache")
    learn = train_run(make_image_folder(root / "imgs"), root / "runs")
    from deepdojo.evaluate.finish import finish_run

    finish_run(learn, baseline_budget_s=2)
    return learn.run.path


def test_finish_run_writes_baselines_and_diagnosis(run_dir):
    base = json.loads((run_dir / "baselines.json").read_text())
    assert base["baselines"]["majority"]["accuracy"] == pytest.approx(1 / 3)  # 5 per class in valid
    assert base["comparison"][0].split(" (")[0] in ("beats the simplest classifier", "does NOT beat the simplest classifier")
    diag = json.loads((run_dir / "diagnosis.json").read_text())
    assert set(diag["gaps"]) == {"avoidable_bias", "variance"}
    ev = json.loads((run_dir / "evaluation.json").read_text())
    assert ev["latency_ms_per_example"] > 0 and ev["parameters"] > 0 and "f1_macro" in ev["valid"]


def test_diagnose_cli(run_dir, capsys):
    assert main(["diagnose", str(run_dir), "--human-error", "0%", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    hist = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    best = min(hist, key=lambda r: r["valid_loss"])
    assert out["errors"]["valid"] == pytest.approx(best["error_rate"])  # the best checkpoint's validation error
    assert out["errors"]["human"] == 0.0 and out["primary"] in ("avoidable_bias", "variance")
    assert main(["diagnose", str(run_dir), "--human-error", "150"]) == 2
