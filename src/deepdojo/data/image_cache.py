"""The on-disk decode cache: per-file records and one memory-mapped uint8 pixel file per folder.

An image folder is decoded once. Its cache lives in
``<cache_dir>/images/<key of folder + decode settings>/`` as *generations*
(``gen-*/``), the newest named by the file ``current``. A generation holds:

- ``pixels.u8``: the good images, raw uint8 ``(N, C, H, W)`` in path order,
  opened with :func:`torch.from_file` (memory-mapped: an epoch reads from the
  page cache and resident memory does not grow with the dataset);
- ``records.npy``: one record per file (``RECORD``): size, mtime, SHA-256 of
  the bytes, its row in ``pixels.u8`` (-1: bad file), the perceptual hashes,
  the SHA-256 of the decoded pixels, and per-channel sums and sums of squares
  (exact integers: train statistics of any split without reading a pixel);
- ``paths.bin``: the relative paths, NUL-separated;
- ``manifest.json``: decode settings, shape, fingerprint, the problems of the
  bad files, and derived results (train statistics, leak report) keyed by
  what they depend on.

A warm start with unchanged files costs one ``stat()`` per file: size and
mtime match the record, nothing is read. A file whose stat changed is hashed;
only when its bytes changed is it decoded again (``rehash=True`` hashes
every file). A changed folder gets a new generation (unchanged rows are
copied from the old pixel file, no decode); ``current`` is switched with an
atomic rename, so a reader never sees half of one; the cache is never the
source of truth (anything unreadable counts as a miss).

Example:
    >>> import tempfile
    >>> from PIL import Image
    >>> d = Path(tempfile.mkdtemp())
    >>> for i in range(3):
    ...     Image.new("L", (4, 4), 50 * i).save(d / f"{i}.png")
    >>> view = sync_folder(d, ["0.png", "1.png", "2.png"], None, cache_dir=d / "cache")
    >>> tuple(view.x.shape), view.x[:, 0, 0, 0].tolist(), view.decoded
    ((3, 1, 4, 4), [0, 50, 100], 3)
    >>> sync_folder(d, ["0.png", "1.png", "2.png"], None, cache_dir=d / "cache").decoded  # warm: stat() only
    0
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepdojo.data.check_images import FIX_FILE, MAX_PIXELS, _decode_one, _pool_context
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.leakage import CROPS, image_hashes
from deepdojo.errors import DataError

# Bump when decoding changes (resize filter, compositing, 16-bit scaling, ...): part of the
# fingerprint, so old caches and old runs' fingerprints simply stop matching.
FORMAT_VERSION = 2  # 2: problems kept in the metadata; huge images reduced before resizing
LAYOUT = 3  # the cache's file layout (3: generations of memmapped pixels + per-file records)
N_HASH = 1 + len(CROPS)
RECORD = np.dtype([
    ("size", "<i8"), ("mtime_ns", "<i8"), ("sha256", "u1", (32,)), ("row", "<i8"), ("channels", "<i8"),
    ("phash", "<u8", (N_HASH,)), ("digest", "u1", (32,)), ("sums", "<i8", (3,)), ("sumsq", "<i8", (3,)),
])
CHUNK_FILES = 256  # files decoded and written per step: memory is bounded by a chunk
_SIZE_FIX = "pass size= (Python) or --size (CLI) to resize and center-crop every image to size x size"


def default_cache_dir() -> Path:
    """``$DEEPDOJO_CACHE`` if set, else ``~/.cache/deepdojo``."""
    env = os.environ.get("DEEPDOJO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "deepdojo"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (streamed; cheap next to decoding)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cache_key(entries: list[tuple[str, str]], settings: dict) -> str:
    """SHA-256 over sorted ``(relative path, content sha256)`` pairs + decode settings: the data's fingerprint."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT_VERSION, **settings}, sort_keys=True).encode())
    for rel, digest in sorted(entries):
        # NUL and newline cannot appear in a path component: no ambiguous joins
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + digest.encode() + b"\n")
    return h.hexdigest()


def folder_cache_dir(cache_dir: str | Path | None, root: Path, settings: dict, source: str = "folder") -> Path:
    """``<cache_dir>/images/<key>``: one cache per (folder, decode settings, source kind)."""
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    ident = json.dumps({"root": str(Path(root).resolve()), "source": source, "layout": LAYOUT, **settings},
                       sort_keys=True)
    return base / "images" / hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32]


# ---------------------------------------------------------------- one generation on disk


