"""Evaluate a finished run on a split: rebuild its data, check the split, load its checkpoint.

``evaluate_run(run, split="test")`` is the front door of the test vault: the
only code path that reads ``data.test``, and every call is logged.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:xor", out=tempfile.mkdtemp(), progress=False, seed=0)
    >>> _ = learn.fit(1, 0.05)
    >>> sorted(evaluate_run(learn.run.path, split="valid")["metrics"])[:3]
    ['accuracy', 'ece', 'error_rate']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import CheckpointError, ConfigError, DataError
from deepdojo.evaluate.vault import TestVault
from deepdojo.io import read_json_file

SPLITS = ("train", "valid", "test", "train_dev")


def load_run_data(run_dir: str | Path) -> Data:
    """The run's data rebuilt from ``config.json`` (same seed, same split), checked against ``splits.json``."""
    from deepdojo.data.load import load_data, table_options_of
    from deepdojo.tasks.base import source_format

    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise DataError("config.json is missing", where=str(run_dir), fix="pass a run folder made by 'deepdojo train'")
    cfg = read_json_file(cfg_path)
    source = cfg.get("data")
    if not source or source == "<in memory>":
        raise ConfigError("the run was trained on in-memory data, which cannot be rebuilt from config.json",
                          where=str(cfg_path), fix="pass data= to evaluate_run from Python")
    data = load_data(source, size=cfg.get("size"), valid_pct=cfg.get("valid_pct", 0.2),
                            test_pct=cfg.get("test_pct", 0.0), seed=cfg.get("seed", 0),
                            batch_size=cfg.get("batch_size", 64), augment=cfg.get("augment", "auto"),
                            skip_bad=cfg.get("skip_bad", False), dedupe=cfg.get("dedupe", False),
                            leak_check=cfg.get("leak_check", True), task=cfg.get("task"),
                            reads=source_format(cfg.get("task")), **table_options_of(cfg))
    if cfg.get("train_dev_pct"):
        data.carve_train_dev(cfg["train_dev_pct"], cfg.get("seed", 0))
    check_split(run_dir, data)
    use_recorded_normalization(run_dir, data)
    return data


def use_recorded_normalization(run_dir: Path, data: Data) -> None:
    """Normalize images as the run's checkpoint records (e.g. ImageNet's statistics for pretrained weights).

    Rebuilt data computes its own statistics; a run that trained with others
    (``--pretrained imagenet``) must be evaluated with those, or every input is shifted.
    """
    from deepdojo.train.checkpoint import read_meta, weights_path

    for name in ("best", "last"):
        path = weights_path(Path(run_dir) / "checkpoints" / name)
        if path.is_file():
            recorded = read_meta(path).get("transform") or {}  # verified: the metadata is in the weights file
            if recorded.get("kind") == "image" and recorded != data.info.get("transform"):
                from deepdojo.train.pretrained import set_image_normalization

                set_image_normalization(data, recorded["mean"], recorded["std"])
            return


def check_split(run_dir: Path, data: Data) -> None:
    """Refuse data whose split differs from the one the run trained on."""
    path = Path(run_dir) / "splits.json"
    if not path.is_file():
        return
    recorded = read_json_file(path).get("hash")
    if recorded and data.info.get("split_hash") != recorded:
        raise DataError("the rebuilt data's split differs from the run's splits.json (files added, removed or renamed?)",
                        where=str(path), fix="evaluate on the data exactly as it was at training time")


def eval_loader(data: Data, split: str):
    """Batches of ``split`` as validation sees them: no shuffling, no augmentation.

    The training loader augments; for training *error* the same examples go
    through the validation transform instead. (``test`` stays sealed here.)
    """
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}", where="--split", fix=f"use one of {', '.join(SPLITS)}")
    loader = getattr(data, split)
    if loader is None:
        raise DataError(f"the data has no {split} split", where=str(data.info.get("name", "data")))
    if split == "train" and callable(getattr(loader, "for_eval", None)):  # its own fixed order (token streams)
        return loader.for_eval()
    if split == "train" and isinstance(loader, TensorLoader):
        tf = data.valid.transform if isinstance(data.valid, TensorLoader) else loader.transform
        return TensorLoader(loader.source_x, loader.source_y, loader.batch_size, shuffle=False, transform=tf,
                            index=loader.index)  # the same rows, no copy
    return loader


