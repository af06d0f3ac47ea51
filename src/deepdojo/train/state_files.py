"""Training-state checkpoints on disk: write atomically, verify, pick the newest good one, rotate, sweep.

A checkpoint is two files in ``<run>/checkpoints/``:

- ``state-<seq>.safetensors``: every tensor (weights, optimizer state, RNG states, loss accumulators);
- ``state-<seq>.json``: the rest as JSON, with the SHA-256 and byte count of the tensors file and a
  SHA-256 of the JSON itself (``meta_sha256``), so a flipped byte in either file is caught.

The tensors file is written first (temp file in the same folder, fsync, ``os.replace``, fsync of
the folder), then the sidecar the same way: a checkpoint without a sidecar was never finished and
is swept at start-up, with any orphaned temp file. Never pickle: only safetensors and JSON are read.

The tensors file is streamed: the safetensors header is computed from shapes and dtypes, then each
tensor's bytes go straight from its memory to the file while a second thread hashes the same
buffers (hashlib and file writes release the GIL), so the state is never copied into one big
``bytes`` and the SHA-256 costs no extra pass (benchmarks/startup.py prints the ratio to an
fsync'd ``torch.save``). The bytes are exactly what ``safetensors.torch.save`` writes.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> p = write_state(d, {"w": torch.ones(2)}, {"step": 3})
    >>> p.name, read_state(p)[1]["step"], read_state(p)[0]["w"].tolist()
    ('state-000001.safetensors', 3, [1.0, 1.0])
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import torch

from deepdojo.errors import CheckpointError, DiskFullError
from deepdojo.io import atomic_write_bytes, file_mode, fsync_dir
from deepdojo.train.checkpoint import check_safetensors_header

FORMAT = "deepdojo-train-state-1"
_NAME = re.compile(r"^state-(\d{6,})\.(safetensors|json)$")
log = logging.getLogger("deepdojo")


def state_paths(folder: Path, seq: int) -> tuple[Path, Path]:
    """``(tensors, sidecar)`` paths of checkpoint number ``seq``."""
    return folder / f"state-{seq:06d}.safetensors", folder / f"state-{seq:06d}.json"


def _seq(path: Path) -> int | None:
    m = _NAME.match(path.name)
    return int(m.group(1)) if m else None


def list_states(folder: Path) -> list[Path]:
    """Tensors paths of finished checkpoints (sidecar present), oldest first."""
    if not folder.is_dir():
        return []
    found = {_seq(p) for p in folder.glob("state-*.json") if _seq(p) is not None}
    return [state_paths(folder, s)[0] for s in sorted(found)]


def next_seq(folder: Path) -> int:
    seqs = [_seq(p) for p in folder.glob("state-*")] if folder.is_dir() else []
    return max([s for s in seqs if s is not None], default=0) + 1


def _meta_digest(meta: dict[str, Any]) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


_ST_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
}
# safetensors' Dtype enum order: its writer sorts tensors by it, descending (largest alignment first)
_ST_RANK = {"BOOL": 0, "U8": 1, "I8": 2, "F8_E5M2": 3, "F8_E4M3": 4, "I16": 5, "F16": 7, "BF16": 8, "I32": 9,
            "F32": 11, "F64": 12, "I64": 13}
_PIECE = 8 << 20  # bytes per write/hash step: big enough for few syscalls, small enough to overlap
_THREADED_MIN = 4 << 20  # below this a hashing thread costs more than it saves


def safetensors_layout(tensors: dict[str, torch.Tensor]) -> tuple[bytes, list[tuple[str, torch.Tensor]]]:
    """The safetensors header (length prefix included) and the tensors in file order, as CPU contiguous tensors.

    Same layout as ``safetensors.torch.save``: tensors sorted by dtype (safetensors' order, largest
    alignment first), then name; the JSON header padded with spaces to a multiple of 8 bytes.

    Example:
        >>> from safetensors.torch import save
        >>> t = {"b": torch.arange(3.0), "a": torch.ones(2, dtype=torch.int8)}
        >>> header, items = safetensors_layout(t)
        >>> header + b"".join(bytes(_byte_view(v)) for _, v in items) == save(t)
        True
    """
    items = []
    for name, t in tensors.items():
        if t.dtype not in _ST_DTYPES:
            raise CheckpointError(f"cannot checkpoint tensor {name!r} of dtype {t.dtype}", where=name)
        items.append((name, t.detach().to("cpu").contiguous()))
    items.sort(key=lambda kv: (-_ST_RANK[_ST_DTYPES[kv[1].dtype]], kv[0]))
    header: dict[str, Any] = {}
    offset = 0
    for name, t in items:
        n = t.numel() * t.element_size()
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, items


def _byte_view(t: torch.Tensor) -> memoryview:
    """The raw bytes of a CPU contiguous tensor, without a copy."""
    if t.numel() == 0:
        return memoryview(b"")
    return memoryview(t.reshape(-1).view(torch.uint8).numpy())


def _pieces(header: bytes, items: list[tuple[str, torch.Tensor]]) -> Iterator[memoryview]:
    yield memoryview(header)
    for _, t in items:
        view = _byte_view(t)
        for i in range(0, len(view), _PIECE):
            yield view[i : i + _PIECE]


def stream_tensors(path: Path, tensors: dict[str, torch.Tensor], sync_dir: bool = True) -> tuple[str, int]:
    """Write ``tensors`` as safetensors to ``path`` atomically, hashing while writing: ``(sha256 hex, bytes)``.

    Temp file in the same folder, fsync, ``os.replace``, fsync of the folder: ``path`` holds the
    old content or the new, never a mix. Large states are hashed in a second thread, one piece
    behind the write of the same memory.
    """
    header, items = safetensors_layout(tensors)
    total = len(header) + sum(t.numel() * t.element_size() for _, t in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    if hasattr(os, "fchmod"):  # the umask's mode, as open() would give (mkstemp alone: 0o600)
        os.fchmod(fd, file_mode())
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb", buffering=0) as f:
            if total < _THREADED_MIN:  # small: one buffer, one hash call, one write
                payload = b"".join(_pieces(header, items))
                h.update(payload)
                _write_all(f, memoryview(payload))
            else:
                with ThreadPoolExecutor(1, thread_name_prefix="deepdojo-hash") as hasher:
                    pending = None
                    for piece in _pieces(header, items):
                        if pending is not None:
                            pending.result()  # hash in order: one piece in flight
                        pending = hasher.submit(h.update, piece)
                        _write_all(f, piece)
                    if pending is not None:
                        pending.result()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_dir:  # the rename itself must survive a power cut (write_state leaves it to the sidecar's)
        fsync_dir(path.parent)
    return h.hexdigest(), total


def _write_all(f, piece: memoryview) -> None:
    """``f.write`` on an unbuffered file may write less than asked: loop until all of it is out."""
    done = 0
    while done < len(piece):
        done += f.write(piece[done:])


def write_state(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], keep: int = 2) -> Path:
    """Write one checkpoint (tensors, then sidecar), then delete all but the newest ``keep``.

    A full disk raises :class:`CheckpointError` saying "no space left on device" with the bytes
    needed and free; nothing half-written remains and older checkpoints are untouched.
    """
    folder.mkdir(parents=True, exist_ok=True)
    seq = next_seq(folder)
    path, side = state_paths(folder, seq)
    try:
        # one fsync of the folder, after the sidecar's rename, makes both renames durable; a crash before
        # it can leave a sidecar whose tensors file is missing, which read_state refuses (its hash cannot
        # match) so the previous checkpoint is used: never a wrong one
        digest, size = stream_tensors(path, tensors, sync_dir=False)
        meta = {"format": FORMAT, **meta, "seq": seq, "sha256": digest, "bytes": size}
        meta["meta_sha256"] = _meta_digest(meta)
        # indent for people; no trailing newline, so any truncation breaks the JSON
        side_bytes = json.dumps(meta, indent=1, allow_nan=False).encode()
        atomic_write_bytes(side, side_bytes)
    except (OSError, DiskFullError) as exc:
        path.unlink(missing_ok=True)  # a tensors file without its sidecar is no checkpoint
        if isinstance(exc, DiskFullError) or exc.errno in (errno.ENOSPC, errno.EDQUOT):
            free = shutil.disk_usage(folder).free
            header, items = safetensors_layout(tensors)
            need = len(header) + sum(t.numel() * t.element_size() for _, t in items)
            raise DiskFullError(
                f"no space left on device: the checkpoint needs {need} bytes, "
                f"{free} bytes are free", where=str(path),
                fix="free disk space, then rerun with --resume (the previous checkpoint is intact)") from None
        raise
    prune(folder, keep)
    return path


def prune(folder: Path, keep: int) -> None:
    """Delete finished checkpoints older than the newest ``keep`` (sidecar first: a kill leaves an orphan)."""
    for path in list_states(folder)[: -max(keep, 1)]:
        path.with_suffix(".json").unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Verify and read one checkpoint: sidecar JSON and its own hash, then size, header and hash of the tensors.

    Raises :class:`CheckpointError` naming the file that does not verify.
    """
    from safetensors.torch import load as st_load

    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint sidecar is unreadable ({type(exc).__name__})", where=str(side)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint sidecar is not in format {FORMAT}", where=str(side))
    if meta.get("meta_sha256") != _meta_digest(meta):
        raise CheckpointError("checkpoint sidecar hash does not match (corrupt or modified)", where=str(side))
    if not path.is_file():
        raise CheckpointError("checkpoint tensors file is missing", where=str(path))
    raw = path.read_bytes()
    if len(raw) != meta["bytes"]:
        raise CheckpointError(f"checkpoint has {len(raw)} bytes, its sidecar says {meta['bytes']} (truncated?)",
                              where=str(path))
    check_safetensors_header(raw, path)
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        raise CheckpointError("checkpoint hash does not match its sidecar (corrupt or modified)", where=str(path))
    try:
        return st_load(raw), meta
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint cannot be read ({exc})", where=str(path)) from None


