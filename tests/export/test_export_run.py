"""``deepdojo export`` on a trained run: baked or beside preprocessing, predict from the exported file.

Oracle: the run folder's own Predictor (eager PyTorch, the training preprocessing) on the same raw inputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo import vision
from deepdojo.cli.main import main
from deepdojo.errors import ConfigError
from deepdojo.export import ExportedModel, export_run
from deepdojo.predict import Predictor


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    learn = vision.classifier("builtin:digits", arch="cnn", out=out, name="d", progress=False, seed=0,
                              model_kwargs={"widths": (8, 16)})
    learn.fit(1, 3e-3)
    raw = learn.data.valid.source_x[learn.data.valid.index[:5]].cpu() if learn.data.valid.index is not None \
        else learn.data.valid.source_x[:5].cpu()
    return learn.run.path, raw  # raw uint8 images (5, 1, 8, 8)


@pytest.mark.parametrize("fmt", ["exported-program", "onnx"])
def test_baked_preprocessing_matches_the_run_predictor(digits_run, fmt, tmp_path):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    run, raw = digits_run
    path = export_run(run, fmt, out=tmp_path / "m")
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["preprocessing"] == "baked" and side["classes"] == [str(i) for i in range(10)]
    want = Predictor.from_run(run).predict_tensor(raw)  # probabilities (5, 10)
    got = ExportedModel.load(path).predict_tensor(raw)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    graph = ExportedModel.load(path).model  # the file itself: raw pixels in, logits out
    logits = graph(raw.float())
    torch.testing.assert_close(logits.softmax(-1), want, rtol=1e-5, atol=1e-5)


def test_preprocessing_beside_leaves_normalization_to_the_caller(digits_run, tmp_path):
    run, raw = digits_run
    path = export_run(run, "exported-program", out=tmp_path / "bare.pt2", preprocessing="beside")
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["preprocessing"] == "beside" and side["transform"]["kind"] == "image"
    want = Predictor.from_run(run).predict_tensor(raw)
    torch.testing.assert_close(ExportedModel.load(path).predict_tensor(raw), want, rtol=1e-5, atol=1e-5)
    mean = torch.tensor(side["transform"]["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(side["transform"]["std"]).view(1, -1, 1, 1)
    bare = ExportedModel.load(path).model((raw.float() / 255 - mean) / std)
    torch.testing.assert_close(bare.softmax(-1), want, rtol=1e-5, atol=1e-5)


def test_cli_export_then_predict_from_the_exported_file(digits_run, tmp_path, capsys):
    run, raw = digits_run
    png = tmp_path / "x.png"
    Image.fromarray(raw[0, 0].numpy().astype(np.uint8), mode="L").save(png)
    assert main(["export", str(run), "--format", "exported-program", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"]
    assert exported == str(run / "export" / "model.pt2")  # the default place, created on demand
    assert main(["predict", exported, str(png), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"][0]
    assert main(["predict", str(run), str(png), "--json"]) == 0
    from_run = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"][0]
    assert from_file["prediction"] == from_run["prediction"]
    assert from_file["probability"] == pytest.approx(from_run["probability"], abs=1e-5)


def test_bad_format_and_missing_files_are_one_line_errors(digits_run, tmp_path, capsys):
    run, _ = digits_run
    with pytest.raises(ConfigError, match="unknown export format"):
        export_run(run, "torchscript")
    assert main(["predict", str(tmp_path / "nope.onnx"), "x.png"]) == 2
    assert "exported model not found" in capsys.readouterr().err
