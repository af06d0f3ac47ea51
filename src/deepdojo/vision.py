"""Image classification in three lines.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:digits", arch="cnn", out=tempfile.mkdtemp(), progress=False)
    >>> learn.fit_one_cycle(1, 3e-3)
    >>> learn.history[-1]["accuracy"] > 0.5
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from deepdojo.config import TrainConfig
from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.errors import DataError
from deepdojo.models import create_model_for, default_arch
from deepdojo.train.learner import Learner
from deepdojo.train.reproducibility import seed_everything
from deepdojo.train.resume import TrainingCheckpoints
from deepdojo.train.run_folder import RunFolder, write_json

__all__ = ["ImageFolder", "classifier", "load_data"]


def load_data(source: str | Path | Data | ImageFolder, *, size: int | None = None, valid_pct: float = 0.2,
              seed: int = 0, batch_size: int = 64, augment: str | None = "auto", skip_bad: bool = False,
              dedupe: bool = False, test_pct: float = 0.0) -> Data:
    """``builtin:NAME``, ``download:NAME``, an image folder path, an :class:`ImageFolder` or a :class:`Data` -> :class:`Data`.

    A folder is checked first: every bad file stops here with one
    :class:`~deepdojo.data.checks.DataCheckError` (``.report`` lists them all)
    unless ``skip_bad``, which leaves them out (``info["skipped"]``).
    ``test_pct`` holds out a sealed test slice of built-ins and single-folder
    image sets (folders with ``test/``, downloads and CSVs bring their own).
    """
    if isinstance(source, Data):
        return source
    if isinstance(source, ImageFolder):
        return source.to_data(batch_size=batch_size, augment=augment, seed=seed)
    text = str(source)
    if text.startswith("builtin:"):
        from deepdojo.data.builtin import load_builtin

        return load_builtin(text.split(":", 1)[1], seed=seed, batch_size=batch_size, valid_pct=valid_pct, augment=augment,
                            test_pct=test_pct)
    if text.startswith("download:"):
        from deepdojo.data.download import load_download

        return load_download(text.split(":", 1)[1], size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size,
                             augment=augment)
    if not text:
        raise DataError("no data given", where="DATA", fix="pass a folder path or builtin:NAME (e.g. builtin:digits)")
    if text.lower().endswith((".csv", ".tsv")):
        from deepdojo.data.csv_sources import load_csv

        return load_csv(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment,
                        skip_bad=skip_bad)
    root = Path(text)
    if (root / "Annotations").is_dir() or ((root / "images").is_dir() and ((root / "labels").is_dir()
                                                                            or any(root.glob("*.json")))):
        from deepdojo.data.box_formats import load_boxes  # boxes: VOC, YOLO or COCO

        return load_boxes(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if (root / "masks").is_dir() and (root / "images").is_dir():  # segmentation: images/ + masks/
        from deepdojo.data.mask_folder import load_mask_folder

        return load_mask_folder(text, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size)
    folder = ImageFolder(text, size=size, valid_pct=valid_pct, seed=seed, skip_bad=skip_bad, dedupe=dedupe,
                         test_pct=test_pct)
    return folder.to_data(batch_size=batch_size, augment=augment, seed=seed)


def output_size(data: Data) -> int:
    """Model outputs: one per class; for regression one per target column."""
    if data.num_classes is not None:
        return data.num_classes
    y = getattr(data.train, "y", None)
    if y is None:
        raise DataError("cannot tell how many outputs the model needs", where=str(data.info.get("name")),
                        fix="give the data classes, or build the model yourself and use Learner")
    return 1 if y.dim() == 1 else int(y.shape[1])


def classifier(
    source: str | Path | Data | ImageFolder,
    arch: str = "auto",
    metrics: Iterable[str] | None = None,
    *,
    config: TrainConfig | None = None,
    out: str | Path | None = "runs",
    name: str | None = None,
    progress: bool | None = None,
    callbacks: Iterable = (),
    **overrides: Any,
) -> Learner:
    """A :class:`Learner` for the data at ``source`` with a registered ``arch``.

    Settings come from ``config`` (a :class:`TrainConfig`) with ``overrides``
    on top (``size=``, ``seed=``, ``batch_size=``, ``opt=`` ...). The run
    folder is ``out/name`` (``out=None``: no run folder); with ``resume=True`` in the config and
    no name, the newest run folder under ``out`` is reused.
    """
    cfg = (config or TrainConfig(data=str(source) if not isinstance(source, (Data, ImageFolder)) else "<in memory>"))
    cfg = cfg.merged(arch=arch if arch != "auto" else cfg.arch, **overrides)
    seed_everything(cfg.seed)
    data = load_data(source, size=cfg.size, valid_pct=cfg.valid_pct, test_pct=cfg.test_pct, seed=cfg.seed,
                     batch_size=cfg.batch_size,
                     augment=cfg.augment, skip_bad=cfg.skip_bad, dedupe=cfg.dedupe)
    arch_name = cfg.arch if cfg.arch != "auto" else default_arch(data.input_shape)
    n_out = output_size(data)
    model = create_model_for(arch_name, data.input_shape, n_out, **cfg.model_kwargs)
    spec = {"arch": arch_name, "model_kwargs": cfg.model_kwargs, "num_classes": n_out}
    if cfg.pretrained:
        from deepdojo.train.transfer import start_from

        model, built = start_from(cfg.pretrained, model, arch_name, data.input_shape, n_out)
        if built != arch_name:  # a hub model (timm:NAME): checkpoints name it, so predict rebuilds it
            spec.update(arch=built, model_kwargs={})
    run_dir = None
    if out is not None:
        if cfg.resume and not (name or cfg.name):
            run_dir = RunFolder.latest(out).path
        else:
            run_dir = RunFolder.create(out, name or cfg.name, prefix=arch_name).path
        if data.info.get("skipped"):  # what --skip-bad left out, beside the run it shaped
            write_json(run_dir / "skipped.json", {"source": cfg.data, "skipped": data.info["skipped"]})
    learn = Learner(
        model, data, metrics=metrics, callbacks=callbacks, opt=cfg.opt, lr=cfg.lr if cfg.lr != "auto" else 1e-3,
        weight_decay=cfg.weight_decay, momentum=cfg.momentum, seed=cfg.seed, deterministic=cfg.deterministic,
        device=cfg.device, bf16=cfg.bf16, run_dir=run_dir, progress=progress,
    )
    learn.config = {**cfg.to_dict(), "arch": arch_name}
    saver = learn.callback(TrainingCheckpoints)
    if saver is not None:
        saver.every_steps, saver.every_seconds = cfg.checkpoint_every, cfg.checkpoint_seconds
    learn.model_spec = spec
    return learn
