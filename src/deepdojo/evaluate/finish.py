"""What every run gets after training: baselines, diagnosis, data summary, evaluation facts.

``finish_run(learn)`` makes one prediction pass per split (train and valid;
the test split stays sealed) and writes into the run folder what the task
says applies:

- ``evaluation.json``  validation metrics (the task's evaluation metrics), latency, parameters,
  and what the task chose on validation (e.g. a multi-label threshold)
- ``baselines.json``  the task's baselines (majority / stratified / linear, mean / median / linear ...)
- ``diagnosis.json``  bias / variance / mismatch, for tasks with an error rate
- ``data_summary.json``  sizes, classes, target counts, data-check results, leaks
- ``interpretation.json``  and ``label_suspects.csv`` for tasks whose targets are classes

It returns what it wrote, plus the :class:`Interpretation` (``"interpreter"``,
when there is one) so the report layer can draw its pictures. ``diagnose_run(run)`` recomputes the diagnosis from the
run's checkpoint (``deepdojo diagnose RUN``), adding human-level and logged test error.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:moons", out=tempfile.mkdtemp(), progress=False, seed=0)
    >>> _ = learn.fit(1, 0.01)
    >>> out = finish_run(learn, baseline_budget_s=2)
    >>> sorted(k for k in out if k not in ("interpretation", "interpreter"))
    ['baselines', 'data_summary', 'diagnosis', 'evaluation']
    >>> (learn.run.path / "interpretation.json").exists()
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepdojo.errors import ConfigError
from deepdojo.evaluate.baselines import compute_baselines, split_arrays
from deepdojo.evaluate.text_interpret import text_explanations
from deepdojo.evaluate.diagnosis import Diagnosis, diagnose
from deepdojo.evaluate.interpret import Interpretation
from deepdojo.evaluate.passes import SplitPass, predict_split
from deepdojo.evaluate.run_eval import learner_for_run, load_run_data, measure_latency
from deepdojo.evaluate.sequence_outputs import write_sequence_outputs
from deepdojo.evaluate.suspects import rank_all, write_suspects
from deepdojo.evaluate.vault import TestVault
from deepdojo.io import write_json


def logged_test_error(run_dir: Path | None, key: str) -> float | None:
    """The last logged test look's ``key`` (read from test_log.jsonl: no new look)."""
    looks = TestVault(run_dir).entries() if run_dir is not None else []
    if looks and key in looks[-1].get("metrics", {}):
        return float(looks[-1]["metrics"][key])
    return None


def run_errors(learn, run_dir: Path | None = None, passes: dict[str, SplitPass] | None = None) -> dict[str, float | None]:
    """Training error (no augmentation), train-dev error if that split exists, validation error, last logged test error.

    ``passes`` reuses prediction passes already made (kept outputs); missing splits get one.
    """
    key, passes = learn.task.error_metric, passes or {}

    def error(split: str) -> float:
        p = passes.get(split)
        return float((p.score([key]) if p is not None and p.outputs is not None
                      else predict_split(learn, split, [key]).streamed)[key])

    return {"train_error": error("train"), "valid_error": error("valid"),
            "train_dev_error": error("train_dev") if getattr(learn.data, "train_dev", None) is not None else None,
            "test_error": logged_test_error(run_dir, key)}


def data_summary(data, task) -> dict[str, Any]:
    """Facts about the data for the report (test: size only; its labels stay sealed)."""
    info = data.info
    out = {"name": info.name, "fingerprint": info.fingerprint, "split_hash": info.split_hash, "sizes": info.sizes,
           "task": task.name, "classes": data.classes,
           "input_shape": list(data.input_shape) if data.input_shape else None}
    targets = {split: split_arrays(data, split)[1] for split in ("train", "valid") if getattr(data, split) is not None}
    out.update(task.target_summary(targets, data.classes))
    for key in ("check", "leaks", "warnings", "skipped"):  # what the data checks found, when they ran
        if key in info:
            out["checks" if key == "check" else key] = info[key]
    return out


