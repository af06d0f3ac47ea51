"""Search spaces: ``lr = log(1e-4, 1e-1)``, ``batch_size = choice(32, 64, 128)``, ...

A space maps a :class:`~deepdojo.config.TrainConfig` field (or ``model_kwargs.X``
for a model argument) to a distribution written as text, in a ``[space]``
table of a TOML/YAML file or as ``--param 'lr=log(1e-4,1e-1)'`` flags:

- ``log(low, high)``: log-uniform floats: each decade is equally likely.
  The learning rate and weight decay belong here.
- ``uniform(low, high)``: uniform floats (dropout, momentum).
- ``int(low, high)`` / ``logint(low, high)``: integers, uniform or log-uniform.
- ``choice(a, b, ...)``: one of the values (numbers, strings, booleans, lists).

Example:
    >>> space = parse_space({"lr": "log(1e-4, 1e-1)", "opt": "choice('adamw', 'sgd')",
    ...                      "model_kwargs.width": "choice(16, 64)"})
    >>> space["lr"]
    Dist(kind='log', args=(0.0001, 0.1))
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    >>> params = suggest(space, trial)
    >>> 1e-4 <= params["lr"] <= 1e-1, params["opt"] in ("adamw", "sgd")
    (True, True)
    >>> apply_params({"epochs": 1}, params)["model_kwargs"]["width"] in (16, 64)
    True
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepdojo.config import TrainConfig, read_config_file, validate_fields
from deepdojo.errors import ConfigError

KINDS = ("log", "uniform", "int", "logint", "choice")
_CALL = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$", re.S)
# Fields a search must not vary: they name the data, the folders, or the split.
FIXED_FIELDS = ("data", "out", "name", "resume", "overwrite", "seed", "valid_pct", "test_pct", "device")


@dataclass(frozen=True)
class Dist:
    """One parameter's distribution: ``kind`` in :data:`KINDS` and its arguments."""

    kind: str
    args: tuple

    def to_text(self) -> str:
        return f"{self.kind}({', '.join(repr(a) for a in self.args)})"


def parse_dist(text: str, where: str) -> Dist:
    """``"log(1e-4, 1e-1)"`` -> ``Dist("log", (1e-4, 1e-1))``; bad text is a :class:`ConfigError`."""
    fix = "write log(low, high), uniform(low, high), int(low, high), logint(low, high) or choice(a, b, ...)"
    m = _CALL.match(str(text))
    if not m or m.group(1) not in KINDS:
        raise ConfigError(f"cannot read search distribution {text!r}", where=where, fix=fix)
    kind = m.group(1)
    try:
        args = ast.literal_eval(f"({m.group(2)},)") if m.group(2).strip() else ()
    except (ValueError, SyntaxError):
        raise ConfigError(f"cannot read the arguments of {text!r}", where=where, fix="use literal numbers or quoted strings") from None
    args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    if kind == "choice":
        if not args:
            raise ConfigError("choice() needs at least one value", where=where, fix="write choice(a, b, ...)")
        return Dist(kind, args)
    if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise ConfigError(f"{kind}() takes two numbers (low, high), got {text!r}", where=where, fix=fix)
    low, high = args
    if not low < high:
        raise ConfigError(f"low must be below high in {text!r}", where=where, fix="swap or change the bounds")
    if kind in ("log", "logint") and low <= 0:
        raise ConfigError(f"a log scale needs low > 0, got {text!r}", where=where, fix="use a positive low bound")
    if kind in ("int", "logint") and not all(isinstance(a, int) for a in args):
        raise ConfigError(f"{kind}() takes integer bounds, got {text!r}", where=where, fix="drop the decimals")
    if kind in ("log", "uniform"):
        args = (float(low), float(high))
    return Dist(kind, args)


def parse_space(values: dict[str, Any], source: str = "space") -> dict[str, Dist]:
    """Check names against :class:`TrainConfig` and parse each distribution."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    space = {}
    for name, text in values.items():
        where = f"{source}: {name}"
        field = name.split(".", 1)[0]
        if field not in known or (field == "model_kwargs") != ("." in name):
            raise ConfigError("unknown search parameter", where=where,
                              fix="use a TrainConfig field (lr, batch_size, arch, opt, ...) or model_kwargs.NAME")
        if field in FIXED_FIELDS:
            raise ConfigError(f"{field} cannot be searched", where=where,
                              fix="set it once for the whole search; trials must share data, split and folders")
        space[name] = parse_dist(text, where)
    return space


def read_space_file(path: str | Path) -> tuple[dict[str, Dist], dict[str, Any]]:
    """A TOML/YAML file -> (space from its ``[space]`` table, TrainConfig values from the rest)."""
    values = dict(read_config_file(path))
    table = values.pop("space", None)
    if not isinstance(table, dict) or not table:
        raise ConfigError("no [space] table", where=str(path), fix="add a [space] table, e.g. lr = \"log(1e-4, 1e-1)\"")
    base = values.pop("train", values) if isinstance(values.get("train"), dict) else values
    return parse_space(table, source=str(path)), base


def parse_param_flags(flags: list[str]) -> dict[str, Dist]:
    """``["lr=log(1e-4,1e-1)", ...]`` (``--param``) -> a space."""
    values = {}
    for flag in flags:
        name, sep, text = flag.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"expected NAME=DIST, got {flag!r}", where="--param", fix="e.g. --param 'lr=log(1e-4,1e-1)'")
        values[name.strip()] = text
    return parse_space(values, source="--param")


def suggest(space: dict[str, Dist], trial) -> dict[str, Any]:
    """Sample every parameter of ``space`` through an Optuna ``trial``."""
    out = {}
    for name, d in space.items():
        if d.kind in ("log", "uniform"):
            out[name] = trial.suggest_float(name, *d.args, log=d.kind == "log")
        elif d.kind in ("int", "logint"):
            out[name] = trial.suggest_int(name, *d.args, log=d.kind == "logint")
        else:
            # Optuna stores choices as plain scalars; lists are offered as their JSON text
            encoded = [json.dumps(list(c)) if isinstance(c, tuple) else c for c in d.args]
            value = trial.suggest_categorical(name, encoded)
            out[name] = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
    return out


def apply_params(base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``base`` TrainConfig values with ``params`` on top (``model_kwargs.X`` goes into ``model_kwargs``)."""
    values = {**base, "model_kwargs": dict(base.get("model_kwargs") or {})}
    for name, value in params.items():
        if name.startswith("model_kwargs."):
            values["model_kwargs"][name.split(".", 1)[1]] = value
        else:
            values[name] = value
    validate_fields(TrainConfig, {k: v for k, v in values.items() if k != "model_kwargs"}, "search")
    return values


def space_to_json(space: dict[str, Dist]) -> dict[str, str]:
    """The text form, stored with the study so that a rerun can check it searches the same space."""
    return {name: d.to_text() for name, d in sorted(space.items())}
