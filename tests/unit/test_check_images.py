"""Image checks on a generated corpus: every bad file found with its reason, no false alarms,
every colour mode decoded to the expected RGB (numpy formulas as the oracle)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.data.check_images import decode_checked, decode_many
from deepdojo.data.checks import DataCheckError
from deepdojo.data.images import ImageFolder, decode_image
from deepdojo.errors import DataError
from image_corpus import bad_corpus, clean_corpus, encode, png_bomb, random_rgb, write


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def test_every_bad_file_is_reported_with_its_reason(tmp_path):
    root = tmp_path / "d"
    expected = bad_corpus(root)
    with pytest.raises(DataCheckError) as e:
        ImageFolder(root, size=8, cache_dir=tmp_path / "c")
    report = e.value.report
    assert {p.where: p.kind for p in report.errors} == expected  # all of them, nothing else
    assert all(p.reason and p.fix for p in report.errors)
    assert f"{len(expected)} bad items" in str(e.value) and "--skip-bad" in str(e.value)
    warned = {p.where: p.kind for p in report.warnings}
    assert warned == {"a/noext": "no_extension", "b/anim.gif": "animated"}


def test_skip_bad_keeps_the_good_files_and_lists_the_rest(tmp_path):
    root = tmp_path / "d"
    expected = bad_corpus(root)
    f = ImageFolder(root, size=8, skip_bad=True, cache_dir=tmp_path / "c")
    assert {p.where for p in f.skipped} == set(expected)
    assert len(f.paths) == len(f.x) == 15  # 12 good + noext + anim.gif + photo.webp
    assert not any(p in expected for p in f.paths) and "a/noext" in f.paths
    assert f.classes == ["a", "b"]
    again = ImageFolder(root, size=8, skip_bad=True, cache_dir=tmp_path / "c")  # from the cache
    assert again.paths == f.paths and {p.where for p in again.skipped} == set(expected)
    data = f.to_data(batch_size=4)
    assert {s["where"] for s in data.info["skipped"]} == set(expected)


def test_no_false_positives_on_1000_clean_images(tmp_path):
    root = tmp_path / "clean"
    n = clean_corpus(root, n=1000)
    f = ImageFolder(root, size=16, cache_dir=tmp_path / "c")  # >= 256 files: the process pool decodes
    assert f.report.problems == [] and len(f) == n and f.x.shape == (n, 3, 16, 16)
    paths = f.paths[:300]
    serial, _ = decode_many(root, paths, 16, workers=1)
    pooled, _ = decode_many(root, paths, 16, workers=2)
    assert all(np.array_equal(a, b) for a, b in zip(serial, pooled))


def _within_one(got: np.ndarray, want: np.ndarray):
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - np.rint(want).astype(int)).max() <= 1


def test_modes_decode_to_the_expected_rgb(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
    alpha = rng.integers(0, 256, (5, 7)).astype(np.uint8)
    p = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(p)
    a = alpha[..., None] / 255.0
    _within_one(decode_image(p), rgb * a + 255 * (1 - a))  # on white, not black

    g16 = rng.integers(0, 65536, (5, 7)).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    _within_one(decode_image(tmp_path / "g16.png"), g16 / 65535.0 * 255)

    pal = Image.fromarray(rgb).quantize(8)
    pal.save(tmp_path / "p.png")
    palette = np.array(pal.getpalette()[:24]).reshape(8, 3)
    _within_one(decode_image(tmp_path / "p.png"), palette[np.asarray(pal)])

    pal.info["transparency"] = 0  # palette index 0 is see-through
    pal.save(tmp_path / "pt.png", transparency=0)
    idx = np.asarray(pal)
    want = np.where((idx == 0)[..., None], 255, palette[idx])
    _within_one(decode_image(tmp_path / "pt.png"), want)

    cmyk = rng.integers(0, 256, (5, 7, 4)).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "cmyk.tif")
    c = cmyk.astype(float) / 255
    _within_one(decode_image(tmp_path / "cmyk.tif"), 255 * (1 - c[..., :3]) * (1 - c[..., 3:]))


# EXIF orientation -> what a viewer shows, as numpy ops on the stored pixels (H, W, C)
ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("orientation", sorted(ORIENT))
def test_exif_orientation_is_applied(tmp_path, orientation):
    stored = np.random.default_rng(orientation).integers(0, 256, (3, 5, 3)).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "o.png", exif=exif)
    _within_one(decode_image(tmp_path / "o.png"), ORIENT[orientation](stored))


def test_bombs_refused_and_huge_images_downscaled(tmp_path):
    write(tmp_path / "bomb.png", png_bomb())
    with pytest.raises(DataError, match="decompression bomb") as e:
        decode_image(tmp_path / "bomb.png")
    assert str(tmp_path / "bomb.png") in str(e.value)
    Image.new("L", (300, 300)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match="over the limit of 50000"):
        decode_image(tmp_path / "big.png", max_pixels=50_000)
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((2000, 1500))  # smooth
    big.save(tmp_path / "huge.png")
    got, _ = decode_checked(tmp_path / "huge.png", size=32)
    want = np.asarray(big.resize((43, 32), Image.Resampling.BILINEAR).crop((5, 0, 37, 32)))
    assert got.shape == (32, 32, 3) and np.abs(got.astype(int) - want).mean() < 3


def test_cli_data_check_lists_every_bad_file(tmp_path, capsys):
    root = tmp_path / "d"
    expected = bad_corpus(root)
    assert main(["data", "check", str(root), "--size", "8", "--json"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {p["where"]: p["kind"] for p in out["problems"] if p["severity"] == "error"} == expected
    assert out["ok"] is False and out["errors"] == len(expected)
    assert main(["data", "check", str(root), "--size", "8"]) == 2
    text = capsys.readouterr().out
    assert all(rel in text for rel in expected)
    clean = tmp_path / "clean"
    clean_corpus(clean, n=20)
    assert main(["data", "check", str(clean), "--size", "8"]) == 0


def test_train_stops_before_epoch_one_and_skip_bad_records_skipped(tmp_path, capsys):
    root = tmp_path / "d"
    expected = bad_corpus(root)
    args = ["train", str(root), "--size", "8", "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"),
            "--name", "r", "--device", "cpu", "--arch", "mlp"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert all(rel in err for rel in expected) and err.strip().splitlines()[-1].startswith("deepdojo: error:")
    assert not (tmp_path / "runs" / "r" / "metrics.jsonl").exists()
    assert main(args + ["--skip-bad", "--json"]) == 0
    run = tmp_path / "runs" / "r"
    skipped = json.loads((run / "skipped.json").read_text())["skipped"]
    assert {s["where"] for s in skipped} == set(expected)
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
