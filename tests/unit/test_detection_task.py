"""The detection task: anchors, encoding/decoding round trip, the loss, training a tiny YOLO, flip augmentation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepdojo.data.scenes import FlipBatchTransform, load_scenes, shapes_scenes
from deepdojo.errors import ConfigError
from deepdojo.models import create_model
from deepdojo.tasks import get_task
from deepdojo.tasks.detection import Detection, kmeans_anchors, wh_iou


def encode(task: Detection, target: torch.Tensor, grid: int, k: int) -> torch.Tensor:
    """The raw output that says exactly ``target`` (the inverse of decoding), confident everywhere."""
    a = len(task.anchors)
    out = torch.full((len(target), a, 5 + k, grid, grid), -12.0)
    stride = task.image_size[1] / grid
    anchors = torch.tensor(task.anchors)
    for b, rows in enumerate(target):
        for c, x0, y0, x1, y1 in rows.tolist():
            if c < 0:
                continue
            cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
            j = int(wh_iou(torch.tensor([[w, h]]), anchors).argmax())
            gx, gy = int(cx // stride), int(cy // stride)
            fx, fy = (min(max(f, 1e-7), 1 - 1e-7) for f in (cx / stride - gx, cy / stride - gy))  # on a cell edge: ~0
            aw, ah = task.anchors[j]
            out[b, j, :, gy, gx] = torch.tensor([math.log(fx / (1 - fx)), math.log(fy / (1 - fy)), math.log(w / aw),
                                                 math.log(h / ah), 12.0, *[12.0 * (i == c) for i in range(k)]])
    return out.flatten(1, 2)


@pytest.fixture(scope="module")
def scenes():
    return load_scenes("shapes_detection", n=48, seed=1, batch_size=16)


def test_scenes_boxes_enclose_their_masks_and_targets_are_padded():
    d = shapes_scenes(n=30, seed=2)
    for boxes, mask in zip(d["boxes"], d["masks"]):
        real = boxes[boxes[:, 0] >= 0]
        assert 1 <= len(real) <= 5 and (boxes[len(real):] == -1).all()  # real rows first, then padding
        for c, x0, y0, x1, y1 in real.astype(int):
            inside = mask[y0:y1, x0:x1] == c + 1
            assert inside.any() and inside[0].any() | inside[-1].any()  # the box touches its shape's pixels
        covered = np.zeros_like(mask, bool)
        for c, x0, y0, x1, y1 in real.astype(int):
            covered[y0:y1, x0:x1] = True
        assert not (mask > 0)[~covered].any()  # every shape pixel lies in some box


def test_kmeans_anchors_fit_the_box_sizes():
    rng = np.random.default_rng(0)
    wh = np.concatenate([rng.normal(6, 0.5, (50, 2)), rng.normal(20, 1, (50, 2))])
    small, large = kmeans_anchors(wh, 2)
    assert abs(small[0] - 6) < 1 and abs(large[0] - 20) < 2


def test_decode_inverts_the_encoding_exactly(scenes):
    task = get_task("detection")
    task.model_kwargs(scenes)
    y = scenes.train.y[:16]
    out = encode(task, y, grid=8, k=3)
    assert task.loss(out, y) < 0.05  # the perfect output has (almost) no loss
    decoded = task.decode(out)
    r = task.evaluate_boxes(decoded, y)
    assert r["map_50"] == pytest.approx(1.0) and r["map"] > 0.99
    first = decoded[0][decoded[0][:, 5] >= 0]
    want = y[0][y[0][:, 0] >= 0]
    got = sorted((int(c), *[round(v, 3) for v in b]) for *b, s, c in first.tolist())
    assert got == sorted((int(c), *[round(v, 3) for v in b]) for c, *b in want.tolist())


def test_per_example_loss_is_per_image_and_mean_is_the_batch_loss(scenes):
    task = get_task("detection")
    task.model_kwargs(scenes)
    torch.manual_seed(0)
    out, y = torch.randn(4, 3 * 8, 8, 8), scenes.train.y[:4]
    per = task.per_example_loss(out, y)
    assert per.shape == (4,)
    assert torch.allclose(per, torch.stack([task.loss(out[i:i + 1], y[i:i + 1]) for i in range(4)]), rtol=1e-5)
    assert torch.allclose(per.mean(), task.loss(out, y))


def test_loss_without_anchors_is_a_config_error():
    with pytest.raises(ConfigError, match="no anchors"):
        Detection().loss(torch.zeros(1, 8, 4, 4), torch.full((1, 2, 5), -1.0))


def test_tiny_yolo_overfits_a_few_images(scenes):
    from deepdojo.train.learner import Learner

    task = get_task("detection")
    kw = task.model_kwargs(scenes)
    torch.manual_seed(0)
    model = create_model("yolo", 3, in_channels=3, width=8, **kw)
    xb, y = next(iter(scenes.valid))  # normalized images, no augmentation
    xb, y = xb[:4], y[:4]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = task.loss(model(xb), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        r = task.evaluate_boxes(task.decode(model(xb)), y)
    assert r["map_50"] > 0.8, r
    learn = Learner(model, scenes, task=task, progress=False, default_callbacks=False)
    table = learn.predict(scenes.valid.x[0])  # raw uint8 in, preprocessed as validation was
    assert table.shape == (task.max_det, 6)
    shown = task.format_prediction(table, scenes.classes)
    assert shown["boxes"] and {b["class"] for b in shown["boxes"]} <= set(scenes.classes)


def test_state_rebuilds_the_task():
    t = Detection(anchors=[[4, 5], [10, 12]], image_size=[64, 64], conf_threshold=0.3)
    again = get_task("detection", **t.state())
    assert again.state() == t.state() and again.num_anchors == 2


def test_flip_moves_boxes_and_masks_with_the_image():
    d = shapes_scenes(n=8, seed=3)
    x, boxes, masks = torch.from_numpy(d["x"]), torch.from_numpy(d["boxes"]), torch.from_numpy(d["masks"])
    tf = FlipBatchTransform([0.0] * 3, [1.0] * 3)
    gen = torch.Generator().manual_seed(0)
    xf, bf = tf(x, boxes, gen)
    gen.manual_seed(0)
    _, mf = tf(x, masks, gen)
    flipped = (xf * 255).round().to(torch.uint8) != x
    assert flipped.any()
    for i in range(8):
        did = bool(flipped[i].any())
        assert torch.equal(mf[i], masks[i].flip(-1) if did else masks[i])
        for (c, x0, y0, x1, y1), (_, a0, b0, a1, b1) in zip(boxes[i].tolist(), bf[i].tolist()):
            if c < 0:
                assert [a0, b0, a1, b1] == [x0, y0, x1, y1]  # padding stays padding
            elif did:
                assert (a0, b0, a1, b1) == (64 - x1, y0, 64 - x0, y1)
        # the flipped boxes still enclose the flipped mask's pixels
        real = bf[i][bf[i][:, 0] >= 0].long()
        covered = torch.zeros(64, 64, dtype=torch.bool)
        for c, x0, y0, x1, y1 in real.tolist():
            covered[y0:y1, x0:x1] = True
        assert not (mf[i] > 0)[~covered].any()


def test_pictures_draw_boxes_and_overlay_masks(tmp_path):
    from deepdojo.evaluate.dense_pictures import PALETTE, draw_boxes, overlay_mask

    d = shapes_scenes(n=1, seed=4)
    img, boxes, mask = torch.from_numpy(d["x"][0]), torch.from_numpy(d["boxes"][0]), torch.from_numpy(d["masks"][0])
    real = boxes[boxes[:, 0] >= 0]
    pred = torch.cat([real[:, 1:], torch.ones(len(real), 1), real[:, :1]], 1)  # the truth, predicted at score 1
    pic = draw_boxes(img, pred, boxes, ["circle", "square", "triangle"], scale=4, path=tmp_path / "boxes.png")
    arr = np.asarray(pic)
    c, x0, y0, x1, _ = real[0].tolist()
    assert tuple(arr[int(y0) * 4 + 1, int((x0 + x1) / 2) * 4]) == PALETTE[int(c)]  # the box's top edge, class colour
    assert (tmp_path / "boxes.png").stat().st_size > 0
    over = np.asarray(overlay_mask(img, mask, 4, alpha=1.0))
    ys, xs = np.nonzero(d["masks"][0])
    assert tuple(over[ys[0], xs[0]]) == PALETTE[d["masks"][0][ys[0], xs[0]] - 1]
    bg = np.nonzero(d["masks"][0] == 0)
    assert (over[bg[0][0], bg[1][0]] == d["x"][0][:, bg[0][0], bg[1][0]]).all()  # background untouched
