"""A TensorBoard writer that hits a full disk stops with one warning; training and metrics.jsonl go on."""

from __future__ import annotations

import errno
import json

import pytest
import torch

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.models import create_model
from deepdojo.train.run_logger import RunLogger


class FullDiskWriter:
    """What SummaryWriter does on ENOSPC: add_scalar (its event file flush) raises OSError."""

    def __init__(self):
        self.calls, self.closed = 0, 0

    def add_scalar(self, *args):
        self.calls += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        self.closed += 1


def test_full_disk_under_tensorboard_is_a_warning_not_a_crash(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    data = Data.from_tensors(x, (x[:, 0] > 0).long(), valid_pct=0.25, batch_size=16, seed=0)
    learn = Learner(create_model("mlp", 2, in_features=4, width=8, depth=1), data, seed=0, progress=False,
                    run_dir=tmp_path / "run")
    logger = learn.callback(RunLogger)
    writer = logger.writer = FullDiskWriter()
    with pytest.warns(RuntimeWarning, match="TensorBoard logging stopped .*No space left on device.*metrics.jsonl"):
        learn.fit(3, 0.01)
    assert writer.calls == 1 and writer.closed == 1  # dropped at the first failure, closed once
    assert logger.writer is None
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in lines] == [0, 1, 2]
