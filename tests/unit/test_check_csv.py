"""CSV sources: each fault its own message and exit code 2 (never a traceback); image lists,
tabular files (scikit-learn as the oracle for the statistics) and training an MLP on one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo import vision
from deepdojo.cli.main import main
from deepdojo.data.checks import DataCheckError
from deepdojo.data.csv_sources import image_csv
from deepdojo.data.tabular import tabular_csv


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "env-cache"))


def _images(root, n=8):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("L", (4, 4), 25 * i).save(root / f"{i}.png")
    return [f"{i}.png" for i in range(n)]


def _image_list(rows):
    return "path,label,split\n" + "".join(",".join(r) + "\n" for r in rows)


GOOD = [(f"{i}.png", "ab"[i % 2], "train" if i < 6 else "valid") for i in range(8)]
TAB = "x,colour,y\n" + "".join(f"{i},{'rg'[i % 2]},{i % 2}\n" for i in range(12))

# fault -> (file name, content, text the one message must contain)
FAULTS = {
    "missing_file": ("l.csv", _image_list(GOOD + [("gone.png", "a", "train")]), "file not found: gone.png"),
    "escaping_path": ("l.csv", _image_list(GOOD + [("../outside.png", "a", "train")]), "escapes the data root"),
    "empty_label": ("l.csv", _image_list(GOOD + [("0.png", "", "train")]), "empty label"),
    "unknown_label": ("l.csv", _image_list(GOOD + [("1.png", "zebra", "valid")]), "label 'zebra' has no training rows"),
    "unknown_split": ("l.csv", _image_list(GOOD + [("2.png", "a", "holdout")]), "unknown split 'holdout'"),
    "duplicate_row": ("l.csv", _image_list(GOOD + [GOOD[0]]), "duplicate of line 2"),
    "ragged_row": ("t.csv", TAB + "1,r\n", "2 fields but the header has 3"),
    "nan_target": ("t.csv", TAB + "3,g,nan\n", "target is NaN"),
    "bad_number": ("t.csv", TAB + "three,g,1\n", "'three' is not a number"),
    "wrong_delimiter": ("t.csv", TAB.replace(",", ";"), "semicolon-separated"),
    "empty_file": ("t.csv", "", "the file is empty"),
    "no_rows": ("t.csv", "x,colour,y\n", "header but no rows"),
}


def test_each_csv_fault_has_its_own_message_and_exit_code_2(tmp_path, capsys):
    messages = {}
    for fault, (name, content, expect) in FAULTS.items():
        folder = tmp_path / fault
        _images(folder)
        (folder / name).write_text(content)
        for argv in (["data", "check", str(folder / name)], ["train", str(folder / name), "--epochs", "1",
                                                                 "--lr", "0.01", "--out", str(tmp_path / "runs")]):
            assert main(argv) == 2, (fault, argv[0])
            out, err = capsys.readouterr()
            assert expect in out + err, (fault, argv[0], out, err)
            assert "Traceback" not in err
        messages[fault] = expect
        if fault not in ("wrong_delimiter", "empty_file", "no_rows"):
            assert main(["data", "check", str(folder / name), "--json"]) == 2
            report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
            kinds = {p["kind"] for p in report["problems"] if p["severity"] == "error"}
            assert kinds == {fault}, (fault, kinds)


def test_bom_is_stripped_and_reported(tmp_path, capsys):
    _images(tmp_path)
    (tmp_path / "l.csv").write_bytes(b"\xef\xbb\xbf" + _image_list(GOOD).encode())
    assert main(["data", "check", str(tmp_path / "l.csv"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [p["kind"] for p in report["problems"]] == ["bom"]


def test_image_csv_splits_labels_and_skip_bad(tmp_path):
    _images(tmp_path)
    (tmp_path / "l.csv").write_text(_image_list(GOOD + [("gone.png", "a", "train"), ("../x.png", "b", "train")]))
    with pytest.raises(DataCheckError) as e:
        image_csv(tmp_path / "l.csv")
    assert len(e.value.report.errors) == 2
    data = image_csv(tmp_path / "l.csv", skip_bad=True)
    assert data.info["sizes"] == {"train": 6, "valid": 2} and data.classes == ["a", "b"]
    assert {s["kind"] for s in data.info["skipped"]} == {"missing_file", "escaping_path"}
    xb, yb = next(iter(data.valid))
    assert yb.tolist() == [0, 1] and xb.shape == (2, 1, 4, 4)


def test_multilabel_image_csv(tmp_path):
    _images(tmp_path, 6)
    labels = ["cat", "cat dog", "dog", "cat", "dog cat", "dog"]
    (tmp_path / "l.csv").write_text("image,labels\n" + "".join(f"{i}.png,{lab}\n" for i, lab in enumerate(labels)))
    data = image_csv(tmp_path / "l.csv", label_delim=" ", valid_pct=0.34)
    assert data.task == "multilabel" and data.classes == ["cat", "dog"]
    y = torch.cat([yb for _, yb in data.train] + [yb for _, yb in data.valid])
    assert y.shape == (6, 2) and y.sum().item() == 8


def test_tabular_statistics_come_from_the_training_split(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(5, 2, n)
    x[::17] = np.nan
    colour = rng.choice(["red", "green", "blue"], n)
    y = ((np.nan_to_num(x, nan=5) > 5) ^ (colour == "red")).astype(int)
    lines = [f"{'' if np.isnan(a) else a},{c},{t}" for a, c, t in zip(x, colour, y)]
    (tmp_path / "t.csv").write_text("x,colour,y\n" + "\n".join(lines) + "\n")
    data = tabular_csv(tmp_path / "t.csv", target="y")
    tab = data.info["tabular"]
    assert tab["columns"] == ["x", "x_na", "colour=#na", "colour=blue", "colour=green", "colour=red"]
    train = data.info["splits"]["train"]
    xt = x[train]
    fill = np.nanmedian(xt)
    filled = np.where(np.isnan(xt), fill, xt)
    assert tab["fill"][0] == pytest.approx(fill) and tab["mean"][0] == pytest.approx(filled.mean())
    assert tab["std"][0] == pytest.approx(filled.std())
    xb = torch.cat([b for b, _ in data.train])  # standardized with train stats: mean 0, std 1 on train
    assert abs(xb[:, 0].mean().item()) < 1e-5 and xb[:, 1].sum().item() == np.isnan(xt).sum()
    codes = tabular_csv(tmp_path / "t.csv", target="y", encoding="codes")
    assert codes.input_shape == (3,) and codes.info["tabular"]["cat_cardinalities"] == [4]
    assert codes.info["tabular"]["n_continuous"] == 2


def test_mlp_trains_on_a_tabular_csv(tmp_path, capsys):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=400), rng.choice(["p", "q"], 400)
    y = ((a > 0) ^ (b == "p")).astype(int)  # needs the categorical and the continuous column together
    (tmp_path / "t.csv").write_text("a,b,label\n" + "".join(f"{u},{v},{t}\n" for u, v, t in zip(a, b, y)))
    learn = vision.classifier(str(tmp_path / "t.csv"), arch="mlp", out=None, progress=False, device="cpu")
    learn.fit(8, 0.01)
    assert learn.history[-1]["accuracy"] > 0.9


def test_a_one_column_tsv_is_named_as_one_column_not_as_comma_separated(tmp_path):
    from deepdojo.data.check_csv import read_table
    from deepdojo.errors import DataError

    path = tmp_path / "one.tsv"
    path.write_text("hello world\nsecond line\n")
    with pytest.raises(DataError, match=r"one\.tsv: the header line has one column \(no tab in it\).*text<TAB>label"):
        read_table(path)
