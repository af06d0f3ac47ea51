"""The verification task end to end: identity-disjoint splits, training, the threshold, predict, CLI and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.data.identities import glyph_arrays, identity_splits, load_glyphs
from deepdojo.data.load import load_data
from deepdojo.errors import ConfigError, DataError
from deepdojo.tasks import Verification, get_task


def split_ids(data, split):
    loader = getattr(data, split)
    return set(loader.source_y[loader.index].tolist())


def test_identity_splits_are_disjoint_and_cover_every_row():
    y = np.repeat(np.arange(20), 3)
    s = identity_splits(y, valid_pct=0.2, test_pct=0.1, seed=1)
    ids = {k: set(y[v]) for k, v in s.items()}
    assert not (ids["train"] & ids["valid"]) and not (ids["train"] & ids["test"]) and not (ids["valid"] & ids["test"])
    assert sorted(np.concatenate(list(s.values()))) == list(range(60))
    assert (len(ids["valid"]), len(ids["test"])) == (4, 2)


def test_too_few_identities_is_a_one_line_error():
    with pytest.raises(DataError, match="identities cannot be split.*at least 6"):
        identity_splits(np.repeat(np.arange(3), 4), valid_pct=0.2)


def test_glyphs_hold_out_identities_and_are_reproducible():
    data = load_glyphs(n_identities=20, per_identity=3, seed=0)
    assert data.task == "verification" and not split_ids(data, "train") & split_ids(data, "valid")
    assert data.info.warnings == []  # valid identities absent from train is the point, not a warning
    a, _ = glyph_arrays(5, 2, seed=0)
    b, _ = glyph_arrays(5, 2, seed=0)
    assert np.array_equal(a, b) and a.dtype == np.uint8 and a.max() == 255


@pytest.fixture(scope="module")
def identity_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    x, y = glyph_arrays(12, 6, seed=3)
    for i, (img, label) in enumerate(zip(x, y)):
        folder = root / f"person{label:02d}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(img[0]).save(folder / f"{i}.png")
    return root


def test_folder_with_verification_task_holds_out_identities(identity_folder):
    data = load_data(identity_folder, task="verification", valid_pct=0.25, seed=0)
    assert data.task == "verification" and len(data.classes) == 12
    assert not split_ids(data, "train") & split_ids(data, "valid")
    plain = load_data(identity_folder, valid_pct=0.25, seed=0)  # classification: every class in both
    assert split_ids(plain, "train") == split_ids(plain, "valid")


def test_task_settings_are_checked_and_saved():
    with pytest.raises(ConfigError, match="mining"):
        Verification(mining="hardest")
    with pytest.raises(ConfigError, match="margin"):
        Verification(margin=0)
    t = get_task("siamese", loss="contrastive", margin=0.5, threshold=0.7)
    assert get_task("verification", **t.state()).state() == t.state()
    assert t.compare_embeddings(torch.zeros(3), torch.tensor([0.6, 0.0, 0.0]))["same"] is True
    assert t.compare_embeddings(torch.zeros(3), torch.tensor([0.8, 0.0, 0.0]))["same"] is False


def test_finalize_picks_the_validation_threshold():
    t = Verification()
    emb = torch.tensor([[0.0], [0.1], [1.0], [1.1]])
    chosen = t.finalize(emb, torch.tensor([0, 0, 1, 1]))
    assert 0.1 < chosen["threshold"] < 0.9 and chosen["verification_accuracy"] == 1.0
    assert t.state()["threshold"] == chosen["threshold"]


def test_pixel_baseline_and_comparison_sentences():
    x, y = glyph_arrays(12, 5, seed=1)
    flat = x.reshape(len(x), -1).astype(np.float32) / 255
    base = Verification(n_way=5).baselines(flat, y, flat, y, None, 1.0, 0)["pixels"]
    assert 0.5 < base["verification_auc"] < 1.0 and 0.2 <= base["one_shot_5way"] <= 1.0
    said = Verification(n_way=5).compare({"verification_auc": 1.0, "one_shot_5way": 1.0, "spread": 0.01}, {"pixels": base})
    assert said[0].startswith("beats raw pixels") and "collapsed" in said[-1]


def test_cli_train_then_predict_pair(identity_folder, tmp_path, capsys):
    code = main(["train", str(identity_folder), "--task", "verification", "--epochs", "1", "--lr", "0.003",
                 "--model-arg", "widths=8,16", "--batch-size", "32", "--out", str(tmp_path), "--name", "v", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    run = tmp_path / "v"
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert {"verification_auc", "eer", "one_shot_10way"} <= set(evaluation["valid"])
    threshold = evaluation["chosen_on_valid"]["threshold"]
    summary = json.loads((run / "data_summary.json").read_text())
    assert summary["identities_in_two_splits"] == 0
    interp = json.loads((run / "interpretation.json").read_text())
    assert interp["kind"] == "embeddings" and interp["threshold"] == threshold and interp["galleries"]
    assert all(r["identity_a"] != r["identity_b"] and r["distance"] <= threshold for r in interp["false_accepts"])
    assert all(r["identity_a"] == r["identity_b"] and r["distance"] > threshold for r in interp["false_rejects"])
    assert interp["galleries"][0]["query"].endswith(".png")  # items named by file
    assert (run / "report.html").is_file()
    baselines = json.loads((run / "baselines.json").read_text())
    assert "pixels" in baselines["baselines"] and baselines["comparison"]
    a, b = sorted((identity_folder / "person00").glob("*.png"))[:2]
    assert main(["predict", str(run), str(a), str(b)]) == 0
    line = capsys.readouterr().out.strip()
    assert f"distance" in line and line.endswith(f"(threshold {threshold:.4f})") and ("same" in line or "different" in line)
    assert main(["predict", str(run), str(a), str(b), "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    pair = got["pairs"][0]
    assert pair["same"] == (pair["distance"] <= threshold) and len(got["embeddings"][0]["embedding"]) == 64
    e = np.array(got["embeddings"][0]["embedding"])
    assert abs(np.linalg.norm(e) - 1) < 1e-4 and abs(np.linalg.norm(e - got["embeddings"][1]["embedding"]) - pair["distance"]) < 1e-4
    assert main(["predict", str(run), str(a)]) == 2  # one image: nothing to compare
    assert "two or more images" in capsys.readouterr().err
