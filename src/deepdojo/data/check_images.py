"""Decode-and-check image files: every bad file found by a full decode, named with its reason.

The check *is* the decode (``Image.verify()`` misses truncated pixel data), so
checking costs nothing extra on the first pass, and the first pass uses a
process pool (:func:`decode_many`). Each file gives either a uint8 array or a
:class:`~deepdojo.data.checks.Problem`:

==============  ==================================================
kind            when
==============  ==================================================
empty_file      0 bytes
not_image       Pillow cannot identify the content (a text file named .png)
corrupt         truncated or damaged pixel data
bomb            more pixels than ``max_pixels`` (a decompression bomb)
==============  ==================================================

Warnings (used, but reported): ``animated`` (first frame used) and
``no_extension`` (an image found by its content, not its name).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "empty.png").write_bytes(b"")
    0
    >>> Image.new("RGB", (4, 3), (9, 8, 7)).save(d / "ok.png")
    >>> arrays, problems = decode_many(d, ["empty.png", "ok.png"], size=None)
    >>> arrays[0] is None, arrays[1].shape, [p.kind for p in problems]
    (True, (3, 4, 3), ['empty_file'])
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from deepdojo.data.checks import Problem

# Pillow's own default; above it a file is refused before any pixel is decoded.
MAX_PIXELS = 89_478_485
POOL_MIN_FILES = 256  # below this, starting worker processes costs more than it saves
FIX_FILE = "remove or replace the file"


class BadImage(Exception):
    """A file problem found while decoding (carries the kind)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def to_8bit(im: Image.Image) -> Image.Image:
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


def resize_crop(im: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size`` (bilinear, antialiased when shrinking), then a centered square.

    A huge image is first box-reduced by an integer factor to no less than
    twice the target (Pillow's ``reducing_gap``): fast, and quality is kept.
    """
    w, h = im.size
    if (w, h) == (size, size):
        return im
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def _open_checked(path: Path, max_pixels: int) -> tuple[Image.Image, list[tuple[str, str]]]:
    """Open ``path`` (headers only) and refuse empty files, non-images and bombs."""
    if os.path.getsize(path) == 0:
        raise BadImage("empty_file", "empty file (0 bytes)")
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides below
        try:
            im = Image.open(path)
        except Image.DecompressionBombError as e:
            raise BadImage("bomb", f"decompression bomb refused: {e}") from None
        except UnidentifiedImageError:
            fmt = _magic_format(path)
            if fmt:  # a known signature whose header breaks off: a cut-short download or copy
                raise BadImage("corrupt", f"truncated or corrupt {fmt}: its header cannot be parsed") from None
            raise BadImage("not_image", "not an image: the content is no format Pillow can read") from None
        except (OSError, SyntaxError, ValueError) as e:
            if isinstance(e, OSError) and e.errno is not None:
                raise  # the file system's error (permissions, vanished): "unreadable"
            raise BadImage("corrupt", f"truncated or corrupt image: {str(e) or type(e).__name__}") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise BadImage("bomb", f"decompression bomb refused: {w}x{h} = {w * h} pixels is over the limit of {max_pixels}")
    if getattr(im, "n_frames", 1) > 1:
        notes.append(("animated", f"animated ({im.n_frames} frames): the first frame is used"))
    return im, notes


MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF",
         b"MM\x00*": "TIFF"}


def _magic_format(path: Path) -> str | None:
    """The image format a file's first bytes announce (``None`` if none we know)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in MAGIC.items() if head.startswith(magic)), None)


def decode_checked(path: str | Path, size: int | None = None, mode: str | None = None,
                   max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """One file as uint8 ``(H, W)`` or ``(H, W, 3)`` plus warning notes; raises ``BadImage``.

    A full decode: EXIF orientation applied, transparency on white, 16-bit
    rounded to 8-bit, huge images reduced before resizing. With a JPEG and a
    ``size``, Pillow's draft mode decodes at a reduced scale directly.
    """
    path = Path(path)
    im, notes = _open_checked(path, max_pixels)
    try:
        with im, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if size is not None and im.format == "JPEG":
                im.draft(im.mode if im.mode in ("L", "RGB") else None, (2 * size, 2 * size))
            img = to_8bit(ImageOps.exif_transpose(im))  # exif_transpose loads every pixel
            if mode is not None and img.mode != mode:
                img = img.convert(mode)
            if size is not None:
                img = resize_crop(img, size)
            return np.asarray(img, dtype=np.uint8), notes
    except BadImage:
        raise
    except Exception as e:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...)
        raise BadImage("corrupt", f"truncated or corrupt image: {str(e) or type(e).__name__}") from None


def _decode_one(root: Path, rel: str, size: int | None, max_pixels: int):
    """``(array or None, [Problem, ...])`` for one file; never raises for a bad file."""
    try:
        a, notes = decode_checked(root / rel, size, max_pixels=max_pixels)
    except BadImage as bad:
        return None, [Problem(rel, bad.reason, bad.kind, fix=FIX_FILE)]
    except OSError as e:  # unreadable: permissions, vanished between scan and decode
        return None, [Problem(rel, f"cannot read the file: {e.strerror or e}", "unreadable", fix=FIX_FILE)]
    return a, [Problem(rel, reason, kind, severity="warning") for kind, reason in notes]


def _decode_chunk(args):
    root, rels, size, max_pixels = args
    return [_decode_one(root, rel, size, max_pixels) for rel in rels]


def _pool_context():
    """Fork where it is the platform default (Linux): workers start in milliseconds and
    never re-run the user's ``__main__``. Elsewhere decoding stays in this process."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None


def decode_many(root: str | Path, paths: list[str], size: int | None, *, workers: int = 2,
                max_pixels: int = MAX_PIXELS) -> tuple[list[np.ndarray | None], list[Problem]]:
    """Decode ``root/<path>`` for every path: arrays (None where bad) and every problem found.

    Uses ``workers`` processes when there are at least ``POOL_MIN_FILES``
    files; results keep the order of ``paths`` either way.
    """
    root = Path(root)
    ctx = _pool_context()
    if workers > 1 and ctx is not None and len(paths) >= POOL_MIN_FILES:
        n_chunks = workers * 8  # small chunks even out slow files between workers
        step = -(-len(paths) // n_chunks)
        jobs = [(root, paths[i : i + step], size, max_pixels) for i in range(0, len(paths), step)]
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            results = [r for chunk in pool.map(_decode_chunk, jobs) for r in chunk]
    else:
        results = _decode_chunk((root, paths, size, max_pixels))
    arrays = [a for a, _ in results]
    problems = [p for _, probs in results for p in probs]
    return arrays, problems


def sniff_image(path: Path) -> bool:
    """True when ``path`` opens as an image (header only): finds images without an extension."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path):
                return True
    except Exception:  # any failure to open means "not an image we can use"
        return False
