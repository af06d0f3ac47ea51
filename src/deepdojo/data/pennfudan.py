"""``download:pennfudan``: Penn-Fudan pedestrians (170 photos, instance masks) as a segmentation folder.

No checksum is published for ``PennFudanPed.zip`` (the authors' page gives
none, and torchvision's tutorial downloads it unchecked), and deepdojo never
uses an unverified download: the catalogue entry therefore does not fetch it.
``download:pennfudan`` says, in one line, where to get the zip and where to
put it; once it is there, it is read. ``PennFudanPed/PNGImages/<stem>.png``
and ``PennFudanPed/PedMasks/<stem>_mask.png`` (0 = background, k = the k-th
pedestrian) become the mask-folder layout with classes background / person at
``size`` x ``size`` (images bilinear, masks nearest), written once per size.

Example (instance ids become one "person" class):
    >>> import numpy as np
    >>> person_mask(np.array([[0, 1], [2, 0]])).tolist()
    [[0, 1], [1, 0]]
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from deepdojo.data.core import Data
from deepdojo.data.mask_folder import write_mask_folder
from deepdojo.errors import DataError

CLASSES = ("background", "person")


def person_mask(instances: np.ndarray) -> np.ndarray:
    """Instance ids ``(H, W)`` (0 = background) -> class ids (1 = any pedestrian), uint8."""
    return (np.asarray(instances) > 0).astype(np.uint8)


def pennfudan_mask_folder(archive: Path, dest: Path, size: int) -> Path:
    """Write ``dest/{images,masks}/<stem>.png`` + ``classes.txt`` once from the zip (built beside, then renamed)."""
    from PIL import Image

    if (dest / ".complete").exists():
        return dest
    try:
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            images = {Path(n).stem: n for n in names if "/PNGImages/" in n and n.lower().endswith(".png")}
            masks = {Path(n).stem[: -len("_mask")]: n for n in names if "/PedMasks/" in n and n.endswith("_mask.png")}
            stems = sorted(set(images) & set(masks))
            if not stems:
                raise DataError("no PNGImages/<stem>.png with a PedMasks/<stem>_mask.png in the zip", where=str(archive),
                                fix="put the original PennFudanPed.zip there")

            def items():
                for stem in stems:
                    img = Image.open(io.BytesIO(z.read(images[stem]))).convert("RGB")
                    img = img.resize((size, size), Image.BILINEAR)
                    inst = Image.open(io.BytesIO(z.read(masks[stem]))).resize((size, size), Image.NEAREST)
                    yield stem, img, person_mask(np.asarray(inst))

            return write_mask_folder(dest, CLASSES, items())  # inside the with: the items read the open zip
    except zipfile.BadZipFile as e:
        raise DataError(f"not a readable zip: {e}", where=str(archive), fix="download it again") from None


def load_pennfudan(paths: list[Path], *, size: int | None = None, valid_pct: float = 0.2, seed: int = 0,
                   batch_size: int = 16) -> Data:
    """The zip -> segmentation :class:`Data` (background / person) at ``size`` (default 192)."""
    from deepdojo.data.mask_folder import load_mask_folder

    size = size or 192
    folder = pennfudan_mask_folder(paths[0], paths[0].parent / f"segmentation_{size}", size)
    data = load_mask_folder(folder, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    data.info["name"] = "download:pennfudan"
    return data
