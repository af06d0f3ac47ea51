"""The run folder: ``runs/<name>/`` with config, manifest, metrics, checkpoints, report.

Example:
    >>> import tempfile
    >>> run = RunFolder.create(tempfile.mkdtemp(), name="demo")
    >>> run.append_metrics({"epoch": 0, "train_loss": 1.0})
    >>> run.read_metrics()
    [{'epoch': 0, 'train_loss': 1.0}]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from deepdojo.io import _jsonable, atomic_write_bytes, fsync_dir, read_json_file, write_json  # noqa: F401 (re-exported)


class RunFolder:
    """One training run's folder. Files are written atomically; metrics are append-only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        (self.path / "checkpoints").mkdir(parents=True, exist_ok=True)

    @classmethod
    def create(cls, out: str | Path, name: str | None = None, prefix: str = "run") -> "RunFolder":
        """A new folder under ``out``: ``name`` or ``<prefix>-<timestamp>``, made unique with ``-2``, ``-3``..."""
        base = name or f"{prefix}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        out = Path(out)
        path, i = out / base, 2
        while path.exists() and name is None:
            path, i = out / f"{base}-{i}", i + 1
        return cls(path)

    @classmethod
    def latest(cls, out: str | Path) -> "RunFolder":
        """The most recently modified run folder under ``out`` (for ``--resume`` without ``--name``)."""
        from deepdojo.errors import CheckpointError

        out = Path(out)
        runs = [p for p in out.iterdir() if (p / "checkpoints").is_dir()] if out.is_dir() else []
        if not runs:
            raise CheckpointError("no run folder to resume", where=str(out), fix="pass --name, or train without --resume")
        return cls(max(runs, key=lambda p: (p / "checkpoints").stat().st_mtime))

    def write_json(self, name: str, obj: Any) -> Path:
        write_json(self.path / name, obj)
        return self.path / name

    def read_json(self, name: str) -> Any:
        return read_json_file(self.path / name)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one epoch's record to ``metrics.jsonl`` and ``metrics.csv``."""
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        csv_path = self.path / "metrics.csv"
        new = not csv_path.exists()
        with open(csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(record), extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        records = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if i < len(lines) - 1:  # only the last line may be torn (a kill mid-append)
                    raise
        return records

    def truncate_metrics(self, keep_epochs: int) -> None:
        """Keep only records of epochs ``< keep_epochs`` (a resumed run rewrites the rest)."""
        kept = [r for r in self.read_metrics() if r.get("epoch", 0) < keep_epochs]
        atomic_write_bytes(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept).encode())
        (self.path / "metrics.csv").unlink(missing_ok=True)
        if kept:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(kept[0]), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
            atomic_write_bytes(self.path / "metrics.csv", buf.getvalue().encode())


def manifest(seed: int | None, data_info: dict[str, Any], device: str) -> dict[str, Any]:
    """Versions, git commit, seed, data fingerprint and split hash: what makes a run reproducible."""
    import numpy
    import torch

    import deepdojo

    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "deepdojo": deepdojo.__version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "device": device,
        "git_commit": _git_commit(),
        "seed": seed,
        "data": {k: data_info.get(k) for k in ("name", "fingerprint", "split_hash", "sizes")},
    }


def _git_commit() -> str | None:
    """The commit of the working directory's repository, if there is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
