"""``download:omniglot``: the one-shot benchmark's handwritten characters, read straight from the published zips.

Omniglot (Lake et al.) has 1,623 characters from 50 alphabets, 20 drawings
each (105x105 black-on-white PNGs). ``images_background.zip`` (30 alphabets)
gives the training identities, split by identity into train and valid;
``images_evaluation.zip`` (20 other alphabets) is the sealed test split —
alphabets never seen in training, as in the original one-shot protocol.
Images are read from the zips (no extraction), inverted to white ink on
black and resized to ``size`` (28 by default). Identities are named
``Alphabet/characterNN``.

Example (a tiny zip of the same layout; the real ones are downloaded):
    >>> import io, tempfile, zipfile
    >>> from PIL import Image
    >>> p = Path(tempfile.mkdtemp()) / "images_background.zip"
    >>> with zipfile.ZipFile(p, "w") as z:
    ...     for c in (1, 2):
    ...         for k in (1, 2):
    ...             buf = io.BytesIO(); Image.new("1", (105, 105), 1).save(buf, "PNG")
    ...             z.writestr(f"images_background/Latin/character{c:02d}/0{c}_{k:02d}.png", buf.getvalue())
    >>> x, names = read_omniglot_zip(p, size=28)
    >>> x.shape, names[:2], int(x.max())
    ((4, 1, 28, 28), ['Latin/character01', 'Latin/character01'], 0)
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.data.identities import identity_data_with_splits, identity_splits
from deepdojo.errors import DataError


def read_omniglot_zip(path: Path, size: int = 28) -> tuple[np.ndarray, list[str]]:
    """``(x uint8 (N, 1, size, size) white ink on black, identity names (N,))`` from an Omniglot zip."""
    from PIL import Image

    xs, names = [], []
    try:
        with zipfile.ZipFile(path) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                parts = info.filename.split("/")
                if info.is_dir() or not parts[-1].lower().endswith(".png"):
                    continue
                if len(parts) < 3:
                    raise DataError(f"{info.filename!r} is not <alphabet>/<character>/<drawing>.png", where=str(path),
                                    fix="delete the file and download it again")
                img = Image.open(io.BytesIO(z.read(info))).convert("L").resize((size, size), Image.BILINEAR)
                xs.append(255 - np.asarray(img, np.uint8))  # ink (black) becomes bright, like the other image sets
                names.append(f"{parts[-3]}/{parts[-2]}")
    except zipfile.BadZipFile as e:
        raise DataError(f"not a readable zip: {e}", where=str(path), fix="delete it and download again") from None
    if not xs:
        raise DataError("no PNG drawings in the zip", where=str(path), fix="delete it and download again")
    return np.stack(xs)[:, None], names


def load_omniglot(paths: list[Path], *, size: int | None = None, valid_pct: float = 0.2, seed: int = 0,
                  batch_size: int = 128) -> Data:
    """Background zip -> train/valid (identities held out), evaluation zip -> sealed test; task ``verification``."""
    by = {p.name: p for p in paths}
    try:
        bg, ev = by["images_background.zip"], by["images_evaluation.zip"]
    except KeyError as e:
        raise DataError(f"no {e.args[0]} among the downloaded files", where=str(paths[0].parent),
                        fix="the omniglot entry needs images_background.zip and images_evaluation.zip") from None
    x_bg, n_bg = read_omniglot_zip(bg, size or 28)
    x_ev, n_ev = read_omniglot_zip(ev, size or 28)
    classes = sorted(set(n_bg)) + sorted(set(n_ev) - set(n_bg))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[n] for n in n_bg + n_ev], np.int64)
    splits = identity_splits(y[: len(n_bg)], valid_pct=valid_pct, test_pct=0.0, seed=seed)
    splits["test"] = np.arange(len(n_bg), len(y))  # other alphabets: the one-shot protocol's evaluation set
    return identity_data_with_splits(torch.from_numpy(np.concatenate([x_bg, x_ev])), torch.from_numpy(y), classes,
                                     splits, seed=seed, batch_size=batch_size, name="download:omniglot")
