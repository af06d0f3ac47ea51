"""The incremental decode cache: a warm start reads nothing but stat(), changes are applied file by
file, and every result equals a cold decode (the oracle) and the in-memory statistics."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.data import image_cache
from deepdojo.data.image_cache import sync_folder, train_stats
from deepdojo.data.images import ImageFolder
from deepdojo.data.leakage import find_leaks
from deepdojo.data.transforms import image_stats


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def _folder(root, n=12, seed=0, mode="L"):
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = (6, 6) if mode == "L" else (6, 6, 3)
        path = root / "ab"[i % 2] / f"{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return root


def _cold(root, tmp_path, name, **kw):
    return ImageFolder(root, cache_dir=tmp_path / name, **kw)  # a fresh cache: the oracle


def _equal(a: ImageFolder, b: ImageFolder) -> bool:
    return (a.paths == b.paths and torch.equal(a.x, b.x) and a.fingerprint == b.fingerprint
            and np.array_equal(a.labels, b.labels) and a.stats == b.stats)


def test_warm_start_reads_nothing_but_stat(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d")
    ImageFolder(root, cache_dir=tmp_path / "c")
    opened, stats = [], []
    real_open, real_stat = open, os.stat
    monkeypatch.setattr(image_cache, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k), raising=False)
    monkeypatch.setattr(image_cache.os, "stat", lambda p, *a, **k: stats.append(p) or real_stat(p, *a, **k))
    warm = ImageFolder(root, cache_dir=tmp_path / "c")
    assert opened == [] and len([p for p in stats if str(p).endswith(".png")]) == 12
    assert warm.cache.decoded == 0 and warm.cache.hashed == 0
    monkeypatch.undo()
    assert _equal(warm, _cold(root, tmp_path, "c2"))


def test_touched_file_is_hashed_not_decoded_and_rehash_hashes_all(tmp_path):
    root = _folder(tmp_path / "d")
    first = ImageFolder(root, cache_dir=tmp_path / "c")
    p = root / "a" / "00.png"
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    touched = ImageFolder(root, cache_dir=tmp_path / "c")
    assert touched.cache.hashed == 1 and touched.cache.decoded == 0 and _equal(first, touched)
    again = ImageFolder(root, cache_dir=tmp_path / "c")
    assert again.cache.hashed == 0  # the new mtime was recorded
    forced = ImageFolder(root, cache_dir=tmp_path / "c", rehash=True)
    assert forced.cache.hashed == 12 and forced.cache.decoded == 0 and _equal(first, forced)


def test_added_removed_changed_files_equal_a_cold_decode(tmp_path):
    root = _folder(tmp_path / "d")
    ImageFolder(root, cache_dir=tmp_path / "c")
    (root / "b" / "03.png").unlink()
    _folder(tmp_path / "extra", n=3, seed=5)
    for f in (tmp_path / "extra").rglob("*.png"):
        os.replace(f, root / f.parent.name / f"new{f.name}")
    Image.new("L", (6, 6), 7).save(root / "a" / "02.png")  # changed bytes
    warm = ImageFolder(root, cache_dir=tmp_path / "c")
    assert warm.cache.decoded == 4 and len(warm) == 14
    assert _equal(warm, _cold(root, tmp_path, "cold"))


def test_a_colour_image_arriving_widens_the_gray_cache(tmp_path):
    root = _folder(tmp_path / "d", n=300)  # > one chunk of files: widening rewrites rows already written
    assert ImageFolder(root, cache_dir=tmp_path / "c").x.shape[1] == 1
    Image.fromarray(np.full((6, 6, 3), (1, 2, 3), dtype=np.uint8)).save(root / "b" / "zz.png")
    warm = ImageFolder(root, cache_dir=tmp_path / "c")
    assert warm.x.shape[1] == 3 and warm.cache.decoded == 1
    assert _equal(warm, _cold(root, tmp_path, "cold"))
    (root / "b" / "zz.png").unlink()  # all gray again: back to one channel
    back = ImageFolder(root, cache_dir=tmp_path / "c")
    assert back.x.shape[1] == 1 and back.cache.decoded == 0 and _equal(back, _cold(root, tmp_path, "cold2"))


def test_stats_from_sums_equal_image_stats_and_data_uses_them(tmp_path):
    root = _folder(tmp_path / "d", n=40, mode="RGB")
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    train = torch.from_numpy(f.splits["train"])
    assert f.stats == image_stats(f.x, index=train)  # exact integer sums: the same floats
    data = f.to_data(batch_size=8)
    assert data.info["transform"]["mean"] == pytest.approx(f.stats[0], abs=1e-7)
    rec = f.cache.records[f.cache.good()]
    assert train_stats(rec, np.arange(len(rec)), 3, 36) == image_stats(f.x)


def test_bad_files_remembered_and_leaks_cached(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d")
    (root / "a" / "bad.png").write_bytes(b"not an image")
    Image.open(root / "a" / "00.png").save(root / "b" / "copy.png")  # an exact duplicate of a train image
    first = ImageFolder(root, cache_dir=tmp_path / "c", skip_bad=True, valid_pct=0.5, seed=1)
    calls = []
    monkeypatch.setattr("deepdojo.data.images.find_leaks", lambda *a, **k: calls.append(1) or find_leaks(*a, **k))
    warm = ImageFolder(root, cache_dir=tmp_path / "c", skip_bad=True, valid_pct=0.5, seed=1)
    assert [p.where for p in warm.skipped] == ["a/bad.png"] and warm.leaks == first.leaks and calls == []
    other = ImageFolder(root, cache_dir=tmp_path / "c", skip_bad=True, valid_pct=0.5, seed=2)  # another split
    assert calls == [1] and other.cache.decoded == 0
    assert ImageFolder(root, cache_dir=tmp_path / "c", skip_bad=True, leak_check=False).leaks is None


def test_sync_reports_a_file_that_vanished_after_the_scan(tmp_path):
    root = _folder(tmp_path / "d", n=4)
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    (root / paths[1]).unlink()
    view = sync_folder(root, paths, None, cache_dir=tmp_path / "c")
    assert [p.kind for p in view.problems] == ["missing_file"] and view.problems[0].where == paths[1]
    assert len(view.x) == 3 and view.records["row"].tolist() == [0, -1, 1, 2]


def test_memory_mapped_rows_are_private(tmp_path):
    root = _folder(tmp_path / "d", n=4)
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    before = f.x.clone()
    f.x[0] = 0  # copy-on-write: the cache file is untouched
    assert torch.equal(ImageFolder(root, cache_dir=tmp_path / "c").x, before)


def test_cached_hashes_equal_the_hashes_of_the_tensor(tmp_path):
    from deepdojo.data.leakage import all_hashes

    root = _folder(tmp_path / "d", n=10)
    _folder(tmp_path / "d", n=5, seed=3, mode="RGB")  # overwrites 00..04 with colour: a mixed folder
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    rec = f.cache.records[f.cache.good()]
    phash, digest = all_hashes(f.x)
    assert f.x.shape[1] == 3 and np.array_equal(rec["phash"], phash)
    colour = rec["channels"] == 3  # gray files keep the digest of their own (1-channel) pixels
    assert colour.sum() == 5 and np.array_equal(rec["digest"][colour], digest[colour])


def test_batches_from_the_memory_map_equal_batches_from_memory(tmp_path):
    from deepdojo.data.core import Data

    f = ImageFolder(_folder(tmp_path / "d", n=40, mode="RGB"), cache_dir=tmp_path / "c")
    mapped = f.to_data(batch_size=8, augment="default", seed=3)
    in_memory = Data.from_tensors(f.x.clone(), torch.from_numpy(f.labels), splits=f.splits, batch_size=8, seed=3,
                                  augment="default", classes=f.classes)
    for epoch in (0, 1):
        mapped.train.set_epoch(epoch), in_memory.train.set_epoch(epoch)
        for (xa, ya), (xb, yb) in zip(mapped.train, in_memory.train):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_unwritable_cache_is_a_one_line_data_error(tmp_path):
    from deepdojo.errors import DataError

    root = _folder(tmp_path / "d", n=4)
    (tmp_path / "ro").write_text("a file where the cache folder should be")
    with pytest.raises(DataError, match="cannot write the image cache") as e:
        ImageFolder(root, cache_dir=tmp_path / "ro")
    assert "DEEPDOJO_CACHE" in str(e.value)
