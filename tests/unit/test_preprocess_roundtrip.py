"""Predict on raw inputs reproduces what the model saw in training, for every source kind (issue 12, items 2 and 5).

The oracle is the Learner's own validation pipeline: the batches its loaders
yield (model inputs) and ``get_preds`` (probabilities). A raw input — an image
file, a CSV row with categories as text, a raw string, an array — prepared
from the checkpoint's metadata alone must give the same model input bit for
bit, and the same probabilities.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo import load_learner, vision
from deepdojo.data.builtin import builtin_arrays
from deepdojo.data.loaders import TensorLoader
from deepdojo.data.preprocess import preprocessor_from_json
from deepdojo.predict import Predictor


def _train(source, tmp_path: Path, **kw):
    learn = vision.classifier(source, out=str(tmp_path / "runs"), progress=False, seed=0, device="cpu", **kw)
    learn.fit(1, 1e-2)
    return learn


def _valid_inputs_and_preds(learn):
    xs = torch.cat([xb.cpu() for xb, _ in learn.data.valid])  # (N, ...) exactly what the model saw
    probs, _ = learn.get_preds()
    return xs, probs


def _all_rows_preds(learn):
    """get_preds over every row in source order, through the validation transform (no augmentation)."""
    tr = learn.data.train
    tf = learn.data.valid.transform
    loader = TensorLoader(tr.source_x, tr.source_y, 64, transform=tf)
    return learn.get_preds(loader)[0]


def _check(learn, raw_items, tmp_path):
    """Raw valid items through the checkpoint's preprocessing == the valid batches; probabilities match get_preds."""
    xs, probs = _valid_inputs_and_preds(learn)
    predictor = Predictor.from_run(learn.run.path)
    pre = predictor.preprocessor
    assert pre.to_json()["kind"] == learn.data.info["preprocess"]["kind"]
    encoded = pre.encode(raw_items)
    assert encoded.dtype == xs.dtype and torch.equal(encoded, xs)  # bit for bit
    label, index, p = predictor.predict(raw_items[0])
    assert index == int(probs[0].argmax()) and label == learn.data.classes[index]
    torch.testing.assert_close(p, probs[0], rtol=0, atol=1e-6)
    label2, index2, p2 = learn.predict(raw_items[0])  # the Learner itself, same answer
    assert (label2, index2) == (label, index)
    torch.testing.assert_close(p2, p, rtol=0, atol=1e-6)
    # export / load_learner is the same object as from_run
    exported = learn.export(tmp_path / "model")
    torch.testing.assert_close(load_learner(exported).predict(raw_items[0])[2], p, rtol=0, atol=1e-6)
    return predictor


def _image_folder(root: Path, n: int = 30, mode: str = "L", sizes=((8, 8),)) -> list[str]:
    rng = np.random.default_rng(0)
    rels = []
    for i in range(n):
        label = "ab"[i % 2]
        (root / label).mkdir(parents=True, exist_ok=True)
        w, h = sizes[i % len(sizes)]
        base = 40 if label == "a" else 200
        shape = (h, w) if mode == "L" else (h, w, 3)
        a = np.clip(rng.normal(base, 30, shape), 0, 255).astype(np.uint8)
        Image.fromarray(a, mode).save(root / label / f"{i:03d}.png")
        rels.append(f"{label}/{i:03d}.png")
    return rels


def test_image_folder_native_size(tmp_path):
    root = tmp_path / "imgs"
    _image_folder(root)
    learn = _train(str(root), tmp_path)
    ids = learn.data.info["ids"]
    raw = [root / ids[i] for i in learn.data.info["splits"]["valid"]]
    _check(learn, raw, tmp_path)


def test_image_folder_resized_rgb(tmp_path):
    root = tmp_path / "imgs"
    _image_folder(root, mode="RGB", sizes=((12, 9), (10, 14), (16, 16)))
    learn = _train(str(root), tmp_path, size=8)
    spec = learn.data.info["preprocess"]
    assert spec["size"] == 8 and spec["mode"] == "RGB" and spec["channels"] == 3
    ids = learn.data.info["ids"]
    valid = learn.data.info["splits"]["valid"]
    _check(learn, [str(root / ids[i]) for i in valid], tmp_path)
    pil = [Image.open(root / ids[i]) for i in valid]  # a PIL image is decoded the same way
    pre = preprocessor_from_json(spec)
    assert torch.equal(pre.encode(pil), pre.encode([root / ids[i] for i in valid]))


