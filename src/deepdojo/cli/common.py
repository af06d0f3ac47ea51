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
    p.add_argument("--task", help="kind of problem: classification, regression, multilabel, language_model ... "
                                  "(default: inferred from the data, and said so)")
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
    p.add_argument("--train-dev-pct", type=float, dest="train_dev_pct",
                   help="hold out this share of train as a train-dev split (diagnosis: variance vs data mismatch)")
    p.add_argument("--augment", choices=["auto", "none", "light", "default"])
    p.add_argument("--skip-bad", action="store_true", dest="skip_bad",
                   help="train on the good items; list the bad ones in the run folder's skipped.json")
    p.add_argument("--dedupe", action="store_true", help="drop valid/test images that duplicate training images")
    p.add_argument("--no-leak-check", action="store_const", const=False, default=None, dest="leak_check",
                   help="skip the search for valid/test images that duplicate training images (the report says so)")
    p.add_argument("--rehash", action="store_true",
                   help="hash every image file again instead of trusting an unchanged size and mtime")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    t = p.add_argument_group("tables and texts (CSV/TSV/TXT)")
    t.add_argument("--text-col", dest="text_col", metavar="COL", help="the column of free text (a text model)")
    t.add_argument("--label-col", dest="label_col", metavar="COL", help="the label / target column")
    t.add_argument("--delimiter", help=r"field separator, e.g. ';' or '\t' (default: by extension, detected for .txt)")
    t.add_argument("--split", choices=["random", "user", "time"],
                   help="ratings (collab): hold out random rows (default), a share of each user's, or the latest by timestamp")
    t.add_argument("--no-header", dest="header", action="store_const", const=False,
                   help="the first line is data; columns are then named 1, 2, ... (default: detected)")
    p.add_argument("--model-arg", dest="model_arg", action="append", metavar="K=V", type=_model_arg,
                   help="model keyword argument, repeatable: --model-arg dropout=0.3 --model-arg widths=16,32")
    p.add_argument("--metrics", type=_names, metavar="A,B", help="metrics to report, e.g. f1_macro,auc")


def add_training_flags(p: argparse.ArgumentParser) -> None:
    """The optimisation flags of ``deepdojo train`` (the same TrainConfig fields a config file sets)."""
    g = p.add_argument_group("training")
    g.add_argument("--early-stop", type=int, dest="early_stop", metavar="PATIENCE",
                   help="stop after PATIENCE epochs without improvement of --monitor (best weights kept)")
    g.add_argument("--monitor", metavar="KEY", help="what early stopping and the best checkpoint follow (default valid_loss)")
    g.add_argument("--grad-clip", type=float, dest="grad_clip", metavar="NORM", help="clip the gradient norm to NORM")
    g.add_argument("--warmup-pct", type=float, dest="warmup_pct", metavar="P", help="linear warm-up over P of the steps")
    g.add_argument("--pct-start", type=float, dest="pct_start", metavar="P", help="one-cycle: share of steps going up (0.25)")
    g.add_argument("--div", type=float, help="one-cycle: start at lr/DIV (25)")
    g.add_argument("--final-div", type=float, dest="final_div", help="one-cycle: end at lr/FINAL_DIV (1e4)")
    g.add_argument("--moms", type=_pair, metavar="HIGH,LOW", help="one-cycle momentum (0.95,0.85)")
    g.add_argument("--human-error", dest="human_error", type=_error, metavar="E",
                   help="human-level error for the diagnosis, e.g. 0.01 or 1%%")


def _model_arg(text: str) -> tuple[str, Any]:
    """``k=v`` -> ``(k, value)``: JSON where it parses (0.3, true, [1,2]), ``a,b`` a list, else the string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")

    def one(v: str) -> Any:
        try:
            return json.loads(v)
        except ValueError:
            return {"True": True, "False": False, "None": None}.get(v, v)

    return key.strip(), [one(v) for v in raw.split(",")] if "," in raw and not raw.startswith("[") else one(raw)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _pair(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers HIGH,LOW, got {text!r}") from None
    return a, b


def _error(text: str) -> float:
    from deepdojo.evaluate.diagnosis import parse_error

    try:
        return parse_error(text)
    except Exception as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


FLAG_FIELDS = ("data", "arch", "task", "lr", "batch_size", "size", "seed", "out", "name", "device", "opt",
               "weight_decay", "valid_pct", "test_pct", "train_dev_pct", "augment", "epochs", "schedule", "resume", "overwrite", "bf16",
               "deterministic", "skip_bad", "dedupe", "checkpoint_every", "checkpoint_seconds", "nproc", "strategy",
               "channels_last", "compile", "text_col", "label_col", "delimiter", "metrics", "early_stop", "monitor",
               "grad_clip", "warmup_pct", "pct_start", "div", "final_div", "moms", "human_error", "leak_check", "rehash", "split")
NEGATIVE_FLAGS = ("leak_check",)  # --no-X flags: False is the value given


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """``--config`` file first, then every flag that was given on top."""
    cfg = TrainConfig.from_file(args.config) if getattr(args, "config", None) else TrainConfig()
    # store_true flags are False when absent; 0 is a real value (and an error for --epochs)
    given = {k: v for k in FLAG_FIELDS
             if (v := getattr(args, k, None)) is not None and (v is not False or k in NEGATIVE_FLAGS)}
    if getattr(args, "header", None) is False:  # --no-header (False is the value here, not "absent")
        given["header"] = False
    if given.get("delimiter") in ("\\t", "tab"):
        given["delimiter"] = "\t"
    if getattr(args, "model_arg", None):
        given["model_kwargs"] = {**cfg.model_kwargs, **dict(args.model_arg)}
    cfg = cfg.merged(**given)
    if not cfg.data:
        raise ConfigError("no data given", where="DATA", fix="pass a folder path or builtin:NAME, or set data in --config")
    return cfg  # TrainConfig checked every range when it was built


def emit_json(obj: dict[str, Any]) -> None:
    """The last line of stdout: one JSON object."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
