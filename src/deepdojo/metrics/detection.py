"""Box detection metrics on plain torch: IoU, (batched, per-class) NMS, AP@0.5 and COCO mAP@[.5:.95].

Boxes are ``(N, 4)`` tensors of ``x0, y0, x1, y1`` in pixels (corners, the
far corner exclusive, as COCO measures width ``x1 - x0``).

:func:`coco_map` follows pycocotools' ``COCOeval`` (bbox, area "all", 100
detections per image and class, 101 recall points) step by step, including
its tie-breaking, so its figures equal pycocotools' and faster-coco-eval's to
1e-4 (tests/unit/test_detection_metrics.py checks both). Unlike ``COCOeval``
it needs no JSON files, no 1-based ids and no ``info`` field: images are list
positions, classes are integer labels; a class without ground truth is left
out of the mean (COCO's ``-1``), an image without boxes counts its
detections as false positives.

Example:
    >>> import torch
    >>> box_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 0., 3., 2.]]))
    tensor([[0.3333]])
    >>> boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [0., 0., 10., 10.]])
    >>> batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]), 0.5).tolist()
    [0, 2]
    >>> truth = [{"boxes": torch.tensor([[0., 0., 10., 10.]]), "labels": torch.tensor([0])}]
    >>> found = [{"boxes": torch.tensor([[0., 0., 10., 9.]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([0])}]
    >>> r = coco_map(found, truth)
    >>> round(r["map_50"], 6), round(r["map"], 6)  # IoU 0.9: matched at thresholds .5 to .9, not at .95
    (1.0, 0.9)
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from deepdojo.metrics.streaming import Metric

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # COCO's .5:.05:.95 (np.linspace, exactly as COCOeval builds them)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


# ----------------------------------------------------------------------------- IoU and NMS
def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``(N,)`` areas of ``(N, 4)`` corner boxes (0 for inverted boxes)."""
    return (boxes[:, 2] - boxes[:, 0]).clamp_min(0) * (boxes[:, 3] - boxes[:, 1]).clamp_min(0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N, M)`` intersection over union of corner boxes ``a (N, 4)`` and ``b (M, 4)``; 0 where the union is 0."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp_min(0)
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(torch.finfo(inter.dtype).tiny), torch.zeros_like(inter))


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, block: int = 256) -> torch.Tensor:
    """Greedy non-maximum suppression: indices of the kept boxes, highest score first.

    A box is dropped when its IoU with a higher-scoring kept box exceeds
    ``iou_threshold`` (the same rule as torchvision's ``nms``; equal scores
    keep the earlier box). Exact, on plain tensor ops, in blocks of ``block``
    boxes: within a block the greedy answer is the fixed point of "kept
    unless a kept earlier box overlaps it" (reached in a few vectorized
    sweeps, at most one per box), then the block's kept boxes suppress every
    later box at once. Memory is ``O(block * N)``, never ``N^2``.
    """
    n = len(boxes)
    if n == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    b = boxes[order].float()
    removed = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    for start in range(0, n, block):
        end = min(start + block, n)
        alive = ~removed[start:end]
        if not bool(alive.any()):
            continue
        blk = b[start:end]
        over = (box_iou(blk, blk) > iou_threshold).triu_(1)  # (k, k): earlier row overlaps later column
        keep = alive.clone()
        while True:  # Jacobi sweeps: box i is final once every box before it is; stop at the fixed point
            new = alive & ~(over & keep[:, None]).any(0)
            if torch.equal(new, keep):
                break
            keep = new
        removed[start:end] = ~keep
        if end < n:
            later = (~removed[end:]).nonzero().squeeze(1) + end  # only the boxes still in play
            if len(later):
                hit = (box_iou(blk[keep], b[later]) > iou_threshold).any(0)
                removed[later[hit]] = True
    return order[~removed]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float,
                per_class_above: int = 4000) -> torch.Tensor:
    """Per-class NMS: boxes of different ``labels`` never suppress each other; kept indices, best first.

    Up to ``per_class_above`` boxes, one :func:`nms` runs over boxes shifted by
    ``label * (span + 1)`` so that classes cannot overlap (one call, no
    per-class Python); above it, one :func:`nms` per class, which costs the sum
    of the squared class sizes instead of the square of the total (the
    10k-box case in benchmarks/nms.py). Same answer either way.
    """
    if len(boxes) == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    if len(boxes) > per_class_above:
        kept = []
        for c in torch.unique(labels):
            idx = (labels == c).nonzero().squeeze(1)
            kept.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
        keep = torch.cat(kept)
        return keep[torch.sort(scores[keep], descending=True, stable=True).indices]
    b = boxes.double()
    span = float((b.max() - b.min()).clamp_min(1))
    shifted = b - b.min() + (labels.to(b.dtype) * (span + 1))[:, None]
    return nms(shifted, scores, iou_threshold)