def test_image_csv_predict_on_the_training_csv(tmp_path):
    root = tmp_path / "imgs"
    rels = _image_folder(root)
    with open(root / "list.csv", "w") as f:
        f.write("path,label\n" + "".join(f"{r},{r[0]}\n" for r in rels))
    learn = _train(str(root / "list.csv"), tmp_path)
    ids = learn.data.info["ids"]
    _check(learn, [root / ids[i] for i in learn.data.info["splits"]["valid"]], tmp_path)
    results = Predictor.from_run(learn.run.path).predict_items([str(root / "list.csv")])
    expected = _all_rows_preds(learn)
    assert [r["input"] for r in results] == rels
    got = torch.tensor([r["probability"] for r in results])
    torch.testing.assert_close(got, expected.max(1).values, rtol=0, atol=1e-6)


def _write_table(path: Path, n: int = 120) -> list[dict[str, str]]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        x = rng.normal(5, 2)
        colour = ["red", "green", "blue"][i % 3]
        y = int((x > 5) ^ (colour == "red"))
        rows.append({"x": "" if i % 13 == 0 else f"{x:.4f}", "colour": colour, "size": f"{rng.integers(1, 9)}",
                     "label": ["no", "yes"][y]})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


@pytest.mark.parametrize("arch", ["auto", "mlp"])
def test_tabular_csv_raw_rows_and_the_training_csv(tmp_path, arch):
    rows = _write_table(tmp_path / "t.csv")
    learn = _train(str(tmp_path / "t.csv"), tmp_path, arch=arch)
    spec = learn.data.info["preprocess"]
    assert spec["encoding"] == ("codes" if arch == "auto" else "onehot")
    valid = learn.data.info["splits"]["valid"]
    raw = [{k: v for k, v in rows[i].items() if k != "label"} for i in valid]  # categories as text, "" missing
    _check(learn, raw, tmp_path)
    predictor = Predictor.from_run(learn.run.path)
    as_line = ",".join(raw[0][c] for c in predictor.preprocessor.features)  # "x,size,colour" as typed
    assert torch.equal(predictor.preprocessor.encode([as_line]), predictor.preprocessor.encode([raw[0]]))
    results = predictor.predict_items([str(tmp_path / "t.csv")])
    expected = _all_rows_preds(learn)
    assert len(results) == len(rows)
    assert [r["prediction"] for r in results] == [learn.data.classes[i] for i in expected.argmax(1).tolist()]
    torch.testing.assert_close(torch.tensor([r["probability"] for r in results]), expected.max(1).values,
                               rtol=0, atol=1e-6)


def test_text_csv_raw_strings(tmp_path):
    words = {"1": ["great", "lovely", "superb", "fine"], "0": ["awful", "bad", "poor", "dull"]}
    rng = np.random.default_rng(0)
    lines = []
    for i in range(80):
        lab = str(i % 2)
        lines.append((f"the food was {rng.choice(words[lab])} and {rng.choice(words[lab])} at table {i}", lab))
    with open(tmp_path / "reviews.tsv", "w") as f:
        f.write("".join(f"{t}\t{lab}\n" for t, lab in lines))  # headerless, as such files often are
    learn = _train(str(tmp_path / "reviews.tsv"), tmp_path)
    assert learn.data.info["preprocess"]["kind"] == "text"
    raw = [lines[i][0] for i in learn.data.info["splits"]["valid"]]
    _check(learn, raw, tmp_path)
    results = Predictor.from_run(learn.run.path).predict_items([str(tmp_path / "reviews.tsv")])
    expected = _all_rows_preds(learn)
    torch.testing.assert_close(torch.tensor([r["probability"] for r in results]), expected.max(1).values,
                               rtol=0, atol=1e-6)


def test_arrays_and_builtins(tmp_path):
    from deepdojo.data.core import Data

    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (100, 3)).astype(np.float32)
    y = (x[:, 0] > 3).astype(np.int64)
    learn = _train(Data.from_tensors(x, y, seed=0), tmp_path)
    _check(learn, [x[i] for i in learn.data.info["splits"]["valid"]], tmp_path)
    learn = _train("builtin:moons", tmp_path / "moons")
    xm, _ = builtin_arrays("moons", 0)
    _check(learn, [",".join(map(str, xm[i].tolist())) for i in learn.data.info["splits"]["valid"]], tmp_path / "moons")
    learn = _train("builtin:digits", tmp_path / "digits")
    xd, _ = builtin_arrays("digits")
    _check(learn, [xd[i] for i in learn.data.info["splits"]["valid"]], tmp_path / "digits")  # (1, 8, 8) uint8 arrays


def test_tensor_batches_keep_the_old_behaviour(tmp_path):
    learn = _train("builtin:digits", tmp_path)
    xd, _ = builtin_arrays("digits")
    batch = torch.from_numpy(xd[:4])  # raw uint8 (B, 1, 8, 8)
    probs = learn.predict(batch)
    assert probs.shape == (4, 10)
    torch.testing.assert_close(learn.predict(batch[0]), probs[0])
    assert learn.predict(xd[0])[1] == int(probs[0].argmax())  # an array is one raw input: (label, index, probs)
