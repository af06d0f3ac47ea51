"""Search space syntax, log-scale sampling (chi-square), satisficing selection, the best-config file."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from scipy.stats import chisquare

from deepdojo.config import TrainConfig
from deepdojo.errors import ConfigError
from deepdojo.search.results import best_trial, to_toml, violations
from deepdojo.search.space import Dist, apply_params, parse_dist, parse_param_flags, parse_space, read_space_file, suggest
from deepdojo.search.trial import failure_reason, is_oom

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _samples(text: str, n: int = 200, seed: int = 0) -> np.ndarray:
    """``n`` draws of ``lr`` through Optuna's random sampler, the search's default path."""
    space = parse_space({"lr": text})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(suggest(space, trial)["lr"])
        study.tell(trial, 0.0)
    return np.array(out)


def _decade_counts(x: np.ndarray) -> np.ndarray:
    return np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0]


def test_log_scale_gives_each_decade_an_equal_share():
    x = _samples("log(1e-4, 1e-1)")
    assert x.min() >= 1e-4 and x.max() <= 1e-1
    counts = _decade_counts(x)
    assert counts.sum() == 200
    assert chisquare(counts).pvalue > 0.01, counts  # consistent with 1/3 per decade


def test_uniform_scale_puts_nearly_everything_in_the_top_decade():
    counts = _decade_counts(_samples("uniform(1e-4, 1e-1)"))
    assert chisquare(counts).pvalue < 1e-10, counts
    assert counts[-1] > 160  # 90% of [1e-4, 1e-1] lies in [1e-2, 1e-1]


def test_parse_every_kind():
    space = parse_space({"lr": "log(1e-4, 1e-1)", "batch_size": "choice(32, 64, 128)", "epochs": "int(1, 3)",
                         "model_kwargs.dropout": "uniform(0, 0.5)", "model_kwargs.width": "logint(8, 256)",
                         "model_kwargs.widths": "choice([8, 16], [16, 32])", "opt": "choice('adamw', 'sgd')"})
    assert space["lr"] == Dist("log", (1e-4, 1e-1))
    assert space["model_kwargs.dropout"] == Dist("uniform", (0.0, 0.5))
    assert space["model_kwargs.widths"].args == ((8, 16), (16, 32))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    params = suggest(space, trial)
    assert params["model_kwargs.widths"] in ([8, 16], [16, 32])
    assert isinstance(params["epochs"], int) and 1 <= params["epochs"] <= 3
    values = apply_params({"data": "x", "epochs": 5}, params)
    cfg = TrainConfig.from_dict(values)
    assert cfg.model_kwargs["widths"] == params["model_kwargs.widths"] and cfg.epochs == params["epochs"]


@pytest.mark.parametrize("text, message", [
    ("log(0, 1)", "log scale needs low > 0"),
    ("uniform(1, 0)", "low must be below high"),
    ("normal(0, 1)", "cannot read search distribution"),
    ("int(1.5, 3)", "integer bounds"),
    ("choice()", "at least one value"),
    ("log(1e-4)", "takes two numbers"),
    ("choice(adamw, sgd)", "cannot read the arguments"),
])
def test_bad_distributions_name_the_parameter(text, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_dist(text, where="space: lr")
    assert "space: lr" in str(info.value)


def test_unknown_and_fixed_parameters_are_rejected():
    with pytest.raises(ConfigError, match="unknown search parameter"):
        parse_space({"learning_rate": "log(1e-4, 1e-1)"})
    with pytest.raises(ConfigError, match="seed cannot be searched"):
        parse_space({"seed": "int(0, 9)"})
    with pytest.raises(ConfigError, match="expected NAME=DIST"):
        parse_param_flags(["lr log(1e-4,1e-1)"])
    with pytest.raises(ConfigError, match="batch_size: expected int"):  # a sampled value of the wrong type
        apply_params({"data": "x"}, {"batch_size": 1.5})


def test_space_file_with_train_values(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('epochs = 2\narch = "mlp"\n[space]\nlr = "log(1e-4, 1e-1)"\nbatch_size = "choice(32, 64)"\n')
    space, base = read_space_file(path)
    assert base == {"epochs": 2, "arch": "mlp"} and set(space) == {"lr", "batch_size"}
    yaml_path = tmp_path / "space.yaml"
    yaml_path.write_text("space:\n  lr: log(1e-4, 1e-1)\n")
    assert read_space_file(yaml_path)[0]["lr"].kind == "log"
    empty = tmp_path / "empty.toml"
    empty.write_text("epochs = 2\n")
    with pytest.raises(ConfigError, match=r"empty.toml: no \[space\] table"):
        read_space_file(empty)


def _trial(number, value, n_params, latency=0.01, state=optuna.trial.TrialState.COMPLETE):
    t = optuna.trial.create_trial(state=state, value=value if state == optuna.trial.TrialState.COMPLETE else None,
                                  user_attrs={"n_params": n_params, "latency_ms": latency})
    t.number = number
    return t


def test_constraints_exclude_the_otherwise_best_trial():
    trials = [_trial(0, 0.90, 1_000), _trial(1, 0.97, 50_000, latency=2.0), _trial(2, 0.95, 5_000),
              _trial(3, 0.99, None, state=optuna.trial.TrialState.FAIL)]
    assert best_trial(trials, "maximize").number == 1
    assert best_trial(trials, "maximize", max_params=10_000).number == 2
    assert best_trial(trials, "maximize", max_latency_ms=1.0).number == 2
    assert best_trial(trials, "maximize", max_params=2_000).number == 0
    assert best_trial(trials, "maximize", max_params=10) is None
    assert best_trial(trials, "minimize").number == 0
    assert violations(trials[1], 1.0, 10_000) == ["latency 2.0 ms > 1.0 ms", "params 50000 > 10000"]


def test_best_config_toml_reads_back_as_the_same_train_config(tmp_path):
    values = {"data": "builtin:digits", "arch": "cnn", "lr": 3.2e-05, "batch_size": 32, "size": None, "bf16": False,
              "opt": "sgd", "model_kwargs": {"widths": [8, 16], "dropout": 0.25}}
    path = tmp_path / "best.toml"
    path.write_text(to_toml(values))
    cfg = TrainConfig.from_file(path)
    assert cfg == TrainConfig.from_dict(values)


def test_failure_reasons():
    assert is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert not is_oom(RuntimeError("shape mismatch"))
    assert failure_reason(RuntimeError("CUDA out of memory.")).startswith("out of memory")
