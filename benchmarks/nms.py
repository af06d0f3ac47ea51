"""Batched (per-class) NMS of 10k boxes: deepdojo's blocked NMS vs plain-torch formulations, same run.

Baselines, each exact (same kept set, checked):
- greedy loop: the textbook formulation (take the best box, drop what overlaps it, repeat), vectorized
  over the remaining boxes each step; what most YOLO re-implementations ship.
- greedy on a precomputed IoU matrix: one (n, n) IoU, then a Python loop over a bool row per kept box.
Both baselines run per class (the cheaper way for 10k boxes), as deepdojo's batched_nms does at this size.

Prints milliseconds (median of repeats) and the ratio deepdojo / fastest baseline (the goal: <= 2).
Two workloads: 10k boxes scattered at random (most survive) and 10k boxes clustered around 300 objects
(detector output: most are suppressed).

    python benchmarks/nms.py
"""

from __future__ import annotations

import statistics
import time

import torch

from deepdojo.metrics.detection import batched_nms, box_iou

N, K, THR = 10_000, 20, 0.5


def per_class(single):
    """Run a single-class NMS per class (cost: sum of squared class sizes) and merge, best score first."""

    def run(boxes, scores, labels, thr):
        kept = []
        for c in torch.unique(labels):
            idx = (labels == c).nonzero().squeeze(1)
            kept.append(idx[single(boxes[idx], scores[idx], thr)])
        keep = torch.cat(kept)
        return keep[torch.sort(scores[keep], descending=True, stable=True).indices]

    return run


def greedy_loop(b, scores, thr):
    order = torch.sort(scores, descending=True, stable=True).indices
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[box_iou(b[i][None], b[rest])[0] <= thr]
    return torch.stack(keep)


def greedy_matrix(b, scores, thr):
    order = torch.sort(scores, descending=True, stable=True).indices
    over = (box_iou(b[order], b[order]) > thr).numpy()  # (N, N) bool
    removed = over[0] & False
    keep = []
    for i in range(len(order)):
        if not removed[i]:
            keep.append(i)
            removed |= over[i]
    return order[torch.tensor(keep)]


def workload(kind, g):
    if kind == "scattered":
        xy = torch.rand(N, 2, generator=g) * 2000
        wh = 8 + torch.rand(N, 2, generator=g) * 40
    else:
        centres = torch.rand(300, 2, generator=g) * 1000
        xy = centres[torch.randint(0, 300, (N,), generator=g)] + torch.randn(N, 2, generator=g) * 3
        wh = 40 + torch.rand(N, 2, generator=g) * 10
    return torch.cat([xy, xy + wh], 1), torch.rand(N, generator=g), torch.randint(0, K, (N,), generator=g)


def timed(fn, *args, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return out, 1000 * statistics.median(times)


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    for kind in ("scattered", "clustered"):
        boxes, scores, labels = workload(kind, g)
        ours, t_ours = timed(batched_nms, boxes, scores, labels, THR)
        loop, t_loop = timed(per_class(greedy_loop), boxes, scores, labels, THR, repeats=3)
        mat, t_mat = timed(per_class(greedy_matrix), boxes, scores, labels, THR, repeats=3)
        assert ours.tolist() == loop.tolist() == mat.tolist(), f"{kind}: the formulations disagree"
        best = min(t_loop, t_mat)
        print(f"{kind:>9}: {N} boxes, {K} classes, {len(ours)} kept | deepdojo {t_ours:8.1f} ms | greedy loop "
              f"{t_loop:8.1f} ms | greedy on IoU matrix {t_mat:8.1f} ms | deepdojo / fastest baseline = "
              f"{t_ours / best:.2f}x")


if __name__ == "__main__":
    main()
