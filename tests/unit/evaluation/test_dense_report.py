"""Detection and segmentation runs: interpretation (worst images, per-class AP / Dice, PR curves), report, interpret.

The per-class figures are checked against their oracles: the PR curve of a
class averages to its AP@0.5 from ``coco_map`` (pycocotools' numbers), and
the per-class Dice is recomputed from the masks with NumPy.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from test_report import chromium, rendered  # noqa: F401 (chromium is a fixture)

import deepdojo
from deepdojo.cli.main import main
from deepdojo.data.scenes import load_scenes


def _run(tmp_path_factory, name: str):
    data = load_scenes(name, n=48, seed=3, batch_size=16)
    out = tmp_path_factory.mktemp(name)
    learn = deepdojo.learner(data, out=out, name="r", progress=False, seed=0)
    learn.fit(1, 3e-3)
    learn.finish()
    return learn, learn.run.path


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    return _run(tmp_path_factory, "shapes_detection")


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    return _run(tmp_path_factory, "shapes_segmentation")


def test_detection_interpretation_matches_coco_map(detection_run):
    learn, run_dir = detection_run
    it = json.loads((run_dir / "interpretation.json").read_text())
    ev = json.loads((run_dir / "evaluation.json").read_text())["valid"]
    assert it["kind"] == "boxes" and [r["class"] for r in it["per_class"]] == learn.data.classes
    for r, ap50 in zip(it["per_class"], ev["ap50_per_class"]):
        assert r["ap50"] == pytest.approx(ap50, abs=1e-9)  # the same matching as the metric
        curve = it["pr_curves_50"]["precision"][r["class"]]
        if r["boxes"]:
            assert len(curve) == 101 and np.mean(curve) == pytest.approx(r["ap50"], abs=1e-5)
            assert all(a >= b - 1e-12 for a, b in zip(curve, curve[1:]))  # the envelope never rises
        else:
            assert curve is None and r["ap50"] is None
    n_boxes = int((learn.data.valid.y[..., 0] >= 0).sum())
    assert sum(r["boxes"] for r in it["per_class"]) == n_boxes
    losses = [w["loss"] for w in it["worst"]]
    assert losses == sorted(losses, reverse=True) and len(losses) == 8
    learn.model.eval()
    with torch.no_grad():  # the oracle: every validation image's task loss, recomputed
        every = torch.cat([learn.task.per_example_loss(learn.model(xb), yb) for xb, yb in learn.data.valid])
    assert [w["index"] for w in it["worst"]] == torch.argsort(every, descending=True, stable=True)[:8].tolist()
    assert losses == pytest.approx(every.sort(descending=True).values[:8].tolist(), abs=1e-5)
    for name in ("worst_images.png", "pr_curves.png"):
        assert (run_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_segmentation_interpretation_dice_matches_numpy(segmentation_run):
    learn, run_dir = segmentation_run
    it = json.loads((run_dir / "interpretation.json").read_text())
    assert it["kind"] == "masks" and (run_dir / "worst_images.png").is_file() and "pr_curves_50" not in it
    learn.model.eval()
    preds, truth = [], []
    with torch.no_grad():
        for xb, yb in learn.data.valid:
            preds.append(learn.model(xb).argmax(1).numpy())
            truth.append(yb.numpy())
    p, t = np.concatenate(preds), np.concatenate(truth)
    for c, r in enumerate(it["per_class"]):
        a, b = p == c, t == c
        if a.sum() + b.sum():
            assert r["dice"] == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()), abs=1e-6)
        assert r["pixel_share"] == pytest.approx(b.mean(), abs=1e-6)
    worst = it["worst"][0]
    assert worst["pixel_accuracy"] == pytest.approx((p[worst["index"]] == t[worst["index"]]).mean(), abs=1e-6)


@pytest.mark.parametrize("which, titles", [
    ("detection_run", ["Per-class AP (validation)", "Precision-recall per class (IoU 0.5)",
                       "Worst images by loss: found vs true boxes"]),
    ("segmentation_run", ["Per-class Dice and IoU (validation)", "Worst images by loss: true vs predicted masks"]),
])
def test_dense_report_renders_in_headless_chromium(which, titles, request, tmp_path, chromium):  # noqa: F811
    _, run_dir = request.getfixturevalue(which)
    page = (run_dir / "report.html").read_text()
    for title in titles:
        assert title in page, title
    assert "could not be rendered" not in page and "Notes" not in page
    result = rendered(chromium, page, tmp_path)
    assert result["errors"] == [] and result["bad"] == [], result
    alts = re.findall(r"alt='([^']*)'", page)
    assert "worst validation images" in alts
    assert ("precision-recall curves" in alts) == (which == "detection_run")


def test_interpret_cli_writes_dense_figures(segmentation_run, monkeypatch, capsys):
    import deepdojo.evaluate.run_eval as run_eval

    learn, run_dir = segmentation_run
    monkeypatch.setattr(run_eval, "load_run_data", lambda run_dir: learn.data)  # in-memory data: no source to rebuild
    assert main(["interpret", str(run_dir), "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["kind"] == "masks" and len(out["worst"]) == 3
    assert (run_dir / "interpret" / "worst_images.png").is_file()
    assert json.loads((run_dir / "interpret" / "interpretation.json").read_text())["worst"] == out["worst"]
