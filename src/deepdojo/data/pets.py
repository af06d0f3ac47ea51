"""``download:oxford_pets``: Oxford-IIIT Pet trimaps as a segmentation folder (images/, masks/, classes.txt).

The published archives are ``images.tar.gz`` (``images/<Breed>_<n>.jpg``, many
sizes) and ``annotations.tar.gz`` (``annotations/trimaps/<stem>.png`` with
1 = pet, 2 = background, 3 = border). They are unpacked once, then every
image with a trimap is resized to ``size`` x ``size`` (bilinear; the trimap
nearest-neighbour, so no new ids appear) and written, once per size, as the
library's mask-folder layout with class ids 0 = background, 1 = pet,
2 = border, read by :func:`~deepdojo.data.mask_folder.load_mask_folder`.

Example (a trimap's values become class ids):
    >>> import numpy as np
    >>> TRIMAP_TO_CLASS[np.array([[1, 2], [3, 2]])].tolist()
    [[1, 0], [2, 0]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepdojo.data.core import Data
from deepdojo.data.mask_folder import write_mask_folder
from deepdojo.errors import DataError

CLASSES = ("background", "pet", "border")
TRIMAP_TO_CLASS = np.array([0, 1, 0, 2], np.uint8)  # trimap value -> class id (0 is not used by the trimaps)


def pets_mask_folder(images_root: Path, annotations_root: Path, dest: Path, size: int) -> Path:
    """Write ``dest/{images,masks}/<stem>.png`` + ``classes.txt`` once (built beside, then renamed into place)."""
    from PIL import Image

    if (dest / ".complete").exists():
        return dest  # converted before (write_mask_folder checks too; this skips the scan)
    images = {p.stem: p for p in images_root.rglob("*.jpg")}
    trimaps = {p.stem: p for p in annotations_root.rglob("trimaps/*.png") if not p.name.startswith("._")}
    stems = sorted(set(images) & set(trimaps))
    if not stems:
        raise DataError("no image has a trimap (expected images/<stem>.jpg and annotations/trimaps/<stem>.png)",
                        where=str(images_root.parent), fix="delete the downloaded archives and download again")

    def items():
        for stem in stems:
            img = Image.open(images[stem]).convert("RGB").resize((size, size), Image.BILINEAR)
            tri = np.asarray(Image.open(trimaps[stem]).convert("L").resize((size, size), Image.NEAREST))
            if tri.max() > 3:
                raise DataError(f"trimap value {int(tri.max())} is not 1, 2 or 3", where=str(trimaps[stem]),
                                fix="delete the downloaded archives and download again")
            yield stem, img, TRIMAP_TO_CLASS[tri]

    return write_mask_folder(dest, CLASSES, items())


def load_pets(paths: list[Path], *, size: int | None = None, valid_pct: float = 0.2, seed: int = 0,
              batch_size: int = 16) -> Data:
    """The two archives -> segmentation :class:`Data` (3 classes) at ``size`` (default 128)."""
    from deepdojo.data.download import extract_tgz
    from deepdojo.data.mask_folder import load_mask_folder

    by = {p.name: p for p in paths}
    try:
        images, annotations = by["images.tar.gz"], by["annotations.tar.gz"]
    except KeyError as e:
        raise DataError(f"no {e.args[0]} among the downloaded files", where=str(paths[0].parent),
                        fix="the oxford_pets entry needs images.tar.gz and annotations.tar.gz") from None
    root = images.parent
    img_root = extract_tgz(images, root / "images_extracted")
    ann_root = extract_tgz(annotations, root / "annotations_extracted")
    size = size or 128
    folder = pets_mask_folder(img_root, ann_root, root / f"segmentation_{size}", size)
    data = load_mask_folder(folder, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    data.info["name"] = "download:oxford_pets"
    return data
