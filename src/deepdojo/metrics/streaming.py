"""Streaming metrics: accumulate on the device, read once per epoch.

``update`` only launches tensor ops (no ``.item()``), so the step loop never
waits for the device; ``compute`` does the one host read.

Example:
    >>> import torch
    >>> m = Accuracy()
    >>> m.update(torch.tensor([[2., 0.], [0., 1.]]), torch.tensor([0, 0]))
    >>> m.compute()
    0.5
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from deepdojo.errors import ConfigError


class Metric(ABC):
    """Base class. Subclasses keep device tensors as state and set ``name``/``higher_is_better``.

    In distributed training the state ``reset`` creates is summed over ranks before ``compute``
    (``train/distributed.py``): keep it additive (counts, sums, confusion matrices), or define
    ``all_reduce_state(reduce)`` where ``reduce(tensor)`` sums a tensor over ranks in place."""

    name = "metric"
    higher_is_better = True

    def __init__(self):
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen (called before each validation pass)."""

    @abstractmethod
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: device ops only, no host reads."""

    @abstractmethod
    def compute(self) -> float | list:
        """The value over everything since ``reset`` (one host read); per-class metrics give a list."""


class _Ratio(Metric):
    """``sum(hits) / count`` with both kept as device tensors."""

    def reset(self) -> None:
        self.hits = self.count = None

    def _add(self, hits: torch.Tensor, count: int) -> None:
        self.hits = hits if self.hits is None else self.hits + hits
        self.count = count if self.count is None else self.count + count

    def compute(self) -> float:
        return float(self.hits) / self.count if self.count else float("nan")


class Accuracy(_Ratio):
    """Fraction of samples whose arg-max prediction equals the target."""

    name = "accuracy"

    def update(self, pred, target):
        self._add((pred.argmax(-1) == target).sum(), len(target))


class ErrorRate(Accuracy):
    """1 - accuracy."""

    name = "error_rate"
    higher_is_better = False

    def compute(self) -> float:
        return 1.0 - super().compute()


class TopKAccuracy(_Ratio):
    """Fraction of samples whose target is among the ``k`` highest scores."""

    def __init__(self, k: int = 5):
        self.k, self.name = k, f"top{k}_accuracy"
        super().__init__()

    def update(self, pred, target):
        k = min(self.k, pred.shape[-1])
        self._add((pred.topk(k, -1).indices == target[:, None]).any(-1).sum(), len(target))


class _Regression(Metric):
    """Accumulates sums of y, y², err, |err|, err² for MAE/RMSE/R²."""

    higher_is_better = False

    def reset(self) -> None:
        self.sums = None  # (5,) tensor: n, sum y, sum y^2, sum |e|, sum e^2

    def update(self, pred, target):
        pred = pred.reshape(target.shape).float()
        t, e = target.float(), pred - target.float()
        s = torch.stack([t.new_full((), float(t.numel())), t.sum(), (t * t).sum(), e.abs().sum(), (e * e).sum()]).double()
        self.sums = s if self.sums is None else self.sums + s

    def _read(self):
        n, sy, syy, sae, sse = self.sums.double().tolist()
        return n, sy, syy, sae, sse


class MAE(_Regression):
    name = "mae"

    def compute(self) -> float:
        n, _, _, sae, _ = self._read()
        return sae / n


class RMSE(_Regression):
    name = "rmse"

    def compute(self) -> float:
        n, _, _, _, sse = self._read()
        return (sse / n) ** 0.5


class R2(_Regression):
    name = "r2"
    higher_is_better = True

    def compute(self) -> float:
        n, sy, syy, _, sse = self._read()
        ss_tot = syy - sy * sy / n
        return 1.0 - sse / ss_tot if ss_tot > 0 else float("nan")


METRICS = {"accuracy": Accuracy, "error_rate": ErrorRate, "top5_accuracy": lambda: TopKAccuracy(5),
           "top3_accuracy": lambda: TopKAccuracy(3), "mae": MAE, "rmse": RMSE, "r2": R2}


def _registry() -> dict:
    """Every named metric: the ones above plus those in classification.py and dense.py."""
    from deepdojo.metrics import classification as c
    from deepdojo.metrics import dense as d
    from deepdojo.metrics import multilabel as ml
    from deepdojo.metrics import sequence as sq

    names = dict(METRICS)
    for measure, cls in (("precision", c.Precision), ("recall", c.Recall), ("f1", c.F1)):
        for avg in c.AVERAGES:
            names[f"{measure}_{avg}"] = lambda cls=cls, avg=avg: cls(avg)
    for cls in (c.ConfusionMatrix, c.PerClassAccuracy, c.WeightedError, c.ExpectedCalibrationError, d.IoU, d.Dice,
                d.IoUPerClass, d.DicePerClass, ml.MultiLabelF1, ml.MultiLabelF1PerLabel, ml.HammingLoss, ml.MultiLabelAP,
                sq.TokenNLL, sq.BitsPerToken, sq.Perplexity, sq.TokenAccuracy):
        names[cls.name] = cls
    from deepdojo.metrics import ranking as r

    for cls in (r.RocAuc, r.AveragePrecision):
        names[cls.plain] = cls
        for avg in r.RANKING_AVERAGES:
            names[f"{cls.plain}_{avg}"] = lambda cls=cls, avg=avg: cls(avg)
    for measure in ("precision", "recall", "f1"):
        names[measure] = lambda measure=measure: r.plain_metric(measure)
    names["crps_gaussian"] = lambda: d.CRPS("gaussian")
    names["crps_ensemble"] = lambda: d.CRPS("ensemble")
    from deepdojo.metrics import verification as v

    for cls in (v.VerificationAuc, v.EqualErrorRate, v.VerificationAccuracy, v.Spread):
        names[cls.name] = cls
    for n_way in (5, 10, 20):
        names[f"one_shot_{n_way}way"] = lambda n_way=n_way: v.OneShotAccuracy(n_way)
    return names


def metric_names() -> list[str]:
    """Every name :func:`make_metric` accepts (plus ``topK_accuracy`` for any K)."""
    return sorted(_registry())


def make_metric(spec: str | Metric) -> Metric:
    """A metric from its name (``"accuracy"``, ``"f1_macro"``, ``"topK_accuracy"``, ``"iou"`` ...).

    >>> make_metric("f1_weighted").name
    'f1_weighted'
    """
    if isinstance(spec, Metric):
        return spec
    registry = _registry()
    if spec in registry:
        return registry[spec]()
    if spec.startswith("top") and spec.endswith("_accuracy") and spec[3:-9].isdigit():
        return TopKAccuracy(int(spec[3:-9]))
    import difflib

    close = difflib.get_close_matches(spec, list(registry), n=1)
    fix = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(sorted(registry))}"
    raise ConfigError(f"unknown metric {spec!r}", where="metrics", fix=fix)
