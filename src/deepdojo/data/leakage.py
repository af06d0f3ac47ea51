"""Leakage between splits: exact duplicates (content hash) and near duplicates (perceptual hash).

A validation or test image that is also in the training set (or a resized,
recompressed or slightly cropped copy of one) measures memory, not skill.
:func:`find_leaks` compares every valid/test item with every train item (and
test with valid); :func:`dedupe` drops the leaked items from valid/test.

The perceptual hash is the DCT hash: grayscale, area-resized to 32x32, a 2-D
DCT, and the sign of each of the 8x8 lowest frequencies against their median:
64 bits that survive resizing and recompression. Each image is also hashed
at two central crops (94%, 88% of each side), so a copy cropped by a few
pixels around its centre matches too (a crop taken from one corner shifts
the content and is not reliably caught). Two images are near duplicates when
their hashes differ in at most ``max_distance`` bits.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = (torch.rand(6, 1, 4, 4, generator=g) * 255).to(torch.uint8).repeat_interleave(8, 2).repeat_interleave(8, 3)
    >>> x[5] = x[1]  # an exact copy of a training image in valid
    >>> leaks = find_leaks(x, {"train": [0, 1, 2, 3], "valid": [4, 5]})
    >>> [(l.split, l.index, l.train_index, l.kind) for l in leaks]
    [('valid', 5, 1, 'exact_duplicate')]
    >>> dedupe({"train": [0, 1, 2, 3], "valid": [4, 5]}, leaks)["valid"].tolist()
    [4]
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.data.checks import Problem

HASH_SIDE, LOW = 32, 8
CROPS = (0.94, 0.88)  # central crops also hashed: a slightly cropped copy matches one of them


@dataclass(frozen=True)
class Leak:
    """Item ``index`` of ``split`` duplicates item ``train_index`` of ``other`` (train, or valid for test)."""

    split: str
    index: int
    train_index: int
    kind: str  # "exact_duplicate" or "near_duplicate"
    distance: int  # differing hash bits (0 for exact)
    other: str = "train"

    def problem(self, ids: list[str] | None) -> Problem:
        name = (lambda i: ids[i]) if ids is not None else (lambda i: f"#{i}")
        what = "identical to" if self.kind == "exact_duplicate" else f"a near copy ({self.distance} bits) of"
        return Problem(name(self.index), f"{self.split} item is {what} {self.other} item {name(self.train_index)}",
                       self.kind, severity="warning", fix="pass --dedupe (dedupe=True) to drop it from " + self.split)


def _dct_matrix(n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64)
    m = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))  # (n, n): rows are frequencies
    return m.float()


def perceptual_hash(x: torch.Tensor, crop: float = 1.0, chunk: int = 2048) -> np.ndarray:
    """64-bit DCT hashes of uint8 images ``(N, C, H, W)`` as booleans ``(N, 64)``.

    ``crop`` < 1 hashes the central ``crop`` fraction of each side instead:
    what a slightly cropped copy of the image looks like.
    """
    d = _dct_matrix(HASH_SIDE)
    h, w = x.shape[-2:]
    ch, cw = max(1, round(h * crop)), max(1, round(w * crop))
    top, left = (h - ch) // 2, (w - cw) // 2
    out = []
    for i in range(0, len(x), chunk):
        xc = x[i : i + chunk, :, top : top + ch, left : left + cw].float().mean(1, keepdim=True)  # (B, 1, h, w) gray
        small = F.interpolate(xc, size=(HASH_SIDE, HASH_SIDE), mode="area")[:, 0]  # (B, 32, 32)
        freq = (d @ small @ d.T)[:, :LOW, :LOW].reshape(len(xc), -1)  # (B, 64) lowest frequencies
        out.append((freq > freq.median(dim=1, keepdim=True).values).numpy())
    return np.concatenate(out) if out else np.zeros((0, LOW * LOW), dtype=bool)


def content_hashes(x: torch.Tensor) -> list[str]:
    """SHA-256 of each decoded item: equal pixels, equal hash, whatever the file format."""
    return [hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest() for t in x.cpu()]


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise differing bits ``(len(a), len(b))`` via two matrix products."""
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    return np.rint(fa @ (1 - fb).T + (1 - fa) @ fb.T).astype(np.int32)


def _near_distance(hashes: dict[float, np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest bit distance ``(len(a), len(b))`` over: whole vs whole, and whole vs each central crop."""
    full = hashes[1.0]
    dist = _hamming(full[a], full[b])
    for c in CROPS:
        dist = np.minimum(dist, _hamming(full[a], hashes[c][b]))  # a is a cropped copy of b
        dist = np.minimum(dist, _hamming(hashes[c][a], full[b]))  # b is a cropped copy of a
    return dist


def find_leaks(x: torch.Tensor, splits: dict, max_distance: int = 8, near: bool = True) -> list[Leak]:
    """Every valid/test item that duplicates a train item (and test items duplicating valid ones).

    Exact duplicates are found for any tensor data; near duplicates
    (``near=True``) for images ``(N, C, H, W)``. Each leaked item is listed
    once, against its closest match.
    """
    splits = {k: np.asarray(v, dtype=np.int64) for k, v in splits.items()}
    digests = content_hashes(x)
    hashes = {c: perceptual_hash(x, c) for c in (1.0, *CROPS)} if near and x.dim() == 4 else None
    leaks = []
    for split, other in (("valid", "train"), ("test", "train"), ("test", "valid")):
        if split not in splits or other not in splits or not len(splits[split]) or not len(splits[other]):
            continue
        seen = {digests[j]: j for j in splits[other]}
        already = {l.index for l in leaks if l.split == split}
        dist = _near_distance(hashes, splits[split], splits[other]) if hashes is not None else None
        for row, i in enumerate(splits[split]):
            if i in already:
                continue
            if digests[i] in seen:
                leaks.append(Leak(split, int(i), int(seen[digests[i]]), "exact_duplicate", 0, other))
            elif dist is not None and dist[row].min() <= max_distance:
                col = int(dist[row].argmin())
                leaks.append(Leak(split, int(i), int(splits[other][col]), "near_duplicate", int(dist[row, col]), other))
    return leaks


def dedupe(splits: dict, leaks: list[Leak]) -> dict[str, np.ndarray]:
    """``splits`` without the leaked valid/test items (train is never touched)."""
    drop: dict[str, set[int]] = {}
    for leak in leaks:
        drop.setdefault(leak.split, set()).add(leak.index)
    return {k: np.array([i for i in np.asarray(v) if int(i) not in drop.get(k, set())], dtype=np.int64)
            for k, v in splits.items()}
