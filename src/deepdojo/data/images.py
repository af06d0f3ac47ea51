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

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from deepdojo.data.core import Data
from deepdojo.data.image_cache import cache_file, cache_key, file_sha256, load_tensor, save_tensor
from deepdojo.data.splits import stratified_split
from deepdojo.errors import ConfigError, DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
_EXT_LIST = " ".join(sorted(IMAGE_EXTENSIONS))
_SIZE_FIX = "pass size= (Python) or --size (CLI) to resize and center-crop every image to size x size"


# ---------------------------------------------------------------- scanning


def _visible(folder: Path) -> list[Path]:
    """Children of ``folder`` whose names do not start with ".", sorted by name."""
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def _image_files(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder`` (sub-folders too), hidden ones pruned."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # prune: os.walk honours the edit
        found += [
            Path(dirpath) / f
            for f in filenames
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        ]
    return sorted(found)


def _scan_classes(split_dir: Path, root: Path) -> dict[str, list[str]]:
    """``{class name: relative posix paths}`` for the class folders of ``split_dir``."""
    classes = {}
    for d in _visible(split_dir):
        if not d.is_dir():
            continue
        files = _image_files(d)
        if not files:
            fix = f"add images ({_EXT_LIST}) or remove the folder"
            raise DataError("class folder has no images", where=str(d), fix=fix)
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


def scan_folder(root: Path) -> tuple[list[str], list[str], np.ndarray, dict[str, np.ndarray] | None]:
    """Classes, sorted relative paths, int64 labels, and the given splits (None if none).

    Raises :class:`DataError` for an empty class folder, a class that has no
    training images, no images at all, or fewer than two classes.
    """
    dirs = _split_dirs(root)
    per_part = {part: _scan_classes(d, root) for part, d in (dirs or {"all": root}).items()}
    classes = _check_classes(root, dirs, per_part)
    index = {name: i for i, name in enumerate(classes)}
    # (relative path, label, part), sorted by path: the one order every array below follows
    items = sorted(
        (rel, index[name], part) for part, found in per_part.items() for name, rels in found.items() for rel in rels
    )
    paths = [rel for rel, _, _ in items]
    labels = np.array([label for _, label, _ in items], dtype=np.int64)
    if dirs is None:
        return classes, paths, labels, None
    parts = np.array([part for _, _, part in items])
    return classes, paths, labels, {part: np.flatnonzero(parts == part).astype(np.int64) for part in dirs}


def make_splits(
    labels: np.ndarray, given: dict[str, np.ndarray] | None, valid_pct: float, seed: int
) -> dict[str, np.ndarray]:
    """The given splits, with a stratified ``valid`` carved out of ``train`` when there is none."""
    splits = dict(given) if given is not None else {"train": np.arange(len(labels), dtype=np.int64)}
    if "valid" not in splits:
        train = splits["train"]
        tr, va = stratified_split(labels[train], valid_pct, seed)  # positions within train, sorted
        splits["train"], splits["valid"] = train[tr], train[va]
    return {name: splits[name] for name in ("train", "valid", "test") if name in splits}


# ---------------------------------------------------------------- decoding


def _to_8bit(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> "L" (grayscale sources) or "RGB", transparency over white."""
    mode = im.mode
    if mode in ("L", "RGB"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I"):  # I, I;16, I;16B, ...: 16-bit samples; round 0..65535 onto 0..255
        a = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
        return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8), "L")
    if mode == "F":
        return im.convert("L")
    if mode in ("LA", "La"):
        im = im.convert("LA")
        out = Image.new("L", im.size, 255)  # white: a transparent pixel on a page is paper, not ink
        out.paste(im.getchannel("L"), mask=im.getchannel("A"))
        return out
    if mode in ("RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        out = Image.new("RGB", im.size, (255, 255, 255))
        out.paste(im.convert("RGB"), mask=im.getchannel("A"))
        return out
    return im.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def _resize_crop(im: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size`` (bilinear, antialiased when shrinking), then a centered square."""
    w, h = im.size
    if (w, h) == (size, size):
        return im
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def decode_image(path: str | Path, size: int | None = None, mode: str | None = None) -> np.ndarray:
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
        with Image.open(path) as im:
            img = _to_8bit(ImageOps.exif_transpose(im))  # exif_transpose loads the pixels
            if mode is not None and img.mode != mode:
                img = img.convert(mode)
            if size is not None:
                img = _resize_crop(img, size)
            return np.asarray(img, dtype=np.uint8)
    except Exception as e:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...)
        reason = str(e) or type(e).__name__
        raise DataError(f"cannot decode image: {reason}", where=str(path), fix="remove or replace the file") from e


def decode_all(root: Path, paths: list[str], size: int | None) -> torch.Tensor:
    """Decode ``root/<path>`` for every path into one uint8 tensor ``(N, C, H, W)``.

    ``C`` is 1 when every image is grayscale, else 3 (grayscale ones are
    repeated over RGB, as Pillow's ``convert("RGB")`` would). Stops at the first
    file that fails, and at the first size mismatch when ``size`` is None.
    """
    arrays: list[np.ndarray | None] = []
    for rel in paths:
        a = decode_image(root / rel, size)  # (H, W) or (H, W, 3)
        if arrays and a.shape[:2] != arrays[0].shape[:2]:
            (h0, w0), (h, w) = arrays[0].shape[:2], a.shape[:2]
            what = f"images have different sizes: {paths[0]} is {w0}x{h0}, {rel} is {w}x{h}"
            raise DataError(what, where=str(root), fix=_SIZE_FIX)
        arrays.append(a)
    channels = 3 if any(a.ndim == 3 for a in arrays) else 1
    h, w = arrays[0].shape[:2]
    out = np.empty((len(arrays), channels, h, w), dtype=np.uint8)
    for i, a in enumerate(arrays):
        out[i] = a.transpose(2, 0, 1) if a.ndim == 3 else a  # (H, W) broadcasts over C
        arrays[i] = None  # free as we go: peak memory ~ one copy of the dataset, not two
    return torch.from_numpy(out)


# ---------------------------------------------------------------- the folder


class ImageFolder:
    """An image folder scanned, decoded once to a uint8 tensor cache, and split.

    Args:
        path: the folder (either layout in the module docstring).
        size: side of the square every image is resized and center-cropped to;
            None keeps the native size, which all images must then share.
        valid_pct, seed: the stratified hold-out, used when there is no ``valid/``.
        cache_dir: where decoded tensors are kept (default ``$DEEPDOJO_CACHE``
            or ``~/.cache/deepdojo``).

    Attributes:
        root, classes, paths (relative posix, sorted), labels (int64 ``(N,)``),
        splits ("train"/"valid"(/"test") -> sorted int64 indices), x (uint8
        ``(N, C, H, W)``), fingerprint (sha256 of file contents + decode
        settings), cache_path.

    Example:
        >>> import tempfile
        >>> from deepdojo.data.builtin import export_image_folder
        >>> tmp = Path(tempfile.mkdtemp())
        >>> f = ImageFolder(export_image_folder("digits", tmp / "d"), size=16, cache_dir=tmp / "c")
        >>> tuple(f.x.shape), len(f.splits["train"]) + len(f.splits["valid"])
        ((1797, 1, 16, 16), 1797)
    """

    def __init__(
        self,
        path: str | Path,
        size: int | None = None,
        valid_pct: float = 0.2,
        seed: int = 0,
        cache_dir: str | Path | None = None,
    ):
        root = Path(path).expanduser()
        if not root.exists():
            raise DataError("folder does not exist", where=str(root), fix="check the path")
        if not root.is_dir():
            fix = "pass the folder that holds the class subfolders"
            raise DataError("is a file, not a folder", where=str(root), fix=fix)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ConfigError(f"size must be a positive integer, got {size!r}", where="size", fix="pass e.g. size=224")
        self.root, self.size, self.seed = root, size, seed
        self.classes, self.paths, self.labels, given = scan_folder(root)
        self.splits = make_splits(self.labels, given, valid_pct, seed)
        digests = [(rel, file_sha256(root / rel)) for rel in self.paths]
        self.fingerprint = cache_key(digests, {"size": size, "color": "auto"})
        self.cache_path = cache_file(cache_dir, self.fingerprint)
        x = load_tensor(self.cache_path, n=len(self.paths))
        if x is None:
            x = decode_all(root, self.paths, size)
            save_tensor(self.cache_path, x)
        self.x = x  # (N, C, H, W) uint8

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
        """
        if augment == "auto":
            augment = "light" if self.x.shape[1] == 1 else "default"
        data = Data.from_tensors(
            self.x, torch.from_numpy(self.labels), splits=self.splits, batch_size=batch_size,
            seed=self.seed if seed is None else seed, augment=augment, classes=self.classes,
            name=str(self.root), ids=self.paths,
        )
        data.info["fingerprint"] = self.fingerprint  # the files' identity, stable across decodes
        return data
