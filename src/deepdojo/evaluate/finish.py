"""What every run gets after training: baselines, diagnosis, data summary, evaluation facts.

``finish_run(learn)`` writes into the run folder (all on train/valid; the test
split stays sealed):

- ``baselines.json``  majority / stratified / linear (or mean / median / linear)
- ``diagnosis.json``  bias / variance / mismatch from train, train-dev and valid error
- ``data_summary.json``  classes, sizes, class counts, fingerprints
- ``evaluation.json``  validation metrics (macro-F1, ECE), per-example latency, parameters
- ``label_suspects.csv``  examples the model confidently contradicts (classification)

``diagnose_run(run)`` recomputes the diagnosis from the run's checkpoint
(``deepdojo diagnose RUN``), adding human-level and logged test error.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:moons", out=tempfile.mkdtemp(), progress=False, seed=0)
    >>> learn.fit(1, 0.01)
    >>> sorted(finish_run(learn, baseline_budget_s=2))
    ['baselines', 'data_summary', 'diagnosis', 'evaluation']
    >>> (learn.run.path / "interpretation.json").exists()
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deepdojo.errors import ConfigError
from deepdojo.evaluate.baselines import compare, compute_baselines, split_arrays
from deepdojo.evaluate.diagnosis import Diagnosis, diagnose
from deepdojo.evaluate.interpret import Interpretation
from deepdojo.evaluate.run_eval import eval_loader, evaluation_metrics, learner_for_run, load_run_data, measure_latency
from deepdojo.evaluate.suspects import label_suspects, write_suspects
from deepdojo.evaluate.vault import TestVault
from deepdojo.metrics import make_metric
from deepdojo.train.run_folder import write_json


def error_key(task: str) -> str:
    return "error_rate" if task == "classification" else "mae"


def _error_on(learn, loader, key: str) -> float:
    saved, learn.metrics = learn.metrics, [make_metric(key)]
    try:
        return float(learn.validate(loader)[key])
    finally:
        learn.metrics = saved


def run_errors(learn, run_dir: Path | None = None) -> dict[str, float | None]:
    """Training error (no augmentation), train-dev error if that split exists, validation error, last logged test error."""
    data, key = learn.data, error_key(learn.data.task)
    errors = {"train_error": _error_on(learn, eval_loader(data, "train"), key),
              "valid_error": _error_on(learn, data.valid, key), "train_dev_error": None, "test_error": None}
    if getattr(data, "train_dev", None) is not None:
        errors["train_dev_error"] = _error_on(learn, data.train_dev, key)
    looks = TestVault(run_dir).entries() if run_dir is not None else []
    if looks and key in looks[-1].get("metrics", {}):
        errors["test_error"] = float(looks[-1]["metrics"][key])  # read from the log: no new look
    return errors


def data_summary(data) -> dict[str, Any]:
    """Facts about the data for the report (test: size only; its labels stay sealed)."""
    out = {k: data.info.get(k) for k in ("name", "fingerprint", "split_hash", "sizes")}
    out.update({"task": data.task, "classes": data.classes,
                "input_shape": list(data.input_shape) if data.input_shape else None})
    if data.task == "classification":
        out["class_counts"] = {}
        for split in ("train", "valid"):
            if getattr(data, split) is not None:
                _, y = split_arrays(data, split)
                out["class_counts"][split] = np.bincount(y.astype(np.int64), minlength=data.num_classes or 0).tolist()
    if "leaks" in data.info:  # the duplicate search across splits: counts, or that it was off
        out["leaks"] = data.info["leaks"]
    for key in ("checks", "data_checks"):  # written by the data checks when they ran
        if key in data.info:
            out["checks"] = data.info[key]
    return out


def finish_run(learn, baseline_budget_s: float = 10.0) -> dict[str, Any]:
    """Write baselines, diagnosis, data summary and evaluation facts into ``learn.run``; return them.

    Without a validation split only the data summary and latency are written.
    """
    run_dir, data = learn.run.path, learn.data
    evaluation = {"valid": {}, "parameters": sum(p.numel() for p in learn.model.parameters()),
                  "latency_ms_per_example": measure_latency(learn.model, data.input_shape, learn.device),
                  "device": str(learn.device)}
    out = {"data_summary": data_summary(data), "evaluation": evaluation}
    if data.valid is not None:
        saved, learn.metrics = learn.metrics, [make_metric(m) for m in evaluation_metrics(data.task)]
        try:
            evaluation["valid"] = learn.validate()
        finally:
            learn.metrics = saved
        baselines = compute_baselines(data, budget_s=baseline_budget_s, seed=learn.seed or 0)
        baselines["comparison"] = compare(evaluation["valid"], baselines)
        out["baselines"] = baselines
        if data.task == "classification":  # the recipe reads error rates (fractions); regression has no such scale
            errors = run_errors(learn, run_dir)
            out["diagnosis"] = diagnose(errors["train_error"], errors["valid_error"],
                                        train_dev_error=errors["train_dev_error"], test_error=errors["test_error"]).to_json()
    for name, obj in out.items():
        write_json(run_dir / f"{name}.json", obj)
    if data.task == "classification" and data.valid is not None:
        write_interpretation(Interpretation.from_learner(learn, "valid"), run_dir)
    if data.task == "classification" and data.on_device:  # label_suspects.csv: see evaluate/suspects.py
        write_suspects(label_suspects(learn), run_dir)
    return out


def write_interpretation(interp: Interpretation, run_dir: Path, k: int = 12) -> dict[str, Any]:
    """``interpretation.json``, ``confusion_matrix.png`` and (images) ``top_losses.png`` / ``most_uncertain.png``."""
    from deepdojo.report.plots_eval import confusion_png, gallery_png
    from deepdojo.train.run_folder import atomic_write_bytes

    summary = interp.summary(k)
    write_json(run_dir / "interpretation.json", summary)
    atomic_write_bytes(run_dir / "confusion_matrix.png", confusion_png(summary["confusion_matrix"], interp.classes))
    if interp.inputs is not None and interp.inputs.dim() == 4:
        for name, rows in (("top_losses", summary["top_losses"]), ("most_uncertain", summary["most_uncertain"])):
            images = interp.inputs[[r["index"] for r in rows]]
            captions = [f"{r['predicted']}/{r['actual']}\np={r['probability']:.2f} loss={r['loss']:.2f}" for r in rows]
            title = "predicted/actual, probability of the prediction" + (" (highest loss first)" if name == "top_losses" else "")
            atomic_write_bytes(run_dir / f"{name}.png", gallery_png(images, captions, title))
    return summary


def diagnose_run(run_dir: str | Path, human_error: float | None = None, checkpoint: str = "best", data=None) -> Diagnosis:
    """The diagnosis of ``run_dir``'s checkpoint, written to ``diagnosis.json``."""
    run_dir = Path(run_dir)
    data = data if data is not None else load_run_data(run_dir)
    if data.task != "classification":
        raise ConfigError(f"the bias/variance recipe reads error rates; this run is {data.task}", where=str(run_dir),
                          fix="compare train and valid MAE in evaluation.json / report.html instead")
    learn, _ = learner_for_run(run_dir, data, checkpoint, metrics=[error_key(data.task)])
    e = run_errors(learn, run_dir)
    result = diagnose(e["train_error"], e["valid_error"], human_error=human_error, train_dev_error=e["train_dev_error"],
                      test_error=e["test_error"])
    write_json(run_dir / "diagnosis.json", {**result.to_json(), "checkpoint": checkpoint})
    return result

