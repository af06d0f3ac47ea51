"""Segmentation data from a folder: images, PNG masks beside them (same stem), and the class names.

Layout (the masks folder sits beside the images folder)::

    root/images/0001.jpg   root/masks/0001.png   root/classes.txt

``classes.txt`` (or ``codes.txt``) names one class per line; line ``i`` is
class id ``i`` (``0`` is usually the background). A mask is a single-band
PNG whose pixel values are class ids: a palette ("P") image's indices or a
greyscale/integer image's values. Every problem is found before training and
reported in one error naming each bad file: an image without a mask, a mask
without an image, a mask whose size differs from its image, a value with no
class, an RGB mask (colours are ambiguous: save it as a palette PNG).

Example:
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "images").mkdir(); (root / "masks").mkdir()
    >>> _ = (root / "classes.txt").write_text("background\\nblob\\n")
    >>> for i in range(5):
    ...     Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / "images" / f"{i}.png")
    ...     Image.fromarray(np.eye(8, dtype=np.uint8)).save(root / "masks" / f"{i}.png")
    >>> data = load_mask_folder(root, valid_pct=0.4)
    >>> data.task, data.classes, data.train.y.shape
    ('segmentation', ['background', 'blob'], torch.Size([3, 8, 8]))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepdojo.data.core import Data, tensor_fingerprint
from deepdojo.errors import DataError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def read_classes(root: Path) -> list[str]:
    for name in ("classes.txt", "codes.txt"):
        if (root / name).is_file():
            names = [line.strip() for line in (root / name).read_text().splitlines() if line.strip()]
            if len(names) < 2:
                raise DataError(f"{name} names {len(names)} class(es)", where=str(root / name),
                                fix="list at least two classes, one per line (line 0: the background)")
            return names
    raise DataError("no classes.txt", where=str(root), fix="add classes.txt with one class name per line (line i = id i)")


def write_mask_folder(dest: Path, classes, items) -> Path:
    """Write ``dest/{images,masks}/<stem>.png`` and ``classes.txt`` from ``(stem, RGB PIL image, (H, W) uint8
    class ids)`` items, once: built in ``dest.partial`` and renamed into place, ``.complete`` marking a finished one.

    A converted download (pets trimaps, Penn-Fudan masks) is read by :func:`load_mask_folder` like a user's folder.
    """
    import shutil

    from PIL import Image

    if (dest / ".complete").exists():
        return dest
    tmp = dest.with_name(dest.name + ".partial")  # a stopped conversion leaves only this, redone next time
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    (tmp / "masks").mkdir()
    for stem, img, mask in items:
        img.save(tmp / "images" / f"{stem}.png")
        Image.fromarray(mask).save(tmp / "masks" / f"{stem}.png")
    (tmp / "classes.txt").write_text("\n".join(classes) + "\n")
    (tmp / ".complete").write_text("ok\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def load_mask_folder(root: str | Path, images: str = "images", masks: str = "masks", valid_pct: float = 0.2,
                     test_pct: float = 0.0, seed: int = 0, batch_size: int = 16, max_errors: int = 20) -> Data:
    """Images and masks as :class:`Data` for the segmentation task (checked first; see the module docstring)."""
    from PIL import Image

    root = Path(root)
    img_dir, mask_dir = root / images, root / masks
    for d in (img_dir, mask_dir):
        if not d.is_dir():
            raise DataError(f"no {d.name}/ folder", where=str(root), fix=f"put images in {images}/ and masks in {masks}/")
    classes = read_classes(root)
    imgs = {p.stem: p for p in sorted(img_dir.iterdir()) if p.suffix.lower() in IMAGE_EXTS}
    msks = {p.stem: p for p in sorted(mask_dir.iterdir()) if p.suffix.lower() == ".png"}
    problems = [f"{p}: no mask {mask_dir / (s + '.png')}" for s, p in imgs.items() if s not in msks]
    problems += [f"{p}: mask without an image in {img_dir}" for s, p in msks.items() if s not in imgs]
    xs, ys, ids = [], [], []
    for stem in sorted(set(imgs) & set(msks)):
        ip, mp = imgs[stem], msks[stem]
        try:
            with Image.open(ip) as im:
                x = np.asarray(im.convert("RGB"))
        except Exception as exc:  # noqa: BLE001  (any decoder failure is a bad file)
            problems.append(f"{ip}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        try:
            with Image.open(mp) as m:
                mode = m.mode
                y = np.asarray(m)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{mp}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        if y.ndim != 2 or mode in ("RGB", "RGBA", "LA"):
            problems.append(f"{mp}: {mode} mask; masks are single-band class ids (save it as a palette or greyscale PNG)")
            continue
        if y.shape != x.shape[:2]:
            problems.append(f"{mp}: mask is {y.shape[1]}x{y.shape[0]} but its image {ip.name} is {x.shape[1]}x{x.shape[0]}")
            continue
        bad = np.unique(y[(y < 0) | (y >= len(classes))])
        if len(bad):
            problems.append(f"{mp}: value(s) {bad[:5].tolist()} have no class (classes.txt names ids 0..{len(classes) - 1})")
            continue
        if xs and x.shape != xs[0].shape:
            problems.append(f"{ip}: {x.shape[1]}x{x.shape[0]} but the first image is {xs[0].shape[1]}x{xs[0].shape[0]} "
                            "(resize the set to one size)")
            continue
        xs.append(x)
        ys.append(y.astype(np.int64))
        ids.append(stem)
    if problems:
        more = f" (and {len(problems) - max_errors} more)" if len(problems) > max_errors else ""
        raise DataError(f"{len(problems)} bad file(s): " + "; ".join(problems[:max_errors]) + more, where=str(root),
                        fix="fix or remove the files named")
    if not xs:
        raise DataError("no image has a mask", where=str(root), fix=f"put same-stem PNG masks in {masks}/")
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # (N, 3, H, W) uint8
    y = torch.from_numpy(np.stack(ys))  # (N, H, W) int64
    return Data.from_tensors(x, y, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                             task="segmentation", classes=classes, name=str(root), ids=ids,
                             fingerprint=tensor_fingerprint(x, y))
