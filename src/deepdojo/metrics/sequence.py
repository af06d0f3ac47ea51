"""Token-level metrics for language models and sequence outputs.

``pred`` is logits ``(B, T, V)``, ``target`` token ids ``(B, T)``; positions
whose target is ``ignore_index`` (padding) count nowhere. The three measures
of a language model are the same number in three units: the mean negative
log-likelihood per token in nats, in bits (``nats / ln 2``: bits per
character for a character model), and perplexity (``exp(nats)``).

Example:
    >>> import math, torch
    >>> logits = torch.zeros(1, 4, 2)  # uniform over a vocabulary of 2
    >>> m = Perplexity(); m.update(logits, torch.tensor([[0, 1, 1, 0]])); round(m.compute(), 6)
    2.0
    >>> b = BitsPerToken(); b.update(logits, torch.tensor([[0, 1, 1, 0]])); round(b.compute(), 6)
    1.0
"""

from __future__ import annotations

import math
from abc import abstractmethod

import torch.nn.functional as F

from deepdojo.metrics.streaming import Metric

IGNORE_INDEX = -100


class TokenNLL(Metric):
    """Mean negative log-likelihood per (non-ignored) token, in nats."""

    name = "nats_per_token"
    higher_is_better = False

    def __init__(self, ignore_index: int = IGNORE_INDEX):
        self.ignore_index = ignore_index
        super().__init__()

    def reset(self) -> None:
        self.total = self.count = None

    def update(self, pred, target):
        flat_t = target.reshape(-1)
        nll = F.cross_entropy(pred.float().reshape(len(flat_t), -1), flat_t, ignore_index=self.ignore_index,
                              reduction="sum")
        count = (flat_t != self.ignore_index).sum()
        self.total = nll if self.total is None else self.total + nll
        self.count = count if self.count is None else self.count + count

    def nats(self) -> float:
        return float(self.total) / float(self.count) if self.count is not None and float(self.count) else float("nan")

    def compute(self) -> float:
        return self.nats()


class BitsPerToken(TokenNLL):
    """Mean negative log-likelihood per token in bits (bits per character for character models)."""

    name = "bits_per_token"

    def compute(self) -> float:
        return self.nats() / math.log(2)


class Perplexity(TokenNLL):
    """``exp(nats per token)``: the effective number of equally likely next tokens."""

    name = "perplexity"

    def compute(self) -> float:
        nats = self.nats()
        return math.exp(nats) if nats < 700 else float("inf")


class HitRate(Metric):
    """``hits / count`` kept as device tensors; subclasses say what a hit is in :meth:`counts`."""

    def __init__(self, ignore_index: int = IGNORE_INDEX):
        self.ignore_index = ignore_index
        super().__init__()

    def reset(self) -> None:
        self.hits = self.count = None

    @abstractmethod
    def counts(self, pred, target):
        """``(hits, count)`` of one batch, as tensors."""

    def update(self, pred, target):
        hits, count = self.counts(pred, target)
        self.hits = hits if self.hits is None else self.hits + hits
        self.count = count if self.count is None else self.count + count

    def compute(self) -> float:
        return float(self.hits) / float(self.count) if self.count is not None and float(self.count) else float("nan")


class TokenAccuracy(HitRate):
    """Fraction of (non-ignored) tokens whose arg-max prediction is the target."""

    name = "token_accuracy"

    def counts(self, pred, target):
        keep = target != self.ignore_index
        return ((pred.argmax(-1) == target) & keep).sum(), keep.sum()
