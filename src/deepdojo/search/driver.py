"""The search driver: open (or rejoin) the study, run trials until N are complete, then summarize.

The study lives in a SQL database: a SQLite file in the search folder by
default, or any SQLAlchemy URL (PostgreSQL) shared by workers on many
machines. ``trials`` is the study's target count of COMPLETE trials: running
the same command again continues toward it. Workers send heartbeats; a trial
whose worker died stops beating, is marked FAIL and retried with the same
parameters by whichever worker looks next.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from deepdojo.errors import ConfigError, TrainingError
from deepdojo.search.space import parse_space, space_to_json
from deepdojo.search.trial import Objective, TrialFailed, TrialSpec

MAX_CONSECUTIVE_FAILURES = 10


@dataclass
class SearchSettings:
    """Everything one worker needs, JSON-ready (extra workers get it on their command line)."""

    data: str
    trials: int
    space: dict[str, str]  # name -> "log(1e-4, 1e-1)"
    base: dict[str, Any] = field(default_factory=dict)  # TrainConfig values shared by all trials
    metric: str = "accuracy"
    sampler: str = "random"
    pruner: str = "none"
    storage: str | None = None
    study: str | None = None
    workers: int = 1
    max_latency_ms: float | None = None
    max_params: int | None = None
    out: str = "searches"
    heartbeat: int = 10  # seconds between heartbeats; a trial silent for 2x this is failed and retried
    quiet: bool = True

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"must be at least 1, got {self.trials}", where="--trials")
        if self.workers < 1:
            raise ConfigError(f"must be at least 1, got {self.workers}", where="--workers")
        if not self.space:
            raise ConfigError("empty search space", where="--space/--param",
                              fix="give --space FILE with a [space] table or --param 'lr=log(1e-4,1e-1)'")
        for name, choices in (("sampler", ("random", "tpe")), ("pruner", ("none", "median", "asha"))):
            if getattr(self, name) not in choices:
                raise ConfigError(f"unknown {name} {getattr(self, name)!r}", where=f"--{name}", fix=f"use one of {', '.join(choices)}")
        self.study = self.study or re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(self.data.rstrip("/")).name or "search").strip("-")
        self.storage = self.storage or f"sqlite:///{(self.folder / 'study.db').resolve()}"

    @property
    def folder(self) -> Path:
        return Path(self.out) / str(self.study)

    @property
    def direction(self) -> str:
        return "minimize" if "loss" in self.metric else "maximize"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SearchSettings":
        return cls(**json.loads(text))

    def identity(self) -> dict[str, Any]:
        """What makes two commands the same search (constraints and target count may change)."""
        return json.loads(json.dumps({"data": self.data, "space": self.space, "base": self.base, "metric": self.metric}))


def storage_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 to SQLAlchemy 2.1; use psycopg2 (the ``search`` extra) when only it is there.

    >>> storage_url("sqlite:///study.db")
    'sqlite:///study.db'
    """
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    return url


def make_storage(settings: SearchSettings) -> optuna.storages.RDBStorage:
    """RDB storage with heartbeats; stale trials are retried (twice at most) with the same parameters."""
    url = storage_url(settings.storage)
    engine_kwargs = {}
    if url.startswith("sqlite:"):
        Path(url.split("///", 1)[-1]).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}  # workers on one file wait for the lock
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable in practice
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=settings.heartbeat, grace_period=2 * settings.heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2),
            )
    except (ImportError, ModuleNotFoundError) as exc:
        raise ConfigError(f"cannot open storage: {exc}", where="--storage",
                          fix="install the database driver, e.g. pip install 'deepdojo[search]' for PostgreSQL") from None
    except Exception as exc:  # bad URL, unreachable server: one line, not a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot open storage: {first}", where="--storage", fix="check the URL and that the server is up") from None


def make_sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    """Random by default (unseeded, so that workers and reruns never repeat each other's draws)."""
    if settings.sampler == "tpe":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(constraints_func=lambda t: constraint_values(t, settings))
    return optuna.samplers.RandomSampler()


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def constraint_values(trial: optuna.trial.FrozenTrial, settings: SearchSettings) -> list[float]:
    """Optuna's convention: each value <= 0 means the constraint holds."""
    out = []
    if settings.max_latency_ms is not None:
        out.append(trial.user_attrs.get("latency_ms", float("inf")) - settings.max_latency_ms)
    if settings.max_params is not None:
        out.append(trial.user_attrs.get("n_params", float("inf")) - settings.max_params)
    return out


