"""Metrics with one naming scheme for CLI and API (see :func:`metric_names`)."""

from deepdojo.metrics.classification import (
    F1, ConfusionMatrix, ExpectedCalibrationError, PerClassAccuracy, Precision, Recall, WeightedError,
)
from deepdojo.metrics.dense import CRPS, Dice, DicePerClass, IoU, IoUPerClass
from deepdojo.metrics.ranking import AveragePrecision, RocAuc
from deepdojo.metrics.multilabel import HammingLoss, MultiLabelAP, MultiLabelF1, MultiLabelF1PerLabel
from deepdojo.metrics.sequence import BitsPerToken, Perplexity, TokenAccuracy, TokenNLL
from deepdojo.metrics.streaming import (
    MAE, R2, RMSE, Accuracy, ErrorRate, Metric, TopKAccuracy, make_metric, metric_names,
)

__all__ = [
    "BitsPerToken", "CRPS", "F1", "MAE", "R2", "RMSE", "Accuracy", "ConfusionMatrix", "Dice", "DicePerClass", "ErrorRate", "ExpectedCalibrationError",
    "HammingLoss", "IoU", "IoUPerClass", "Metric", "MultiLabelAP", "MultiLabelF1", "MultiLabelF1PerLabel", "PerClassAccuracy", "Precision", "Recall", "RocAuc", "AveragePrecision", "Perplexity", "TokenAccuracy", "TokenNLL", "TopKAccuracy",
    "WeightedError", "make_metric", "metric_names",
]
