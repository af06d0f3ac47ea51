"""A full disk during a checkpoint save: a clear "no space left on device" error with bytes needed and
free, the previous checkpoint intact and loadable, no partial file; too little space refuses to start.

Needs root to mount a small tmpfs; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import torch
from conftest import stray_files

from deepdojo import Learner
from deepdojo.data import load_builtin
from deepdojo.errors import CheckpointError
from deepdojo.models import create_model
from deepdojo.train.callbacks import Callback
from deepdojo.train.resume import TrainingCheckpoints
from deepdojo.train.state_files import list_states, newest_good_state


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and the mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder, leave: int) -> None:
    """Fill the filesystem of ``folder`` until about ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "ab") as f:
        f.write(b"\0" * max(free - leave, 0))


def learner(run_dir):
    torch.manual_seed(0)
    model = create_model("mlp", 2, in_features=2, width=128, depth=2)  # ~17k parameters: ~0.2 MB per checkpoint
    learn = Learner(model, load_builtin("moons", seed=0), seed=0, progress=False, run_dir=run_dir)
    learn.callback(TrainingCheckpoints).every_steps = 1
    return learn


class FillDiskAt(Callback):
    def __init__(self, step):
        self.step = step

    def after_batch(self):  # order 0: before the checkpoint of this step is written
        if self.learn.step == self.step:
            fill(self.learn.run.path, leave=16 * 1024)


def test_disk_full_during_save(small_disk):
    learn = learner(small_disk / "run")
    learn.add_callbacks([FillDiskAt(3)])
    with pytest.raises(CheckpointError, match=r"no space left on device: the checkpoint needs \d+ bytes, \d+ bytes are free"):
        learn.fit(2, 0.05)
    folder = learn.run.path / "checkpoints"
    assert stray_files(learn.run.path) == []  # no partial file
    path, _, meta, rejected = newest_good_state(folder)  # the previous checkpoint still loads
    assert rejected == [] and meta["step"] == 2 and path == list_states(folder)[-1]


def test_refuses_to_start_without_room_for_two_checkpoints(small_disk):
    learn = learner(small_disk / "run")
    fill(small_disk, leave=200 * 1024)
    with pytest.raises(CheckpointError, match=r"no space left on device for checkpoints: need \d+ bytes free .* \d+ bytes are free"):
        learn.fit(1, 0.05)
    assert learn.step == 0 and learn.history == []
