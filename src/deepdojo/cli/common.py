"""Flags shared by commands that build data and a model, and the TrainConfig they map to."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from deepdojo.config import TrainConfig
from deepdojo.errors import ConfigError


def _lr(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def add_data_model_flags(p: argparse.ArgumentParser) -> None:
    """DATA plus the flags that choose data handling, model and optimizer (default None = not given)."""
    p.add_argument("data", metavar="DATA", nargs="?", default=None, help="folder path or builtin:NAME")
    p.add_argument("--arch", help="registered model name (default: auto)")
    p.add_argument("--lr", type=_lr, help="learning rate, or 'auto' for the LR finder (default)")
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--size", type=int, help="resize and center-crop images to SIZE x SIZE")
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="folder for run folders (default: runs)")
    p.add_argument("--name", help="run folder name (default: <arch>-<timestamp>)")
    p.add_argument("--config", help="TOML/YAML file with TrainConfig fields; flags override it")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--opt", choices=["sgd", "rmsprop", "adam", "adamw"])
    p.add_argument("--weight-decay", type=float, dest="weight_decay")
    p.add_argument("--valid-pct", type=float, dest="valid_pct")
    p.add_argument("--test-pct", type=float, dest="test_pct", help="hold out a sealed test slice (built-ins, one folder)")
    p.add_argument("--augment", choices=["auto", "none", "light", "default"])
    p.add_argument("--skip-bad", action="store_true", dest="skip_bad",
                   help="train on the good items; list the bad ones in the run folder's skipped.json")
    p.add_argument("--dedupe", action="store_true", help="drop valid/test images that duplicate training images")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


FLAG_FIELDS = ("data", "arch", "lr", "batch_size", "size", "seed", "out", "name", "device", "opt",
               "weight_decay", "valid_pct", "test_pct", "augment", "epochs", "schedule", "resume", "overwrite", "bf16", "deterministic",
               "skip_bad", "dedupe", "checkpoint_every", "checkpoint_seconds")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``--config`` file first, then every flag that was given on top."""
    cfg = TrainConfig.from_file(args.config) if getattr(args, "config", None) else TrainConfig()
    # store_true flags are False when absent; 0 is a real value (and an error for --epochs)
    given = {k: v for k in FLAG_FIELDS if (v := getattr(args, k, None)) is not None and v is not False}
    cfg = cfg.merged(**given)
    if not cfg.data:
        raise ConfigError("no data given", where="DATA", fix="pass a folder path or builtin:NAME, or set data in --config")
    return cfg  # TrainConfig checked every range when it was built


def emit_json(obj: dict[str, Any]) -> None:
    """The last line of stdout: one JSON object."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
