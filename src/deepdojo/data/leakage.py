"""Leakage between splits: exact duplicates (pixel hash) and near duplicates (perceptual hash + pixel check).

A validation or test image that is also in the training set (or a resized,
recompressed or slightly cropped copy of one) measures memory, not skill.
:func:`find_leaks` compares every valid/test item with the train items (and
test with valid); :func:`dedupe` drops the leaked items from valid/test.

How, at any size (time ~ N log N, memory linear in N):

- **Exact duplicates**: a SHA-256 of each item's decoded pixels, looked up in
  a hash table of the other split's digests.
- **Near duplicates, stage 1 (candidates)**: the DCT hash (grayscale,
  area-resized to 32x32, a 2-D DCT, the sign of each of the 8x8 lowest
  frequencies against their median: 64 bits that survive resizing and
  recompression), packed in a ``uint64``. Each image is also hashed at two
  central crops (94%, 88% of each side), so a copy cropped by a few pixels
  around its centre matches one of them. Pairs within ``max_distance`` bits
  are found by multi-index hashing (:func:`hamming_pairs`): the 64 bits are cut
  into four 16-bit chunks; by the pigeonhole principle two hashes within
  ``t`` bits agree to within ``t // 4`` bits on at least one chunk, so each
  query looks up only the buckets of its chunk values within that radius
  (137 buckets per chunk for t <= 11) instead of every other image.
- **Near duplicates, stage 2 (pixel check)**: a 64-bit hash of a small or
  plain image (8x8 digits, icons) says little — unrelated digits of the same
  class are often within 8 bits. Every candidate is confirmed on pixels: the
  16x16 grayscale thumbnails (each centred on its mean, so a brightness shift
  still matches; nearly flat ones are not centred, so two plain images of
  different grey stay different), best over the same crops, must differ by at most
  ``max_pixel_diff`` (default 6 of 255) on average. Calibration (tests/unit/
  test_leakage.py): copies of real 64x64 photo tiles resized to 60%, saved as
  JPEG-60 or cropped by 2 pixels a side differ by <= 4.3; hash candidates
  among *different* 8x8 digits differ by >= 9, so the check removes the
  digits' false alarms (158 of 359 validation images before) and keeps every
  planted copy.

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
from dataclasses import asdict, dataclass
from functools import cache
from itertools import combinations

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.data.checks import Problem

HASH_SIDE, LOW = 32, 8
CROPS = (0.94, 0.88)  # central crops also hashed: a slightly cropped copy matches one of them
MAX_DISTANCE = 8  # hash bits: stage 1 candidates
MAX_PIXEL_DIFF = 6.0  # mean |difference| of mean-centred 16x16 gray thumbnails, 0..255: stage 2
CHECK_SIDE = 16  # the pixel check's thumbnail side: coarse enough that resampling blur is not a difference
FLAT_STD = 4.0  # thumbnails with less contrast (0..255) are compared without removing their brightness
# multi-index hashing: five chunks of 13/13/13/13/12 bits, each a direct-addressed table (8192 buckets);
# at distance 8 a match is within 1 bit in some chunk: 14 probes a chunk. Measured on 64k/16k hashes
# against four 16-bit chunks (radius 2, 137 probes a chunk): 0.89x on clustered photo-like hashes,
# 0.55x on uniform ones, the same pairs.
_CHUNK_BOUNDS = (0, 13, 26, 39, 52, 64)
_MAX_CHECKED = 32  # pixel-checked candidates per query (closest hashes first)


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

    def to_json(self) -> dict:
        return asdict(self)


def leak_counts(leaks: list[Leak]) -> dict[str, int]:
    """``{"exact": n, "near": m}``: what the console line, data_summary.json and the report show."""
    return {"exact": sum(l.kind == "exact_duplicate" for l in leaks),
            "near": sum(l.kind == "near_duplicate" for l in leaks)}


def describe_leaks(info: dict | None, deduped: bool = False) -> str | None:
    """The console line about ``info["leaks"]`` (None when the source has no leak check, e.g. built-ins).

    >>> describe_leaks({"checked": True, "exact": 2, "near": 1, "examples": []})
    'leak check: 3 valid/test items duplicate a training item (2 exact, 1 near copy); --dedupe drops them'
    >>> describe_leaks({"checked": False})
    'leak check: off (--no-leak-check): duplicates across splits were not searched for'
    """
    if not info:
        return None
    if not info.get("checked"):
        return "leak check: off (--no-leak-check): duplicates across splits were not searched for"
    n = info["exact"] + info["near"]
    if not n:
        return "leak check: no valid/test item duplicates a training item"
    what = f"{n} valid/test item{'s' if n != 1 else ''} duplicate{'' if n != 1 else 's'} a training item"
    tail = "dropped (--dedupe)" if deduped else "--dedupe drops them"
    return f"leak check: {what} ({info['exact']} exact, {info['near']} near cop{'ies' if info['near'] != 1 else 'y'}); {tail}"


# ---------------------------------------------------------------- hashes


@cache
def _dct_matrix(n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64)
    m = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))  # (n, n): rows are frequencies
    return m.float()


def _gray(x: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, C, H, W)`` -> float gray ``(B, 1, H, W)`` (the mean of the channels)."""
    return x.float() if x.shape[1] == 1 else x.float().mean(1, keepdim=True)


