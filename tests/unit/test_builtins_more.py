"""Built-ins that need no network: circles, blobs, diabetes (regression), shapes (boxes, masks)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_diabetes

from deepdojo.data.builtin import SHAPES, load_builtin, shapes_dataset


def test_tabular_builtins():
    for name, classes in (("circles", 2), ("blobs", 4)):
        data = load_builtin(name)
        assert data.task == "classification" and data.num_classes == classes and data.input_shape == (2,)
    d = load_builtin("diabetes")
    assert d.task == "regression" and d.input_shape == (10,) and d.num_classes is None
    y = np.concatenate([yb.numpy() for _, yb in d.train] + [yb.numpy() for _, yb in d.valid])
    np.testing.assert_allclose(np.sort(y), np.sort(load_diabetes().target), rtol=1e-6)


def test_shapes_boxes_and_masks_agree():
    d = shapes_dataset(n=60, size=32, seed=1)
    assert d["x"].shape == (60, 3, 32, 32) and set(d["y"]) == {0, 1, 2}
    for m, (x0, y0, x1, y1) in zip(d["masks"], d["boxes"].astype(int)):
        assert m[y0:y1, x0:x1].sum() == m.sum() > 0  # the box encloses the whole mask, tightly:
        assert m[y0].any() and m[y1 - 1].any() and m[:, x0].any() and m[:, x1 - 1].any()
    fill = d["masks"].sum((1, 2)) / ((d["boxes"][:, 2] - d["boxes"][:, 0]) * (d["boxes"][:, 3] - d["boxes"][:, 1]))
    for k, (lo, hi) in enumerate([(0.7, 0.85), (0.99, 1.01), (0.4, 0.6)]):  # circle pi/4, square 1, triangle 1/2
        assert lo <= np.median(fill[d["y"] == k]) <= hi, SHAPES[k]
    data = load_builtin("shapes")
    assert data.classes == list(SHAPES) and data.input_shape == (3, 32, 32)
