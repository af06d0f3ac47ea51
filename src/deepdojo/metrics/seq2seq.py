"""Metrics of generated sequences: exact-sequence accuracy and corpus BLEU.

``pred`` is logits ``(B, L, V)`` (their arg-max is what greedy decoding emits),
``target`` ids ``(B, L)``: the target tokens, ``<eos>``, then ``ignore_index``.
A sequence is exactly right when every scored position matches (the tokens
and the ``<eos>``: what follows a correct ``<eos>`` is never read).

BLEU (Papineni et al. 2002) is corpus-level, 4-gram, no smoothing, with the
brevity penalty, on a 0-100 scale like sacrebleu (the test's oracle). A
hypothesis is the arg-max tokens up to the first ``<eos>``.

Example:
    >>> import torch
    >>> logits = torch.nn.functional.one_hot(torch.tensor([[4, 5, 3, 0], [4, 4, 3, 0]]), 6).float()
    >>> target = torch.tensor([[4, 5, 3, -100], [4, 5, 3, -100]])
    >>> m = SequenceAccuracy(); m.update(logits, target); m.compute()
    0.5
    >>> bleu([[1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5]])
    100.0
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from deepdojo.metrics.sequence import IGNORE_INDEX, HitRate
from deepdojo.metrics.streaming import Metric

EOS = 3


class SequenceAccuracy(HitRate):
    """Fraction of sequences whose every (non-ignored) position is predicted exactly."""

    name = "sequence_accuracy"

    def counts(self, pred, target):
        right = ((pred.argmax(-1) == target) | (target == self.ignore_index)).all(1)  # (B,)
        return right.sum(), torch.tensor(len(target), device=target.device)


def until_eos(ids: list[int], eos: int = EOS, ignore_index: int = IGNORE_INDEX) -> list[int]:
    """Tokens before the first ``eos`` (or ``ignore_index``)."""
    out = []
    for i in ids:
        if i == eos or i == ignore_index:
            break
        out.append(i)
    return out


def _ngrams(seq: list[int], n: int) -> Counter:
    return Counter(tuple(seq[i:i + n]) for i in range(len(seq) - n + 1))


def bleu_stats(hyp: list[int], ref: list[int], max_n: int = 4) -> list[int]:
    """``[hyp_len, ref_len, matches_1, total_1, ..., matches_n, total_n]`` for one pair."""
    stats = [len(hyp), len(ref)]
    for n in range(1, max_n + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        stats += [sum(min(c, r[g]) for g, c in h.items()), max(len(hyp) - n + 1, 0)]
    return stats


def bleu_from_stats(stats: list[int], max_n: int = 4) -> float:
    """Corpus BLEU (0-100) from summed :func:`bleu_stats`."""
    c, r = stats[0], stats[1]
    if c == 0:
        return 0.0
    logs = []
    for n in range(max_n):
        m, t = stats[2 + 2 * n], stats[3 + 2 * n]
        if m == 0 or t == 0:
            return 0.0
        logs.append(math.log(m / t))
    bp = 1.0 if c >= r else math.exp(1 - r / c)
    return 100.0 * bp * math.exp(sum(logs) / max_n)


def bleu(hyps: list[list[int]], refs: list[list[int]], max_n: int = 4) -> float:
    """Corpus BLEU of token sequences, one reference each."""
    total = [0] * (2 + 2 * max_n)
    for h, r in zip(hyps, refs):
        total = [a + b for a, b in zip(total, bleu_stats(h, r, max_n))]
    return bleu_from_stats(total, max_n)


class BLEU(Metric):
    """Corpus BLEU-4 (0-100) of the arg-max sequences against the targets."""

    name = "bleu"

    def __init__(self, eos: int = EOS, ignore_index: int = IGNORE_INDEX):
        self.eos, self.ignore_index = eos, ignore_index
        super().__init__()

    def reset(self) -> None:
        self.stats = [0] * 10

    def update(self, pred, target):
        for h, r in zip(pred.argmax(-1).tolist(), target.tolist()):  # one host read per batch
            s = bleu_stats(until_eos(h, self.eos, self.ignore_index), until_eos(r, self.eos, self.ignore_index))
            self.stats = [a + b for a, b in zip(self.stats, s)]

    def compute(self) -> float:
        return bleu_from_stats(self.stats)