def _thumbnails(x: torch.Tensor, crop: float, gray: torch.Tensor | None = None) -> torch.Tensor:
    """Grayscale 32x32 area-resized thumbnails ``(B, 32, 32)`` float of uint8 images ``(B, C, H, W)``.

    ``gray`` is ``_gray(x)`` when the caller already has it (several crops of one chunk).
    """
    h, w = x.shape[-2:]
    ch, cw = max(1, round(h * crop)), max(1, round(w * crop))
    top, left = (h - ch) // 2, (w - cw) // 2
    g = _gray(x) if gray is None else gray
    xc = g[:, :, top : top + ch, left : left + cw]  # (B, 1, h, w) gray
    return F.interpolate(xc, size=(HASH_SIDE, HASH_SIDE), mode="area")[:, 0]


def _hash_bits(small: torch.Tensor) -> np.ndarray:
    d = _dct_matrix(HASH_SIDE)
    freq = (d @ small @ d.T)[:, :LOW, :LOW].reshape(len(small), -1)  # (B, 64) lowest frequencies
    return (freq > freq.median(dim=1, keepdim=True).values).numpy()


def perceptual_hash(x: torch.Tensor, crop: float = 1.0, chunk: int = 2048) -> np.ndarray:
    """64-bit DCT hashes of uint8 images ``(N, C, H, W)`` as booleans ``(N, 64)``.

    ``crop`` < 1 hashes the central ``crop`` fraction of each side instead:
    what a slightly cropped copy of the image looks like.
    """
    out = [_hash_bits(_thumbnails(x[i : i + chunk], crop)) for i in range(0, len(x), chunk)]
    return np.concatenate(out) if out else np.zeros((0, LOW * LOW), dtype=bool)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Booleans ``(N, 64)`` -> ``uint64`` ``(N,)`` (bit ``k`` of the hash is bit ``k`` of the integer)."""
    return np.packbits(bits, axis=1, bitorder="little").view("<u8")[:, 0].astype(np.uint64)


def image_hashes(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(perceptual (N, 3) uint64 [whole, crop 94%, crop 88%], pixel SHA-256 (N, 32) uint8)`` of a chunk.

    What the decode cache keeps per file, so a warm start recomputes nothing.
    """
    gray = _gray(x) if len(x) else None
    variants = [pack_bits(_hash_bits(_thumbnails(x, c, gray))) for c in (1.0, *CROPS)] if len(x) else []
    phash = np.stack(variants, 1) if variants else np.zeros((0, 1 + len(CROPS)), dtype=np.uint64)
    digests = [np.frombuffer(hashlib.sha256(t.contiguous().numpy().tobytes()).digest(), np.uint8) for t in x.cpu()]
    return phash, np.stack(digests) if digests else np.zeros((0, 32), dtype=np.uint8)


