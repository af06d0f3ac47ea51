"""SceneAugment moves boxes and masks exactly as it moves the pixels; boxes pushed out are dropped and counted.

The oracle is the image itself: a box's pixels are painted, the batch is
warped, and the bounding box of the warped pixels must be the warped box.
"""

from __future__ import annotations

import numpy as np
import torch

from deepdojo.data.box_augment import SceneAugment


def _painted(n: int, size: int, seed: int):
    """``n`` images, each with one random filled rectangle (value 255) and its box row ``(n, 1, 5)``."""
    rng = np.random.default_rng(seed)
    x = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    boxes = torch.zeros(n, 1, 5)
    for i in range(n):
        x0, y0 = rng.integers(0, size - 8, 2)
        w, h = rng.integers(4, size // 2, 2)
        x1, y1 = min(size, x0 + w), min(size, y0 + h)
        x[i, 0, y0:y1, x0:x1] = 255
        boxes[i, 0] = torch.tensor([i % 3, x0, y0, x1, y1], dtype=torch.float32)
    return x, boxes


def test_boxes_move_with_their_pixels():
    x, boxes = _painted(64, 48, seed=0)
    aug = SceneAugment([0.0], [1.0], scale=(0.6, 1.6), max_shift=0.2)  # wider than the defaults
    out, moved = aug(x, boxes, torch.Generator().manual_seed(1))
    checked = 0
    for img, row, before in zip(out[:, 0], moved[:, 0], boxes[:, 0]):
        if row[0] < 0:
            continue
        assert row[0] == before[0]  # the class travels with the box
        ys, xs = np.nonzero(img.numpy() > 0.5)  # the painted pixels after the warp (bilinear: edges at 0.5)
        pixel_box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert np.allclose(row[1:].numpy(), pixel_box, atol=1.0), (row.tolist(), pixel_box)
        checked += 1
    assert checked >= 40
    assert aug.seen == 64 and aug.dropped == 64 - checked


def test_masks_stay_aligned_with_the_image():
    x, boxes = _painted(32, 40, seed=2)
    mask = (x[:, 0] > 0).long() * 2  # (B, H, W): class 2 on the rectangle, 0 elsewhere
    aug = SceneAugment([0.0], [1.0], scale=(0.7, 1.4), max_shift=0.15)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    img, _ = aug(x, boxes, g1)
    _, m = aug(x, mask, g2)  # the same draws: the same warp
    assert m.dtype == torch.long and set(m.unique().tolist()) <= {0, 2}
    agree = ((img[:, 0] > 0.5) == (m == 2)).float().mean()
    assert agree > 0.99, agree  # only bilinear edge pixels may disagree


def test_boxes_pushed_out_are_dropped_and_counted_not_lost():
    x = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    boxes = torch.tensor([[[0, 0, 0, 6, 6], [1, 13, 13, 19, 19], [-1, -1, -1, -1, -1]],
                          [[2, 26, 26, 32, 32], [-1, -1, -1, -1, -1], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    aug = SceneAugment([0.5] * 3, [0.25] * 3, scale=(2.5, 2.5), max_shift=0.0, flip=False)  # corners leave the picture
    _, moved = aug(x, boxes, torch.Generator().manual_seed(0))
    kept = int((moved[..., 0] >= 0).sum())
    assert kept == 1 and aug.dropped == 2 and aug.seen == 3  # seen = kept + dropped: nothing vanishes uncounted
    assert moved[0, 1].tolist() == [1.0, 8.5, 8.5, 23.5, 23.5]  # the centre box, 2.5x about the centre
    assert (moved[moved[..., 0] < 0] == -1).all()  # dropped rows are plain padding


def test_no_generator_means_no_augmentation_and_same_draws_repeat():
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    boxes = torch.tensor([[[0, 2, 2, 9, 9]]] * 4, dtype=torch.float32)
    aug = SceneAugment([0.5] * 3, [0.25] * 3)
    plain, same = aug(x, boxes, None)
    assert torch.equal(same, boxes) and torch.allclose(plain, (x.float() / 255 - 0.5) / 0.25)
    a = aug(x, boxes, torch.Generator().manual_seed(3))
    b = aug(x, boxes, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert aug.to_json()["kind"] == "image"  # predict sees a plain image transform


def test_scene_defaults_detection_gets_scene_augment_segmentation_mirror_only():
    from deepdojo.data.scenes import FlipBatchTransform, load_scenes

    assert isinstance(load_scenes("shapes_detection", n=20).train.transform, SceneAugment)
    assert type(load_scenes("shapes_segmentation", n=20).train.transform) is FlipBatchTransform
    assert isinstance(load_scenes("shapes_segmentation", n=20, augment="scene").train.transform, SceneAugment)
    assert type(load_scenes("shapes_detection", n=20, augment="flip").train.transform) is FlipBatchTransform
