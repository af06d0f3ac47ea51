"""A train-dev split carved out of a :class:`Data`'s training split after the source built it.

Train-dev is held-out data from the *training* distribution: its error beside
the training and validation errors separates variance (train vs train-dev)
from data mismatch (train-dev vs valid). Any tensor-backed source works, so
no source needs its own option.

Example:
    >>> import torch
    >>> from deepdojo.data.core import Data
    >>> data = Data.from_tensors(torch.randn(100, 3), torch.randint(0, 2, (100,)), seed=0)
    >>> data = with_train_dev(data, 0.25, seed=0)
    >>> data.info["sizes"], len(data.train_dev.x)
    ({'train': 60, 'valid': 20, 'train_dev': 20}, 20)
"""

from __future__ import annotations

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.data.splits import add_train_dev, split_hash
from deepdojo.errors import ConfigError


def with_train_dev(data: Data, pct: float, seed: int = 0) -> Data:
    """Move a stratified ``pct`` of ``data.train`` into ``data.train_dev`` (in place; returns ``data``).

    The train-dev loader is evaluated like validation: no shuffling, no augmentation.
    """
    if not pct:
        return data
    train, valid = data.train, data.valid
    if not isinstance(train, TensorLoader):
        raise ConfigError("train_dev_pct needs tensor-backed data (a folder, CSV, built-in or Data.from_tensors)",
                          where="train_dev_pct", fix="carve train-dev out of your own loaders, or drop --train-dev-pct")
    rows = train.index.cpu().numpy() if train.index is not None else np.arange(len(train.source_x))
    y = train.source_y
    class_labels = data.classes is not None and y.dim() == 1 and not y.is_floating_point()
    labels = y.cpu().numpy()[rows] if class_labels else None  # stratified by class when there are classes
    parts = add_train_dev({"train": np.arange(len(rows))}, labels, pct, seed)
    if not len(parts["train_dev"]) or not len(parts["train"]):
        raise ConfigError(f"train_dev_pct={pct} leaves an empty split of {len(rows)} training items",
                          where="train_dev_pct", fix="use a larger data set or another share")
    keep, dev = rows[parts["train"]], rows[parts["train_dev"]]
    eval_tf = getattr(valid, "transform", None) if isinstance(valid, TensorLoader) else None
    data.train = TensorLoader(train.source_x, train.source_y, train.batch_size, shuffle=True, seed=train.seed,
                              drop_last=train.drop_last, transform=train.transform, augment=train.augment,
                              index=torch.from_numpy(keep))
    data.train_dev = TensorLoader(train.source_x, train.source_y, train.batch_size, seed=train.seed,
                                  transform=eval_tf if eval_tf is not None else train.transform,
                                  index=torch.from_numpy(dev))
    splits = dict(data.info.get("splits") or {})
    splits.update(train=np.sort(keep).astype(np.int64), train_dev=np.sort(dev).astype(np.int64))
    data.info["splits"], data.info["split_hash"] = splits, split_hash(splits)
    data.info["sizes"] = {**data.info.get("sizes", {}), "train": len(keep), "train_dev": len(dev)}
    return data
