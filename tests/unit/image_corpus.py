"""A generated corpus of image files, good and bad, with the expected problem of each bad one."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG header claiming ``width x height`` pixels, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def random_rgb(rng, h: int = 8, w: int = 8) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def bad_corpus(root: Path, seed: int = 0) -> dict[str, str]:
    """Class folders a/ b/ with good images and every fault; returns ``{relative path: kind}`` of the errors.

    Also planted, and *not* errors: hidden files and folders, an image without
    an extension (warning), an animated GIF (warning), a WebP, a notes file.
    Plus an empty class folder ``c/`` (error, keyed by its absolute path).
    """
    rng = np.random.default_rng(seed)
    for cls in ("a", "b"):
        for i in range(6):
            write(root / cls / f"good{i}.png", encode(random_rgb(rng), "PNG"))
    png = encode(random_rgb(rng), "PNG")
    jpg = encode(random_rgb(rng, 64, 64), "JPEG", quality=90)
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0xFF  # damage inside IDAT: the CRC no longer matches
    bad = {
        "a/empty.png": ("empty_file", b""),
        "a/text.png": ("not_image", b"this is a text file, not a picture\n"),
        "a/truncated.png": ("corrupt", png[: len(png) // 2]),
        "b/truncated.jpg": ("corrupt", jpg[: len(jpg) // 2]),
        "b/flipped.png": ("corrupt", bytes(flipped)),
        "b/bomb.png": ("bomb", png_bomb()),
        "b/html.jpg": ("not_image", b"<html><body>404 not found</body></html>"),
    }
    for rel, (_, data) in bad.items():
        write(root / rel, data)
    # not errors
    write(root / "a" / ".DS_Store", b"\0\0\0\1Bud1garbage")
    write(root / ".git" / "objects" / "x.png", b"not an image")
    write(root / "a" / ".hidden" / "y.png", b"not an image")
    write(root / "a" / "noext", encode(random_rgb(rng), "PNG"))
    frames = [random_rgb(rng) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    write(root / "b" / "anim.gif", buf.getvalue())
    write(root / "b" / "photo.webp", encode(random_rgb(rng), "WEBP", lossless=True))
    write(root / "b" / "notes.txt", b"labelled by hand")
    (root / "c").mkdir()
    write(root / "c" / "README", b"nothing here yet")
    expected = {rel: kind for rel, (kind, _) in bad.items()}
    expected[str(root / "c")] = "empty_class"
    return expected


def clean_corpus(root: Path, n: int = 1000, seed: int = 0) -> int:
    """``n`` valid images over two classes in every format and mode the decoder handles."""
    rng = np.random.default_rng(seed)
    kinds = ["png_rgb", "png_l", "png_rgba", "png_p", "png_16", "jpg", "gif", "webp", "bmp", "tif_cmyk"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        h, w = rng.integers(8, 25, 2)
        rgb = random_rgb(rng, h, w)
        if kind == "png_rgb":
            data, ext = encode(rgb, "PNG"), "png"
        elif kind == "png_l":
            data, ext = encode(rgb.convert("L"), "PNG"), "png"
        elif kind == "png_rgba":
            alpha = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
            im = rgb.copy()
            im.putalpha(alpha)
            data, ext = encode(im, "PNG"), "png"
        elif kind == "png_p":
            data, ext = encode(rgb.quantize(16), "PNG"), "png"
        elif kind == "png_16":
            a = rng.integers(0, 65536, (h, w), dtype=np.uint16)
            data, ext = encode(Image.fromarray(a), "PNG"), "png"
        elif kind == "jpg":
            data, ext = encode(rgb, "JPEG", quality=85), "jpg"
        elif kind == "gif":
            data, ext = encode(rgb.quantize(32), "GIF"), "gif"
        elif kind == "webp":
            data, ext = encode(rgb, "WEBP", quality=80), "webp"
        elif kind == "bmp":
            data, ext = encode(rgb, "BMP"), "bmp"
        else:
            data, ext = encode(rgb.convert("CMYK"), "TIFF"), "tif"
        write(root / ("x" if i % 2 else "y") / f"{i:04d}.{ext}", data)
    return n