def all_hashes(x: torch.Tensor, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """:func:`image_hashes` over ``x`` in chunks (memory: one chunk, also for a memory-mapped ``x``)."""
    parts = [image_hashes(x[i : i + chunk]) for i in range(0, len(x), chunk)]
    if not parts:
        return np.zeros((0, 1 + len(CROPS)), dtype=np.uint64), np.zeros((0, 32), dtype=np.uint8)
    return np.concatenate([p for p, _ in parts]), np.concatenate([d for _, d in parts])


def content_hashes(x: torch.Tensor) -> list[str]:
    """SHA-256 of each decoded item: equal pixels, equal hash, whatever the file format."""
    return [hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest() for t in x.cpu()]


# ---------------------------------------------------------------- multi-index hashing


@cache
def _masks(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit mask with at most ``radius`` bits set (the chunk values to look up)."""
    out = [0]
    for r in range(1, radius + 1):
        out += [sum(1 << b for b in c) for c in combinations(range(bits), r)]
    return np.array(out, dtype=np.int64)


def hamming_pairs(query: np.ndarray, base: np.ndarray, max_distance: int,
                  block: int = 1 << 22) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` with ``popcount(query[i] ^ base[j]) <= max_distance``: ``(i, j, distance)``.

    Exact (the same pairs as comparing all of them) by multi-index hashing: five
    chunk tables (pigeonhole: two hashes within ``max_distance`` bits are within
    ``max_distance // 5`` bits in at least one chunk); a query probes, per chunk,
    the buckets within that many bits of its own chunk value. A pair can be found by
    several chunks; it is returned once. Memory stays linear: candidates are
    expanded ``block`` at a time.

    Example:
        >>> q = np.array([0b1011, 1 << 40], dtype=np.uint64)
        >>> b = np.array([0b0011, 0b1011, (1 << 40) | 0xFF], dtype=np.uint64)
        >>> [a.tolist() for a in hamming_pairs(q, b, 1)]
        [[0, 0], [0, 1], [1, 0]]
    """
    query, base = np.asarray(query, dtype=np.uint64), np.asarray(base, dtype=np.uint64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if not len(query) or not len(base) or max_distance < 0:
        return empty
    n_chunks = len(_CHUNK_BOUNDS) - 1
    found_q, found_b, found_d = [], [], []
    for k in range(n_chunks):
        bits = _CHUNK_BOUNDS[k + 1] - _CHUNK_BOUNDS[k]
        masks = _masks(bits, max_distance // n_chunks)  # (M,) pigeonhole radius per chunk
        shift, low = np.uint64(_CHUNK_BOUNDS[k]), np.uint64((1 << bits) - 1)
        bkey = ((base >> shift) & low).astype(np.int64)  # (Nb,) chunk values
        order = np.argsort(bkey, kind="stable")
        counts = np.bincount(bkey, minlength=1 << bits)  # bucket sizes (2**bits,)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        qkey = ((query >> shift) & low).astype(np.int64)
        probes = qkey[:, None] ^ masks[None, :]  # (Nq, M) buckets each query looks in
        cum = np.cumsum(counts[probes].sum(1))  # candidates up to and including each query
        lo = 0
        while lo < len(query):
            done = int(cum[lo - 1]) if lo else 0
            hi = min(max(int(np.searchsorted(cum, done + block, "right")), lo + 1), len(query))
            pr = probes[lo:hi].ravel()
            n = counts[pr]
            qi = np.repeat(np.repeat(np.arange(lo, hi), len(masks)), n)
            first = np.repeat(starts[pr], n)
            offset = np.arange(len(qi)) - np.repeat(np.cumsum(n) - n, n)  # position inside each bucket
            bj = order[first + offset]
            dist = np.bitwise_count(query[qi] ^ base[bj]).astype(np.int64)
            keep = dist <= max_distance
            found_q.append(qi[keep])
            found_b.append(bj[keep])
            found_d.append(dist[keep])
            lo = hi
    if not found_q:
        return empty
    qi, bj, dist = np.concatenate(found_q), np.concatenate(found_b), np.concatenate(found_d)
    pair = np.unique(qi * len(base) + bj, return_index=True)[1]  # a pair seen by several chunks: once
    return qi[pair], bj[pair], dist[pair]


def _variant_pairs(phash_q: np.ndarray, phash_b: np.ndarray, max_distance: int):
    """Near pairs over: whole vs whole, whole vs each central crop of the other, each crop vs whole.

    Returns ``(i, j, smallest distance)`` sorted by ``(i, distance)``.
    """
    qi, bj, dist = [], [], []
    combos = [(0, 0)] + [(0, c) for c in range(1, phash_b.shape[1])] + [(c, 0) for c in range(1, phash_q.shape[1])]
    for a, b in combos:
        i, j, d = hamming_pairs(phash_q[:, a], phash_b[:, b], max_distance)
        qi.append(i), bj.append(j), dist.append(d)
    qi, bj, dist = np.concatenate(qi), np.concatenate(bj), np.concatenate(dist)
    order = np.lexsort((bj, dist, qi))
    qi, bj, dist = qi[order], bj[order], dist[order]
    _, first = np.unique(qi * (len(phash_b) + 1) + bj, return_index=True)  # each (i, j) once, at its smallest distance
    first = np.sort(first)  # back in (i, distance) order
    return qi[first], bj[first], dist[first]


def _centred(t: torch.Tensor) -> torch.Tensor:
    """Thumbnails ``(R, s, s)`` minus their mean, except nearly flat ones (std < ``FLAT_STD``).

    Two flat images of different grey are not copies of each other, though their centred
    versions are both zero: a flat thumbnail is compared as it is.
    """
    mean = t.mean(dim=(1, 2), keepdim=True)
    flat = t.std(dim=(1, 2), keepdim=True) < FLAT_STD
    return torch.where(flat, t, t - mean)


def pixel_difference(x: torch.Tensor, a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Mean |difference| (0..255) of the mean-centred 16x16 gray thumbnails of rows ``a[k]``, ``b[k]``.

    The smallest over the same variants as the hash: whole vs whole, whole vs
    each central crop of the other and back. Reads only the rows it needs.
    """
    out = np.zeros(len(a), dtype=np.float64)
    for s in range(0, len(a), chunk):
        ra, rb = a[s : s + chunk], b[s : s + chunk]
        rows = np.unique(np.concatenate((ra, rb)))
        pos = {int(r): k for k, r in enumerate(rows)}
        imgs = x[torch.from_numpy(rows)]  # (R, C, H, W) uint8: only the rows of this chunk
        gray = _gray(imgs)
        thumbs = [F.adaptive_avg_pool2d(_thumbnails(imgs, c, gray), CHECK_SIDE) for c in (1.0, *CROPS)]  # (R, 16, 16)
        thumbs = [_centred(t) for t in thumbs]  # a brightness shift still matches
        ia = torch.tensor([pos[int(r)] for r in ra])
        ib = torch.tensor([pos[int(r)] for r in rb])
        best = (thumbs[0][ia] - thumbs[0][ib]).abs().mean(dim=(1, 2))
        for t in thumbs[1:]:
            best = torch.minimum(best, (thumbs[0][ia] - t[ib]).abs().mean(dim=(1, 2)))
            best = torch.minimum(best, (t[ia] - thumbs[0][ib]).abs().mean(dim=(1, 2)))
        out[s : s + chunk] = best.double().numpy()
    return out


# ---------------------------------------------------------------- leaks


def find_leaks(x: torch.Tensor, splits: dict, max_distance: int = MAX_DISTANCE, near: bool = True, *,
               max_pixel_diff: float = MAX_PIXEL_DIFF, hashes: tuple[np.ndarray, np.ndarray] | None = None
               ) -> list[Leak]:
    """Every valid/test item that duplicates a train item (and test items duplicating valid ones).

    Exact duplicates are found for any tensor data; near duplicates
    (``near=True``) for images ``(N, C, H, W)``: within ``max_distance`` hash
    bits *and* within ``max_pixel_diff`` on pixels (see the module docstring).
    Each leaked item is listed once, against its closest match. ``hashes`` is
    ``(perceptual, digests)`` from :func:`all_hashes` when already known (the
    decode cache keeps them); ``x`` may be memory-mapped: it is read in chunks.
    """
    splits = {k: np.asarray(v, dtype=np.int64) for k, v in splits.items()}
    images = near and x.dim() == 4 and x.dtype == torch.uint8
    if hashes is None:
        if images:
            hashes = all_hashes(x)
        else:
            hashes = (None, np.stack([np.frombuffer(bytes.fromhex(d), np.uint8) for d in content_hashes(x)]))
    phash, digests = hashes
    leaks: list[Leak] = []
    for split, other in (("valid", "train"), ("test", "train"), ("test", "valid")):
        if split not in splits or other not in splits or not len(splits[split]) or not len(splits[other]):
            continue
        already = {l.index for l in leaks if l.split == split}
        rows = np.array([i for i in splits[split] if int(i) not in already], dtype=np.int64)
        seen: dict[bytes, int] = {}
        for j in splits[other]:
            seen.setdefault(digests[j].tobytes(), int(j))  # the first (lowest) index of each content
        exact = {int(i): seen[digests[i].tobytes()] for i in rows if digests[i].tobytes() in seen}
        leaks += [Leak(split, i, j, "exact_duplicate", 0, other) for i, j in exact.items()]
        if not images or phash is None:
            continue
        rest = np.array([i for i in rows if int(i) not in exact], dtype=np.int64)
        leaks += _near_leaks(x, phash, rest, splits[other], split, other, max_distance, max_pixel_diff)
    order = {"valid": 0, "test": 1}
    return sorted(leaks, key=lambda l: (order.get(l.split, 2), l.index))


def _near_leaks(x, phash, rows, other_rows, split, other, max_distance, max_pixel_diff) -> list[Leak]:
    """Near copies of ``other_rows`` among ``rows``: hash candidates, confirmed on pixels."""
    if not len(rows) or not len(other_rows):
        return []
    qi, bj, dist = _variant_pairs(phash[rows], phash[other_rows], max_distance)  # sorted by (query, distance)
    if not len(qi):
        return []
    rank = np.arange(len(qi)) - np.searchsorted(qi, qi, "left")  # 0 for each query's closest candidate
    sel = rank < _MAX_CHECKED
    qi, bj, dist = qi[sel], bj[sel], dist[sel]
    diff = pixel_difference(x, rows[qi], other_rows[bj])
    ok = diff <= max_pixel_diff
    qi, bj, dist, diff = qi[ok], bj[ok], dist[ok], diff[ok]
    order = np.lexsort((dist, diff, qi))  # per query: the closest on pixels, then on bits
    out, last = [], -1
    for k in order:
        if qi[k] != last:
            out.append(Leak(split, int(rows[qi[k]]), int(other_rows[bj[k]]), "near_duplicate", int(dist[k]), other))
            last = qi[k]
    return out


def dedupe(splits: dict, leaks: list[Leak]) -> dict[str, np.ndarray]:
    """``splits`` without the leaked valid/test items (train is never touched)."""
    drop: dict[str, set[int]] = {}
    for leak in leaks:
        drop.setdefault(leak.split, set()).add(leak.index)
    return {k: np.array([i for i in np.asarray(v) if int(i) not in drop.get(k, set())], dtype=np.int64)
            for k, v in splits.items()}
