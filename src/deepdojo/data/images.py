"""Image folders: scanned, decoded once to a uint8 tensor (cached on disk), and split.

Two layouts are understood:

- ``root/<class>/*`` — every image is labelled by its folder; a stratified
  ``valid_pct`` of each class is held out under ``seed``.
- ``root/train/<class>/*`` + ``root/valid/<class>/*`` (``val/`` also works,
  ``test/`` is optional) — the splits are used as given. With no ``valid/``,
  ``train/`` is split as above.

Hidden files and folders (names starting with ".") and non-image files are
skipped. Every image is decoded the same way (:func:`decode_image`): EXIF
orientation applied, transparency composited onto white, 16-bit scaled to
8-bit, grayscale kept as one channel when *every* image is grayscale.

Example:
    >>> import tempfile
    >>> from deepdojo.data.builtin import export_image_folder
    >>> tmp = Path(tempfile.mkdtemp())
    >>> folder = ImageFolder(export_image_folder("digits", tmp / "digits"), cache_dir=tmp / "cache")
    >>> folder.classes[:3], tuple(folder.x.shape), folder.paths[0]
    (['0', '1', '2'], (1797, 1, 8, 8), '0/00000.png')
    >>> data = folder.to_data(batch_size=32)
    >>> data.input_shape, data.num_classes, data.info["fingerprint"] == folder.fingerprint
    ((1, 8, 8), 10, True)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from deepdojo.data.check_images import MAX_PIXELS, FIX_FILE, BadImage, decode_checked, sniff_image
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.core import Data
from deepdojo.data.image_cache import CacheView, sync_folder, train_stats
from deepdojo.data.leakage import MAX_DISTANCE, MAX_PIXEL_DIFF, Leak, leak_counts
from deepdojo.data.leakage import dedupe as drop_leaks
from deepdojo.data.leakage import find_leaks
from deepdojo.data.paths import FIX_LINK, inside, path_problem, real_root
from deepdojo.data.splits import holdout_splits, load_splits, save_splits, stratified_split
from deepdojo.errors import ConfigError, DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
_EXT_LIST = " ".join(sorted(IMAGE_EXTENSIONS))
_SIZE_FIX = "pass size= (Python) or --size (CLI) to resize and center-crop every image to size x size"


# ---------------------------------------------------------------- scanning


def _visible(folder: Path) -> list[Path]:
    """Children of ``folder`` whose names do not start with ".", sorted by name."""
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def _image_files(folder: Path, root_real: str) -> tuple[list[Path], list[Path], list[tuple[Path, str, str]]]:
    """Image files anywhere under ``folder``, hidden ones pruned: ``(by extension, found by content, bad)``.

    A file with no extension at all is opened (header only) and kept when it
    is an image; files with other extensions (notes.txt) are not images.
    Symlinks follow the policy of ``paths.py``: used when they stay inside the
    data root; loops, dangling links and links out of the root are ``bad``
    ``(path, kind, reason)``.
    """
    found, extensionless, bad, seen = [], [], [], set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real_dir = os.path.realpath(dirpath)
        if real_dir in seen:  # a directory link back to a folder already walked
            bad.append((Path(dirpath), "symlink_loop", "symlink loop: this folder links to one already scanned"))
            dirnames[:] = []
            continue
        seen.add(real_dir)
        if not inside(real_dir, root_real):
            bad.append((Path(dirpath), "escaping_path", f"leads out of the data root {root_real} (to {real_dir})"))
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune: os.walk honours the edit
        for f in filenames:
            if f.startswith("."):
                continue
            p = os.path.join(dirpath, f)
            ext = os.path.splitext(f)[1].lower()
            if ext in IMAGE_EXTENSIONS:
                problem = path_problem(p, root_real) if os.path.islink(p) else None
                if problem is None:
                    found.append(Path(p))
                else:
                    bad.append((Path(p), *problem))
            elif not ext and (not os.path.islink(p) or path_problem(p, root_real) is None) and sniff_image(Path(p)):
                extensionless.append(Path(p))
    return sorted(found + extensionless), extensionless, bad


def _scan_classes(split_dir: Path, root: Path, problems: list[Problem]) -> dict[str, list[str]]:
    """``{class name: relative posix paths}`` for the class folders of ``split_dir``.

    An empty class folder is recorded in ``problems`` (and left out), as is
    every image found without an extension (a warning: it is used) and every
    file or folder the symlink policy refuses (an error).
    """
    classes, root_real = {}, real_root(root)
    for d in _visible(split_dir):
        if not d.is_dir():
            if d.is_symlink() and not d.exists():  # a class folder link to nowhere (or a loop)
                kind, reason = path_problem(d, root_real) or ("dangling_symlink", "dangling symlink")
                problems.append(Problem(d.relative_to(root).as_posix(), reason, kind, fix=FIX_LINK))
            continue
        files, extensionless, bad = _image_files(d, root_real)
        for path, kind, reason in bad:
            problems.append(Problem(path.relative_to(root).as_posix(), reason, kind, fix=FIX_LINK))
        for f in extensionless:
            problems.append(Problem(f.relative_to(root).as_posix(), "image file without an extension (used)",
                                    "no_extension", severity="warning", fix="add the extension, e.g. .png"))
        if not files:
            if bad:
                continue  # reported above, file by file
            fix = f"add images ({_EXT_LIST}) or remove the folder"
            problems.append(Problem(str(d), "class folder has no images", "empty_class", fix=fix))
            continue
        classes[d.name] = [f.relative_to(root).as_posix() for f in files]
    return classes


def _split_dirs(root: Path) -> dict[str, Path] | None:
    """``{"train": ..., "valid": ..., "test": ...}`` for a split layout, None for ``root/<class>/``."""
    train = root / "train"
    if not (train.is_dir() and any(p.is_dir() for p in _visible(train))):
        return None  # no train/<class>/ folders: a plain class-folder layout
    valid = [root / n for n in ("valid", "val") if (root / n).is_dir()]
    if len(valid) > 1:
        raise DataError("both valid/ and val/ found", where=str(root), fix="merge them into one valid/ folder")
    dirs = {"train": train}
    if valid:
        dirs["valid"] = valid[0]
    if (root / "test").is_dir():
        dirs["test"] = root / "test"
    return dirs


def _check_classes(root: Path, dirs: dict[str, Path] | None, per_part: dict[str, dict[str, list[str]]]) -> list[str]:
    """The sorted union of class names, after the checks that need all parts at once."""
    for part, found in per_part.items():
        if dirs and not found:
            where = dirs[part]
            raise DataError("no class subfolders with images", where=str(where), fix=f"put images in {where}/<class>/")
        for name in found:
            if dirs and name not in per_part["train"]:
                raise DataError(
                    f"class {name!r} has images in {dirs[part].name}/ but none in train/",
                    where=str(dirs[part] / name),
                    fix=f"add training images to {root / 'train' / name} or remove the folder",
                )
    classes = sorted({name for found in per_part.values() for name in found})
    if not classes:
        fix = f"put images ({_EXT_LIST}) in class subfolders: {root}/<class>/<image>"
        raise DataError("no images found", where=str(root), fix=fix)
    if len(classes) < 2:
        raise DataError(
            f"only one class ({classes[0]!r}) found; classification needs at least 2", where=str(root),
            fix="add a subfolder of images for each other class",
        )
    return classes


def scan_folder(root: Path, problems: list[Problem] | None = None):
    """Classes, sorted relative paths, int64 labels, and each item's part (None without a split layout).

    Empty class folders and extensionless images go to ``problems`` when a
    list is given; with ``problems=None`` an empty class folder raises
    :class:`DataError`. Raises for a class with no training images, no images
    at all, or fewer than two classes.
    """
    found: list[Problem] = [] if problems is None else problems
    dirs = _split_dirs(root)
    per_part = {part: _scan_classes(d, root, found) for part, d in (dirs or {"all": root}).items()}
    if problems is None and any(p.kind == "empty_class" for p in found):
        first = next(p for p in found if p.kind == "empty_class")
        raise DataError(first.reason, where=first.where, fix=first.fix)
    classes = _check_classes(root, dirs, per_part)
    index = {name: i for i, name in enumerate(classes)}
    # (relative path, label, part), sorted by path: the one order every array below follows
    items = sorted(
        (rel, index[name], part) for part, found_ in per_part.items() for name, rels in found_.items() for rel in rels
    )
    paths = [rel for rel, _, _ in items]
    labels = np.array([label for _, label, _ in items], dtype=np.int64)
    parts = np.array([part for _, _, part in items]) if dirs is not None else None
    return classes, paths, labels, parts


def make_splits(labels: np.ndarray, parts: np.ndarray | None, valid_pct: float, seed: int,
                test_pct: float = 0.0) -> dict[str, np.ndarray]:
    """The given parts as splits, with a stratified ``valid`` carved out of ``train`` when there is none.

    A folder without split subfolders also gets a sealed ``test_pct`` slice when asked.
    """
    if parts is None:
        return holdout_splits(labels, valid_pct, test_pct, seed)
    else:
        splits = {p: np.flatnonzero(parts == p).astype(np.int64) for p in ("train", "valid", "test") if (parts == p).any()}
    if "valid" not in splits:
        train = splits["train"]
        tr, va = stratified_split(labels[train], valid_pct, seed)  # positions within train, sorted
        splits["train"], splits["valid"] = train[tr], train[va]
    return {name: splits[name] for name in ("train", "valid", "test") if name in splits}


# ---------------------------------------------------------------- decoding


def decode_image(path: str | Path, size: int | None = None, mode: str | None = None,
                 max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """One image file as uint8: ``(H, W)`` for grayscale sources, else ``(H, W, 3)``.

    ``mode`` ("L" or "RGB") forces the channels, e.g. to feed a new image to a
    model trained on grayscale. Raises :class:`DataError` naming the file when
    it cannot be decoded.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.new("RGBA", (6, 4), (0, 0, 0, 0)).save(p)
        >>> a = decode_image(p, size=2)
        >>> a.shape, a[0, 0].tolist()
        ((2, 2, 3), [255, 255, 255])
    """
    try:
        return decode_checked(path, size, mode, max_pixels=max_pixels)[0]
    except BadImage as bad:
        raise DataError(f"cannot decode image: {bad.reason}", where=str(path), fix=FIX_FILE) from None
    except OSError as e:
        raise DataError(f"cannot read the file: {e.strerror or e}", where=str(path), fix="check the path") from None


def stack_images(arrays: list[np.ndarray], paths: list[str], root: Path) -> torch.Tensor:
    """Equal-size arrays ``(H, W)`` / ``(H, W, 3)`` -> one uint8 tensor ``(N, C, H, W)``.

    ``C`` is 1 when every image is grayscale, else 3 (grayscale ones are
    repeated over RGB). Different sizes raise :class:`DataError` naming two.
    """
    h0, w0 = arrays[0].shape[:2]
    for a, rel in zip(arrays, paths):
        if a.shape[:2] != (h0, w0):
            h, w = a.shape[:2]
            what = f"images have different sizes: {paths[0]} is {w0}x{h0}, {rel} is {w}x{h}"
            raise DataError(what, where=str(root), fix=_SIZE_FIX)
    channels = 3 if any(a.ndim == 3 for a in arrays) else 1
    out = np.empty((len(arrays), channels, h0, w0), dtype=np.uint8)
    for i, a in enumerate(arrays):
        out[i] = a.transpose(2, 0, 1) if a.ndim == 3 else a  # (H, W) broadcasts over C
        arrays[i] = None  # free as we go: peak memory ~ one copy of the dataset, not two
    return torch.from_numpy(out)


def load_or_decode(root: Path, paths: list[str], size: int | None, *, max_pixels: int = MAX_PIXELS,
                   workers: int = 2, cache_dir: str | Path | None = None, source: str = "folder",
                   rehash: bool = False) -> CacheView:
    """The decoded images of ``root/<paths>`` (:class:`~deepdojo.data.image_cache.CacheView`): cached, else decoded.

    ``view.x`` holds the good files (memory-mapped), ``view.problems`` every
    problem found by the decode (kept in the cache, so a second run neither
    decodes nor forgets which files were bad), ``view.fingerprint`` the data's identity.
    """
    return sync_folder(root, paths, size, max_pixels=max_pixels, workers=workers, cache_dir=cache_dir,
                       source=source, rehash=rehash)


def search_leaks(view: CacheView, rows: np.ndarray, splits: dict[str, np.ndarray], near: bool = True) -> list[Leak]:
    """:func:`~deepdojo.data.leakage.find_leaks` over the cached images, with the cache's hashes.

    ``rows`` maps dataset positions to rows of ``view.x``. The result is kept in
    the cache, keyed by the split and the thresholds: a warm start does not search again.
    """
    key = hashlib.sha256(json.dumps({"splits": {k: rows[np.asarray(v)].tolist() for k, v in splits.items()},
                                     "near": near, "bits": MAX_DISTANCE, "pixels": MAX_PIXEL_DIFF}).encode()).hexdigest()
    cached = view.derived("leaks", key)
    if cached is not None:
        return [Leak(**d) for d in cached]
    good = view.good()  # positions in view.paths, in row order
    hashes = (view.records["phash"][good][rows], view.records["digest"][good][rows])
    x = view.x if np.array_equal(rows, np.arange(len(view.x))) else view.x[torch.from_numpy(rows)]
    leaks = find_leaks(x, splits, near=near, hashes=hashes)
    view.remember("leaks", key, [l.to_json() for l in leaks])
    return leaks


def leak_info(leaks: list[Leak] | None, ids: list[str] | None, limit: int = 20) -> dict:
    """``info["leaks"]``: whether the check ran, the counts, and the first ``limit`` leaks by name."""
    if leaks is None:
        return {"checked": False}
    name = (lambda i: ids[i]) if ids is not None else (lambda i: f"#{i}")
    shown = [{"split": l.split, "item": name(l.index), "kind": l.kind, "distance": l.distance, "other": l.other,
              "match": name(l.train_index)} for l in leaks[:limit]]
    return {"checked": True, **leak_counts(leaks), "examples": shown}


# ---------------------------------------------------------------- the folder


class ImageFolder:
    """An image folder scanned, checked, decoded once to a uint8 tensor cache, and split.

    Args:
        path: the folder (either layout in the module docstring).
        size: side of the square every image is resized and center-cropped to;
            None keeps the native size, which all images must then share.
        valid_pct, seed: the stratified hold-out, used when there is no ``valid/``.
        test_pct: with one folder of class subfolders, also hold out this sealed test slice.
        cache_dir: where decoded tensors are kept (default ``$DEEPDOJO_CACHE``
            or ``~/.cache/deepdojo``).
        skip_bad: False (default) raises :class:`~deepdojo.data.checks.DataCheckError`
            listing every bad file; True leaves them out (see ``skipped``).
        max_pixels: images with more pixels are refused as decompression bombs.
        workers: decoding processes on the first pass.
        dedupe: drop valid/test images that duplicate (exactly or nearly) a
            train image; they are always reported (``leaks``, ``report``).
        split_file: a ``splits.json`` to reuse (verified against its hash and
            the file names); written here when it does not exist yet.
        leak_check: False skips the duplicate search (``leaks`` is then None
            and the run's report says the check was off).
        rehash: hash every file's bytes instead of trusting unchanged size and
            mtime (a warm start otherwise reads nothing but one ``stat()`` per file).

    Attributes:
        root, classes, paths (relative posix, sorted), labels (int64 ``(N,)``),
        splits ("train"/"valid"(/"test") -> sorted int64 indices), x (uint8
        ``(N, C, H, W)``), fingerprint (sha256 of file contents + decode
        settings), cache_path (the cache generation's folder), cache (its
        :class:`~deepdojo.data.image_cache.CacheView`: per-file records, the
        memory map), report (every problem found, warnings too),
        skipped (the error problems left out with ``skip_bad``), leaks
        (:class:`~deepdojo.data.leakage.Leak` for every duplicate across splits),
        stats (per-channel train mean and std, from the cache's exact sums).
        ``x`` is memory-mapped from the cache: resident memory does not grow
        with the dataset, epochs read from the page cache.

    Example:
        >>> import tempfile
        >>> from deepdojo.data.builtin import export_image_folder
        >>> tmp = Path(tempfile.mkdtemp())
        >>> f = ImageFolder(export_image_folder("digits", tmp / "d"), size=16, cache_dir=tmp / "c")
        >>> tuple(f.x.shape), len(f.splits["train"]) + len(f.splits["valid"]), f.report.ok
        ((1797, 1, 16, 16), 1797, True)
    """

    def __init__(
        self,
        path: str | Path,
        size: int | None = None,
        valid_pct: float = 0.2,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        skip_bad: bool = False,
        max_pixels: int = MAX_PIXELS,
        workers: int = 2,
        dedupe: bool = False,
        split_file: str | Path | None = None,
        test_pct: float = 0.0,
        leak_check: bool = True,
        rehash: bool = False,
    ):
        root = Path(path).expanduser()
        if not root.exists():
            raise DataError("folder does not exist", where=str(root), fix="check the path")
        if not root.is_dir():
            fix = "pass the folder that holds the class subfolders"
            raise DataError("is a file, not a folder", where=str(root), fix=fix)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ConfigError(f"size must be a positive integer, got {size!r}", where="size", fix="pass e.g. size=224")
        self.root, self.size, self.seed, self.max_pixels = root, size, seed, max_pixels
        scan_problems: list[Problem] = []
        self.classes, paths, labels, parts = scan_folder(root, scan_problems)
        view = load_or_decode(root, paths, size, max_pixels=max_pixels, workers=workers, cache_dir=cache_dir,
                              rehash=rehash)
        self.fingerprint, self.cache_path, self.cache = view.fingerprint, view.path, view
        file_problems = view.problems
        self.report = CheckReport(checked=len(paths), problems=scan_problems + file_problems)
        if not self.report.ok and not skip_bad:
            raise self.report.error(str(root))
        keep = view.records["row"] >= 0  # the files that decoded; rows of view.x in this order
        self.paths = [rel for rel, k in zip(paths, keep) if k]
        self.labels = labels[keep]
        self.skipped = self.report.errors if skip_bad else []
        if split_file is not None and Path(split_file).exists():
            self.splits = load_splits(Path(split_file), n=len(self.paths), ids=self.paths)
        else:
            self.splits = make_splits(self.labels, parts[keep] if parts is not None else None, valid_pct, seed, test_pct)
        self.x = view.x  # (N, C, H, W) uint8, good files only, memory-mapped
        self.leaks = search_leaks(view, np.arange(len(self.paths)), self.splits) if leak_check else None
        self.report.problems.extend(leak.problem(self.paths) for leak in self.leaks or [])
        if dedupe and self.leaks:
            self.splits = drop_leaks(self.splits, self.leaks)
        good = view.good()
        self.stats = train_stats(view.records[good], self.splits["train"], self.x.shape[1], self.x[0, 0].numel())
        if split_file is not None and not Path(split_file).exists():
            save_splits(Path(split_file), self.splits, self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        return f"ImageFolder({str(self.root)!r}, {len(self.classes)} classes, x={tuple(self.x.shape)}, {sizes})"

    def to_data(self, batch_size: int = 64, augment: str | None = "auto", seed: int | None = None) -> Data:
        """The folder as :class:`Data`: normalized with train statistics, augmented per batch.

        ``augment="auto"`` picks ``light`` for grayscale (symbols and digits:
        no mirroring) and ``default`` for colour. ``seed`` drives shuffling and
        augmentation (default: the folder's seed); the split is already fixed.
        ``info["skipped"]`` lists the files left out by ``skip_bad``.
        """
        if augment == "auto":
            augment = "light" if self.x.shape[1] == 1 else "default"
        data = Data.from_tensors(
            self.x, torch.from_numpy(self.labels), splits=self.splits, batch_size=batch_size,
            seed=self.seed if seed is None else seed, augment=augment, classes=self.classes,
            name=str(self.root), ids=self.paths, fingerprint=self.fingerprint, image_stats=self.stats,
        )
        data.info.decode = {"size": self.size, "mode": "L" if self.x.shape[1] == 1 else "RGB"}
        data.info["preprocess"].update(size=self.size, max_pixels=self.max_pixels)  # decode settings for predict
        data.info["check"] = {"checked": self.report.checked, "errors": len(self.report.errors),
                              "warnings": len(self.report.warnings)}
        data.info["leaks"] = leak_info(self.leaks, self.paths)
        if self.skipped:
            data.info["skipped"] = [asdict(p) for p in self.skipped]
        return data
