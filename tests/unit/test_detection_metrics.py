"""Box IoU, NMS and COCO mAP against oracles: pycocotools, faster-coco-eval and a plain greedy NMS loop."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from deepdojo.metrics.detection import DetectionMAP, batched_nms, box_iou, coco_map, nms, padded_to_list

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def _boxes(rng, n, lo=0.0, hi=50.0):
    xy = rng.uniform(lo, hi, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(2, 30, (n, 2))], 1)


def random_case(rng, n_img=8, k=3, max_gt=5, max_dt=12):
    """Detections near the truth (right or wrong class), random ones, empty images and images without detections."""
    preds, targets = [], []
    for _ in range(n_img):
        m, n = int(rng.integers(0, max_gt + 1)), int(rng.integers(0, max_dt + 1))
        gb, gl = _boxes(rng, m), rng.integers(0, k, m)
        db, dl = _boxes(rng, n), rng.integers(0, k, n)
        if m:
            near, j = rng.random(n) < 0.6, rng.integers(0, m, n)
            jit = gb[j[near]] + rng.normal(0, 2, (int(near.sum()), 4))
            db[near] = np.concatenate([np.minimum(jit[:, :2], jit[:, 2:]), np.maximum(jit[:, :2], jit[:, 2:])], 1)
            dl = np.where(near & (rng.random(n) < 0.8), gl[j], dl)
        preds.append({"boxes": torch.tensor(db), "scores": torch.tensor(rng.random(n)), "labels": torch.tensor(dl)})
        targets.append({"boxes": torch.tensor(gb), "labels": torch.tensor(gl)})
    return preds, targets


def to_coco(preds, targets, k, img_id=lambda i: 1000 + 7 * i, cat_id=lambda c: 5 + 3 * c):
    """COCO dicts with ids that do not start at 1 (the custom-dataset case that trips users of COCOeval)."""
    images = [{"id": img_id(i), "width": 100, "height": 100} for i in range(len(targets))]
    anns, dets = [], []
    for i, (p, t) in enumerate(zip(preds, targets)):
        for b, lab in zip(t["boxes"].tolist(), t["labels"].tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": img_id(i), "category_id": cat_id(lab), "bbox": [b[0], b[1], w, h],
                         "area": w * h, "iscrowd": 0})
        for b, s, lab in zip(p["boxes"].tolist(), p["scores"].tolist(), p["labels"].tolist()):
            dets.append({"image_id": img_id(i), "category_id": cat_id(lab), "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
    return {"images": images, "annotations": anns, "categories": [{"id": cat_id(c), "name": str(c)} for c in range(k)]}, dets


def pycoco_stats(gt, dets):
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO()
        g.dataset = gt
        g.createIndex()
        e = COCOeval(g, g.loadRes(dets), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e.stats


def faster_stats(gt, dets):
    fce = pytest.importorskip("faster_coco_eval")
    with contextlib.redirect_stdout(io.StringIO()):
        g = fce.COCO(gt)
        e = fce.COCOeval_faster(g, g.loadRes(dets), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e.stats


def _close(ours, stats):
    # COCO's -1 (no ground truth anywhere) is our None
    for key, i in (("map", 0), ("map_50", 1), ("map_75", 2)):
        want = None if stats[i] == -1 else stats[i]
        got = ours[key]
        assert (got is None) == (want is None), (key, got, want)
        if want is not None:
            assert abs(got - want) < 1e-4, (key, got, want)


@pytest.mark.parametrize("seed", range(6))
def test_coco_map_equals_pycocotools_and_faster_coco_eval_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    preds, targets = random_case(rng, n_img=int(rng.integers(3, 12)), k=int(rng.integers(1, 5)))
    k = 1 + max(max([int(t["labels"].max()) for t in targets if len(t["labels"])], default=0),
                max([int(p["labels"].max()) for p in preds if len(p["labels"])], default=0))
    gt, dets = to_coco(preds, targets, k)
    ours = coco_map(preds, targets, num_classes=k)
    _close(ours, pycoco_stats(gt, dets))
    _close(ours, faster_stats(gt, dets))


def test_edge_cases_match_pycocotools():
    """Empty images, images without detections, a class with detections but no truth, a class with neither,
    tied scores, duplicate detections, more than 100 detections in one image."""
    rng = np.random.default_rng(42)
    same = torch.tensor([[10., 10., 30., 30.]])
    preds = [
        {"boxes": torch.tensor([[10., 10., 30., 30.], [10., 10., 30., 30.], [11., 10., 30., 31.]]),
         "scores": torch.tensor([0.5, 0.5, 0.5]), "labels": torch.tensor([0, 0, 0])},  # ties and duplicates
        {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)},  # no dets
        {"boxes": torch.tensor(_boxes(rng, 3)), "scores": torch.tensor([0.9, 0.8, 0.7]),
         "labels": torch.tensor([0, 2, 2])},  # detections on an empty image; class 2 has no truth anywhere
        {"boxes": torch.tensor(_boxes(rng, 130)), "scores": torch.tensor(rng.random(130)),
         "labels": torch.zeros(130, dtype=torch.long)},  # over 100 in one image: COCO keeps the top 100
    ]
    preds[3]["boxes"][:3] = torch.tensor(targets_boxes := _boxes(rng, 3))
    targets = [
        {"boxes": same, "labels": torch.tensor([0])},
        {"boxes": torch.tensor([[0., 0., 5., 5.]]), "labels": torch.tensor([1])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)},
        {"boxes": torch.tensor(targets_boxes), "labels": torch.tensor([0, 0, 0])},
    ]
    gt, dets = to_coco(preds, targets, 4, img_id=lambda i: 3 * i + 17, cat_id=lambda c: 100 - c)  # class 3: no boxes
    ours = coco_map(preds, targets, num_classes=4)
    _close(ours, pycoco_stats(gt, dets))
    _close(ours, faster_stats(gt, dets))
    assert ours["ap_per_class"][1] == 0.0  # truth but no detections
    assert ours["ap_per_class"][2] is None and ours["ap_per_class"][3] is None  # no truth: out of the mean


def test_coco_map_without_any_truth_is_none_and_inverted_boxes_are_errors():
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}
    det = {"boxes": torch.tensor([[0., 0., 1., 1.]]), "scores": torch.tensor([1.0]), "labels": torch.tensor([0])}
    assert coco_map([det], [empty])["map"] is None
    bad = dict(det, boxes=torch.tensor([[5., 0., 1., 1.]]))
    with pytest.raises(ValueError, match="image 0: predicted box 0"):
        coco_map([bad], [empty])


def test_box_iou_matches_a_scalar_formula():
    rng = np.random.default_rng(0)
    a, b = torch.tensor(_boxes(rng, 7)), torch.tensor(_boxes(rng, 5))
    got = box_iou(a, b)
    for i in range(7):
        for j in range(5):
            x0, y0 = max(a[i, 0], b[j, 0]), max(a[i, 1], b[j, 1])
            x1, y1 = min(a[i, 2], b[j, 2]), min(a[i, 3], b[j, 3])
            inter = max(0.0, float(x1 - x0)) * max(0.0, float(y1 - y0))
            area = lambda r: float((r[2] - r[0]) * (r[3] - r[1]))  # noqa: E731
            assert abs(float(got[i, j]) - inter / (area(a[i]) + area(b[j]) - inter)) < 1e-9
    assert box_iou(torch.zeros(1, 4), torch.zeros(1, 4)).item() == 0.0  # empty union: 0, not NaN


def greedy_nms(boxes, scores, thr):
    """The textbook loop: take the best remaining box, drop those overlapping it."""
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if order:
            iou = box_iou(boxes[i:i + 1].double(), boxes[order].double())[0]
            order = [o for o, v in zip(order, iou.tolist()) if v <= thr]
    return keep


@pytest.mark.parametrize("seed,n,block", [(0, 300, 256), (1, 700, 64), (2, 50, 8), (3, 1, 256)])
def test_nms_equals_the_greedy_loop(seed, n, block):
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(max(n // 10, 1), 2, generator=g) * 200  # clusters: long suppression chains
    c = centres[torch.randint(0, len(centres), (n,), generator=g)] + torch.randn(n, 2, generator=g) * 6
    wh = 10 + torch.rand(n, 2, generator=g) * 20
    boxes = torch.cat([c - wh / 2, c + wh / 2], 1)
    scores = torch.rand(n, generator=g).round(decimals=2)  # ties: the earlier box wins
    for thr in (0.3, 0.5, 0.7):
        assert nms(boxes, scores, thr, block=block).tolist() == greedy_nms(boxes, scores, thr)


def test_batched_nms_is_nms_per_class():
    g = torch.Generator().manual_seed(0)
    n = 400
    xy = torch.rand(n, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + 5 + torch.rand(n, 2, generator=g) * 30], 1)
    scores, labels = torch.rand(n, generator=g), torch.randint(0, 4, (n,), generator=g)
    got = set(batched_nms(boxes, scores, labels, 0.5).tolist())
    want = set()
    for c in range(4):
        idx = (labels == c).nonzero().squeeze(1)
        want |= set(idx[nms(boxes[idx], scores[idx], 0.5)].tolist())
    assert got == want
    one_pass, per_class = batched_nms(boxes, scores, labels, 0.5), batched_nms(boxes, scores, labels, 0.5, per_class_above=0)
    assert one_pass.tolist() == per_class.tolist()  # both paths: same boxes, best score first
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5).numel() == 0


def test_detection_map_metric_streams_batches():
    rng = np.random.default_rng(3)
    preds, targets = random_case(rng, n_img=6, k=2)
    padded = torch.full((6, 8, 5), -1.0)
    for i, t in enumerate(targets):
        padded[i, : len(t["labels"]), 0] = t["labels"].float()
        padded[i, : len(t["labels"]), 1:] = t["boxes"].float()
    back = padded_to_list(padded)
    assert all(torch.equal(b["labels"], t["labels"]) for b, t in zip(back, targets))
    batches = iter([preds[:4], preds[4:]])
    metric = DetectionMAP(lambda raw: next(batches), key="map_50", num_classes=2)
    metric.update(None, padded[:4])
    metric.update(None, padded[4:])
    want = coco_map([{k: v.float() for k, v in p.items()} for p in preds], targets, num_classes=2)["map_50"]
    assert abs(metric.compute() - want) < 1e-6
