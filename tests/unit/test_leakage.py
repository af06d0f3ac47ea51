"""Leakage across splits: planted exact duplicates all found; near duplicates (resized,
recompressed, slightly cropped) >= 95% found with <= 1% false alarms; --dedupe drops them.
Calibration: no false alarms on the 8x8 digits (the hash alone flags ~half) or on real photos;
the multi-index search returns exactly the pairs an all-pairs comparison does."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.data.images import ImageFolder
from deepdojo.data.leakage import find_leaks, hamming_pairs


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


# ---------------------------------------------------------------- calibration (issue 13, item 11)


def _digits_split():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy((d.images * 255 / 16).round().astype(np.uint8))[:, None]  # (1797, 1, 8, 8)
    perm = np.random.default_rng(0).permutation(len(x))
    return x, {"train": np.sort(perm[359:]), "valid": np.sort(perm[:359])}


def _photo_tiles():
    """64x64 tiles of scikit-learn's two sample photographs: 120 real, different images."""
    from sklearn.datasets import load_sample_images

    tiles = [im[r : r + 64, c : c + 64] for im in load_sample_images().images
             for r in range(0, im.shape[0] - 63, 64) for c in range(0, im.shape[1] - 63, 64)]
    return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()


def test_no_false_alarms_on_digits_where_the_hash_alone_flags_half():
    x, splits = _digits_split()
    hash_only = find_leaks(x, splits, max_pixel_diff=float("inf"))
    assert len(hash_only) > 100  # 8x8 digits: unrelated pairs within 8 bits (what the probe found)
    leaks = find_leaks(x, splits)
    assert len(leaks) <= 3, leaks  # <= 1% of the 359 validation digits (0 today)


def test_no_false_alarms_on_photos_and_copies_of_them_found():
    x = _photo_tiles()
    perm = np.random.default_rng(0).permutation(len(x))
    splits = {"train": np.sort(perm[24:]), "valid": np.sort(perm[:24])}
    assert find_leaks(x, splits) == []
    # valid gets a brighter copy, a recompressed copy and a resized copy of three training tiles
    copies = []
    textured = splits["train"][np.argsort(-x[splits["train"]].float().std(dim=(1, 2, 3)).numpy())[:3]]
    # (a flat tile's hash bits are unstable: a JPEG copy of sky can differ by 20+ bits, as before)
    for k, src in enumerate(textured):
        img = Image.fromarray(x[src].permute(1, 2, 0).numpy())
        if k == 0:
            arr = np.clip(np.asarray(img).astype(int) + 12, 0, 255).astype(np.uint8)
        elif k == 1:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=60)
            arr = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        else:
            arr = np.asarray(img.resize((40, 40), Image.Resampling.LANCZOS).resize((64, 64), Image.Resampling.BILINEAR))
        copies.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
    x2 = torch.cat([x, torch.stack(copies)])
    splits2 = {"train": splits["train"], "valid": np.concatenate([splits["valid"], np.arange(len(x), len(x) + 3)])}
    found = {(l.index, l.train_index, l.kind) for l in find_leaks(x2, splits2)}
    assert found == {(len(x) + k, int(textured[k]), "near_duplicate") for k in range(3)}


def test_multi_index_search_equals_all_pairs():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 2000, dtype=np.int64).astype(np.uint64)
    query = base[rng.integers(0, 2000, 400)].copy()
    for i in range(len(query)):  # 0..12 random bit flips away from a base hash
        for b in rng.integers(0, 64, rng.integers(0, 13)):
            query[i] ^= np.uint64(1) << np.uint64(b)
    dist = np.bitwise_count(query[:, None] ^ base[None, :])  # (400, 2000): the quadratic oracle
    for t in (0, 3, 8, 11, 14):
        qi, bj, d = hamming_pairs(query, base, t, block=997)  # small blocks: the streamed path too
        want = set(zip(*np.nonzero(dist <= t)))
        assert set(zip(qi.tolist(), bj.tolist())) == {(int(a), int(b)) for a, b in want} and len(qi) == len(want)
        assert np.array_equal(d, dist[qi, bj])


def test_leaks_of_image_csv_are_found_and_deduped(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        _smooth(rng).save(tmp_path / f"{i}.png")
        rows.append(f"{i}.png,{'ab'[i % 2]},{'valid' if i >= 16 else 'train'}")
    _smooth(np.random.default_rng(0)).save(tmp_path / "copy.png")  # the same picture as 0.png
    rows.append("copy.png,a,valid")
    (tmp_path / "list.csv").write_text("path,label,split\n" + "\n".join(rows) + "\n")
    from deepdojo.data.csv_sources import image_csv

    data = image_csv(tmp_path / "list.csv", cache_dir=tmp_path / "c")
    leaks = data.info["leaks"]
    assert leaks["checked"] and leaks["exact"] == 1 and leaks["examples"][0]["item"] == "copy.png"
    assert leaks["examples"][0]["match"] == "0.png" and data.info["sizes"]["valid"] == 5
    assert any(p["kind"] == "exact_duplicate" for p in data.info["check"]["problems"])
    deduped = image_csv(tmp_path / "list.csv", cache_dir=tmp_path / "c", dedupe=True)
    assert deduped.info["sizes"]["valid"] == 4
    assert image_csv(tmp_path / "list.csv", cache_dir=tmp_path / "c", leak_check=False).info["leaks"] == {"checked": False}


def test_plain_images_of_different_grey_are_not_near_copies():
    x = torch.arange(0, 250, 25, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 16, 16).contiguous()
    assert find_leaks(x, {"train": np.arange(6), "valid": np.arange(6, 10)}) == []
    x[9] = x[2]
    assert [(l.index, l.train_index, l.kind) for l in find_leaks(x, {"train": np.arange(6), "valid": np.arange(6, 10)})] \
        == [(9, 2, "exact_duplicate")]