@dataclass
class CacheView:
    """A folder's decoded images as the cache holds them (see the module docstring).

    ``x`` is the memory-mapped uint8 ``(N_good, C, H, W)``; ``records[k]``
    belongs to ``paths[k]`` (``row`` -1 for a bad file); ``decoded`` counts the
    files decoded by this call (0 on a warm start), ``hashed`` those whose
    bytes were read.
    """

    path: Path
    manifest: dict[str, Any]
    paths: list[str]
    records: np.ndarray
    x: torch.Tensor
    decoded: int = 0
    hashed: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def problems(self) -> list[Problem]:
        return [Problem.from_json(r) for r in self.manifest.get("problems", [])]

    def good(self) -> np.ndarray:
        """Positions (into ``paths``) of the files that decoded, in row order."""
        return np.flatnonzero(self.records["row"] >= 0)

    def derived(self, name: str, key: str) -> Any:
        """A cached derived result (``name``: "stats", "leaks") if it was computed for ``key``."""
        entry = self.manifest.get("derived", {}).get(name)
        return entry["value"] if isinstance(entry, dict) and entry.get("key") == key else None

    def remember(self, name: str, key: str, value: Any) -> None:
        """Keep a derived result in this generation's manifest (best effort: the cache may be read-only)."""
        self.manifest.setdefault("derived", {})[name] = {"key": key, "value": value}
        try:
            _atomic_bytes(self.path / "manifest.json", json.dumps(self.manifest).encode())
        except OSError:
            pass


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # the umask's mode, as open() would give (mkstemp alone: 0o600)
            from deepdojo.io import file_mode

            os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open_pixels(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """``pixels.u8`` as a copy-on-write memory map ``shape`` (reads come from the page cache)."""
    n = int(np.prod(shape))
    if n == 0:
        return torch.zeros(shape, dtype=torch.uint8)
    return torch.from_file(str(path), shared=False, size=n, dtype=torch.uint8).view(shape)


def read_generation(folder: Path) -> CacheView | None:
    """The current generation of a folder cache, or None when absent or unusable (a miss, never an error)."""
    try:
        gen = folder / (folder / "current").read_text().strip()
        manifest = json.loads((gen / "manifest.json").read_text())
        if manifest.get("layout") != LAYOUT or manifest.get("format") != FORMAT_VERSION:
            return None
        records = np.load(gen / "records.npy", allow_pickle=False)
        raw = (gen / "paths.bin").read_bytes()
        paths = raw.decode("utf-8", "surrogateescape").split("\0") if raw else []
        shape = tuple(manifest["shape"])
        if records.dtype != RECORD or len(records) != len(paths) or int((records["row"] >= 0).sum()) != shape[0]:
            return None
        if (gen / "pixels.u8").stat().st_size != int(np.prod(shape)):
            return None
        return CacheView(gen, manifest, paths, records, _open_pixels(gen / "pixels.u8", shape))
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def _write_generation(folder: Path, manifest: dict, paths: list[str], records: np.ndarray,
                      pixels: Path) -> Path:
    """Move a finished pixel file + records into a new generation and make it ``current``."""
    gen = pixels.parent
    np.save(gen / "records.npy", records, allow_pickle=False)
    (gen / "paths.bin").write_bytes("\0".join(paths).encode("utf-8", "surrogateescape"))
    (gen / "manifest.json").write_text(json.dumps(manifest))
    previous = None
    try:
        previous = (folder / "current").read_text().strip()
    except OSError:
        pass
    _atomic_bytes(folder / "current", gen.name.encode())
    if previous and previous != gen.name:  # readers that mapped it keep their mapping (unlinked, not gone)
        shutil.rmtree(folder / previous, ignore_errors=True)
    now = time.time()
    for stale in folder.glob("gen-*"):  # a killed writer's leftovers (not a concurrent writer's: those are fresh)
        try:
            if stale.name != gen.name and now - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass  # removed meanwhile by another process
    return gen


# ---------------------------------------------------------------- decoding into a generation


def _cache_error(folder: Path, e: OSError) -> DataError:
    return DataError(f"cannot write the image cache: {e.strerror or e}", where=str(folder),
                     fix="free disk space there, or set DEEPDOJO_CACHE to a writable folder with room for the "
                         "decoded images (N x C x H x W bytes)")


def _decode_record(root: Path, rel: str, size: int | None, max_pixels: int):
    """``(array or None, record, problems)`` for one file: stat, SHA-256 of the bytes, decode.

    The pixel hashes and sums are filled in later for a whole chunk at once (:func:`_fill_hashes`).
    """
    rec = np.zeros((), dtype=RECORD)
    rec["row"] = -1
    path = root / rel
    try:
        st = os.stat(path)
        rec["size"], rec["mtime_ns"] = st.st_size, st.st_mtime_ns
        with open(path, "rb") as f:
            rec["sha256"] = np.frombuffer(hashlib.file_digest(f, "sha256").digest(), np.uint8)
    except OSError as e:  # vanished (missing_file), a broken link, or unreadable between scan and decode
        from deepdojo.data.paths import path_problem, real_root

        kind, reason = path_problem(path, real_root(root)) or ("unreadable", f"cannot read the file: {e.strerror or e}")
        return None, rec, [Problem(rel, reason, kind, fix=FIX_FILE)]
    a, problems = _decode_one(root, rel, size, max_pixels)
    return a, rec, problems


def _fill_hashes(records: np.ndarray, items: list[tuple[int, np.ndarray]]) -> None:
    """Perceptual hashes, pixel digest, channel count and exact channel sums of freshly decoded arrays.

    Batched per channel count (one tensor op per chunk, not per image); the same values
    :func:`~deepdojo.data.leakage.all_hashes` gives on the stacked dataset.
    """
    for channels in (1, 3):
        group = [(k, a) for k, a in items if (a.ndim == 3) == (channels == 3)]
        if not group:
            continue
        arr = np.stack([a.transpose(2, 0, 1) if a.ndim == 3 else a[None] for _, a in group])  # (B, C, H, W)
        phash, digest = image_hashes(torch.from_numpy(arr))
        flat = arr.reshape(len(arr), channels, -1)  # exact integer sums: stats of any split
        sums = flat.sum(2, dtype=np.int64)
        sumsq = np.square(flat, dtype=np.uint16).sum(2, dtype=np.int64)  # 255^2 fits in 16 bits
        for row, (k, _) in enumerate(group):
            rec = records[k]
            rec["phash"], rec["digest"], rec["channels"] = phash[row], digest[row], channels
            rec["sums"], rec["sumsq"] = np.broadcast_to(sums[row], 3), np.broadcast_to(sumsq[row], 3)  # gray: all 3


def _decode_records(args):
    root, rels, size, max_pixels = args
    return [_decode_record(root, rel, size, max_pixels) for rel in rels]


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def use_pool(workers: int, n_files: int) -> bool:
    """Decode in worker processes only where it pays: 256+ files and a second usable CPU.

    The workers decode the next chunk while this process hashes and writes the
    current one (the old decode-everything-then-stack pool lost on 2 cores).
    Measured (benchmarks/startup.py, 5000 PNGs 96x96 on 2 shared cores): a pool
    of 2 took 0.78x the time of one process. Below 256 files starting the pool
    costs more than it saves.
    """
    if workers < 2 or _pool_context() is None or n_files < 256:
        return False
    return usable_cpus() >= 2


class _PixelWriter:
    """Append rows to ``pixels.u8`` in order; widens 1 -> 3 channels once if an RGB image turns up."""

    def __init__(self, path: Path, channels: int, root: Path):
        self.path, self.channels, self.root = path, channels, root
        self.f = open(path, "wb")
        self.hw: tuple[int, int] | None = None
        self.first: str | None = None
        self.rows = 0

    def _check(self, a: np.ndarray, rel: str) -> None:
        if self.hw is None:
            self.hw, self.first = a.shape[:2], rel
        elif a.shape[:2] != self.hw:
            (h0, w0), (h, w) = self.hw, a.shape[:2]
            what = f"images have different sizes: {self.first} is {w0}x{h0}, {rel} is {w}x{h}"
            raise DataError(what, where=str(self.root), fix=_SIZE_FIX)

    def _widen(self) -> None:
        """Rewrite the rows so far with 3 channels (gray repeated): once, when the first colour image arrives."""
        self.f.close()
        h, w = self.hw
        old = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(self.rows, 1, h, w)) if self.rows else None
        wide = self.path.with_suffix(".wide")
        with open(wide, "wb") as f:
            for i in range(0, self.rows, CHUNK_FILES):
                f.write(np.repeat(old[i : i + CHUNK_FILES], 3, axis=1).tobytes())
        del old
        os.replace(wide, self.path)
        self.f = open(self.path, "ab")
        self.channels = 3

    def add(self, a: np.ndarray, rel: str) -> None:
        """One decoded ``(H, W)`` / ``(H, W, 3)`` array, or an old row ``(C, H, W)`` passed as ``(H, W, C)``."""
        self._check(a, rel)
        if a.ndim == 3 and a.shape[2] == 3 and self.channels == 1:
            self._widen()
        if a.ndim == 2 or a.shape[2] == 1:
            g = a if a.ndim == 2 else a[:, :, 0]
            out = g[None] if self.channels == 1 else np.broadcast_to(g, (3, *g.shape))
        else:
            out = a.transpose(2, 0, 1)
        self.f.write(np.ascontiguousarray(out).tobytes())
        self.rows += 1

    def close(self) -> tuple[int, int, int, int]:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        h, w = self.hw if self.hw is not None else (0, 0)
        return self.rows, self.channels, h, w


