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
import tempfile
import threading
from pathlib import Path
from typing import Any

from deepdojo.errors import DataError


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (read by setting and restoring it, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 less the umask (``mkstemp`` alone gives 0o600)."""
    return 0o666 & ~current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix.

    The file gets the mode a plain ``open()`` would give it (the umask's), so a
    team sharing a runs folder can read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)  # the rename itself must survive a power cut


def fsync_dir(folder: Path) -> None:
    """Flush a directory entry (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_jsonable) + "\n").encode())


def read_json_file(path: str | Path, error: type = DataError) -> Any:
    """Parse a JSON file of a run folder; a missing, unreadable or broken one is ``error`` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error("file is missing", where=str(path), fix="pass a run folder made by 'deepdojo train'") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise error(f"cannot read this JSON file ({reason})", where=str(path),
                    fix="restore it, or rerun training to rewrite it") from None


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


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
