"""One policy for the files a data source names, for image folders and CSV lists alike.

A file is used when it resolves, symlinks followed, to a regular file inside
the data root (the folder given, or the CSV's folder). Each of these is a bad
item, reported with the others (left out with ``--skip-bad``), never a crash:

================  ==================================================
kind              when
================  ==================================================
escaping_path     the path, or a symlink on the way, leads out of the data root
symlink_loop      symlinks that point at each other
dangling_symlink  a symlink whose target does not exist
missing_file      no file there (a CSV row; or it vanished after the scan)
unreadable        the file system refuses it (permissions, I/O error)
================  ==================================================

Example:
    >>> import os, tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> os.symlink("b.png", root / "a.png"); os.symlink("a.png", root / "b.png")
    >>> os.symlink("/etc/hostname", root / "out.png")
    >>> real = real_root(root)
    >>> path_problem(root / "a.png", real)[0], path_problem(root / "out.png", real)[0]
    ('symlink_loop', 'escaping_path')
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

FIX_LINK = "replace the link with the file, or remove it"


def real_root(root: str | Path) -> str:
    """The data root with every symlink resolved (a root that is itself a link is fine)."""
    return os.path.realpath(root)


def inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def path_problem(path: str | Path, root_real: str) -> tuple[str, str] | None:
    """``(kind, reason)`` when ``path`` is not a usable file under the data root, else ``None``."""
    path = os.fspath(path)
    try:
        st = os.stat(path)  # follows symlinks
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink_loop", "symlink loop: the links point at each other"
        if os.path.islink(path):
            return "dangling_symlink", f"dangling symlink: its target {os.readlink(path)} does not exist"
        if exc.errno == errno.ENOENT:
            return "missing_file", "file not found (removed after the folder was scanned?)"
        return "unreadable", f"cannot read the file: {exc.strerror or exc}"
    real = os.path.realpath(path)
    if not inside(real, root_real):
        return "escaping_path", f"leads out of the data root {root_real} (to {real})"
    if not os.path.isfile(real) or not (st.st_mode & 0o170000) == 0o100000:
        return "unreadable", "not a regular file"
    return None