def sync_folder(root: str | Path, paths: list[str], size: int | None, *, max_pixels: int = MAX_PIXELS,
                workers: int = 2, cache_dir: str | Path | None = None, source: str = "folder",
                rehash: bool = False) -> CacheView:
    """The decoded images of ``root/<paths>``: from the cache, updated incrementally, or decoded.

    Unchanged files (same size and mtime) cost one ``stat()``; changed ones are
    hashed, and decoded only when their bytes changed. ``rehash`` hashes every
    file. Raises :class:`~deepdojo.data.checks.DataCheckError` when no file decodes.
    """
    root = Path(root)
    settings = {"size": size, "color": "auto", "max_pixels": max_pixels}
    folder = folder_cache_dir(cache_dir, root, settings, source)
    t0 = time.perf_counter()
    old = read_generation(folder)
    old_at = {p: i for i, p in enumerate(old.paths)} if old is not None else {}
    old_problems: dict[str, list[dict]] = {}
    for r in (old.manifest.get("problems", []) if old is not None else []):
        old_problems.setdefault(r["where"], []).append(r)
    records = np.zeros(len(paths), dtype=RECORD)
    source_of = np.full(len(paths), -1, dtype=np.int64)  # old position to reuse, or -1: decode
    problems: list[dict] = []
    hashed = 0
    root_s = os.fspath(root)  # string joins: a Path per file costs more than the stat itself
    for k, rel in enumerate(paths):
        j = old_at.get(rel)
        if j is None:
            continue
        try:
            st = os.stat(os.path.join(root_s, rel))
        except OSError:
            continue  # decoded below, which reports it
        rec = old.records[j]
        if rehash or rec["size"] != st.st_size or rec["mtime_ns"] != st.st_mtime_ns:
            try:
                with open(os.path.join(root_s, rel), "rb") as f:
                    sha = hashlib.file_digest(f, "sha256").digest()
                hashed += 1
            except OSError:
                continue
            if sha != rec["sha256"].tobytes():
                continue  # changed: decode again
        source_of[k] = j  # unchanged, or touched with the same bytes
        records[k] = rec
        records[k]["size"], records[k]["mtime_ns"] = st.st_size, st.st_mtime_ns
        problems += old_problems.get(rel, [])
    reuse = source_of >= 0
    todo = [k for k in range(len(paths)) if not reuse[k]]
    timings = {"stat": time.perf_counter() - t0}
    unchanged = old is not None and not todo and old.paths == list(paths)
    if unchanged and records.tobytes() == old.records.tobytes():
        old.hashed, old.timings = hashed, timings
        return old  # the warm start: nothing read but stat()
    gen = folder / f"gen-{uuid.uuid4().hex[:12]}"
    try:
        gen.mkdir(parents=True)
    except OSError as e:
        raise _cache_error(folder, e) from None
    try:
        n_decoded = len(todo)
        if unchanged:  # only mtimes moved: same pixels, new records
            try:
                os.link(old.path / "pixels.u8", gen / "pixels.u8")
            except OSError:  # no hard links here
                shutil.copyfile(old.path / "pixels.u8", gen / "pixels.u8")
            shape = tuple(old.manifest["shape"])
        else:
            shape = _write_pixels(gen / "pixels.u8", root, paths, size, max_pixels, workers, old, source_of,
                                  records, problems, todo)
        good = records["row"] >= 0
        if not good.any():
            raise CheckReport(checked=len(paths), problems=[Problem.from_json(r) for r in problems]).error(str(root))
        fingerprint = cache_key([(rel, records[k]["sha256"].tobytes().hex()) for k, rel in enumerate(paths)], settings)
        manifest = {"layout": LAYOUT, "format": FORMAT_VERSION, "settings": settings, "source": source,
                    "root": str(root), "shape": list(shape), "fingerprint": fingerprint, "problems": problems}
        if old is not None and old.fingerprint == fingerprint and list(old.manifest["shape"]) == list(shape):
            manifest["derived"] = old.manifest.get("derived", {})  # same content: stats and leaks still hold
        try:
            _write_generation(folder, manifest, list(paths), records, gen / "pixels.u8")
        except OSError as e:
            warnings.warn(f"{folder}: could not write the image cache ({e}); images will be decoded again next time")
    except OSError as e:  # the decoded images live in the cache: without room for it there is no dataset
        shutil.rmtree(gen, ignore_errors=True)
        raise _cache_error(folder, e) from None
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        raise
    timings["total"] = time.perf_counter() - t0
    x = _open_pixels(gen / "pixels.u8", shape)
    return CacheView(gen, manifest, list(paths), records, x, decoded=n_decoded, hashed=hashed + n_decoded,
                     timings=timings)


