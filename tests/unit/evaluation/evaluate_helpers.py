"""Small generated datasets and runs shared by the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_image_folder(root: Path, per_class=(16, 5, 5), classes=("a", "b", "c"), seed: int = 0) -> Path:
    """``root/{train,valid,test}/<class>/*.png``: 8x8 grayscale, class = which third of the image is bright."""
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "valid", "test"), per_class):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = rng.integers(0, 60, (8, 8)).astype(np.uint8)
                img[:, c * 3 : c * 3 + 2] += 150
                Image.fromarray(img, mode="L").save(folder / f"{i}.png")
    return root


def train_run(folder: Path, out: Path, name: str = "r1", epochs: int = 2, **kw):
    """A tiny CNN run on ``folder``; returns the Learner."""
    from deepdojo import vision

    learn = vision.classifier(str(folder), arch="cnn", out=str(out), name=name, progress=False, seed=0,
                              batch_size=16, model_kwargs={"widths": (8, 16)}, **kw)
    learn.fit(epochs, 1e-2)
    return learn
