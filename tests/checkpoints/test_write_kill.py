"""SIGKILL a process while it writes checkpoints: the newest finished checkpoint always verifies and
holds what its sidecar says; the next start-up leaves no temp file or unfinished checkpoint.

Fast variant: 10 kills; DEEPDOJO_LONG_TESTS=1: 50 kills.
"""

from __future__ import annotations

import os
import random
import signal
import time

from conftest import count, stray_files

from deepdojo.train.state_files import list_states, newest_good_state, sweep


def test_sigkill_during_checkpoint_writes(forker, tmp_path):
    folder = tmp_path / "checkpoints"
    job = {"kind": "writer", "folder": str(folder), "numel": 1_000_000}  # 3 x 4 MB per checkpoint
    rng = random.Random(7)
    kills, mid_write = 0, 0
    while kills < count(10, 50):
        before = len(list_states(folder))
        pid = forker.start(job, tmp_path / "writer.log")
        deadline = time.monotonic() + 60
        while len(list_states(folder)) <= before and time.monotonic() < deadline and before < 2:
            time.sleep(0.005)  # the first kills wait for a finished checkpoint to exist
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(pid, signal.SIGKILL)
        assert forker.wait(pid) == -signal.SIGKILL, (tmp_path / "writer.log").read_text()
        kills += 1
        mid_write += bool(stray_files(tmp_path))  # a temp file or a tensors file with no sidecar yet
        # the next start-up: sweep, then the newest finished checkpoint must verify, with nothing rejected
        sweep(folder)
        assert stray_files(tmp_path) == []
        newest = list_states(folder)[-1]
        path, tensors, meta, rejected = newest_good_state(folder)
        assert rejected == [] and path == newest
        assert tensors["t0"][0].item() == meta["step"] and tensors["t2"][-1].item() == meta["step"] + 2
    print(f"{kills} kills, {mid_write} left a partial write behind (swept)")
    if kills >= 50:
        assert mid_write > 0  # the kills did land inside writes (about a third do; 10 kills may all miss)
