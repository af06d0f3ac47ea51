"""Inputs that used to crash or mislead (issue 13): YAML alias bombs, infinite settings, truncated
images, symlink loops / dangling / escaping links, files that vanish, inf and overflow in CSVs."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.config import TrainConfig, read_config_file
from deepdojo.errors import ConfigError


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


def alias_bomb(levels: int, fan: int) -> str:
    """The classic 'billion laughs' inside ``model_kwargs`` (any mapping passes its type check):
    each level lists the previous one ``fan`` times."""
    lines = ["model_kwargs:", f"  l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- item 8: YAML alias bombs
def test_a_yaml_alias_bomb_is_refused_fast_on_the_cli(tmp_path, capsys):
    """~460 bytes, x9 per level: the old loader hung while describing the bad value."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9, 9))
    t0 = time.perf_counter()
    code = main(["train", "builtin:xor", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "bomb.yaml" in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - t0 < 5


def test_many_aliases_are_refused_and_few_still_work(tmp_path):
    many = tmp_path / "many.yaml"
    many.write_text("base: &b 0.1\n" + "".join(f"k{i}: *b\n" for i in range(150)))
    with pytest.raises(ConfigError, match="more than 100 YAML aliases"):
        read_config_file(many)
    few = tmp_path / "few.yaml"
    few.write_text("model_kwargs: &m {width: 8}\nlr: 0.1\n")
    assert TrainConfig.from_file(few).model_kwargs == {"width": 8}


def test_a_deep_binary_alias_tree_is_refused_by_its_expanded_size(tmp_path):
    """2 aliases per level, 40 levels: under the alias cap, 2**40 values expanded."""
    path = tmp_path / "deep.yaml"
    path.write_text(alias_bomb(40, 2))
    with pytest.raises(ConfigError, match="expands to more than"):
        read_config_file(path)


def test_a_huge_config_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\nlr: 0.1\n")
    with pytest.raises(ConfigError, match="larger than"):
        read_config_file(path)


# ----------------------------------------------------------------------------- item 10: --lr inf, truncated JPEG
@pytest.mark.parametrize("flag, value", [("--lr", "inf"), ("--lr", "1e400"), ("--lr", "nan"), ("--weight-decay", "inf")])
def test_infinite_or_nan_settings_are_refused(capsys, flag, value):
    code = main(["train", "builtin:xor", flag, value])
    err = capsys.readouterr().err
    assert code == 2 and "must be a finite number" in err, err


def test_infinite_values_in_a_config_file_are_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("lr = inf\n")
    with pytest.raises(ConfigError, match="lr: must be a finite number"):
        TrainConfig.from_file(path)


def jpeg_bytes(seed=0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("keep", [20, 300, 0.5])
def test_a_truncated_jpeg_is_labelled_corrupt_not_unreadable(tmp_path, keep):
    from deepdojo.data.check_images import decode_many

    raw = jpeg_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep
    (tmp_path / "cut.jpg").write_bytes(raw[:n])
    _, problems = decode_many(tmp_path, ["cut.jpg"], size=None)
    assert [p.kind for p in problems] == ["corrupt"] and "truncated or corrupt" in problems[0].reason


# ----------------------------------------------------------------------------- item 5: symlinks, vanishing files
def png(path, value=0, size=6) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (size, size), value).save(path)


def linked_folder(tmp_path):
    """Two good classes, and every kind of bad link; ``(root, {where: kind})`` of the bad ones."""
    import os

    root = tmp_path / "d"
    for c, base in (("a", 0), ("b", 100)):
        for i in range(6):
            png(root / c / f"{i}.png", base + 10 * i)
    png(tmp_path / "outside" / "o.png", 200)
    png(tmp_path / "outside" / "cls" / "x.png", 220)
    os.symlink("loop2.png", root / "a" / "loop1.png")
    os.symlink("loop1.png", root / "a" / "loop2.png")
    os.symlink("nowhere.png", root / "a" / "dangling.png")
    os.symlink(tmp_path / "outside" / "o.png", root / "b" / "out.png")
    os.symlink(tmp_path / "outside" / "cls", root / "b" / "more")  # a folder link out of the root
    os.symlink("../b/0.png", root / "a" / "inside.png")  # stays in the root: used
    os.symlink(".", root / "a" / "self")  # a folder link to itself
    return root, {"a/loop1.png": "symlink_loop", "a/loop2.png": "symlink_loop", "a/dangling.png": "dangling_symlink",
                  "b/out.png": "escaping_path", "b/more": "escaping_path", "a/self": "symlink_loop"}


def test_bad_symlinks_in_a_folder_are_reported_like_any_bad_file(tmp_path, capsys):
    import json

    root, expected = linked_folder(tmp_path)
    assert main(["data", "check", str(root), "--json"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {p["where"]: p["kind"] for p in out["problems"] if p["severity"] == "error"} == expected


def test_train_skip_bad_leaves_bad_links_out_and_follows_links_inside_the_root(tmp_path, capsys):
    import json

    from deepdojo.data.images import ImageFolder

    root, expected = linked_folder(tmp_path)
    args = ["train", str(root), "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"), "--name", "r",
            "--device", "cpu", "--arch", "mlp"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in expected)
    assert main(args + ["--skip-bad", "--overwrite", "--json"]) == 0
    skipped = json.loads((tmp_path / "runs" / "r" / "skipped.json").read_text())["skipped"]
    assert {s["where"]: s["kind"] for s in skipped} == expected
    folder = ImageFolder(root, skip_bad=True, cache_dir=tmp_path / "c")
    assert "a/inside.png" in folder.paths and len(folder.paths) == 13


def test_a_file_that_vanishes_after_the_scan_is_a_bad_item_not_a_crash(tmp_path, monkeypatch):
    import deepdojo.data.images as images
    from deepdojo.data.checks import DataCheckError

    root = tmp_path / "d"
    for c, base in (("a", 0), ("b", 100)):
        for i in range(4):
            png(root / c / f"{i}.png", base + 10 * i)
    scan = images.scan_folder

    def scan_then_delete(*a, **kw):
        out = scan(*a, **kw)
        (root / "a" / "1.png").unlink()  # removed by someone else between the scan and the hashing
        return out

    monkeypatch.setattr(images, "scan_folder", scan_then_delete)
    with pytest.raises(DataCheckError, match="a/1.png"):
        images.ImageFolder(root, cache_dir=tmp_path / "c")
    png(root / "a" / "1.png", 10)
    folder = images.ImageFolder(root, skip_bad=True, cache_dir=tmp_path / "c2")
    assert [(p.where, p.kind) for p in folder.skipped] == [("a/1.png", "missing_file")]
    assert len(folder.paths) == 7 and folder.x.shape[0] == 7


def test_a_csv_image_list_follows_the_same_link_policy(tmp_path):
    import os

    from deepdojo.data.checks import DataCheckError
    from deepdojo.data.csv_sources import image_csv

    root = tmp_path / "d"
    for i in range(8):
        png(root / f"{i}.png", 25 * i)
    png(tmp_path / "outside.png", 1)
    os.symlink("l2.png", root / "l1.png")
    os.symlink("l1.png", root / "l2.png")
    os.symlink(tmp_path / "outside.png", root / "out.png")
    os.symlink("0.png", root / "in.png")
    rows = [(f"{i}.png", "ab"[i % 2]) for i in range(8)] + [("in.png", "a"), ("l1.png", "a"), ("out.png", "b")]
    (root / "list.csv").write_text("path,label\n" + "".join(f"{p},{lab}\n" for p, lab in rows))
    with pytest.raises(DataCheckError) as info:
        image_csv(root / "list.csv", cache_dir=tmp_path / "c")
    kinds = {p.kind for p in info.value.report.errors}
    assert kinds == {"symlink_loop", "escaping_path"}
    data = image_csv(root / "list.csv", cache_dir=tmp_path / "c", skip_bad=True)
    assert "in.png" in data.info["ids"] and len(data.info["ids"]) == 9


# ----------------------------------------------------------------------------- item 6: inf and overflow in CSVs
def table_with(tmp_path, cells: dict[tuple[int, str], str]):
    """A regression CSV (x, z features; y target) with some cells replaced."""
    rows = []
    for i in range(40):
        row = {"x": f"{i * 0.1:.1f}", "z": f"{(i * 7) % 5}", "y": f"{i * 0.5:.1f}"}
        row.update({col: v for (r, col), v in cells.items() if r == i})
        rows.append(f"{row['x']},{row['z']},{row['y']}\n")
    path = tmp_path / "t.csv"
    path.write_text("x,z,y\n" + "".join(rows))
    return path


BAD_CELLS = {(3, "x"): "inf", (5, "z"): "-inf", (7, "x"): "1e308", (9, "y"): "inf", (11, "y"): "-1e39"}


def test_inf_and_float32_overflow_in_a_csv_are_named_by_column_and_row(tmp_path, capsys):
    import json

    path = table_with(tmp_path, BAD_CELLS)
    assert main(["data", "check", str(path), "--json"]) == 2
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    got = {p["where"]: p["reason"] for p in out["problems"] if p["kind"] == "not_finite"}
    assert set(got) == {"t.csv:5 (x)", "t.csv:7 (z)", "t.csv:9 (x)", "t.csv:11 (y)", "t.csv:13 (y)"}
    assert "overflows float32" in got["t.csv:9 (x)"] and "not a finite number" in got["t.csv:7 (z)"]


def test_training_on_such_a_csv_stops_before_epoch_one_and_skip_bad_trains_finite(tmp_path, capsys):
    import json

    path = table_with(tmp_path, BAD_CELLS)
    args = ["train", str(path), "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"), "--name", "r",
            "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "t.csv:5 (x)" in err and "not_finite" in err and not (tmp_path / "runs" / "r" / "metrics.jsonl").exists()
    assert main(args + ["--skip-bad", "--overwrite", "--json"]) == 0
    record = json.loads((tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()[0])
    assert np.isfinite(record["train_loss"]) and np.isfinite(record["valid_loss"])


def test_largest_float32_values_and_missing_cells_are_still_accepted(tmp_path):
    from deepdojo.data.tabular import tabular_csv

    data = tabular_csv(table_with(tmp_path, {(3, "x"): "3e38", (4, "x"): "", (5, "y"): "-3.4e38"}), target="y")
    assert data.info.get("skipped") is None and bool(torch.isfinite(data.train.source_x).all())


# ----------------------------------------------------------------------------- item 9: labels as text; report survives
TEX_CLASS = "$\\frac{$"


def tex_named_folder(tmp_path):
    root = tmp_path / "d"
    for c, base in ((TEX_CLASS, 0), ("b$x$", 120)):
        for i in range(10):
            png(root / c / f"{i}.png", base + 8 * i, size=8)
    return root


def test_a_class_named_like_broken_tex_still_gets_its_report(tmp_path, capsys):
    import base64
    import html
    import re

    root = tex_named_folder(tmp_path)
    code = main(["train", str(root), "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"), "--name", "r",
                 "--device", "cpu", "--arch", "mlp", "--json"])
    err = capsys.readouterr().err
    assert code == 0, err
    run = tmp_path / "runs" / "r"
    assert (run / "confusion_matrix.png").stat().st_size > 1000
    page = (run / "report.html").read_text()
    assert html.escape(TEX_CLASS) in page and "could not be rendered" not in page and "<h2>Notes" not in page
    imgs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert imgs and all(base64.b64decode(b)[:4] == b"\x89PNG" for b in imgs)


def test_one_failing_report_section_is_a_note_not_the_loss_of_the_report(tmp_path, monkeypatch):
    from deepdojo import vision
    from deepdojo.report import html_report

    learn = vision.classifier("builtin:xor", out=tmp_path, name="x", progress=False, seed=0)
    learn.fit(1, 0.05)

    def broken(run):
        raise ValueError("mathtext cannot parse $\\frac{$")

    monkeypatch.setattr(html_report, "SECTIONS", [(t, broken if t == "Training curves" else b)
                                                 for t, b in html_report.SECTIONS])
    page = html_report.write_report(learn.run.path).read_text()
    assert "This section could not be rendered (ValueError: mathtext cannot parse $\\frac{$)" in page
    assert "Final metrics (validation)" in page and "<h2>Config</h2>" in page


def test_a_failing_evaluation_step_after_training_is_noted_in_the_report(tmp_path, monkeypatch, capsys):
    import deepdojo.evaluate.finish as finish

    def fails(learn, *a, **kw):
        raise ValueError("ParseSyntaxException: Expected \\frac{num}{den}")

    monkeypatch.setattr(finish, "finish_run", fails)
    code = main(["train", "builtin:xor", "--epochs", "1", "--lr", "0.05", "--out", str(tmp_path), "--name", "f"])
    err = capsys.readouterr().err
    assert code == 0 and "warning: evaluation after training" in err
    page = (tmp_path / "f" / "report.html").read_text()
    assert "<h2>Notes</h2>" in page and "ParseSyntaxException" in page and "Training curves" in page
