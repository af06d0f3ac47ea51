"""Leakage across splits: planted exact duplicates all found; near duplicates (resized,
recompressed, slightly cropped) >= 95% found with <= 1% false alarms; --dedupe drops them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from deepdojo.data.images import ImageFolder


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def _smooth(rng) -> Image.Image:
    """A photo-like 64x64 image: a random 6x6 colour field, bicubic-upscaled."""
    return Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((64, 64), Image.Resampling.BICUBIC)


def _near_copy(img: Image.Image, k: int) -> Image.Image:
    if k == 0:  # resized
        return img.resize((96, 96), Image.Resampling.LANCZOS)
    if k == 1:  # recompressed
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img.crop((2, 2, 62, 62))  # slightly cropped (~6% of the area)


def _planted(root, rng):
    originals = []
    for i in range(200):
        img = _smooth(rng)
        originals.append(img)
        img.save(root / "train" / "ab"[i % 2] / f"{i:03d}.png")
    planted = {}
    for j in range(20):  # exact copies
        originals[j].save(root / "valid" / "ab"[j % 2] / f"exact{j}.png")
        planted[f"valid/{'ab'[j % 2]}/exact{j}.png"] = ("exact_duplicate", f"train/{'ab'[j % 2]}/{j:03d}.png")
    for j in range(20, 80):  # near copies of three kinds
        cls = "ab"[j % 2]
        _near_copy(originals[j], j % 3).save(root / "valid" / cls / f"near{j}.png")
        planted[f"valid/{cls}/near{j}.png"] = ("near_duplicate", f"train/{cls}/{j:03d}.png")
    for j in range(100):  # genuinely new images
        _smooth(rng).save(root / "valid" / "ab"[j % 2] / f"new{j}.png")
    return planted


def test_exact_and_near_duplicates_across_splits(tmp_path):
    root = tmp_path / "d"
    for part in ("train", "valid"):
        for cls in "ab":
            (root / part / cls).mkdir(parents=True)
    planted = _planted(root, np.random.default_rng(0))
    f = ImageFolder(root, size=64, cache_dir=tmp_path / "c")
    found = {f.paths[l.index]: (l.kind, f.paths[l.train_index]) for l in f.leaks}
    exact = {p: v for p, v in planted.items() if v[0] == "exact_duplicate"}
    assert all(found.get(p) == v for p, v in exact.items())  # every exact copy, against its source
    near = [p for p, v in planted.items() if v[0] == "near_duplicate"]
    hits = sum(p in found and found[p][1] == planted[p][1] for p in near)
    assert hits >= 0.95 * len(near), hits
    false_alarms = [p for p in found if p not in planted]
    assert len(false_alarms) <= 1, false_alarms  # <= 1% of the 100 new images
    assert {p.kind for p in f.report.warnings} == {"exact_duplicate", "near_duplicate"} and f.report.ok
    deduped = ImageFolder(root, size=64, cache_dir=tmp_path / "c", dedupe=True)
    kept_valid = {deduped.paths[i] for i in deduped.splits["valid"]}
    assert not kept_valid & set(found) and len(kept_valid) == 180 - len(found)
    assert np.array_equal(deduped.splits["train"], f.splits["train"])
