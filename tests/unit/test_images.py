"""ImageFolder: layouts, decoding (against Pillow as the oracle), the cache, errors, to_data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.data import check_images
from deepdojo.data.builtin import digits_arrays, export_image_folder
from deepdojo.data.images import ImageFolder, decode_image
from deepdojo.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    # never touch ~/.cache from tests, even where cache_dir is not passed
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def _save(path, img: Image.Image, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def _gray(path, value: int = 0, size=(4, 4)):
    return _save(path, Image.new("L", size, value))


def _rgb(path, color=(10, 20, 30), size=(4, 4)):
    return _save(path, Image.new("RGB", size, color))


def _class_folder(root, counts: dict[str, int]):
    """``root/<class>/<i>.png``: 4x4 grayscale, pixel value 10 * i."""
    for name, n in counts.items():
        for i in range(n):
            _gray(root / name / f"{i}.png", value=i * 10)
    return root


def _decode_counter(monkeypatch):
    calls = []
    real = check_images.decode_checked  # every file decode of the first pass goes through here

    def counting(*args, **kw):
        calls.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(check_images, "decode_checked", counting)
    return calls


# ---------------------------------------------------------------- layouts and splits


def test_class_folder_layout(tmp_path):
    root = _class_folder(tmp_path / "pets", {"dog": 6, "cat": 4, "bird": 5})
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    assert f.classes == ["bird", "cat", "dog"]
    assert f.paths == sorted(f.paths) and len(f.paths) == 15 and f.paths[0] == "bird/0.png"
    assert f.labels.dtype == np.int64
    assert [f.classes[label] for label in f.labels] == [p.split("/")[0] for p in f.paths]
    tr, va = f.splits["train"], f.splits["valid"]
    assert set(f.splits) == {"train", "valid"} and tr.dtype == va.dtype == np.int64
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(15))
    assert set(f.labels[va].tolist()) == {0, 1, 2} and set(f.labels[tr].tolist()) == {0, 1, 2}
    assert f.x.shape == (15, 1, 4, 4) and f.x.dtype == torch.uint8


def test_split_depends_on_seed(tmp_path):
    root = _class_folder(tmp_path / "d", {"a": 20, "b": 20})
    s0 = ImageFolder(root, seed=0, cache_dir=tmp_path / "c").splits["valid"]
    assert np.array_equal(s0, ImageFolder(root, seed=0, cache_dir=tmp_path / "c").splits["valid"])
    assert not np.array_equal(s0, ImageFolder(root, seed=1, cache_dir=tmp_path / "c").splits["valid"])
    assert len(ImageFolder(root, valid_pct=0.5, cache_dir=tmp_path / "c").splits["valid"]) == 20


def test_split_layout_used_as_given(tmp_path):
    root = tmp_path / "d"
    for part, n in (("train", 3), ("val", 2), ("test", 1)):
        _class_folder(root / part, {"a": n, "b": n})
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    assert f.classes == ["a", "b"] and len(f.paths) == 12
    for part, folder in (("train", "train"), ("valid", "val"), ("test", "test")):
        n = {"train": 6, "val": 4, "test": 2}[folder]
        assert [f.paths[i].split("/")[0] for i in f.splits[part]] == [folder] * n
    assert [f.classes[f.labels[i]] for i in range(12)] == [p.split("/")[1] for p in f.paths]


def test_train_only_layout_is_split_by_valid_pct(tmp_path):
    root = tmp_path / "d"
    _class_folder(root / "train", {"a": 10, "b": 10})
    _class_folder(root / "test", {"a": 2, "b": 2})
    f = ImageFolder(root, valid_pct=0.2, cache_dir=tmp_path / "c")
    assert len(f.splits["valid"]) == 4 and len(f.splits["train"]) == 16 and len(f.splits["test"]) == 4
    assert all(f.paths[i].startswith("train/") for i in f.splits["valid"])
    assert sorted(f.labels[f.splits["valid"]].tolist()) == [0, 0, 1, 1]


def test_class_only_in_valid_is_an_error(tmp_path):
    root = tmp_path / "d"
    _class_folder(root / "train", {"a": 2, "b": 2})
    _class_folder(root / "valid", {"a": 1, "zebra": 1})
    with pytest.raises(DataError, match="zebra"):
        ImageFolder(root, cache_dir=tmp_path / "c")


def test_hidden_and_non_image_files_are_skipped(tmp_path):
    root = _class_folder(tmp_path / "d", {"a": 2, "b": 2})
    _gray(root / "a" / ".hidden.png")
    _gray(root / ".cache" / "x.png")
    _gray(root / "a" / ".thumbs" / "y.png")
    (root / "a" / "notes.txt").write_text("not an image")
    _gray(root / "b" / "UPPER.PNG")
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    assert f.classes == ["a", "b"]
    assert f.paths == ["a/0.png", "a/1.png", "b/0.png", "b/1.png", "b/UPPER.PNG"]


# ---------------------------------------------------------------- decoding


def test_native_size_kept_and_mixed_sizes_need_size(tmp_path):
    root = tmp_path / "d"
    for name in ("a", "b"):
        _rgb(root / name / "0.png", size=(7, 5))
    assert ImageFolder(root, cache_dir=tmp_path / "c").x.shape == (2, 3, 5, 7)
    _rgb(root / "b" / "1.png", size=(6, 6))
    with pytest.raises(DataError, match="size=") as e:
        ImageFolder(root, cache_dir=tmp_path / "c")
    assert str(root) in str(e.value)
    assert ImageFolder(root, size=4, cache_dir=tmp_path / "c").x.shape == (3, 3, 4, 4)


@pytest.mark.parametrize("wh", [(10, 6), (6, 11), (3, 5)])
def test_size_is_shorter_side_resize_then_center_crop(tmp_path, wh):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8))
    path = _save(tmp_path / "x.png", img)
    n = 4
    w, h = wh
    nw, nh = round(w * n / min(w, h)), round(h * n / min(w, h))
    oracle = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - n) // 2, (nh - n) // 2
    oracle = np.asarray(oracle.crop((left, top, left + n, top + n)))
    np.testing.assert_array_equal(decode_image(path, size=n), oracle)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 1] = (0, 0, 0, 255)  # opaque black
    rgba[1, 0] = (0, 0, 0, 128)  # half-transparent black over white -> ~127
    a = decode_image(_save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA")))
    assert a.shape == (2, 2, 3)
    assert a[0, 0].tolist() == [255, 255, 255] and a[0, 1].tolist() == [0, 0, 0]
    assert abs(int(a[1, 0, 0]) - 127) <= 1
    la = Image.fromarray(np.array([[[0, 0], [0, 255]]], dtype=np.uint8), "LA")
    assert decode_image(_save(tmp_path / "la.png", la)).tolist() == [[255, 0]]


def test_palette_images(tmp_path):
    p = Image.new("P", (2, 1))
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.putpixel((1, 0), 1)
    assert decode_image(_save(tmp_path / "p.png", p)).tolist() == [[[255, 0, 0], [0, 0, 255]]]
    assert decode_image(_save(tmp_path / "pt.png", p, transparency=0)).tolist() == [[[255, 255, 255], [0, 0, 255]]]


def test_16bit_grayscale_is_scaled_not_clipped(tmp_path):
    img = Image.fromarray(np.array([[0, 32768, 65535, 257]], dtype=np.uint16))
    path = _save(tmp_path / "g16.png", img)
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # Pillow keeps 16 bits: the scaling below is ours
    a = decode_image(path)
    assert a.dtype == np.uint8 and a.shape == (1, 4)
    assert a[0, 0] == 0 and a[0, 2] == 255 and abs(int(a[0, 1]) - 128) <= 1 and a[0, 3] == 1


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (4, 2))
    img.putpixel((0, 0), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    a = decode_image(_save(tmp_path / "e.png", img, exif=exif))
    assert a.shape == (4, 2, 3)  # 4 wide x 2 tall became 2 wide x 4 tall
    assert a[0, 1].tolist() == [255, 0, 0]  # top-left corner turned to top-right
    np.testing.assert_array_equal(a, np.asarray(img.transpose(Image.Transpose.ROTATE_270)))


def test_channels_grayscale_only_vs_mixed(tmp_path):
    root = tmp_path / "d"
    _gray(root / "a" / "0.png", 50)
    _save(root / "b" / "0.png", Image.new("1", (4, 4), 1))
    _save(root / "b" / "1.png", Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)))
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    assert f.x.shape == (3, 1, 4, 4) and f.x[:, 0, 0, 0].tolist() == [50, 255, 255]
    _rgb(root / "b" / "2.png", (1, 2, 3))
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    assert f.x.shape == (4, 3, 4, 4)
    assert f.x[0, :, 0, 0].tolist() == [50, 50, 50] and f.x[3, :, 0, 0].tolist() == [1, 2, 3]


# ---------------------------------------------------------------- cache


def test_cache_second_construction_decodes_nothing(tmp_path, monkeypatch):
    root = _class_folder(tmp_path / "d", {"a": 3, "b": 3})
    calls = _decode_counter(monkeypatch)
    first = ImageFolder(root, cache_dir=tmp_path / "c")
    assert len(calls) == 6 and first.cache.decoded == 6
    second = ImageFolder(root, cache_dir=tmp_path / "c")
    assert len(calls) == 6 and torch.equal(first.x, second.x) and first.fingerprint == second.fingerprint
    assert second.cache.decoded == 0 and second.cache.hashed == 0 and second.cache_path == first.cache_path
    gen = first.cache_path
    assert gen.parent.parent == tmp_path / "c" / "images"
    assert sorted(p.name for p in gen.iterdir()) == ["manifest.json", "paths.bin", "pixels.u8", "records.npy"]
    raw = np.fromfile(gen / "pixels.u8", dtype=np.uint8)  # raw uint8 rows, never pickle
    assert torch.equal(torch.from_numpy(raw).view(first.x.shape), first.x)
    assert sorted(p.name for p in gen.parent.iterdir()) == ["current", gen.name]  # no temp left
    ImageFolder(root, size=2, cache_dir=tmp_path / "c")  # other decode settings: another cache
    assert len(calls) == 12


def test_cache_changed_file_redecodes(tmp_path, monkeypatch):
    root = _class_folder(tmp_path / "d", {"a": 2, "b": 2})
    first = ImageFolder(root, cache_dir=tmp_path / "c")
    _gray(root / "a" / "0.png", 200)
    calls = _decode_counter(monkeypatch)
    second = ImageFolder(root, cache_dir=tmp_path / "c")
    assert len(calls) == 1 and second.cache.decoded == 1 and second.fingerprint != first.fingerprint
    assert second.x[0, 0, 0, 0] == 200 and first.x[0, 0, 0, 0] == 0  # the old mapping still reads the old pixels


def test_cache_default_dir_and_corrupt_cache_file(tmp_path, monkeypatch):
    root = _class_folder(tmp_path / "d", {"a": 2, "b": 2})
    f = ImageFolder(root)
    assert (tmp_path / "env-cache" / "images") in f.cache_path.parents and (f.cache_path / "pixels.u8").is_file()
    expected = f.x.clone()
    for name, garbage in (("records.npy", b"garbage"), ("pixels.u8", b"short"), ("manifest.json", b"{")):
        (ImageFolder(root).cache_path / name).write_bytes(garbage)
        calls = _decode_counter(monkeypatch)
        again = ImageFolder(root)
        assert torch.equal(again.x, expected) and len(calls) == 4, name  # a miss: decoded and rewritten


# ---------------------------------------------------------------- errors


def test_errors_name_the_path(tmp_path):
    cases = []
    cases.append((tmp_path / "missing", "does not exist"))
    (tmp_path / "file.png").write_bytes(b"x")
    cases.append((tmp_path / "file.png", "not a folder"))
    (tmp_path / "empty").mkdir()
    cases.append((tmp_path / "empty", "no images found"))
    cases.append((_class_folder(tmp_path / "one", {"only": 2}), "at least 2"))
    for path, what in cases:
        with pytest.raises(DataError, match=what) as e:
            ImageFolder(path, cache_dir=tmp_path / "c")
        assert str(path) in str(e.value) and "fix:" in str(e.value)


def test_empty_class_folder_is_named(tmp_path):
    root = _class_folder(tmp_path / "d", {"a": 2, "b": 2})
    (root / "c").mkdir()
    (root / "c" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images") as e:
        ImageFolder(root, cache_dir=tmp_path / "c")
    assert str(root / "c") in str(e.value)


def test_corrupt_file_is_named(tmp_path):
    root = _class_folder(tmp_path / "d", {"a": 2, "b": 2})
    bad = root / "b" / "x.png"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="not an image") as e:
        ImageFolder(root, cache_dir=tmp_path / "c")
    assert f"{root}: 1 bad item of 5: b/x.png" in str(e.value) and "remove or replace" in str(e.value)
    assert [p.where for p in e.value.report.errors] == ["b/x.png"]


# ---------------------------------------------------------------- to_data


def test_to_data_batches_and_train_normalization(tmp_path):
    root = tmp_path / "d"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        for i in range(8):
            _save(root / name / f"{i}.png", Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)))
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    data = f.to_data(batch_size=4)
    assert data.classes == ["a", "b"] and data.input_shape == (3, 6, 6)
    assert data.info["fingerprint"] == f.fingerprint and data.info["ids"] == f.paths
    xb, yb = next(iter(data.train))
    assert xb.shape == (4, 3, 6, 6) and xb.dtype == torch.float32 and yb.dtype == torch.int64
    train = f.x[torch.from_numpy(f.splits["train"])].float() / 255
    mean, std = train.mean(dim=(0, 2, 3)), train.std(dim=(0, 2, 3))
    np.testing.assert_allclose(data.info["transform"]["mean"], mean.tolist(), rtol=1e-5)
    xv, yv = next(iter(data.valid))  # valid: no augmentation, no shuffle
    expect = (f.x[torch.from_numpy(f.splits["valid"][:4])].float() / 255 - mean.view(3, 1, 1)) / std.view(3, 1, 1)
    torch.testing.assert_close(xv, expect, rtol=1e-4, atol=1e-4)
    assert yv.tolist() == f.labels[f.splits["valid"][:4]].tolist()
    assert data.train.transform.augment.flip  # colour -> "default"


def test_digits_round_trip_is_exact(tmp_path):
    root = export_image_folder("digits", tmp_path / "digits")
    f = ImageFolder(root, cache_dir=tmp_path / "c")
    x, y = digits_arrays()
    assert f.x.shape == (1797, 1, 8, 8) and f.classes == [str(i) for i in range(10)]
    order = [int(p.split("/")[1][:5]) for p in f.paths]  # "<label>/<index>.png"
    np.testing.assert_array_equal(f.x.numpy(), x[order])
    np.testing.assert_array_equal(f.labels, y[order])
    data = f.to_data()
    assert not data.train.transform.augment.flip  # grayscale -> "light": digits are not mirrored


def test_split_layout_errors(tmp_path):
    root = tmp_path / "d"
    for part in ("train", "valid", "val"):
        _class_folder(root / part, {"a": 1, "b": 1})
    with pytest.raises(DataError, match="both valid/ and val/"):
        ImageFolder(root, cache_dir=tmp_path / "c")
    shutil.rmtree(root / "valid")
    (root / "val" / "a" / "0.png").unlink()  # val/a/ is now empty
    with pytest.raises(DataError, match="class folder has no images") as e:
        ImageFolder(root, cache_dir=tmp_path / "c")
    assert str(root / "val" / "a") in str(e.value)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_size_is_a_config_error(tmp_path, size):
    root = _class_folder(tmp_path / "d", {"a": 1, "b": 1})
    with pytest.raises(ConfigError, match="size"):
        ImageFolder(root, size=size, cache_dir=tmp_path / "c")
