"""The localization task: the masked ("don't care") loss, decoding, metrics against a plain loop, one-box checks,
training that beats the mean-box baseline, and the checkpoint -> predict round trip."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepdojo.data.scenes import load_scenes, shapes_scenes
from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.localization import localization_scores
from deepdojo.tasks import get_task
from deepdojo.tasks.localization import Localization

SIZE = [64, 64]


def logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def encode(target: torch.Tensor, k: int, size=(64, 64), sure: float = 12.0) -> torch.Tensor:
    """The raw output that says exactly ``target (B, 5)`` (the inverse of decoding)."""
    h, w = size
    out = torch.zeros(len(target), 5 + k)
    for i, (c, x0, y0, x1, y1) in enumerate(target.tolist()):
        if c < 0:
            out[i, 0] = -sure
            continue
        out[i, :5] = torch.tensor([sure, logit((x0 + x1) / 2 / w), logit((y0 + y1) / 2 / h), logit((y1 - y0) / h),
                                   logit((x1 - x0) / w)])
        out[i, 5 + int(c)] = sure
    return out


def targets(n: int = 10, seed: int = 0) -> torch.Tensor:
    """``(n, 5)`` random boxes inside 64x64, every third image empty (class -1, boxes -1: "?")."""
    g = torch.Generator().manual_seed(seed)
    xy0 = torch.rand(n, 2, generator=g) * 40
    wh = 4 + torch.rand(n, 2, generator=g) * 20
    t = torch.cat([torch.randint(0, 3, (n, 1), generator=g).float(), xy0, xy0 + wh], 1)
    t[::3] = -1
    return t


def test_the_masked_loss_ignores_box_and_class_where_there_is_no_object():
    task = Localization(image_size=SIZE)
    t = targets(12)
    has = t[:, 0] >= 0
    pred = torch.randn(12, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    per = task.per_example_loss(pred, t)
    # images without an object: only the pc term, BCE against 0
    assert torch.allclose(per[~has], F.binary_cross_entropy_with_logits(pred[~has, 0], torch.zeros(int((~has).sum())),
                                                                        reduction="none"))
    # images with one: exactly what the subset alone gives (nothing leaks between rows)
    assert torch.allclose(per[has], task.per_example_loss(pred[has], t[has]))
    assert torch.allclose(task.loss(pred, t) * 12, per.sum())
    # the don't-care outputs get exactly zero gradient, and changing them changes nothing
    task.loss(pred, t).backward()
    assert (pred.grad[~has, 1:] == 0).all() and (pred.grad[has, 1:] != 0).any() and (pred.grad[:, 0] != 0).all()
    other = pred.detach().clone()
    other[~has, 1:] = torch.randn(int((~has).sum()), 7) * 100
    assert torch.equal(task.per_example_loss(other, t), per.detach())


def test_question_marks_in_the_target_are_dont_cares_too():
    """The curriculum writes y = [0, ?, ?, ...]: NaN box entries must not poison the loss or its gradient."""
    task = Localization(image_size=SIZE)
    t = targets(9)
    q = t.clone()
    q[q[:, 0] < 0] = float("nan")
    pred = torch.randn(9, 8, requires_grad=True)
    loss = task.loss(pred, q)
    assert torch.isfinite(loss) and torch.allclose(loss, task.loss(pred, t))
    loss.backward()
    assert torch.isfinite(pred.grad).all()


def test_exact_outputs_cost_nothing_and_decode_back_to_the_target():
    task = Localization(image_size=SIZE)
    t = targets(9)
    out = encode(t, k=3)
    assert float(task.loss(out, t)) < 1e-3
    dec = task.decode(out)
    has = t[:, 0] >= 0
    assert torch.allclose(dec[has, 1:5], t[has, 1:5], atol=1e-3)
    assert torch.equal(dec[has, 5], t[has, 0]) and (dec[has, 0] > 0.99).all() and (dec[~has, 0] < 0.01).all()
    assert localization_scores(dec, t) == {"presence_accuracy": 1.0, "class_accuracy": 1.0, "mean_iou": 1.0,
                                           "loc_accuracy": 1.0}
    # (B, 1, 5), the detection layout with one row, is read the same
    assert torch.equal(task.per_example_loss(out, t[:, None]), task.per_example_loss(out, t))


def test_metrics_equal_a_plain_loop():
    rng = np.random.default_rng(0)
    n = 200
    t = targets(n, seed=3).numpy()
    pred = np.zeros((n, 9), np.float32)
    pred[:, 0] = rng.random(n)
    xy0 = t[:, 1:3].clip(0) + rng.normal(0, 3, (n, 2))
    pred[:, 1:3], pred[:, 3:5] = xy0, xy0 + rng.uniform(4, 24, (n, 2))
    pred[:, 5] = rng.integers(0, 3, n)
    pres = hits = cls = objects = 0
    ious = []
    for p, (c, *box) in zip(pred, t):
        said = p[0] > 0.5
        if c < 0:
            pres += not said
            hits += not said
            continue
        objects += 1
        pres += said
        ix = max(0.0, min(p[3], box[2]) - max(p[1], box[0]))
        iy = max(0.0, min(p[4], box[3]) - max(p[2], box[1]))
        inter = ix * iy
        iou = inter / ((p[3] - p[1]) * (p[4] - p[2]) + (box[2] - box[0]) * (box[3] - box[1]) - inter)
        ious.append(iou)
        cls += p[5] == c
        hits += said and p[5] == c and iou >= 0.5
    got = localization_scores(torch.from_numpy(pred), torch.from_numpy(t))
    want = {"presence_accuracy": pres / n, "class_accuracy": cls / objects, "mean_iou": float(np.mean(ious)),
            "loc_accuracy": hits / n}
    assert got == pytest.approx(want, abs=1e-5)
    assert 0 < got["loc_accuracy"] < got["presence_accuracy"]  # the data is not degenerate: every branch was taken


def test_the_builtin_set_has_zero_or_one_shape_per_image():
    data = load_scenes("shapes_localization", n=60, seed=0, augment=None)
    y = data.train.source_y
    assert data.task == "localization" and y.shape == (60, 1, 5)
    has = y[:, 0, 0] >= 0
    assert 0.3 < float(has.float().mean()) < 0.7  # about half the images hold no shape
    wh = y[has, 0, 3:5] - y[has, 0, 1:3]
    assert float(wh.max()) / float(wh.min()) > 2  # a scale range
    d = shapes_scenes(n=20, seed=0)  # the detection scenes are unchanged by the new arguments
    assert ((d["boxes"][..., 0] >= 0).sum(1) >= 1).all()


def _yolo_folder(root, boxes_per_image):
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.txt").write_text("cat\ndog\n")
    for i, k in enumerate(boxes_per_image):
        Image.fromarray(np.full((32, 32, 3), 40 * i % 255, np.uint8)).save(root / "images" / f"im{i}.png")
        (root / "labels" / f"im{i}.txt").write_text("".join(f"{j % 2} 0.5 0.5 0.{2 + j} 0.3\n" for j in range(k)))
    return root


def test_box_annotations_with_one_box_or_none_load_for_localization(tmp_path):
    from deepdojo.data.load import load_data

    data = load_data(_yolo_folder(tmp_path / "ok", [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]))
    task = get_task("localization")
    assert task.output_size(data) == 5 + 2 and task.image_size == [32, 32]
    with pytest.raises(DataError, match=r"2 image\(s\) have 2 or more boxes \(im1, im3\).*--task detection"):
        task.output_size(load_data(_yolo_folder(tmp_path / "bad", [1, 2, 0, 3])))


def test_cli_refuses_two_boxes_with_exit_2_and_writes_no_run(tmp_path, capsys):
    from deepdojo.cli.main import main

    root = _yolo_folder(tmp_path / "bad", [1, 2, 0, 1])
    code = main(["train", str(root), "--task", "localization", "--epochs", "1", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "--task detection" in err and "im1" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_decode_without_an_image_size_is_a_config_error():
    with pytest.raises(ConfigError, match="image size"):
        Localization().decode(torch.zeros(1, 8))


def test_the_pipeline_trains_compares_and_predict_round_trips(tmp_path):
    """Through deepdojo.learner: the default arch, baselines with their sentences, checkpoint -> predict."""
    import deepdojo
    from PIL import Image

    data = load_scenes("shapes_localization", n=120, seed=0, batch_size=32)
    learn = deepdojo.learner(data, task="localization", out=tmp_path, name="loc", seed=0,
                             model_kwargs={"width": 4, "hidden": 16})
    assert learn.config["arch"] == "localizer"
    learn.fit_one_cycle(1, 1e-2)
    summary = learn.finish(baseline_budget_s=1)
    run = tmp_path / "loc"
    base = json.loads((run / "baselines.json").read_text())
    assert set(base["baselines"]["majority_mean_box"]) >= {"presence_accuracy", "mean_iou", "loc_accuracy", "predicts"}
    assert len(base["comparison"]) == 2 and "majority + mean box" in base["comparison"][0]
    assert set(summary["final"]) >= {"presence_accuracy", "class_accuracy", "mean_iou", "loc_accuracy"}
    objects = json.loads((run / "data_summary.json").read_text())["objects"]
    assert objects["train"]["with_object"] + objects["train"]["without_object"] == 96
    # checkpoint -> predict: a PNG of a validation image gives what the trained model says
    img = data.valid.x[0]  # (3, 64, 64) uint8
    Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / "scene.png")
    shown = deepdojo.load_learner(run).predict_input(str(tmp_path / "scene.png"))  # what `deepdojo predict` prints
    direct = learn.task.format_prediction(learn.predict(img), data.classes)
    assert {k: v for k, v in shown.items() if k != "input"} == direct
    assert set(direct) in ({"object", "p_object"}, {"object", "p_object", "class", "score", "box"})


@pytest.mark.skipif(os.environ.get("DEEPDOJO_LONG_TESTS") != "1", reason="about a minute of training: DEEPDOJO_LONG_TESTS=1")
def test_training_beats_the_mean_box_baseline_by_a_wide_margin():
    """The default localizer on the default set (8000 training scenes, ~4000 shapes), 10 epochs: far ahead of
    majority + mean box, and the class well above chance (issue 14: on 1600 scenes it stayed at 0.33-0.39)."""
    import deepdojo
    from deepdojo.evaluate.baselines import compute_baselines

    torch.set_num_threads(2)
    data = load_scenes("shapes_localization", seed=0, batch_size=32)  # the default size a user gets
    learn = deepdojo.learner(data, task="localization", out=None, seed=0)
    learn.fit_one_cycle(10, 5e-3)
    final = learn.history[-1]
    base = compute_baselines(data, learn.task)["baselines"]["majority_mean_box"]
    assert final["presence_accuracy"] >= base["presence_accuracy"] + 0.3, (final, base)
    assert final["mean_iou"] >= base["mean_iou"] + 0.2, (final, base)
    assert final["loc_accuracy"] >= base["loc_accuracy"] + 0.2, (final, base)
    assert final["class_accuracy"] >= 0.6, final  # chance is 1/3


def test_scene_builtins_load_through_the_one_door(monkeypatch):
    """builtin:shapes_detection / _segmentation / _localization were listed as valid but refused by load_builtin."""
    from deepdojo.data import scenes
    from deepdojo.data.load import load_data

    assert scenes.SCENE_SIZES["shapes_localization"] >= 10000  # ~4000 shapes: fewer leave the class at chance
    monkeypatch.setitem(scenes.SCENE_SIZES, "shapes_localization", 2000)  # the routing, without 10000 scenes
    data = load_data("builtin:shapes_localization", test_pct=0.1, augment="none")
    assert data.task == "localization" and data.info.sizes == {"train": 1440, "valid": 360, "test": 200}
    assert data.classes == ["circle", "square", "triangle"] and not data.train.augment
