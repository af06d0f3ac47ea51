"""``predict`` for detection and segmentation: boxes and masks in the ORIGINAL image's pixels.

The oracle is a perfect "model" that finds the bright rectangle in its input and
reports it exactly (a detector emitting its raw YOLO encoding, a segmenter its
logits), so any error in undoing the inference resize/crop shows up as a box
or mask off the object in an image of a different size and shape than training.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.data.geometry import InputGeometry
from deepdojo.data.preprocess_spec import image_spec
from deepdojo.predict import Predictor
from deepdojo.tasks.detection import Detection

SIZE = 64  # the training input size (square)


class PerfectDetector(torch.nn.Module):
    """(B, 3, 64, 64) raw pixels -> (B, 1 * (5 + 2), 1, 1): one anchor, one cell, the bright box, class 1."""

    def forward(self, x):
        out = torch.full((len(x), 7, 1, 1), -12.0)
        for b, img in enumerate(x):
            ys, xs = torch.nonzero(img[0] > 128, as_tuple=True)
            x0, x1, y0, y1 = float(xs.min()), float(xs.max()) + 1, float(ys.min()), float(ys.max()) + 1
            cx, cy = (x0 + x1) / 2 / SIZE, (y0 + y1) / 2 / SIZE
            out[b, :, 0, 0] = torch.tensor([math.log(cx / (1 - cx)), math.log(cy / (1 - cy)),
                                            math.log((x1 - x0) / 16), math.log((y1 - y0) / 16), 12.0, -12.0, 12.0])
        return out


class PerfectSegmenter(torch.nn.Module):
    """(B, 3, H, W) -> (B, 2, H, W) logits: class 1 where the pixel is bright."""

    def forward(self, x):
        fg = (x[:, :1] > 128).float()
        return torch.cat([1 - fg, fg], 1) * 10


def predictor(model, task: str, task_state: dict, size: int | None) -> Predictor:
    spec = image_spec(channels=3, height=SIZE, width=SIZE, mean=None, std=None, size=size)
    return Predictor(model, {"task": task, "task_state": task_state, "classes": ["circle", "square"],
                             "input_shape": [3, SIZE, SIZE], "preprocess": spec})


def picture(path, w, h, box):
    a = np.zeros((h, w, 3), np.uint8)
    x0, y0, x1, y1 = box
    a[y0:y1, x0:x1] = 255
    Image.fromarray(a).save(path)
    return str(path)


DETECT = {"anchors": [[16.0, 16.0]], "image_size": [SIZE, SIZE]}


@pytest.mark.parametrize("size", [None, SIZE])  # trained at native size (stretched) / with --size (resize + crop)
def test_detection_box_lands_on_the_object_in_a_non_square_image(tmp_path, size):
    box = (120, 40, 200, 100)  # inside the centre square of a 320x160 image, so a crop keeps it
    path = picture(tmp_path / "wide.png", 320, 160, box)
    (r,) = predictor(PerfectDetector(), "detection", DETECT, size).predict_items([path])
    assert r["image_size"] == [320, 160]
    (b,) = r["boxes"]
    assert b["class"] == "square" and b["score"] > 0.99
    assert np.allclose(b["box"], box, atol=320 / SIZE * 1.5)  # within ~1 model pixel, in original pixels


def test_detection_batch_of_different_sizes(tmp_path):
    a = picture(tmp_path / "a.png", 100, 300, (10, 200, 60, 290))
    b = picture(tmp_path / "b.png", 64, 64, (8, 8, 24, 40))
    ra, rb = predictor(PerfectDetector(), "detection", DETECT, None).predict_items([a, b])
    assert np.allclose(ra["boxes"][0]["box"], (10, 200, 60, 290), atol=5)
    assert np.allclose(rb["boxes"][0]["box"], (8, 8, 24, 40), atol=0.01)  # training size: nothing moves


def test_geometry_round_trips_resize_crop():
    g = InputGeometry.resize_crop(300, 100, 50)  # 150x50 then crop x 50..100
    assert g.box_to_original([0, 0, 50, 50]) == [100.0, 0.0, 200.0, 100.0]
    mask = np.zeros((50, 50), np.int64)
    mask[:, 25:] = 1
    big = g.mask_to_original(mask)
    assert big.shape == (100, 300) and big[:, 150:].all() and not big[:, :150].any()  # edge pixels extend


def test_segmentation_mask_png_at_original_size_and_json_summary(tmp_path, monkeypatch, capsys):
    path = picture(tmp_path / "tall.png", 90, 150, (30, 60, 60, 120))
    p = predictor(PerfectSegmenter(), "segmentation", {}, None)
    (r,) = p.predict_items([path])
    mask = np.asarray(r["mask"])
    truth = np.zeros((150, 90), bool)
    truth[60:120, 30:60] = True
    assert mask.shape == (150, 90) and ((mask == 1) == truth).mean() > 0.98
    assert r["share"]["square"] == pytest.approx(truth.mean(), abs=0.01)

    monkeypatch.setattr(Predictor, "from_run", classmethod(lambda cls, *a, **k: p))
    assert main(["predict", "RUN", path, "--out", str(tmp_path / "masks"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["predictions"][0]
    assert "mask" not in out and out["share"] == r["share"]
    png = Image.open(out["mask_png"])
    assert png.mode == "P" and np.array_equal(np.asarray(png), mask)  # class ids, original size


def test_segmentation_without_out_is_a_one_line_error_and_writes_nothing(tmp_path, monkeypatch, capsys):
    path = picture(tmp_path / "x.png", 64, 64, (0, 0, 8, 8))
    p = predictor(PerfectSegmenter(), "segmentation", {}, None)
    monkeypatch.setattr(Predictor, "from_run", classmethod(lambda cls, *a, **k: p))
    assert main(["predict", "RUN", path]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and len(err.strip().splitlines()) == 1


def test_detection_cli_prints_boxes_in_original_pixels(tmp_path, monkeypatch, capsys):
    path = picture(tmp_path / "wide.png", 320, 160, (120, 40, 200, 100))
    p = predictor(PerfectDetector(), "detection", DETECT, None)
    monkeypatch.setattr(Predictor, "from_run", classmethod(lambda cls, *a, **k: p))
    assert main(["predict", "RUN", path]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{path}: 1 boxes  square 1.00 [")
    x0, y0, x1, y1 = (float(v) for v in line.split("[")[1].rstrip("]").split(", "))
    assert np.allclose([x0, y0, x1, y1], (120, 40, 200, 100), atol=7.5)


def test_localization_box_is_placed_in_the_original_image():
    from deepdojo.tasks import get_task

    task = get_task("localization", image_size=[SIZE, SIZE])
    g = InputGeometry.stretch(200, 100, SIZE, SIZE)
    placed = task.to_original({"object": True, "class": "square", "box": [32.0, 32.0, 64.0, 64.0]}, g)
    assert placed["box"] == [100.0, 50.0, 200.0, 100.0]
    assert "box" not in task.to_original({"object": False, "p_object": 0.1}, g)


@pytest.mark.parametrize("size", [None, SIZE])
def test_exported_model_path_also_returns_boxes_in_original_pixels(tmp_path, size):
    """ExportedModel predicts with no preprocessor (decode here, normalize in the graph): same geometry undone."""
    box = (120, 40, 200, 100)
    path = picture(tmp_path / "wide.png", 320, 160, box)
    p = predictor(PerfectDetector(), "detection", DETECT, size)
    p.meta["decode"] = {"size": size}
    p.preprocessor = None  # what ExportedModel.load does
    (b,) = p.predict_items([path])[0]["boxes"]
    assert np.allclose(b["box"], box, atol=320 / SIZE * 1.5)
