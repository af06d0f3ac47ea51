"""The built-in scenes' pixels show the shape their label names (issue 14: a data bug would look like chance accuracy).

The oracle needs no model: inside its box a square fills ~100% of the
pixels, a circle pi/4 (~0.79) and an apex-up triangle with base 1.2 r and
height 2 r about 0.55. The fill is measured on the IMAGE (pixels close to
the colour at the box centre), not on the mask, so an invisible shape, a
shape drawn with another kind's outline, or boxes/labels swapped between
images all fail here.
"""

from __future__ import annotations

import numpy as np

from deepdojo.data.scenes import shapes_scenes


def image_fill(img: np.ndarray, row: np.ndarray) -> float:
    """Fraction of the box's pixels whose colour is within 45 (L1 over RGB) of the colour at the box centre."""
    _, x0, y0, x1, y1 = row.astype(int)
    box = img[:, y0:y1, x0:x1].astype(np.float32)  # (3, h, w)
    h, w = box.shape[1:]
    centre = np.median(box[:, h // 2 - 1:h // 2 + 2, w // 2 - 1:w // 2 + 2].reshape(3, -1), 1)  # (3,) a 3x3 patch
    return float((np.abs(box - centre[:, None, None]).sum(0) < 45).mean())


def test_localization_images_show_the_labelled_shape():
    d = shapes_scenes(n=300, seed=5, min_objects=1, max_objects=1, radius=(8.0, 20.0))  # the localization recipe
    rows = d["boxes"][:, 0]  # (N, 5): one shape per image
    fills = np.array([image_fill(img, row) for img, row in zip(d["x"], rows)])
    guess = np.where(fills > 0.92, 1, np.where(fills > 0.68, 0, 2))  # square, circle, triangle
    assert (guess == rows[:, 0]).mean() > 0.97
    for k, (lo, hi) in enumerate([(0.70, 0.90), (0.95, 1.0), (0.45, 0.65)]):  # circle, square, triangle
        assert lo < np.median(fills[rows[:, 0] == k]) <= hi


def test_classes_are_balanced_and_not_tied_to_colour_or_size():
    d = shapes_scenes(n=600, seed=6, min_objects=1, max_objects=1, radius=(8.0, 20.0))
    k = d["boxes"][:, 0, 0].astype(int)  # (N,)
    assert np.bincount(k, minlength=3).min() > 150  # ~200 each
    inside = d["masks"] > 0  # (N, H, W)
    mean_colour = np.stack([d["x"][i][:, inside[i]].mean(1) for i in range(len(k))])  # (N, 3)
    area = inside.sum((1, 2))  # (N,)
    for c in range(3):  # a class told apart by its colour would be a leak, not a shape
        spread = [mean_colour[k == j, c].mean() for j in range(3)]
        assert max(spread) - min(spread) < 20
    # the box's size alone must not give the class away: the median sizes overlap across classes
    side = d["boxes"][:, 0, 3] - d["boxes"][:, 0, 1]
    assert np.ptp([np.median(side[k == j]) for j in range(3)]) < 8
    assert area.min() >= 12
