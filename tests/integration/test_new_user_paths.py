"""What a new user hits first (issue 12): each test fails on the code before the fix.

Text files routed to a text model, tabular embeddings by default, predict
refusing or warning about mismatched inputs, one-line model/input errors, and
every training option reachable as a flag.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from deepdojo.train.checkpoint import read_meta
from PIL import Image

from deepdojo import vision
from deepdojo.cli.main import main
from deepdojo.errors import ConfigError


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


WORDS = {"1": ["great", "lovely", "superb", "tasty", "friendly"], "0": ["awful", "bad", "poor", "cold", "rude"]}


def write_reviews(path: Path, n: int = 120, header: str | None = None, sep: str = "\t") -> list[tuple[str, str]]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        lab = str(i % 2)
        rows.append((f"the meal was {rng.choice(WORDS[lab])} and the staff {rng.choice(WORDS[lab])} on visit {i}", lab))
    with open(path, "w", newline="") as f:
        if header:
            f.write(header + "\n")
        f.writelines(f"{t}{sep}{lab}\n" for t, lab in rows)
    return rows


# ----------------------------------------------------------------- item 1: text is text


def test_headerless_review_tsv_trains_a_text_model(tmp_path, capsys):
    """Before: each sentence became a one-hot column and the model scored 0.50."""
    write_reviews(tmp_path / "reviews.tsv")
    code, out, err = run_cli(capsys, "train", tmp_path / "reviews.tsv", "--epochs", "8", "--lr", "0.02",
                             "--out", tmp_path / "runs", "--json")
    assert code == 0, err
    summary = last_json(out)
    assert summary["final"]["accuracy"] > 0.9
    meta = read_meta(Path(summary["run_dir"]) / "checkpoints" / "best.safetensors")
    assert meta["arch"] == "textcnn" and meta["preprocess"]["kind"] == "text"
    code, out, _ = run_cli(capsys, "predict", summary["run_dir"], "the meal was superb and the staff lovely", "--json")
    assert code == 0 and last_json(out)["predictions"][0]["prediction"] == "1"


def test_text_and_label_columns_by_name(tmp_path):
    rows = write_reviews(tmp_path / "r.csv", header="id;review;stars", sep=";")
    lines = (tmp_path / "r.csv").read_text().splitlines()
    (tmp_path / "r.csv").write_text("id;review;stars\n" + "\n".join(f"{i};{ln}" for i, ln in enumerate(lines[1:])) + "\n")
    data = vision.load_data(str(tmp_path / "r.csv"), delimiter=";", text_col="review", label_col="stars")
    spec = data.info["preprocess"]
    assert spec["kind"] == "text" and spec["text_col"] == "review" and data.classes == ["0", "1"]
    assert len(rows) == sum(data.info["sizes"].values())


def test_txt_corpus_goes_to_the_language_model_source_and_a_txt_table_to_text(tmp_path):
    (tmp_path / "corpus.txt").write_text("To be, or not to be, that is the question.\n" * 40)
    lm = vision.load_data(str(tmp_path / "corpus.txt"))
    assert lm.task == "language_model" and lm.info["preprocess"]["kind"] == "language_model"
    learn = vision.classifier(str(tmp_path / "corpus.txt"), out=None, progress=False)  # a language model, not an MLP
    assert learn.task.name == "language_model" and learn.model_spec["arch"] == "gpt"
    write_reviews(tmp_path / "labelled.txt")  # sentence<TAB>label, like the UCI sentiment files
    assert vision.load_data(str(tmp_path / "labelled.txt")).info["preprocess"]["kind"] == "text"


def test_free_text_one_hot_encoded_is_warned_about(tmp_path):
    from deepdojo.data.tabular import tabular_csv

    rows = write_reviews(tmp_path / "t.csv", header="comment,label", sep=",")
    assert rows
    with pytest.warns(UserWarning, match="look like free text"):
        data = tabular_csv(tmp_path / "t.csv", target="label")
    assert "--text-col comment" in data.info["warnings"][-1]


def test_size_on_a_table_is_an_error_not_ignored(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)))
    with pytest.raises(ConfigError, match="size=8 resizes images"):
        vision.load_data(str(tmp_path / "t.csv"), size=8)


# ----------------------------------------------------------------- item 3: tabular embeddings, one convention


def test_cli_tabular_uses_embeddings_with_codes_first(tmp_path, capsys):
    rng = np.random.default_rng(0)
    with open(tmp_path / "t.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x", "city", "label"])
        for i in range(200):
            x, city = rng.normal(), ["oslo", "rome", "lima"][i % 3]
            w.writerow([f"{x:.3f}", city, int((x > 0) ^ (city == "rome"))])
    code, out, err = run_cli(capsys, "train", tmp_path / "t.csv", "--arch", "tabular", "--epochs", "8", "--lr", "0.02",
                             "--out", tmp_path / "runs", "--json")
    assert code == 0, err
    summary = last_json(out)
    meta = read_meta(Path(summary["run_dir"]) / "checkpoints" / "best.safetensors")
    assert meta["model_kwargs"]["cardinalities"] == [4]  # oslo, rome, lima + "#na": an embedding, not one-hot
    assert meta["preprocess"]["columns"][0] == "city"  # codes first: TabularModel's convention
    assert summary["final"]["accuracy"] > 0.85  # needs the category and the number together
    data = vision.load_data(str(tmp_path / "t.csv"), arch="tabular")
    levels = data.info["preprocess"]["categorical"]["city"]
    codes = data.train.source_x[:, 0]
    with open(tmp_path / "t.csv") as f:
        raw = [r["city"] for r in csv.DictReader(f)]
    assert codes.tolist() == [float(levels.index(c)) for c in raw]


# ----------------------------------------------------------------- item 4: predict says when inputs differ


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grey")
    rng = np.random.default_rng(0)
    for i in range(40):
        label = "ab"[i % 2]
        (tmp / "imgs" / label).mkdir(parents=True, exist_ok=True)
        a = np.clip(rng.normal(40 if label == "a" else 200, 20, (8, 8)), 0, 255).astype(np.uint8)
        Image.fromarray(a, "L").save(tmp / "imgs" / label / f"{i}.png")
    learn = vision.classifier(str(tmp / "imgs"), out=str(tmp / "runs"), progress=False, seed=0, device="cpu")
    learn.fit(1, 1e-2)
    photo = tmp / "photo.png"
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8), "RGB").save(photo)  # 40x30 colour
    return learn.run.path, photo, tmp / "imgs" / "a" / "0.png"


def test_predict_warns_about_a_photo_unlike_the_training_images(grey_run, capsys):
    run, photo, same = grey_run
    code, out, err = run_cli(capsys, "predict", run, photo)
    assert code == 0
    assert "colour (RGB) but the model was trained on 8x8 grayscale" in err
    assert "input is 40x30" in err and "resized to 8x8" in err
    code, out, err = run_cli(capsys, "predict", run, same)
    assert code == 0 and "warning" not in err
    code, out, err = run_cli(capsys, "predict", run, photo, "--strict")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "grayscale" in err


def test_learn_predict_takes_a_path(grey_run):
    from deepdojo import load_learner

    run, _, same = grey_run
    label, index, probs = load_learner(run).predict(str(same))
    assert label in ("a", "b") and probs.shape == (2,) and abs(float(probs.sum()) - 1) < 1e-5


# ----------------------------------------------------------------- thin CLI


def test_lenet5_on_8x8_is_one_line_naming_the_smallest_input(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "builtin:digits", "--arch", "lenet5", "--epochs", "1", "--lr", "0.01",
                           "--out", tmp_path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "smallest it accepts is 16x16" in err and "--size 16" in err


def test_evaluate_test_without_a_test_split_suggests_test_pct(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "builtin:xor", "--arch", "mlp", "--epochs", "1", "--lr", "0.01",
                             "--out", tmp_path, "--name", "x", "--json")
    assert code == 0, err
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "x", "--split", "test")
    assert code == 2 and "--test-pct" in err


def test_training_flags_reach_the_config_and_the_run(tmp_path, capsys):
    code, out, err = run_cli(
        capsys, "train", "builtin:moons", "--arch", "mlp", "--epochs", "30", "--lr", "0.5", "--out", tmp_path,
        "--name", "m", "--json", "--early-stop", "1", "--monitor", "valid_loss", "--grad-clip", "1.0",
        "--warmup-pct", "0.1", "--pct-start", "0.3", "--div", "10", "--final-div", "100", "--moms", "0.9,0.8",
        "--metrics", "f1,auc", "--model-arg", "width=16", "--model-arg", "depth=1", "--train-dev-pct", "0.2",
        "--human-error", "1%")
    assert code == 0, err
    run = tmp_path / "m"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["early_stop"] == 1 and cfg["grad_clip"] == 1.0 and cfg["pct_start"] == 0.3 and cfg["div"] == 10
    assert cfg["moms"] == [0.9, 0.8] and cfg["metrics"] == ["f1", "auc"] and cfg["human_error"] == 0.01
    assert cfg["model_kwargs"] == {"width": 16, "depth": 1} and cfg["train_dev_pct"] == 0.2
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    epochs = [r for r in records if "valid_loss" in r]
    assert "f1_binary" in epochs[-1] and "auc_binary" in epochs[-1]  # plain names, resolved and named
    assert len(epochs) < 30  # early stopping stopped it
    diag = json.loads((run / "diagnosis.json").read_text())
    assert diag["errors"]["human"] == 0.01 and diag["errors"]["train_dev"] is not None
    summary = last_json(out)
    assert summary["final"]["epoch"] == len(epochs) - 1  # epochs count from 0 in every record


def test_config_file_takes_the_same_fields(tmp_path):
    from deepdojo.config import TrainConfig

    (tmp_path / "c.toml").write_text('data = "x.tsv"\ntext_col = "review"\nearly_stop = 3\nmoms = [0.9, 0.85]\n'
                                     'metrics = ["auc_macro"]\nheader = false\n')
    cfg = TrainConfig.from_file(tmp_path / "c.toml")
    assert (cfg.text_col, cfg.early_stop, cfg.moms, cfg.metrics, cfg.header) == ("review", 3, (0.9, 0.85), ["auc_macro"], False)
    with pytest.raises(ConfigError, match="moms"):
        TrainConfig.from_dict({"moms": [0.9, 1.5]})
