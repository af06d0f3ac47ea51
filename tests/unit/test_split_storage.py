"""Splits index one shared tensor instead of copying it; empty and class-less splits are reported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import DataError


def images(n=60, classes=3):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 1, 6, 6), dtype=torch.uint8, generator=g), torch.arange(n) % classes


def test_train_and_valid_loaders_share_the_source_storage():
    x, y = images()
    data = Data.from_tensors(x, y, seed=0, test=images(9))
    ptr = x.untyped_storage().data_ptr()
    for dl in (data.train, data.valid):
        assert dl.source_x.untyped_storage().data_ptr() == ptr and dl.source_y.data_ptr() == y.data_ptr()
    assert len(data.train) == -(-48 // 64) and data.info["sizes"] == {"train": 48, "valid": 12, "test": 9}


def test_indexed_batches_equal_the_batches_of_a_copied_split():
    x, y = images(103)
    rows = torch.from_numpy(np.random.default_rng(1).permutation(103)[:77])
    for shuffle in (False, True):
        shared = TensorLoader(x, y, batch_size=10, shuffle=shuffle, seed=4, index=rows)
        copied = TensorLoader(x[rows], y[rows], batch_size=10, shuffle=shuffle, seed=4)
        shared.set_epoch(2), copied.set_epoch(2)
        assert len(shared) == len(copied) == 8
        for (xa, ya), (xb, yb) in zip(shared.iter_from(3), copied.iter_from(3), strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(shared.x, x[rows]) and torch.equal(shared.y, y[rows])


def test_moving_data_keeps_shared_tensors_shared():
    x, y = images()
    data = Data.from_tensors(x, y, seed=0).to("meta")  # "meta": a real move (new tensors) without a GPU
    assert data.train.device.type == "meta" and data.train.source_x is data.valid.source_x


def test_an_empty_split_passed_explicitly_is_an_error_naming_it():
    x, y = images()
    with pytest.raises(DataError, match="the valid split is empty"):
        Data.from_tensors(x, y, splits={"train": np.arange(50), "valid": np.array([], dtype=np.int64)})


def test_a_class_too_small_for_valid_is_warned_about():
    x, y = images(31)
    y = y.clone()
    y[-1] = 3  # one item of class 3: stratified splitting keeps it in train
    with pytest.warns(UserWarning, match="class '3' has 1 training item"):
        data = Data.from_tensors(x, y, seed=0)
    assert len(data.info["warnings"]) == 1 and "'3'" in data.info["warnings"][0]
