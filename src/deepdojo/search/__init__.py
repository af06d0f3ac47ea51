"""Hyperparameter search on Optuna: random on a log scale, satisficing, resumable, many workers.

The curriculum's rules are the defaults: random search (not grid), learning
rate and weight decay on a log scale, one optimizing metric on validation
under satisficing constraints, and the test split sealed throughout.

Example:
    >>> import tempfile
    >>> from deepdojo import search
    >>> result = search.run("builtin:xor", trials=2, space={"lr": "log(1e-3, 1e-1)"},
    ...                     out=tempfile.mkdtemp(), epochs=1, arch="mlp")
    >>> result.counts["COMPLETE"], result.best_config.name
    (2, 'best_config.toml')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from deepdojo.config import TrainConfig, read_config_file
from deepdojo.errors import ConfigError
from deepdojo.search.driver import SearchSettings, run_settings
from deepdojo.search.results import SearchResult, best_trial
from deepdojo.search.space import parse_param_flags, parse_space, read_space_file, space_to_json

__all__ = ["SearchResult", "SearchSettings", "best_trial", "parse_space", "run"]

# TrainConfig fields that belong to one run, not to the search (each trial sets its own)
PER_RUN_FIELDS = ("data", "out", "name", "resume", "overwrite")


def run(
    data: str,
    trials: int,
    space: dict[str, str] | str | Path | None = None,
    *,
    params: Iterable[str] = (),
    config: TrainConfig | dict[str, Any] | str | Path | None = None,
    metric: str = "accuracy",
    sampler: str = "random",
    pruner: str = "none",
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    max_latency_ms: float | None = None,
    max_params: int | None = None,
    out: str | Path = "searches",
    heartbeat: int = 10,
    quiet: bool = True,
    **train: Any,
) -> SearchResult:
    """Search hyperparameters for ``data`` until the study holds ``trials`` complete trials.

    ``space`` is a dict ``{"lr": "log(1e-4, 1e-1)", ...}`` or a TOML/YAML file
    with a ``[space]`` table (its other keys are TrainConfig values);
    ``params`` adds ``"name=dist"`` strings (``--param``). Every trial starts
    from ``config`` (a TrainConfig, dict or file) with ``train`` overrides
    (``epochs=1``, ``arch="cnn"`` ...) on top. The search folder is
    ``out/<study>``; the study is stored in ``storage`` (default: SQLite there).
    """
    base: dict[str, Any] = {}
    if isinstance(config, TrainConfig):
        base = config.to_dict()
    elif isinstance(config, dict):
        base = dict(config)
    elif config is not None:
        base = read_config_file(config)
    dists = {}
    if isinstance(space, (str, Path)):
        dists, file_base = read_space_file(space)
        base.update(file_base)
    elif space:
        dists = parse_space(space)
    dists.update(parse_param_flags(list(params)))
    base.update(train)
    cfg = TrainConfig.from_dict({**base, "data": data})  # unknown keys and bad types fail here, before any trial
    for key in ("epochs", "batch_size"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"must be at least 1, got {getattr(cfg, key)}", where=key)
    shared = {k: v for k, v in cfg.to_dict().items() if k not in PER_RUN_FIELDS}
    settings = SearchSettings(
        data=data, trials=trials, space=space_to_json(dists), base=shared, metric=metric, sampler=sampler, pruner=pruner,
        storage=storage, study=study, workers=workers, max_latency_ms=max_latency_ms, max_params=max_params, out=str(out),
        heartbeat=heartbeat, quiet=quiet,
    )
    return run_settings(settings)