def open_study(settings: SearchSettings) -> tuple[optuna.Study, optuna.storages.RDBStorage]:
    """Create the study or rejoin it; a study made for a different search is an error."""
    storage = make_storage(settings)
    study = optuna.create_study(storage=storage, study_name=settings.study, direction=settings.direction,
                                sampler=make_sampler(settings), pruner=make_pruner(settings.pruner), load_if_exists=True)
    mine, theirs = settings.identity(), study.user_attrs.get("deepdojo")
    if theirs is None:
        study.set_user_attr("deepdojo", mine)
    elif theirs != mine:
        diff = ", ".join(k for k in mine if mine[k] != theirs.get(k))
        raise ConfigError(f"study {settings.study!r} holds a different search (differs in: {diff})", where="--study",
                          fix="use a new --study name, or the original data, space, config and metric")
    return study, storage


def work(study: optuna.Study, storage: optuna.storages.RDBStorage, settings: SearchSettings) -> None:
    """One worker's loop: run trials until the study holds ``settings.trials`` complete ones."""
    spec = TrialSpec(base={**settings.base, "data": settings.data}, space=parse_space(settings.space),
                     metric=settings.metric, folder=str(settings.folder), target=settings.trials)
    objective, first_seen, failures = Objective(spec), {}, 0
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        done = sum(t.state == TrialState.COMPLETE for t in trials)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        if done >= settings.trials:
            return
        if done + len(running) >= settings.trials:
            # Wait for the running ones. A worker killed between asking for a trial and its first
            # heartbeat leaves a trial that never beats, so never goes stale: one heartbeat from here,
            # once the trial outlived a grace period unbeaten (or beating: then this is harmless), fixes that.
            now = time.monotonic()
            for t in running:
                seen = first_seen.setdefault(t._trial_id, now)
                if seen is not None and now - seen > 2 * storage.grace_period:
                    storage.record_heartbeat(t._trial_id)
                    first_seen[t._trial_id] = None
            time.sleep(min(1.0, settings.heartbeat / 2))
            continue
        finished: list[optuna.trial.FrozenTrial] = []  # this worker's trial (another may have finished since)
        study.optimize(objective, n_trials=1, catch=(TrialFailed,), gc_after_trial=False,
                       callbacks=[lambda _, t: finished.append(t)] + ([] if settings.quiet else [print_trial]))
        last = finished[-1]
        failures = failures + 1 if "failure" in last.user_attrs and last.state == TrialState.FAIL else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            raise TrainingError(f"the last {failures} trials failed; the latest: {last.user_attrs['failure']}",
                                where=f"study {settings.study}", fix="narrow the search space (lower learning rates, smaller batches)")


def print_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """One line per finished trial."""
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
    if trial.state == TrialState.COMPLETE:
        print(f"trial {trial.number}: {trial.value:.4f}  ({params})", flush=True)
    elif "skipped" not in trial.user_attrs:
        reason = trial.user_attrs.get("failure", "pruned" if trial.state == TrialState.PRUNED else trial.state.name)
        print(f"trial {trial.number}: {trial.state.name.lower()}: {reason}  ({params})", flush=True)


def start_workers(settings: SearchSettings, count: int) -> list[subprocess.Popen]:
    """``count`` extra worker processes on this machine, each running :func:`work` on the same study."""
    child = dataclasses.replace(settings, workers=1, quiet=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads_per_worker(settings.workers))}
    return [subprocess.Popen([sys.executable, "-m", "deepdojo.search.worker", child.to_json()], env=env)
            for _ in range(count)]


def threads_per_worker(workers: int) -> int:
    """CPU threads each of ``workers`` processes may use: oversubscribed cores spin and crawl."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_settings(settings: SearchSettings):
    """Open the study, work (with ``workers - 1`` helpers), then summarize. Returns a ``SearchResult``."""
    from deepdojo.search.results import summarize

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial comes from print_trial
    settings.folder.mkdir(parents=True, exist_ok=True)
    study, storage = open_study(settings)
    if settings.workers > 1:
        import torch

        torch.set_num_threads(threads_per_worker(settings.workers))
    helpers = start_workers(settings, settings.workers - 1)
    try:
        work(study, storage, settings)
    except BaseException:
        for proc in helpers:  # their trials go stale and are retried by the next run
            proc.terminate()
        raise
    finally:
        for proc in helpers:
            proc.wait()
    return summarize(study, settings)
