"""The run folder: ``runs/<name>/`` with config, manifest, metrics, checkpoints, report.

Every write goes through ``deepdojo.io`` (:func:`atomic_write_bytes`, :func:`append_bytes`); a full
disk there is a one-line :class:`DiskFullError` (exit 2), never a traceback or half a file.

One process trains in a run folder at a time: :meth:`RunFolder.lock` takes an exclusive
``flock`` on ``<run>/.lock`` that the kernel drops when the process ends, however it ends (a
SIGKILLed run leaves no stale lock); a second trainer is refused with the first one's pid.
:func:`claim_run_folder` picks and locks the folder. A folder that already holds a run is reused only
with ``resume`` (continue it) or ``overwrite`` (replace it); :func:`check_run_name` refuses early
(the CLI, before loading data) and :func:`refuse_foreign_run` when a fit starts.

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
import errno
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from deepdojo.errors import ConfigError
from deepdojo.io import _jsonable, atomic_write_bytes, fsync_dir, read_json_file, write_json  # noqa: F401 (re-exported)
from deepdojo.io import NO_SPACE, append_bytes, disk_full_error

try:
    import fcntl
except ImportError:  # Windows: no flock; run folders are not locked there
    fcntl = None

# run folders this process has locked: real path -> [fd, number of RunFolder objects holding it].
# Re-entrant within a process (a notebook rebuilding its Learner, train -> report in one command).
_LOCKS: dict[str, list[int]] = {}
LOCK_NAME = ".lock"


def _lock_path(path: Path) -> str:
    return os.path.realpath(path / LOCK_NAME)


def _acquire(path: Path) -> str:
    """Take (or share, within this process) the exclusive lock on ``path``; returns its key."""
    key = _lock_path(path)
    if key in _LOCKS:
        _LOCKS[key][1] += 1
        return key
    try:
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask, as every run-folder file
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise disk_full_error(Path(key), 64) from None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 200, 0).decode(errors="replace").split()
        os.close(fd)
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        who = f" (pid {holder[0]})" if holder else ""
        raise ConfigError(f"run folder is in use by another training process{who}", where=str(path),
                          fix="wait for it to finish, or choose another --name") from None
    try:  # for people and error messages only: the lock itself is the flock, which dies with the process
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}\n".encode(), 0)
    except OSError:
        pass  # a full disk: the lock holds all the same
    _LOCKS[key] = [fd, 1]
    return key


def _release(key: str) -> None:
    held = _LOCKS.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        del _LOCKS[key]
        os.close(held[0])  # closing the last descriptor drops the flock


def _drop_inherited_locks() -> None:
    """In a forked child (a DataLoader worker, a process pool): close the inherited lock descriptors.

    An flock belongs to the open file, which a fork shares; a child that outlived a killed parent
    would otherwise keep the run folder locked. The child holds no run folder of its own.
    """
    for fd, _ in _LOCKS.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


def holds_run(path: Path) -> bool:
    """Whether ``path`` already holds a training run (its config, metrics or weights)."""
    names = ("config.json", "metrics.jsonl", "summary.json")
    ckpt = path / "checkpoints"
    return any((path / n).exists() for n in names) or (ckpt.is_dir() and any(ckpt.glob("*.safetensors")))


class RunFolder:
    """One training run's folder. Files are written atomically; metrics are append-only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            (self.path / "checkpoints").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise disk_full_error(self.path / "checkpoints", 4096) from None
            raise
        self._lock_key: str | None = None
        self.held_run = False  # set by lock(): the folder held a run (another process's, or an earlier one)

    def lock(self) -> "RunFolder":
        """Hold the folder's exclusive lock while this object lives (or until :meth:`unlock`).

        Another process that tries is refused with a :class:`ConfigError`; a lock left by a killed
        process is no lock (the kernel released it). Returns ``self``.
        """
        if fcntl is not None and self._lock_key is None:
            self._lock_key = _acquire(self.path)
            self._finalizer = weakref.finalize(self, _release, self._lock_key)
            self.held_run = holds_run(self.path)
        return self

    def unlock(self) -> None:
        """Release the lock now (it is also released when this object is collected or the process ends)."""
        if self._lock_key is not None:
            self._finalizer()
            self._lock_key = None

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
        """Append one epoch's record to ``metrics.jsonl`` and ``metrics.csv`` (each line whole or not at all)."""
        append_bytes(self.path / "metrics.jsonl", (json.dumps(record) + "\n").encode())
        csv_path = self.path / "metrics.csv"
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(record), extrasaction="ignore", lineterminator="\r\n")
        if not csv_path.exists():
            writer.writeheader()
        writer.writerow(record)
        append_bytes(csv_path, buf.getvalue().encode(), sync=False)

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


def check_run_name(out: str | Path, name: str | None, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse, before any work, to train in ``out/name`` when it holds a run and neither
    ``resume`` (continue it) nor ``overwrite`` (replace it) was asked for.

    Example:
        >>> import tempfile
        >>> out = tempfile.mkdtemp()
        >>> _ = RunFolder.create(out, "a").write_json("config.json", {})
        >>> check_run_name(out, "a", resume=True)
        >>> check_run_name(out, "a")
        Traceback (most recent call last):
        ...
        deepdojo.errors.ConfigError: ...a: this run folder already holds a run (fix: ...)
    """
    if overwrite and resume:
        raise ConfigError("--resume and --overwrite contradict each other", where="overwrite",
                          fix="--resume continues the run, --overwrite deletes it: pass one")
    if name and not resume and not overwrite and holds_run(Path(out) / name):
        raise reuse_error(Path(out) / name)


def reuse_error(path: Path) -> ConfigError:
    return ConfigError("this run folder already holds a run", where=str(path),
                       fix="pass --resume to continue it, --overwrite to replace it, or another --name")


def refuse_foreign_run(run: RunFolder, resume: bool) -> None:
    """At the start of a fit: a folder that held another run when it was locked is continued only with
    ``resume`` (its metrics would otherwise mix with this run's). The fit that passes owns the folder."""
    if run.held_run and not resume:
        raise reuse_error(run.path)
    run.held_run = False


def claim_run_folder(out: str | Path, name: str | None, prefix: str = "run", resume: bool = False,
                     overwrite: bool = False) -> RunFolder:
    """The locked run folder a training run will write: ``out/name``, or a fresh ``<prefix>-<time>``.

    Without ``name``: the newest run under ``out`` (``resume``), or a new unique name. With
    ``overwrite``, what the folder held is deleted first, under the lock. Whether an existing run may
    be continued is decided when ``fit`` starts (:func:`refuse_foreign_run`), since the Python API
    passes ``resume`` to ``fit``; the CLI checks earlier with :func:`check_run_name`.
    """
    check_run_name(out, None, resume, overwrite)
    if resume and not name:
        return RunFolder.latest(out).lock()
    if name is None:
        for _ in range(100):  # two runs started in the same second: each takes its own folder
            run = RunFolder.create(out, None, prefix)
            try:
                run.lock()
            except ConfigError:
                continue
            if not run.held_run:
                return run
            run.unlock()
        raise ConfigError("cannot find a free run folder name", where=str(out), fix="pass --name")
    run = RunFolder.create(out, name, prefix).lock()
    if overwrite and run.held_run:
        for entry in run.path.iterdir():  # replace: everything but the lock we hold
            if entry.name != LOCK_NAME:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        (run.path / "checkpoints").mkdir()
        run.held_run = False
    return run


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