def finish_run(learn, baseline_budget_s: float = 10.0, human_error: float | None = None) -> dict[str, Any]:
    """Write evaluation, baselines, diagnosis, data summary, interpretation and suspects into ``learn.run``.

    Without a validation split only the data summary and latency are written. ``human_error``
    (default: the run config's ``human_error``) is the diagnosis' yardstick for avoidable bias.
    """
    if human_error is None:
        human_error = (getattr(learn, "config", None) or {}).get("human_error")
    run_dir, data, task = learn.run.path, learn.data, learn.task
    evaluation: dict[str, Any] = {
        "valid": {}, "parameters": sum(p.numel() for p in learn.model.parameters()),
        "latency_ms_per_example": measure_latency(learn.model, data.input_shape, learn.device, data=data),
        "device": str(learn.device)}
    out: dict[str, Any] = {"data_summary": data_summary(data, task), "evaluation": evaluation}
    interp = None
    if data.valid is not None:
        # outputs are kept when something reads them after the pass: the task's choices, interpretation, suspects
        keep = task.interpretation is not None or task.class_targets or bool(task.state())
        passes = {"valid": predict_split(learn, "valid", [] if keep else task.eval_metrics(), keep=keep)}
        if keep:
            chosen = task.finalize(passes["valid"].decoded, passes["valid"].targets)  # e.g. a threshold
            if chosen:
                evaluation["chosen_on_valid"] = chosen
                record_task_state(learn)
        valid = passes["valid"].score(task.eval_metrics())
        evaluation["valid"] = {"valid_loss": valid.pop("loss"), **valid}
        baselines = compute_baselines(data, task, budget_s=baseline_budget_s, seed=learn.seed or 0)
        if baselines is not None:
            baselines["comparison"] = task.compare(evaluation["valid"], baselines["baselines"])
            out["baselines"] = baselines
        if task.interpretation == "factors":  # recommenders: top-N ranking, item biases and factors
            from deepdojo.evaluate.collab_eval import collab_finish

            collab_finish(learn, evaluation, out)
        if task.class_targets:
            passes["train"] = predict_split(learn, "train", keep=True)
        if task.error_metric:  # the bias/variance recipe reads error rates (fractions)
            errors = run_errors(learn, run_dir, passes)
            out["diagnosis"] = diagnose(errors["train_error"], errors["valid_error"], human_error=human_error,
                                        train_dev_error=errors["train_dev_error"], test_error=errors["test_error"]).to_json()
        if task.interpretation == "classes":
            interps = {s: Interpretation.from_pass(p, data) for s, p in passes.items()}
            interp = interps["valid"]
            interp.texts = text_explanations(learn, interp)  # texts: the tokens that moved each top loss
            out["interpretation"] = interp.summary(12)
            if data.on_device:  # label_suspects.csv: see evaluate/suspects.py
                write_suspects(rank_all(interps, data.classes), run_dir)
        elif task.interpretation == "autoencoder":  # reconstructions, latent map, anomaly ranks
            from deepdojo.evaluate.autoencoder_view import AutoencoderView

            interp = AutoencoderView.from_learner(learn, passes["valid"])
            out["interpretation"] = interp.summary()
        elif task.interpretation == "gan":  # sample grid, Fréchet distance and class coverage by a judge classifier
            from deepdojo.evaluate.gan_view import GANView

            interp = GANView.from_learner(learn)
            out["interpretation"] = interp.summary()
        elif task.interpretation == "embeddings":  # verification: galleries, false accepts / rejects at the threshold
            from deepdojo.evaluate.embeddings import embedding_interpretation
            from deepdojo.evaluate.interpret import split_ids

            v = passes["valid"]
            out["interpretation"] = embedding_interpretation(v.decoded, v.targets, getattr(task, "threshold", None),
                                                             data.classes, split_ids(data, "valid"))
        elif task.interpretation in ("boxes", "masks"):  # worst images, per-class AP / Dice, PR curves
            from deepdojo.evaluate.dense_view import DenseView

            interp = DenseView.from_pass(passes["valid"], data)
            out["interpretation"] = interp.summary()
    write_sequence_outputs(learn)  # text samples / attention maps, for the tasks whose report shows them
    for name, obj in out.items():
        write_json(run_dir / f"{name}.json", obj)
    return {**out, "interpreter": interp}  # the report layer draws its pictures from it


def record_task_state(learn) -> None:
    """Write the task's settings chosen after training into the run's weights files, so predict uses them."""
    from deepdojo.train.checkpoint import update_meta, weights_path

    for name in ("best", "last"):
        path = weights_path(learn.run.path / "checkpoints" / name)
        if path.is_file():
            update_meta(path, {"task_state": learn.task.state()})


def diagnose_run(run_dir: str | Path, human_error: float | None = None, checkpoint: str = "best", data=None) -> Diagnosis:
    """The diagnosis of ``run_dir``'s checkpoint, written to ``diagnosis.json``."""
    run_dir = Path(run_dir)
    data = data if data is not None else load_run_data(run_dir)
    learn, _ = learner_for_run(run_dir, data, checkpoint)
    if not learn.task.error_metric:
        raise ConfigError(f"the bias/variance recipe reads error rates; this run's task ({learn.task.name}) has none",
                          where=str(run_dir), fix="compare train and valid metrics in evaluation.json / report.html instead")
    e = run_errors(learn, run_dir)
    result = diagnose(e["train_error"], e["valid_error"], human_error=human_error, train_dev_error=e["train_dev_error"],
                      test_error=e["test_error"])
    write_json(run_dir / "diagnosis.json", {**result.to_json(), "checkpoint": checkpoint})
    return result
