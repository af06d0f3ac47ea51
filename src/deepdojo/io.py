"""Files that are either the old or the new content, never a mix: atomic writes and JSON.

The bottom layer: everything that writes a run folder, a cache or a report
goes through here. A full disk (or quota) is a one-line :class:`DiskFullError`
(exit 2) that leaves the file as it was, never a traceback or half a file.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> write_json(p, {"x": 1}); read_json_file(p)
    {'x': 1}
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from deepdojo.errors import DataError, DiskFullError

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
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


def disk_full_error(path: Path, needed: int) -> DiskFullError:
    """The one-line error for a write that found no space: bytes needed and free."""
    try:
        free = shutil.disk_usage(path.parent if not path.is_dir() else path).free
    except OSError:
        free = 0
    return DiskFullError(f"no space left on device: writing needs {needed} bytes, {free} bytes are free",
                         where=str(path), fix="free disk space, then rerun (with --resume for a training run)")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix.

    The file gets the mode a plain ``open()`` would give it (the umask's), so a
    team sharing a runs folder can read it. A full disk (or quota) raises
    :class:`DiskFullError` and leaves ``path`` as it was.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise disk_full_error(path, len(data)) from None
        raise
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise disk_full_error(path, len(data)) from None
        raise
    fsync_dir(path.parent)  # the rename itself must survive a power cut


def append_bytes(path: Path, data: bytes, sync: bool = True) -> None:
    """Append ``data`` to ``path`` whole or not at all: a full disk truncates back and raises
    :class:`DiskFullError` (an append-only log never ends in half a line written by us)."""
    with open(path, "ab") as f:
        start = f.tell()
        try:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        except OSError as exc:
            try:
                f.truncate(start)
            except OSError:
                pass
            if exc.errno in NO_SPACE:
                raise disk_full_error(path, len(data)) from None
            raise


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
