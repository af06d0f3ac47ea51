"""The on-disk cache of decoded images: one uint8 tensor per folder, keyed by content.

An image folder is decoded once; the result ``(N, C, H, W)`` is stored as
safetensors (never pickle) under ``<cache_dir>/images/<key>.safetensors``. The
key hashes every file's relative path and bytes plus the decode settings, so
editing, adding, renaming or removing one image gives a new key (and a fresh
decode), while an unchanged folder is loaded without decoding anything.

Example:
    >>> import tempfile, torch
    >>> d = Path(tempfile.mkdtemp())
    >>> key = cache_key([("a/1.png", "00" * 32)], {"size": 8})
    >>> p = cache_file(d, key)
    >>> save_tensor(p, torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    >>> x, meta = load_tensor(p)
    >>> x.shape, meta["format"]
    (torch.Size([1, 1, 8, 8]), '2')
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors import safe_open
from safetensors.torch import save_file

# Bump when decoding changes (resize filter, compositing, 16-bit scaling, ...):
# old cache files then simply stop matching.
FORMAT_VERSION = 2  # 2: problems kept in the metadata; huge images reduced before resizing


def default_cache_dir() -> Path:
    """``$DEEPDOJO_CACHE`` if set, else ``~/.cache/deepdojo``."""
    env = os.environ.get("DEEPDOJO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "deepdojo"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (streamed; cheap next to decoding)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cache_key(entries: list[tuple[str, str]], settings: dict) -> str:
    """SHA-256 over sorted ``(relative path, content sha256)`` pairs + decode settings."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT_VERSION, **settings}, sort_keys=True).encode())
    for rel, digest in sorted(entries):
        # NUL and newline cannot appear in a path component: no ambiguous joins
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + digest.encode() + b"\n")
    return h.hexdigest()


def cache_file(cache_dir: str | Path | None, key: str) -> Path:
    """Where the tensor for ``key`` lives: ``<cache_dir>/images/<key>.safetensors``."""
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / "images" / f"{key}.safetensors"


def load_tensor(path: Path) -> tuple[torch.Tensor, dict[str, str]] | None:
    """The cached ``(N, C, H, W)`` uint8 tensor and its metadata, or None when absent or unusable.

    A truncated or foreign file counts as a miss (it is rewritten after the
    next decode) rather than an error: the cache is never the source of truth.
    """
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            x = f.get_tensor("x")
    except (SafetensorError, OSError, KeyError, ValueError):
        return None
    if x.dtype != torch.uint8 or x.dim() != 4 or meta.get("format") != str(FORMAT_VERSION):
        return None
    return x, meta


def save_tensor(path: Path, x: torch.Tensor, metadata: dict[str, str] | None = None) -> None:
    """Write ``x`` atomically: a temp file in the same folder, then ``os.replace``.

    A reader never sees a half-written file; an unwritable cache only warns,
    since the decoded tensor is already in memory.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=".tmp")
        if hasattr(os, "fchmod"):  # the umask's mode, as open() would give (mkstemp alone: 0o600)
            from deepdojo.io import file_mode

            os.fchmod(fd, file_mode())
        os.close(fd)
        save_file({"x": x.contiguous()}, tmp, metadata={**(metadata or {}), "format": str(FORMAT_VERSION)})
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        warnings.warn(f"{path}: could not write the image cache ({e}); images will be decoded again next time")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
