"""Typed configuration shared by the CLI and the Python API.

A config file (TOML or YAML) and the CLI's flags map onto the same dataclass
fields; unknown keys and wrong types are errors that name the field.

Example:
    >>> cfg = TrainConfig.from_dict({"data": "builtin:digits", "epochs": 3})
    >>> cfg.epochs, cfg.lr
    (3, 'auto')
    >>> TrainConfig.from_dict({"data": "x", "epoch": 3})
    Traceback (most recent call last):
    ...
    deepdojo.errors.ConfigError: epoch: unknown config key (fix: did you mean 'epochs'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deepdojo.errors import ConfigError


@dataclass
class TrainConfig:
    """Everything needed to reproduce one training run."""

    data: str = ""
    arch: str = "auto"  # a registered model name; "auto" picks one for the data
    task: str | None = None  # a registered task name (deepdojo.tasks); None: the one the data suggests
    epochs: int = 5
    lr: float | Literal["auto"] = "auto"  # "auto": the LR finder's suggestion
    batch_size: int = 64
    size: int | None = None  # image side in pixels; None keeps a uniform native size
    seed: int = 0
    out: str = "runs"
    name: str | None = None
    resume: bool = False
    overwrite: bool = False  # reuse the name of a folder that holds a run by deleting that run first
    device: Literal["auto", "cpu", "cuda"] = "auto"
    opt: Literal["sgd", "rmsprop", "adam", "adamw"] = "adamw"
    weight_decay: float = 0.01
    momentum: float | None = None  # None: 0.9 for SGD, 0 for RMSprop
    schedule: Literal["one_cycle", "constant", "cosine", "step", "exponential"] = "one_cycle"
    warmup_pct: float = 0.0
    valid_pct: float = 0.2
    test_pct: float = 0.0  # a sealed test slice of built-ins / single-folder image sets (see `deepdojo evaluate`)
    train_dev_pct: float = 0.0  # a train-dev slice of train: the diagnosis separates variance from data mismatch
    augment: Literal["auto", "none", "light", "default"] = "auto"
    bf16: bool = False
    deterministic: bool = False
    skip_bad: bool = False  # train on the good items; the bad ones are listed in skipped.json
    dedupe: bool = False  # drop valid/test items that duplicate training items
    leak_check: bool = True  # search valid/test for duplicates of training items (False: the report says it was off)
    rehash: bool = False  # hash every image file instead of trusting an unchanged size and mtime
    checkpoint_every: int | None = None  # also save full training state every N steps (resume mid-epoch)
    checkpoint_seconds: float | None = 600.0  # ... and every M seconds; always at each epoch end
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    nproc: int = 1  # processes on this machine (`deepdojo train --nproc N` starts them with torchrun)
    strategy: Literal["ddp", "fsdp"] = "ddp"  # data parallelism under torchrun; fsdp: FSDP2 fully_shard
    channels_last: bool = False  # NHWC memory format for CNNs
    compile: bool = False  # torch.compile the training step's module
    pretrained: str | None = None  # a run folder or .safetensors to start from (new head), or timm:NAME / torchvision:NAME
    # data: columns and parsing of CSV/TSV/TXT files (None: detected)
    text_col: str | None = None  # the column of free text (routes the file to a text model)
    label_col: str | None = None  # the label / target column
    delimiter: str | None = None  # field separator (default: tab for .tsv, comma for .csv, detected for .txt)
    header: bool | None = None  # False: the first line is data (columns are then "1", "2", ...); None: detected
    split: Literal["random", "user", "time"] | None = None  # ratings hold-out: rows / a share of each user's / the latest (None: random)
    # training
    metrics: list[str] | None = None  # e.g. ["f1_macro", "auc"]; None: the task's defaults
    early_stop: int | None = None  # stop after this many epochs without improvement of `monitor`
    monitor: str | None = None  # the epoch-record key early stopping and "best" follow (default valid_loss)
    grad_clip: float | None = None  # clip the global gradient norm to this value
    pct_start: float = 0.25  # one-cycle: share of steps spent warming up to lr
    div: float = 25.0  # one-cycle: starts at lr / div
    final_div: float = 1e4  # one-cycle: ends at lr / final_div
    moms: tuple[float, float] = (0.95, 0.85)  # one-cycle: momentum (high, low)
    human_error: float | None = None  # the error a person makes (0.01 = 1%): the diagnosis' bias yardstick

    def __post_init__(self) -> None:
        """Ranges the types cannot express: one clear error naming the field, for the CLI and the API alike."""
        pct = lambda v: 0.0 <= v < 1.0  # noqa: E731
        for f in dataclasses.fields(self):  # inf/nan pass "> 0" style checks: no float setting may be either
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"must be a finite number, got {value!r}", where=f.name, fix="change the value")
        rules = [
            ("epochs", self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("lr", self.lr == "auto" or self.lr > 0, "a positive number or 'auto'"),
            ("weight_decay", self.weight_decay >= 0, "0 or more"),
            ("momentum", self.momentum is None or 0 <= self.momentum < 1, "in [0, 1)"),
            ("warmup_pct", pct(self.warmup_pct), "in [0, 1)"),
            ("valid_pct", pct(self.valid_pct), "in [0, 1)"),
            ("train_dev_pct", pct(self.train_dev_pct), "in [0, 1)"),
            ("test_pct", pct(self.test_pct) and self.valid_pct + self.test_pct < 1, "in [0, 1) with valid_pct + test_pct < 1"),
            ("size", self.size is None or self.size >= 1, "at least 1"),
            ("dedupe", self.leak_check or not self.dedupe, "off when the leak check is off (dedupe drops what it finds)"),
            ("checkpoint_every", self.checkpoint_every is None or self.checkpoint_every >= 1, "at least 1 (or unset)"),
            ("nproc", self.nproc >= 1, "at least 1"),
            ("checkpoint_seconds", self.checkpoint_seconds is None or self.checkpoint_seconds > 0, "positive (or unset)"),
            ("early_stop", self.early_stop is None or self.early_stop >= 1, "at least 1 (or unset)"),
            ("grad_clip", self.grad_clip is None or self.grad_clip > 0, "positive (or unset)"),
            ("pct_start", 0 < self.pct_start < 1, "in (0, 1)"),
            ("div", self.div > 0, "positive"),
            ("final_div", self.final_div > 0, "positive"),
            ("moms", len(self.moms) == 2 and all(0 <= m < 1 for m in self.moms), "two values in [0, 1)"),
            ("human_error", self.human_error is None or 0 <= self.human_error < 1, "in [0, 1) (0.01 = 1%)"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise ConfigError(f"must be {rule}, got {getattr(self, name)!r}", where=name, fix="change the value")

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str | None = None) -> "TrainConfig":
        """Build a config, rejecting unknown keys and values of the wrong type."""
        return cls(**validate_fields(cls, values, source))

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainConfig":
        """Read a TOML or YAML file (``[train]`` table optional)."""
        return cls.from_dict(read_config_file(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def merged(self, **overrides: Any) -> "TrainConfig":
        """A copy with ``overrides`` applied (validated like a file)."""
        values = self.to_dict()
        values.update(validate_fields(type(self), overrides, None))
        return type(self)(**values)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse TOML (``.toml``) or YAML (``.yaml``/``.yml``) into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", where=str(path), fix="check the path")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file is larger than {MAX_CONFIG_BYTES // 1024} KiB", where=str(path),
                          fix="a training config is a few dozen keys: check that this is the right file")
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix == ".toml":
            values = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            values = _load_yaml(text, path)
        elif path.suffix == ".json":
            values = json.loads(text)
        else:
            raise ConfigError("unknown config format", where=str(path), fix="use .toml, .yaml or .json")
    except ConfigError:
        raise
    except Exception as exc:  # parser errors carry line numbers; keep them on one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot parse config: {first}", where=str(path), fix="fix the syntax") from None
    if not isinstance(values, dict):
        raise ConfigError("config must be a mapping of keys to values", where=str(path))
    _check_expanded_size(values, path)
    if set(values) == {"train"} and isinstance(values["train"], dict):
        values = values["train"]
    return values


MAX_CONFIG_BYTES = 1 << 20  # a config file, in bytes
MAX_YAML_ALIASES = 100  # `*name` references in one YAML document
MAX_CONFIG_NODES = 100_000  # values in the parsed config with every alias expanded


def _load_yaml(text: str, path: Path) -> Any:
    """``yaml.safe_load`` with at most :data:`MAX_YAML_ALIASES` aliases (a 464-byte alias bomb expands ×9 per level)."""
    import yaml

    class CappedLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    raise ConfigError(f"more than {MAX_YAML_ALIASES} YAML aliases (*name)", where=str(path),
                                      fix="write the values out; deeply nested aliases expand exponentially")
            return super().compose_node(parent, index)

    loader = CappedLoader(text)
    try:
        return loader.get_single_data() or {}
    finally:
        loader.dispose()


def _check_expanded_size(values: Any, path: Path) -> None:
    """Refuse a config whose values, with shared (aliased) parts counted each time, exceed :data:`MAX_CONFIG_NODES`."""
    seen, stack = 0, [values]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_NODES:
            raise ConfigError(f"config expands to more than {MAX_CONFIG_NODES} values (YAML aliases?)", where=str(path),
                              fix="write the values out; a training config is a few dozen keys")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def validate_fields(cls: type, values: dict[str, Any], source: str | None) -> dict[str, Any]:
    """Check ``values`` against ``cls``'s fields; return them coerced (int -> float)."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in values.items():
        where = f"{source}: {key}" if source else key
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"
            raise ConfigError("unknown config key", where=where, fix=fix)
        ok, coerced = _coerce(value, hints[key])
        if not ok:
            raise ConfigError(
                f"expected {_describe(hints[key])}, got {value!r}", where=where, fix="change the value"
            )
        out[key] = coerced
    return out


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            ok, v = _coerce(value, arg)
            if ok:
                return True, v
        return False, value
    if origin is Literal:
        return value in typing.get_args(tp), value
    if tp is type(None):
        return value is None, value
    if origin is dict or tp is dict:
        return isinstance(value, dict), value
    if origin is list:  # list[str]: a list (or a comma-separated string) of strings
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        ok = isinstance(value, (list, tuple)) and all(_coerce(v, typing.get_args(tp)[0])[0] for v in value)
        return ok, list(value) if ok else value
    if origin is tuple:  # tuple[float, float]
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            return False, value
        pairs = [_coerce(v, a) for v, a in zip(value, args)]
        return all(ok for ok, _ in pairs), tuple(v for _, v in pairs)
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if tp is str:
        return isinstance(value, str), value
    return isinstance(value, tp), value


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin in (list, tuple):
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", str(tp))