def newest_good_state(folder: Path) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any], list[str]] | None:
    """The newest checkpoint that verifies, and one message per newer one rejected (each names its file)."""
    rejected: list[str] = []
    for path in reversed(list_states(folder)):
        try:
            tensors, meta = read_state(path)
        except CheckpointError as exc:
            rejected.append(str(exc))
            log.warning("deepdojo: skipping checkpoint: %s", exc)
            continue
        return path, tensors, meta, rejected
    return None


def sweep(folder: Path) -> list[Path]:
    """Remove orphaned temp files and unfinished checkpoints (tensors without a sidecar); returns them.

    Call only when no writer is running (start-up).
    """
    if not folder.is_dir():
        return []
    removed = [p for p in folder.glob(".*.tmp") if p.is_file()]
    removed += [p for p in folder.glob("state-*.safetensors") if not p.with_suffix(".json").exists()]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def check_free_space(folder: Path, expected_bytes: int) -> None:
    """Refuse to start when the disk has less than twice one checkpoint's size free."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < 2 * expected_bytes:
        raise CheckpointError(
            f"no space left on device for checkpoints: need {2 * expected_bytes} bytes free "
            f"(twice one checkpoint of about {expected_bytes} bytes), {free} bytes are free",
            where=str(folder), fix="free disk space or choose another --out")
