"""One search trial: a normal training run in its own run folder, reported to Optuna.

The trial trains with the run pipeline (:func:`deepdojo.run.build` and :func:`deepdojo.run.fit`),
reports the validation metric after every epoch (so a pruner can stop it),
then measures what the satisficing constraints need: parameter count and
inference latency per example. The test split is sealed for the whole trial:
choices are made on validation only.

Example:
    >>> import optuna, tempfile
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> study = optuna.create_study(direction="maximize")
    >>> spec = TrialSpec(base={"data": "builtin:xor", "epochs": 1, "arch": "mlp"},
    ...                  space={}, metric="accuracy", folder=tempfile.mkdtemp(), target=1)
    >>> study.optimize(Objective(spec), n_trials=1)
    >>> sorted(study.trials[0].user_attrs)
    ['batch_size', 'latency_ms', 'n_params', 'run_dir']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from deepdojo.config import TrainConfig
from deepdojo.errors import ConfigError, DataError, NonFiniteError
from deepdojo.search.space import Dist, apply_params, suggest
from deepdojo.train.callbacks import Callback, CancelFit


class TrialFailed(Exception):
    """A trial that raised, hit NaN or ran out of memory; the reason is its ``failure`` user attr."""


class ReportToOptuna(Callback):
    """After each epoch: report the validation ``metric`` to the trial; prune when the pruner says so."""

    order = 10  # after the run logger and checkpoints have written the epoch

    def __init__(self, trial: optuna.Trial, metric: str):
        self.trial, self.metric, self.pruned = trial, metric, None

    def after_epoch(self) -> None:
        record = self.learn.record
        if self.metric not in record:
            raise ConfigError(f"the validation record has no metric {self.metric!r}", where="--metric",
                              fix=f"use one of {', '.join(k for k in record if k not in ('epoch', 'lr', 'seconds'))}")
        self.trial.report(float(record[self.metric]), record["epoch"])
        if self.trial.should_prune():
            why = f"pruned after epoch {record['epoch'] + 1}: {self.metric} {record[self.metric]:.4f}"
            self.trial.set_user_attr("pruned", why)
            self.pruned = why
            raise CancelFit()  # the Learner finishes the epoch's hooks; _train raises TrialPruned after fit


@dataclass
class TrialSpec:
    """What every trial of a search shares: base config values, space, metric, folder, target count."""

    base: dict[str, Any]
    space: dict[str, Dist]
    metric: str
    folder: str  # the search folder; trials go to folder/trials/trial-NNNN
    target: int  # completed trials wanted in the study


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors."""
    oom_type = getattr(torch, "OutOfMemoryError", None)
    return (oom_type is not None and isinstance(exc, oom_type)) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def latency_ms(learn) -> float:
    """Inference ms per example: the same measure as the report's (``evaluate.run_eval.measure_latency``)."""
    from deepdojo.evaluate.run_eval import measure_latency

    return measure_latency(learn.model, learn.data.input_shape, learn.device, data=learn.data)


class Objective:
    """Optuna objective: ``trial -> final validation metric`` of one training run."""

    def __init__(self, spec: TrialSpec):
        self.spec = spec

    def __call__(self, trial: optuna.Trial) -> float:
        spec = self.spec
        skip = self._surplus(trial)
        if skip:
            trial.set_user_attr("skipped", skip)
            raise optuna.TrialPruned(skip)
        values = apply_params(spec.base, suggest(spec.space, trial))
        try:
            value = self._train_with_oom_retry(trial, values)
        except optuna.TrialPruned:
            raise
        except (ConfigError, DataError) as exc:  # the space or data is wrong: every trial would fail
            trial.set_user_attr("failure", str(exc))
            raise
        except Exception as exc:
            reason = failure_reason(exc)
            trial.set_user_attr("failure", reason)
            raise TrialFailed(reason) from exc
        if not math.isfinite(value):
            trial.set_user_attr("failure", f"validation {spec.metric} is {value}")
            raise TrialFailed(f"validation {spec.metric} is {value}")
        return value

    def _surplus(self, trial: optuna.Trial) -> str | None:
        """With many workers, a trial asked for after the target is covered is skipped, not run."""
        study = trial.study
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        earlier = sum(1 for t in running if t.number < trial.number)
        if done + earlier >= self.spec.target:
            return f"not run: {done} complete and {earlier} running trials cover the target of {self.spec.target}"
        return None

    def _train_with_oom_retry(self, trial: optuna.Trial, values: dict[str, Any]) -> float:
        name, batch_size = f"trial-{trial.number:04d}", values.get("batch_size", TrainConfig.batch_size)
        try:
            return self._train(trial, TrainConfig.from_dict(values), name)
        except Exception as exc:
            if not is_oom(exc):
                raise
        # retried outside the except block, so the failed attempt's tensors (held by its traceback) are freed
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = max(1, batch_size // 2)
        trial.set_user_attr("oom_retry", f"out of memory at batch_size {batch_size}; retried at {half}")
        try:
            return self._train(trial, TrainConfig.from_dict({**values, "batch_size": half}), f"{name}-bs{half}")
        except Exception as again:
            if is_oom(again):
                raise MemoryError(f"out of memory at batch_size {batch_size} and again at {half}") from again
            raise

    def _train(self, trial: optuna.Trial, cfg: TrainConfig, name: str) -> float:
        from deepdojo import run

        reporter = ReportToOptuna(trial, self.spec.metric)
        learn = run.build(cfg.data, cfg, out=Path(self.spec.folder) / "trials", name=name, progress=False,
                          callbacks=[reporter])
        # the search decides on validation only: Data.test is sealed (data/sealed.py) and nothing here opens it
        trial.set_user_attr("run_dir", str(learn.run.path))
        trial.set_user_attr("batch_size", cfg.batch_size)
        trial.set_user_attr("n_params", count_params(learn.model))
        run.fit(learn, cfg.merged(resume=False))
        if reporter.pruned:
            raise optuna.TrialPruned(reporter.pruned)
        trial.set_user_attr("latency_ms", latency_ms(learn))
        return float(learn.history[-1][self.spec.metric])


def failure_reason(exc: BaseException) -> str:
    """One line: what kind of failure and its message (NaN losses come as TrainingError)."""
    if is_oom(exc) or isinstance(exc, MemoryError):
        kind = "out of memory"
    elif isinstance(exc, NonFiniteError):
        kind = "NaN/inf loss or gradient"
    else:
        kind = type(exc).__name__
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{kind}: {first}"[:300]