def learner_for_run(run_dir: str | Path, data: Data, checkpoint: str = "best", metrics: list[str] | None = None):
    """A Learner around the run's checkpoint (no callbacks, no run folder) and the checkpoint's verified metadata."""
    from deepdojo.tasks import get_task
    from deepdojo.train.checkpoint import model_from_checkpoint
    from deepdojo.train.learner import Learner

    model, meta = model_from_checkpoint(run_checkpoint(run_dir, checkpoint))
    if data.num_classes is not None and meta.get("num_classes") not in (None, data.num_classes):
        raise CheckpointError(f"checkpoint has {meta['num_classes']} classes, the data {data.num_classes}",
                              where=str(run_dir), fix="evaluate on the data the run was trained on")
    task = get_task(meta.get("task") or data.task, **(meta.get("task_state") or {}))
    learn = Learner(model, data, task=task, metrics=metrics or task.eval_metrics(), progress=False,
                    default_callbacks=False)
    return learn, meta


def run_checkpoint(run_dir: str | Path, checkpoint: str = "best") -> Path:
    """``run_dir/checkpoints/<checkpoint>.safetensors``; ``best`` falls back to ``last``."""
    from deepdojo.train.checkpoint import weights_path

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError("run folder does not exist", where=str(run_dir), fix="pass a folder made by 'deepdojo train'")
    path = weights_path(run_dir / "checkpoints" / checkpoint)
    if not path.exists() and checkpoint == "best":
        path = weights_path(run_dir / "checkpoints" / "last")
    if not path.exists():
        raise CheckpointError("no checkpoint in the run folder", where=str(path), fix="train first, or pass --checkpoint")
    return path


def evaluate_run(run_dir: str | Path, split: str = "valid", checkpoint: str = "best", data: Data | None = None) -> dict[str, Any]:
    """Loss and metrics of the run's ``checkpoint`` on ``split``.

    ``split="test"`` goes through the :class:`TestVault`: logged in
    ``test_log.jsonl``, and from the second look the result has a ``warning``.
    """
    run_dir = Path(run_dir)
    data = data if data is not None else load_run_data(run_dir)
    learn, meta = learner_for_run(run_dir, data, checkpoint)
    prefix = f"{split}_"
    if split == "test":
        entry = TestVault(run_dir).look(data, lambda loader: _unprefixed(learn.validate(loader, prefix=prefix), prefix),
                                        checkpoint_sha256=meta.get("sha256"), checkpoint=checkpoint)
        return {"split": split, "checkpoint": checkpoint, "metrics": entry["metrics"],
                "look": entry["look"], "warning": entry["warning"]}
    out = learn.validate(eval_loader(data, split), prefix=prefix)
    return {"split": split, "checkpoint": checkpoint, "metrics": _unprefixed(out, prefix), "look": None, "warning": None}


def _unprefixed(record: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``{"test_loss": .., "test_accuracy": ..}`` -> ``{"loss": .., "accuracy": ..}``: one name per metric."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in record.items()}


@torch.no_grad()
def measure_latency(model: torch.nn.Module, input_shape: tuple[int, ...] | None, device: str | torch.device = "cpu",
                    repeats: int = 20, data: Data | None = None) -> float | None:
    """Median milliseconds to predict one example on ``device`` (a batch of 1, after a warm-up).

    The one latency measure: the report, ``evaluation.json`` and the search's
    satisficing constraint all use it. With ``data``, the example is the first
    validation example as the model sees it (right dtype: token ids stay
    integers); otherwise zeros of ``input_shape``.
    """
    import time

    x = None
    if data is not None and data.valid is not None:
        xb = next(iter(data.valid))[0]
        x = xb[:1].to(device)
    elif input_shape is not None:
        x = torch.zeros(1, *input_shape, device=device)
    if x is None:
        return None
    was_training = model.training
    model.eval().to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    try:
        for _ in range(3):
            model(x)
        times = []
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    return 1000.0 * sorted(times)[len(times) // 2]
