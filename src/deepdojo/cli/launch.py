"""``deepdojo train ... --nproc N``: start N training processes on this machine with ``torchrun``.

The command re-runs itself as ``python -m torch.distributed.run --standalone --nproc-per-node N -m
deepdojo train ...`` (PyTorch's own launcher and elastic agent: when one worker dies the agent
stops the others). Many machines: run ``torchrun`` yourself, one command per machine (README).
SIGINT/SIGTERM are passed on to the workers, which checkpoint and stop (exit code 75). The exit
code is the workers': 2 when they all rejected the input, 75 when they stopped on a signal, else 1.

Example:
    >>> strip_nproc(["train", "builtin:xor", "--nproc", "2", "--epochs", "1"])
    ['train', 'builtin:xor', '--epochs', '1']
    >>> strip_nproc(["train", "--nproc=4", "x"])
    ['train', 'x']
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

STATUS_ENV = "DEEPDOJO_LAUNCH_STATUS"  # a folder where each worker writes its exit code (rank-named file)


def strip_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N`` (the workers must not launch again)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``deepdojo ARGV`` in ``nproc`` processes under torchrun; returns the exit code."""
    with tempfile.TemporaryDirectory(prefix="deepdojo-launch-") as status:
        env = {**os.environ, STATUS_ENV: status}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "deepdojo", *strip_nproc(argv)]
        # a session of its own: Ctrl-C in the terminal reaches this process alone, which passes it on once
        # (torchrun then passes it to each worker once; a worker that got it twice would stop without a checkpoint)
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        got: list[int] = []

        def forward(signum, frame):
            got.append(signum)
            proc.send_signal(signum)  # torchrun passes it to every worker: they checkpoint and stop

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            rc = proc.wait()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
        codes = sorted({int(p.read_text()) for p in Path(status).glob("rank-*") if p.read_text().strip()})
    if rc == 0:
        return 0
    if 75 in codes or got:
        return 75
    if codes == [2]:
        return 2
    sys.stderr.write(f"deepdojo: error: a training process failed (torchrun exit code {rc}; worker exit codes "
                     f"{codes or 'unknown'}); its error is above; rerun with --resume to continue from the newest "
                     "checkpoint\n")
    return 1


def record_status(code: int) -> None:
    """In a worker started by :func:`launch`: leave this rank's exit code for the launcher."""
    folder = os.environ.get(STATUS_ENV)
    if folder and os.path.isdir(folder):
        Path(folder, f"rank-{os.environ.get('RANK', '0')}").write_text(str(code))