def _write_pixels(out: Path, root: Path, paths: list[str], size: int | None, max_pixels: int, workers: int,
                  old: CacheView | None, source_of: np.ndarray, records: np.ndarray, problems: list[dict],
                  todo: list[int]) -> tuple[int, int, int, int]:
    """Stream every good image into ``out`` in path order: old rows copied, the ``todo`` files decoded.

    Memory: the decoded arrays of about two chunks of files (the one being
    written and, with a pool, the next one being decoded).
    """
    reused = source_of >= 0
    writer = _PixelWriter(out, 3 if (records["channels"][reused] == 3).any() else 1, root)
    todo_set = set(todo)
    chunks = [range(i, min(i + CHUNK_FILES, len(paths))) for i in range(0, len(paths), CHUNK_FILES)]
    decoded: dict[int, tuple] = {}
    pool = ProcessPoolExecutor(workers, mp_context=_pool_context()) if use_pool(workers, len(todo)) else None

    def submit(chunk):
        need = [k for k in chunk if k in todo_set and k not in decoded]
        if not need:
            return []
        if pool is None:
            return [(need, _decode_records((root, [paths[k] for k in need], size, max_pixels)))]
        step = -(-len(need) // workers)
        parts = [need[i : i + step] for i in range(0, len(need), step)]
        return [(part, pool.submit(_decode_records, (root, [paths[k] for k in part], size, max_pixels)))
                for part in parts]

    try:
        pending = submit(chunks[0]) if chunks else []
        for c, chunk in enumerate(chunks):
            for part, res in pending:
                decoded.update(zip(part, res if isinstance(res, list) else res.result()))
            pending = submit(chunks[c + 1]) if pool is not None and c + 1 < len(chunks) else []  # decode ahead
            fresh = []
            for k in chunk:
                if reused[k]:
                    row = int(old.records[source_of[k]]["row"])
                    if row >= 0:
                        a = old.x[row].numpy()  # (C, H, W) from the old memory map
                        gray = records[k]["channels"] == 1  # a gray file in a colour cache: one channel of it
                        writer.add(a[0] if gray else a.transpose(1, 2, 0), paths[k])
                        records[k]["row"] = writer.rows - 1
                    continue
                a, rec, probs = decoded.pop(k)
                records[k] = rec
                problems += [asdict(p) for p in probs]
                if a is not None:
                    writer.add(a, paths[k])
                    records[k]["row"] = writer.rows - 1
                    fresh.append((k, a))
            _fill_hashes(records, fresh)
            if pool is None and c + 1 < len(chunks):
                pending = submit(chunks[c + 1])
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        rows, channels, h, w = writer.close()
    return rows, channels, h, w


def train_stats(records: np.ndarray, rows: np.ndarray, channels: int, hw: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in [0, 1] of the images ``records[rows]``, from their exact integer sums.

    Equal to :func:`~deepdojo.data.transforms.image_stats` over the pixels (same float64 formula).
    """
    sel = records[rows]
    total = sel["sums"][:, :channels].sum(0).astype(np.float64)
    total_sq = sel["sumsq"][:, :channels].sum(0).astype(np.float64)
    count = len(rows) * hw
    mean = total / count
    var = (total_sq - count * mean**2) / max(count - 1, 1)  # unbiased, like Tensor.std
    std = np.maximum(np.sqrt(np.maximum(var, 0)) / 255.0, 1e-3)  # a constant channel must not divide by 0
    return (mean / 255.0).tolist(), std.tolist()
