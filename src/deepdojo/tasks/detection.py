"""Object detection: boxes and classes of any number of objects per image (YOLO-style, one stage).

Targets are padded ``(B, M, 5)`` float rows ``class, x0, y0, x1, y1`` in
pixels, ``class = -1`` for padding (so the tensor loaders batch them like
any other target). The model (``arch="yolo"``, :mod:`deepdojo.models.detection`)
outputs ``(B, A * (5 + K), G, G)``; this task owns the rest:

- anchors: k-means (distance ``1 - IoU`` of widths and heights, as in
  YOLOv2) on the training boxes, chosen in :meth:`Detection.model_kwargs`;
- encoding: each box belongs to the cell holding its centre and to the
  anchor whose shape fits it best; ``bx = (gx + sigmoid(tx)) * stride``,
  ``bw = anchor_w * exp(tw)``;
- the loss: objectness (binary cross-entropy on every cell and anchor, except
  unassigned predictions already overlapping a box by IoU > 0.5: YOLOv3's
  "ignore"), class (cross-entropy) and box (BCE on the centre offsets less
  the offsets' entropy, so an exact box costs 0; squared error on the log
  scales) on assigned cells, summed per image;
- decoding: score = objectness x class probability, a confidence threshold,
  per-class NMS, at most ``max_det`` boxes per image.

Example:
    >>> import torch
    >>> t = Detection(anchors=[[10.0, 10.0]], image_size=[32, 32])
    >>> out = torch.full((1, 1 * (5 + 2), 4, 4), -9.0)  # 1 anchor, 2 classes, a 4x4 grid (stride 8)
    >>> out[0, :5, 1, 2] = torch.tensor([0.0, 0.0, 0.0, 0.0, 9.0])  # an object in row 1, column 2
    >>> out[0, 6, 1, 2] = 9.0  # of class 1
    >>> boxes = t.decode(out)[0]  # (max_det, 6): x0, y0, x1, y1, score, class (-1: empty)
    >>> boxes[0].round(decimals=2).tolist()
    [15.0, 7.0, 25.0, 17.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.detection import DetectionMAP, batched_nms, coco_map
from deepdojo.tasks.base import Task, register_task


IMAGES_SEEN = 100_000  # training images shown in all by the automatic recipe (see Detection.auto_recipe)
DEFAULT_LR = 1e-2  # one-cycle peak LR of benchmarks/detection_shapes.py, used when the LR is left to auto


def wh_iou(wh: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """``(N, A)`` IoU of boxes of sizes ``wh (N, 2)`` and ``anchors (A, 2)`` placed at one centre."""
    inter = torch.minimum(wh[:, None], anchors[None]).prod(-1)
    return inter / (wh.prod(-1)[:, None] + anchors.prod(-1)[None] - inter)


def kmeans_anchors(wh: np.ndarray, k: int, seed: int = 0, iters: int = 100) -> np.ndarray:
    """``k`` anchor sizes ``(k, 2)`` from box sizes ``wh (N, 2)``: k-means with distance ``1 - IoU``, by area.

    >>> wh = np.array([[4, 4], [5, 5], [4, 5], [20, 20], [22, 19], [21, 21]], float)
    >>> kmeans_anchors(wh, 2).tolist()  # the median size of each cluster, smallest first
    [[4.0, 5.0], [21.0, 20.0]]
    """
    wh = np.asarray(wh, np.float64)
    k = min(k, len(np.unique(wh, axis=0)))
    rng = np.random.default_rng(seed)
    centres = wh[rng.choice(len(wh), k, replace=False)]
    for _ in range(iters):
        assign = wh_iou(torch.from_numpy(wh), torch.from_numpy(centres)).argmax(1).numpy()
        new = np.stack([np.median(wh[assign == j], 0) if (assign == j).any() else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return centres[np.argsort(centres.prod(1))]


@register_task
class Detection(Task):
    name = "detection"
    description = "boxes and classes of the objects in an image (YOLO-style grid, anchors, per-class NMS)"
    monitor = "map_50"
    minimize = False
    interpretation = "boxes"
    report_sections = ("per_class_ap",)

    def __init__(self, anchors: list | None = None, image_size: list | None = None, num_anchors: int = 3,
                 conf_threshold: float = 0.25, iou_threshold: float = 0.5, max_det: int = 100,
                 box_weight: float = 2.0):
        if not 0 <= conf_threshold < 1 or not 0 < iou_threshold <= 1:
            raise ConfigError("conf_threshold must be in [0, 1) and iou_threshold in (0, 1]", where="task")
        self.anchors = None if anchors is None else [[float(a), float(b)] for a, b in anchors]
        self.image_size = None if image_size is None else [int(s) for s in image_size]  # (H, W)
        self.num_anchors = len(self.anchors) if self.anchors else int(num_anchors)
        self.conf_threshold, self.iou_threshold, self.max_det = float(conf_threshold), float(iou_threshold), int(max_det)
        self.box_weight = float(box_weight)
        self.num_classes: int | None = None

    # ----------------------------------------------------------- set-up from the data
    def output_size(self, data) -> int:
        return len(data.classes)

    def default_arch(self, data) -> str:
        return "yolo"

    def model_kwargs(self, data) -> dict[str, Any]:
        """Anchors by k-means on the training boxes (once); the model needs only their number."""
        y = data.train.y
        if y.dim() != 3 or y.shape[-1] != 5:
            raise DataError(f"detection targets must be (N, M, 5) rows of class, x0, y0, x1, y1; got {tuple(y.shape)}",
                            where=data.info.get("name", "data"), fix="load boxes with a detection source")
        self.image_size = list(data.input_shape[1:])
        self.num_classes = len(data.classes)
        if self.anchors is None:
            rows = y.reshape(-1, 5)
            rows = rows[rows[:, 0] >= 0].double()
            if not len(rows):
                raise DataError("no boxes in the training split", where=data.info.get("name", "data"),
                                fix="annotate some objects")
            wh = (rows[:, 3:5] - rows[:, 1:3]).clamp_min(1).numpy()
            self.anchors = kmeans_anchors(wh, self.num_anchors).tolist()
            self.num_anchors = len(self.anchors)
        return {"num_anchors": self.num_anchors}

    def auto_recipe(self, data, model, cfg) -> tuple[dict[str, Any], str]:
        """A detector trained from scratch needs far more than the 5 image epochs: about ``IMAGES_SEEN``
        training images in all (builtin:shapes_detection: 1,600 images x 63 epochs, the benchmark's run),
        one-cycle at lr 0.01 when the LR is left to auto.

        >>> from types import SimpleNamespace
        >>> data = SimpleNamespace(train=[None] * 50, info={"sizes": {"train": 1600}})
        >>> Detection().auto_recipe(data, None, SimpleNamespace(lr="auto"))[0]
        {'epochs': 63, 'lr': 0.01}
        """
        n = int((data.info.get("sizes") or {}).get("train") or 0) or len(data.train)
        epochs = max(10, min(300, math.ceil(IMAGES_SEEN / max(n, 1))))
        over: dict[str, Any] = {"epochs": epochs}
        if cfg.lr == "auto":
            over["lr"] = DEFAULT_LR
        why = (f"{epochs} epochs of {n:,} images (about {IMAGES_SEEN:,} images seen: a detector trained from scratch "
               f"needs thousands of steps)" + (f", lr {DEFAULT_LR:g}" if "lr" in over else "")
               + "; set --epochs or --lr to choose")
        return over, why

    # ----------------------------------------------------------- raw outputs -> boxes
    def _grid(self, out: torch.Tensor):
        if self.anchors is None or self.image_size is None:
            raise ConfigError("the detection task has no anchors yet", where="task",
                              fix="call task.model_kwargs(data) before training, or pass anchors= and image_size=")
        b, _, gh, gw = out.shape
        a = len(self.anchors)
        p = out.view(b, a, -1, gh, gw).permute(0, 1, 3, 4, 2)  # (B, A, G, G, 5 + K)
        stride = torch.tensor([self.image_size[1] / gw, self.image_size[0] / gh], device=out.device)  # (x, y)
        anchors = torch.tensor(self.anchors, device=out.device, dtype=out.dtype)  # (A, 2)
        return p, stride, anchors

    def _boxes(self, p, stride, anchors) -> torch.Tensor:
        """``(B, A, G, G, 4)`` corner boxes in pixels from the raw ``p``."""
        gh, gw = p.shape[2:4]
        gy, gx = torch.meshgrid(torch.arange(gh, device=p.device), torch.arange(gw, device=p.device), indexing="ij")
        cx = (gx + p[..., 0].sigmoid()) * stride[0]
        cy = (gy + p[..., 1].sigmoid()) * stride[1]
        w = anchors[None, :, None, None, 0] * p[..., 2].clamp(max=8).exp()
        h = anchors[None, :, None, None, 1] * p[..., 3].clamp(max=8).exp()
        return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)

    def detect(self, out: torch.Tensor, conf_threshold: float | None = None) -> list[dict[str, torch.Tensor]]:
        """One ``{"boxes", "scores", "labels"}`` per image, after the threshold and per-class NMS."""
        p, stride, anchors = self._grid(out.float())
        boxes = self._boxes(p, stride, anchors).flatten(1, 3)  # (B, A*G*G, 4)
        probs = p[..., 5:].softmax(-1) * p[..., 4:5].sigmoid()  # (B, A, G, G, K)
        scores, labels = probs.flatten(1, 3).max(-1)  # (B, A*G*G)
        thr = self.conf_threshold if conf_threshold is None else conf_threshold
        h, w = self.image_size
        limit = torch.tensor([w, h, w, h], device=out.device, dtype=boxes.dtype)
        found = []
        for bx, sc, lb in zip(boxes, scores, labels):
            keep = sc > thr
            bx, sc, lb = bx[keep].clamp(min=0).minimum(limit), sc[keep], lb[keep]
            top = sc.topk(min(len(sc), 10 * self.max_det)).indices  # NMS over the strongest only
            bx, sc, lb = bx[top], sc[top], lb[top]
            kept = batched_nms(bx, sc, lb, self.iou_threshold)[: self.max_det]
            found.append({"boxes": bx[kept], "scores": sc[kept], "labels": lb[kept]})
        return found

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, max_det, 6)`` rows ``x0, y0, x1, y1, score, class``, best first, padded with class ``-1``."""
        found = self.detect(out)
        table = torch.full((len(found), self.max_det, 6), -1.0, device=out.device)
        table[..., 4] = 0.0
        for i, d in enumerate(found):
            n = len(d["scores"])
            table[i, :n] = torch.cat([d["boxes"], d["scores"][:, None], d["labels"][:, None].float()], 1)
        return table

    # ----------------------------------------------------------- the loss
    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.per_example_loss(pred, target).mean()

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B,)``: objectness + class + ``box_weight`` x box loss of each image, summed over its cells."""
        p, stride, anchors = self._grid(pred.float())
        bsz, a, gh, gw, _ = p.shape
        valid = target[..., 0] >= 0  # (B, M)
        bi, mi = valid.nonzero(as_tuple=True)
        t = target[bi, mi].float()  # (T, 5) the real boxes
        cls = t[:, 0].long()
        cxy = (t[:, 1:3] + t[:, 3:5]) / 2
        wh = (t[:, 3:5] - t[:, 1:3]).clamp_min(1e-3)
        best = wh_iou(wh, anchors).argmax(1)  # (T,) the anchor whose shape fits best
        cell = cxy / stride
        gx = cell[:, 0].long().clamp(0, gw - 1)
        gy = cell[:, 1].long().clamp(0, gh - 1)
        # ignore: unassigned predictions that already overlap a true box well are not pushed to "no object"
        boxes = self._boxes(p.detach(), stride, anchors).reshape(bsz, -1, 1, 4)  # (B, A*G*G, 1, 4)
        truth = target[..., 1:5].float()[:, None]  # (B, 1, M, 4)
        wh_ = (torch.minimum(boxes[..., 2:], truth[..., 2:]) - torch.maximum(boxes[..., :2], truth[..., :2])).clamp_min(0)
        inter = wh_[..., 0] * wh_[..., 1]  # (B, A*G*G, M)
        area = lambda z: (z[..., 2] - z[..., 0]) * (z[..., 3] - z[..., 1])  # noqa: E731
        iou = inter / (area(boxes) + area(truth) - inter).clamp_min(1e-9)
        ignore = ((iou > 0.5) & valid[:, None]).any(-1).view(bsz, a, gh, gw)
        obj_t = torch.zeros(bsz, a, gh, gw, device=p.device)
        obj_t[bi, best, gy, gx] = 1.0
        weight = (~ignore | (obj_t > 0)).float()
        obj = (F.binary_cross_entropy_with_logits(p[..., 4], obj_t, reduction="none") * weight).sum((1, 2, 3))
        per_image = obj
        if len(t):
            cellp = p[bi, best, gy, gx]  # (T, 5 + K)
            xy_t = (cell - torch.stack([gx, gy], 1).float()).clamp(0, 1)
            wh_t = torch.log(wh / anchors[best])
            # BCE minus the target's own entropy (= KL divergence): same gradient, and 0 at the exact centre
            entropy = -(torch.xlogy(xy_t, xy_t) + torch.xlogy(1 - xy_t, 1 - xy_t))
            xy = F.binary_cross_entropy_with_logits(cellp[:, :2], xy_t, reduction="none") - entropy
            box = xy.sum(1) + (cellp[:, 2:4] - wh_t).square().sum(1)
            cls_l = F.cross_entropy(cellp[:, 5:], cls, reduction="none")
            per_image = per_image.index_add(0, bi, self.box_weight * box + cls_l)
        return per_image

    # ----------------------------------------------------------- metrics and evaluation
    def _metric_decode(self, out: torch.Tensor) -> list[dict]:
        return self.detect(out, conf_threshold=min(self.conf_threshold, 0.01))  # AP sweeps every confidence

    def metrics(self) -> list:
        return [DetectionMAP(self._metric_decode, "map_50", self.num_classes),
                DetectionMAP(self._metric_decode, "map", self.num_classes)]

    def eval_metrics(self) -> list:
        return self.metrics() + [DetectionMAP(self._metric_decode, "ap50_per_class", self.num_classes)]

    def evaluate_boxes(self, decoded: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        """COCO figures of decoded ``(N, max_det, 6)`` tables against padded targets ``(N, M, 5)``."""
        preds = [{"boxes": d[d[:, 5] >= 0, :4], "scores": d[d[:, 5] >= 0, 4], "labels": d[d[:, 5] >= 0, 5].long()}
                 for d in decoded]
        truth = [{"boxes": t[t[:, 0] >= 0, 1:], "labels": t[t[:, 0] >= 0, 0].long()} for t in targets]
        return coco_map(preds, truth, num_classes=self.num_classes)

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        out = {}
        for split, y in targets.items():
            rows = y.reshape(-1, 5)
            rows = rows[rows[:, 0] >= 0]
            k = len(classes) if classes else int(rows[:, 0].max()) + 1 if len(rows) else 0
            out[split] = {"boxes": int(len(rows)), "per_class": np.bincount(rows[:, 0].astype(int), minlength=k).tolist(),
                          "images_without_boxes": int(((y[..., 0] >= 0).sum(1) == 0).sum())}
        return {"box_counts": out}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        """A decoded ``(max_det, 6)`` table -> ``{"boxes": [{"class", "score", "box": [x0, y0, x1, y1]}, ...]}``."""
        rows = out[(out[:, 5] >= 0) & (out[:, 4] > self.conf_threshold)]
        names = classes or [str(i) for i in range(int(rows[:, 5].max()) + 1 if len(rows) else 0)]
        return {"boxes": [{"class": names[int(r[5])], "score": round(float(r[4]), 6),
                           "box": [round(float(v), 2) for v in r[:4]]} for r in rows],
                "conf_threshold": self.conf_threshold}

    def to_original(self, result: dict[str, Any], geometry) -> dict[str, Any]:
        """Boxes in model pixels -> the original image's pixels (undoing the inference resize/crop)."""
        boxes = [{**b, "box": geometry.box_to_original(b["box"])} for b in result["boxes"]]
        return {**result, "boxes": boxes, "image_size": [geometry.width, geometry.height]}

    def state(self) -> dict[str, Any]:
        return {"anchors": self.anchors, "image_size": self.image_size, "conf_threshold": self.conf_threshold,
                "iou_threshold": self.iou_threshold, "max_det": self.max_det, "box_weight": self.box_weight}
