"""Grouped, time-ordered and train-dev splits; split files saved, verified and reused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.model_selection import GroupShuffleSplit

from deepdojo.data.splits import add_train_dev, grouped_split, load_splits, save_splits, split_hash, time_split
from deepdojo.errors import DataError


def test_grouped_split_keeps_groups_together():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 1000)
    tr, va = grouped_split(groups, 0.2, seed=1)
    assert not set(groups[tr]) & set(groups[va])
    assert len(tr) + len(va) == 1000 and 0.15 <= len(va) / 1000 <= 0.3
    # oracle for the property: scikit-learn's group splitter also never shares a group
    sk_tr, sk_va = next(GroupShuffleSplit(test_size=0.2, random_state=0).split(groups, groups=groups))
    assert not set(groups[sk_tr]) & set(groups[sk_va])


def test_time_split_puts_the_future_in_valid():
    times = np.random.default_rng(0).permutation(100)
    tr, va = time_split(times, 0.2)
    assert len(va) == 20 and times[tr].max() < times[va].min()


def test_train_dev_is_carved_from_train_only():
    labels = np.arange(200) % 4
    splits = {"train": np.arange(160), "valid": np.arange(160, 200)}
    out = add_train_dev(splits, labels, 0.1)
    assert set(out["train"]) | set(out["train_dev"]) == set(range(160)) and not set(out["train"]) & set(out["train_dev"])
    assert np.array_equal(out["valid"], splits["valid"]) and len(out["train_dev"]) == 16


def test_split_files_round_trip_and_refuse_edits(tmp_path):
    splits = {"train": np.array([0, 2, 3]), "valid": np.array([1, 4])}
    ids = ["a", "b", "c", "d", "e"]
    save_splits(tmp_path / "s.json", splits, ids)
    back = load_splits(tmp_path / "s.json", n=5, ids=ids)
    assert split_hash(back) == split_hash(splits)
    with pytest.raises(DataError, match="different items"):
        load_splits(tmp_path / "s.json", n=5, ids=["a", "b", "c", "d", "z"])
    with pytest.raises(DataError, match="outside"):
        load_splits(tmp_path / "s.json", n=4)
    body = json.loads((tmp_path / "s.json").read_text())
    body["indices"]["valid"] = [1]
    (tmp_path / "s.json").write_text(json.dumps(body))
    with pytest.raises(DataError, match="hash"):
        load_splits(tmp_path / "s.json")


def test_image_folder_reuses_a_saved_split(tmp_path, monkeypatch):
    from deepdojo.data.images import ImageFolder
    from image_corpus import clean_corpus

    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "d"
    clean_corpus(root, n=40)
    first = ImageFolder(root, size=8, seed=0, split_file=tmp_path / "splits.json")
    again = ImageFolder(root, size=8, seed=7, valid_pct=0.5, split_file=tmp_path / "splits.json")  # the file wins
    assert all(np.array_equal(first.splits[k], again.splits[k]) for k in first.splits)
    (root / "y" / "0000.png").unlink()  # the data changed: the old split no longer fits
    with pytest.raises(DataError, match="split"):
        ImageFolder(root, size=8, split_file=tmp_path / "splits.json")


def test_tabular_group_and_time_columns(tmp_path):
    from deepdojo.data.tabular import tabular_csv

    rows = [f"{i % 10},{i},{i * 0.1},{i % 2}" for i in range(100)]
    (tmp_path / "t.csv").write_text("patient,day,x,y\n" + "\n".join(rows) + "\n")
    g = tabular_csv(tmp_path / "t.csv", target="y", group_col="patient")
    pat = np.arange(100) % 10
    assert not set(pat[g.info["splits"]["train"]]) & set(pat[g.info["splits"]["valid"]])
    assert g.info["tabular"]["columns"] == ["day", "x"]
    t = tabular_csv(tmp_path / "t.csv", target="y", time_col="day")
    assert t.info["splits"]["valid"].min() > t.info["splits"]["train"].max()


def test_holdout_splits_seal_a_stable_test_slice():
    import numpy as np

    from deepdojo.data.splits import holdout_splits, stratified_split

    y = np.repeat(np.arange(4), [60, 40, 30, 20])
    plain = holdout_splits(y, 0.2, 0.0, seed=3)
    tr, va = stratified_split(y, 0.2, seed=3)
    assert np.array_equal(plain["train"], tr) and np.array_equal(plain["valid"], va) and "test" not in plain
    a, b = holdout_splits(y, 0.2, 0.1, seed=3), holdout_splits(y, 0.3, 0.1, seed=3)
    assert np.array_equal(a["test"], b["test"])  # the test slice does not move when valid_pct changes
    parts = [a["train"], a["valid"], a["test"]]
    assert sum(map(len, parts)) == len(y) and len(np.unique(np.concatenate(parts))) == len(y)
    assert np.bincount(y[a["test"]]).tolist() == [6, 4, 3, 2]


def test_cli_test_pct_seals_a_test_split_the_vault_counts(tmp_path, capsys):
    import json

    from deepdojo.cli.main import main

    assert main(["train", "builtin:digits", "--test-pct", "0.1", "--epochs", "1", "--lr", "0.003", "--out",
                 str(tmp_path), "--name", "t", "--json"]) == 0
    capsys.readouterr()
    splits = json.loads((tmp_path / "t" / "splits.json").read_text())["indices"]
    assert 175 <= len(splits["test"]) <= 185 and not set(splits["test"]) & set(splits["train"])  # ~10% per class
    errs = []
    for _ in range(2):
        assert main(["evaluate", str(tmp_path / "t"), "--split", "test", "--json"]) == 0
        errs.append(capsys.readouterr().err)
    assert errs[0] == "" and "look number 2 at this test set" in errs[1]
    lines = (tmp_path / "t" / "test_log.jsonl").read_text().splitlines()
    assert len(lines) == 2
