"""The one object the Learner consumes: :class:`Data` (train/valid/test + what they are).

Every source (image folder, CSV, arrays, built-ins) ends as a ``Data``. Plain
PyTorch ``DataLoader``s work too (:meth:`Data.from_loaders`).

Example:
    >>> import torch
    >>> data = Data.from_tensors(torch.randn(100, 3), torch.randint(0, 2, (100,)), seed=0)
    >>> data.task, data.num_classes, data.input_shape, len(data.train.x), len(data.valid.x)
    ('classification', 2, (3,), 80, 20)
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch

from deepdojo.data.augment import make_augment
from deepdojo.data.info import DataInfo
from deepdojo.data.loaders import TensorLoader
from deepdojo.data.preprocess_spec import default_spec
from deepdojo.data.splits import add_train_dev, holdout_splits, split_hash
from deepdojo.data.transforms import FeatureTransform, ImageBatchTransform, feature_stats
from deepdojo.data.transforms import image_stats as compute_image_stats
from deepdojo.errors import DataError
from deepdojo.data.sealed import SealedSplit, seal


@dataclass
class Data:
    """Loaders for each split plus the facts a model and a report need.

    ``info`` is a :class:`~deepdojo.data.info.DataInfo`: identity (``name``,
    ``fingerprint``, ``split_hash``), preprocessing (``transform``, ``decode``,
    ``preprocess``: raw input -> model input as JSON, see :mod:`deepdojo.data.preprocess`)
    and what the checks found. ``task`` is the name of the task the data
    suggests (``"classification"``, ``"regression"``, ``"multilabel"`` ...);
    the Learner turns it into a :class:`~deepdojo.tasks.Task` unless given one.
    """

    train: Iterable
    valid: Iterable | None = None
    test: Iterable | None = None
    train_dev: Iterable | None = None  # a held-out slice of the training distribution (variance vs mismatch)
    task: str = "classification"  # the suggested task's name
    classes: list[str] | None = None
    input_shape: tuple[int, ...] | None = None  # one sample, e.g. (1, 8, 8)
    info: DataInfo = field(default_factory=DataInfo)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "test":  # sealed: only the test vault (evaluate/vault.py) can read its batches
            value = seal(value)
        elif name == "info":  # a plain dict of DataInfo fields is accepted (unknown keys are errors)
            value = DataInfo.coerce(value)
        super().__setattr__(name, value)

    @property
    def num_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None

    @property
    def is_image(self) -> bool:
        return self.input_shape is not None and len(self.input_shape) == 3

    @property
    def on_device(self) -> bool:
        """True when every loader yields batches already on the training device."""
        return all(isinstance(dl, TensorLoader) or getattr(dl, "wraps_tensor_loader", False) for dl in self.loaders())

    def loaders(self) -> list:
        return [dl for dl in (self.train, self.valid, self.test, self.train_dev) if dl is not None]

    def to(self, device: str | torch.device) -> "Data":
        """Move tensor-backed loaders to ``device`` (others are moved per batch).

        Tensors the splits share (one dataset indexed per split) move once and stay shared.
        """
        moved: dict = {}
        for dl in self.loaders():
            if isinstance(dl, (TensorLoader, SealedSplit)):
                dl.to(device, moved)
        return self

    def carve_train_dev(self, pct: float, seed: int = 0) -> "Data":
        """Hold out ``pct`` of the training rows as ``train_dev`` (stratified by class), in place.

        The train-dev split has the training distribution but is never trained
        on: its error beside the training and validation errors separates
        variance from data mismatch in the diagnosis. Needs tensor-backed data.
        """
        if not 0 < pct < 1:
            raise DataError(f"train_dev_pct must be in (0, 1), got {pct}", where="train_dev_pct", fix="e.g. 0.1")
        train = self.train
        if not isinstance(train, TensorLoader):
            raise DataError("a train-dev split needs tensor-backed data", where=self.info.name,
                            fix="load the data with deepdojo (folders, CSVs, built-ins) or split it yourself")
        rows = train.index.cpu().numpy() if train.index is not None else np.arange(len(train.source_y))
        labels = train.source_y.cpu().numpy()[rows] if self.classes is not None and train.source_y.dim() == 1 else None
        new = add_train_dev({"train": np.arange(len(rows))}, labels, pct, seed)
        keep, dev = rows[new["train"]], rows[new["train_dev"]]
        eval_tf = self.valid.transform if isinstance(self.valid, TensorLoader) else train.transform
        index = lambda r: torch.as_tensor(r, device=train.source_x.device)  # noqa: E731
        self.train = TensorLoader(train.source_x, train.source_y, train.batch_size, shuffle=True, seed=train.seed,
                                  transform=train.transform, augment=train.augment, index=index(keep),
                                  group_size=train.group_size)
        self.train_dev = TensorLoader(train.source_x, train.source_y, train.batch_size, shuffle=False,
                                      transform=eval_tf, index=index(dev))
        splits = dict(self.info.splits or {})
        if "train" in splits:  # ids of rows of the source, as the other splits record them
            splits.update(train=np.asarray(splits["train"])[new["train"]], train_dev=np.asarray(splits["train"])[new["train_dev"]])
        else:
            splits.update(train=keep, train_dev=dev)
        self.info.splits, self.info.split_hash = splits, split_hash(splits)
        self.info.sizes = {**self.info.sizes, "train": len(keep), "train_dev": len(dev)}
        return self

    @classmethod
    def from_loaders(cls, train: Iterable, valid: Iterable | None = None, **kw: Any) -> "Data":
        """Wrap existing loaders (e.g. ``torch.utils.data.DataLoader``) unchanged."""
        return cls(train=train, valid=valid, **kw)

    @classmethod
    def from_tensors(
        cls,
        x: torch.Tensor | np.ndarray,
        y: torch.Tensor | np.ndarray,
        *,
        valid: tuple | None = None,
        test: tuple | None = None,
        splits: dict[str, np.ndarray] | None = None,
        valid_pct: float = 0.2,
        test_pct: float = 0.0,
        train_dev_pct: float = 0.0,
        seed: int = 0,
        batch_size: int = 64,
        task: str | None = None,
        classes: list[str] | None = None,
        normalize: bool = True,
        augment: str | None = None,
        name: str = "tensors",
        ids: list[str] | None = None,
        fingerprint: str | None = None,
        image_stats: tuple[list[float], list[float]] | None = None,
    ) -> "Data":
        """Split (stratified) and wrap tensors. uint8 ``(N, C, H, W)`` is treated as images.

        The split, first rule that applies: ``splits`` maps "train"/"valid"/"test"
        to index arrays into ``x``; ``valid``/``test`` take separate ``(x, y)``
        pairs; otherwise ``test_pct`` (sealed) and ``valid_pct`` of each class are
        held out under ``seed`` (:func:`~deepdojo.data.splits.holdout_splits`).
        ``train_dev_pct`` then carves a ``train_dev`` split out of train: same
        distribution as train, never trained on, so the diagnosis can tell
        variance (train vs train-dev) from data mismatch (train-dev vs valid).
        ``fingerprint`` names the source (e.g. a hash of its files); by
        default it is the hash of ``x`` and ``y``. ``image_stats`` is the train
        ``(mean, std)`` when the source already knows it (the image cache does), so
        a large memory-mapped ``x`` is not read here.
        """
        x, y = torch.as_tensor(x), torch.as_tensor(y)
        if len(x) == 0:
            raise DataError("the dataset is empty", where=name, fix="add examples")
        task = task or ("classification" if not y.is_floating_point() else "regression")
        class_labels = not y.is_floating_point() and y.dim() == 1  # one class index per row: stratify, count
        if class_labels and classes is None:
            classes = [str(c) for c in range(int(y.max()) + 1)]
        # part -> (x, y, rows of x or None): splits of x index it instead of copying it
        parts: dict[str, tuple] = {"train": (x, y, None)}
        if splits is not None:
            splits = {k: np.asarray(v, dtype=np.int64) for k, v in splits.items()}
            empty = [k for k, v in splits.items() if not len(v)]
            if empty:
                raise DataError(f"the {empty[0]} split is empty", where=name,
                                fix=f"add examples to {empty[0]}, or leave it out of splits=")
            if "train" not in splits:
                raise DataError("no train split given", where=name, fix="add a 'train' index array to splits=")
            parts = {k: (x, y, torch.from_numpy(v)) for k, v in splits.items()}
        elif valid is None and (valid_pct or test_pct):
            splits = holdout_splits(y.numpy(), valid_pct, test_pct, seed, stratify=class_labels)
            parts = {k: (x, y, torch.from_numpy(v)) for k, v in splits.items()}
        else:
            splits = {"train": np.arange(len(x))}
            if valid is not None:
                parts["valid"] = (*(torch.as_tensor(t) for t in valid), None)
        if train_dev_pct:
            if "train_dev" in splits:
                raise DataError("both a train_dev split and train_dev_pct were given", where=name, fix="give one of them")
            splits = add_train_dev(splits, y.numpy() if class_labels else None, train_dev_pct, seed)
            parts.update({k: (x, y, torch.from_numpy(splits[k])) for k in ("train", "train_dev")})
        if test is not None:
            if "test" in parts:
                raise DataError("both test= and test_pct= were given", where=name, fix="give one of them")
            parts["test"] = (*(torch.as_tensor(t) for t in test), None)
        warnings_ = _missing_class_warnings(parts, classes, name) if class_labels else []
        is_image = x.dtype == torch.uint8 and x.dim() == 4
        train_rows = parts["train"][2]
        if is_image:
            mean, std = image_stats if image_stats is not None else compute_image_stats(x, index=train_rows)
            train_tf = ImageBatchTransform(mean, std, make_augment(augment))
            eval_tf = ImageBatchTransform(mean, std)
        elif normalize and x.is_floating_point() and x.dim() == 2:
            train_tf = eval_tf = FeatureTransform(*feature_stats(x if train_rows is None else x[train_rows]))
        else:
            train_tf = eval_tf = None
        loaders = {
            part: TensorLoader(
                px, py, batch_size, shuffle=part == "train", seed=seed, index=rows,
                transform=train_tf if part == "train" else eval_tf,
                augment=part == "train" and is_image and augment not in (None, "none"),
            )
            for part, (px, py, rows) in parts.items()
        }
        info = DataInfo(
            name=name, fingerprint=fingerprint or tensor_fingerprint(x, y), split_hash=split_hash(splits),
            splits=splits, transform=eval_tf.to_json() if eval_tf is not None else None,
            preprocess=default_spec(x, eval_tf.to_json() if eval_tf is not None else None),
            sizes={part: len(px) if rows is None else len(rows) for part, (px, _, rows) in parts.items()},
            warnings=warnings_, ids=ids,
            decode={"size": None, "mode": "L" if x.shape[1] == 1 else "RGB"} if is_image else None,
        )
        return cls(
            train=loaders["train"], valid=loaders.get("valid"), test=loaders.get("test"),
            train_dev=loaders.get("train_dev"),
            task=task, classes=classes, input_shape=tuple(x.shape[1:]), info=info,
        )


def _missing_class_warnings(parts: dict[str, tuple], classes: list[str] | None, name: str) -> list[str]:
    """One warning (also ``warnings.warn``) per class with training items but none in ``valid``."""
    if "valid" not in parts or classes is None:
        return []

    def counts(part: str) -> np.ndarray:
        _, py, rows = parts[part]
        labels = py if rows is None else py[rows]
        return np.bincount(labels.cpu().numpy().astype(np.int64), minlength=len(classes))

    train, valid = counts("train"), counts("valid")
    out = []
    for c in np.flatnonzero((train > 0) & (valid == 0)):
        msg = (f"{name}: class {classes[c]!r} has {train[c]} training item(s) but none in valid, so validation "
               "cannot measure it (fix: put examples of it in valid; a stratified split needs 2 or more of a class)")
        warnings.warn(msg, stacklevel=3)
        out.append(msg)
    return out


def tensor_fingerprint(*tensors: torch.Tensor) -> str:
    """SHA-256 of the tensors' bytes: the data's identity in the manifest."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(str((t.dtype, tuple(t.shape))).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