# ----------------------------------------------------------------------------- COCO average precision
def _as_np(t, dtype) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.asarray(t, dtype=dtype)


def _iou_np(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``(D, G)`` IoU in float64 (pycocotools' bbox IoU for non-crowd boxes)."""
    lt = np.maximum(d[:, None, :2], g[None, :, :2])
    rb = np.minimum(d[:, None, 2:], g[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(d)[:, None] + area(g)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(T, D)`` bool: whether each detection (score order) matches a ground-truth box at each threshold.

    COCOeval's greedy rule: each detection takes the unmatched ground truth of
    highest IoU at or above the threshold (ties: the later box).
    """
    n_det, n_gt = ious.shape
    matched = np.zeros((len(thresholds), n_det), bool)
    if n_gt == 0:
        return matched
    taken = np.zeros((len(thresholds), n_gt), bool)
    limits = np.minimum(thresholds, 1 - 1e-10)[:, None]  # (T, 1)
    rows = np.arange(len(thresholds))
    for d in range(n_det):
        cand = np.where(~taken & (ious[d][None, :] >= limits), ious[d][None, :], -1.0)  # (T, G)
        best = n_gt - 1 - cand[:, ::-1].argmax(1)  # last index of the maximum
        ok = cand[rows, best] >= 0
        matched[ok, d] = True
        taken[rows[ok], best[ok]] = True
    return matched


def coco_map(preds: Sequence[dict], targets: Sequence[dict], num_classes: int | None = None,
             max_dets: int = 100, curves: bool = False) -> dict[str, Any]:
    """COCO box AP over images: ``map`` (@[.5:.95]), ``map_50``, ``map_75``, ``ap_per_class``, ``ap50_per_class``.

    ``preds[i]``: ``{"boxes" (n, 4), "scores" (n,), "labels" (n,)}`` for image
    ``i``; ``targets[i]``: ``{"boxes" (m, 4), "labels" (m,)}`` (corner
    boxes, pixels). Classes are ``0..num_classes-1`` (default: every label
    seen); a class without ground-truth boxes is ``None`` per class and left
    out of the means. With no ground truth at all every figure is ``None``.
    An inverted box (``x1 < x0``) is a ``ValueError`` (COCOeval would
    silently ignore it when one side is inverted and count it when both are).
    Also ``recall`` (mean over classes, IoU 0.5, up to ``max_dets``).
    ``curves=True`` adds ``pr50_per_class``: per class, the interpolated
    precision at the 101 recall points of ``RECALL_POINTS`` at IoU 0.5 (the
    same matching; its mean is ``ap50_per_class``), ``None`` without ground truth.
    """
    if len(preds) != len(targets):
        raise ValueError(f"{len(preds)} prediction entries for {len(targets)} images")
    img_rows = []  # per image: (det boxes, scores, labels, gt boxes, gt labels)
    seen = 0
    for p, t in zip(preds, targets):
        row = (_as_np(p["boxes"], np.float64).reshape(-1, 4), _as_np(p["scores"], np.float64).reshape(-1),
               _as_np(p["labels"], np.int64).reshape(-1), _as_np(t["boxes"], np.float64).reshape(-1, 4),
               _as_np(t["labels"], np.int64).reshape(-1))
        for what, b in (("predicted", row[0]), ("target", row[3])):
            bad = np.flatnonzero((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1]))
            if len(bad):
                raise ValueError(f"image {len(img_rows)}: {what} box {bad[0]} {b[bad[0]].tolist()} has x1 < x0 or "
                                 "y1 < y0; boxes are corners x0, y0, x1, y1 (convert x, y, w, h first)")
        img_rows.append(row)
        for arr in (row[2], row[4]):
            if len(arr):
                seen = max(seen, int(arr.max()) + 1)
    k = num_classes if num_classes is not None else seen
    n_t = len(IOU_THRESHOLDS)
    precision = -np.ones((n_t, len(RECALL_POINTS), k))  # COCO's -1: class without ground truth
    recall = -np.ones((n_t, k))
    for c in range(k):
        scores, matched, n_gt = [], [], 0
        for db, ds, dl, gb, gl in img_rows:
            g = gb[gl == c]
            sel = np.flatnonzero(dl == c)
            sel = sel[np.argsort(-ds[sel], kind="mergesort")][:max_dets]  # score order, stable; capped per image
            n_gt += len(g)
            if not len(sel):
                continue
            scores.append(ds[sel])
            matched.append(_match(_iou_np(db[sel], g), IOU_THRESHOLDS) if len(g) else np.zeros((n_t, len(sel)), bool))
        if n_gt == 0:
            continue
        if not scores:
            precision[:, :, c], recall[:, c] = 0.0, 0.0
            continue
        s = np.concatenate(scores)
        order = np.argsort(-s, kind="mergesort")  # images in order, then score: COCOeval.accumulate's order
        m = np.concatenate(matched, axis=1)[:, order]  # (T, D)
        tp = np.cumsum(m, axis=1, dtype=np.float64)
        fp = np.cumsum(~m, axis=1, dtype=np.float64)
        for ti in range(n_t):
            rc = tp[ti] / n_gt
            pr = tp[ti] / (fp[ti] + tp[ti] + np.spacing(1))
            recall[ti, c] = rc[-1]
            pr = np.maximum.accumulate(pr[::-1])[::-1]  # precision envelope (monotone from the right)
            idx = np.searchsorted(rc, RECALL_POINTS, side="left")
            q = np.zeros(len(RECALL_POINTS))
            ok = idx < len(pr)
            q[ok] = pr[idx[ok]]
            precision[ti, :, c] = q

    def mean(a: np.ndarray) -> float | None:
        v = a[a > -1]
        return float(v.mean()) if v.size else None

    per_class = [mean(precision[:, :, c]) for c in range(k)]
    per_class50 = [mean(precision[0, :, c]) for c in range(k)]
    out = {"map": mean(precision), "map_50": mean(precision[0]), "map_75": mean(precision[5]),
           "recall_50": mean(recall[0]), "ap_per_class": per_class, "ap50_per_class": per_class50}
    if curves:
        out["pr50_per_class"] = [precision[0, :, c].tolist() if precision[0, 0, c] > -1 else None for c in range(k)]
    return out


# ----------------------------------------------------------------------------- streaming metric
class DetectionMAP(Metric):
    """COCO mAP of a detector's raw outputs, decoded per batch by ``decode``.

    ``decode(pred)`` turns a batch of raw outputs into one dict of
    ``boxes/scores/labels`` per image; ``target`` is the padded ``(B, M, 5)``
    tensor of ``class, x0, y0, x1, y1`` rows (class ``-1``: padding).
    ``key`` picks the figure: ``"map_50"`` (name ``map_50``), ``"map"``,
    ``"map_75"``, or ``"ap50_per_class"``/``"ap_per_class"`` (lists).
    """

    def __init__(self, decode: Callable[[torch.Tensor], list[dict]], key: str = "map_50",
                 num_classes: int | None = None):
        self.decode, self.key, self.num_classes = decode, key, num_classes
        self.name = key if key != "map" else "map_50_95"
        super().__init__()

    def reset(self) -> None:
        self.preds, self.targets = [], []

    def update(self, pred, target):
        self.preds.extend({k: v.detach() for k, v in d.items()} for d in self.decode(pred))
        self.targets.extend(padded_to_list(target))

    def compute(self):
        if not self.targets:
            return float("nan")
        out = coco_map(self.preds, self.targets, num_classes=self.num_classes)[self.key]
        if isinstance(out, list):
            return [float("nan") if v is None else v for v in out]
        return float("nan") if out is None else out


def padded_to_list(target: torch.Tensor) -> list[dict]:
    """``(B, M, 5)`` padded rows of ``class, x0, y0, x1, y1`` -> one ``{"boxes", "labels"}`` dict per image."""
    out = []
    for t in target:
        keep = t[:, 0] >= 0
        out.append({"boxes": t[keep, 1:].float(), "labels": t[keep, 0].long()})
    return out
