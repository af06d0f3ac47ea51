"""Metrics with one naming scheme for CLI and API (see :func:`metric_names`)."""

from deepdojo.metrics.classification import (
    F1, ConfusionMatrix, ExpectedCalibrationError, PerClassAccuracy, Precision, Recall, WeightedError,
)
from deepdojo.metrics.ranking import AveragePrecision, RocAuc
from deepdojo.metrics.dense import CRPS, Dice, HammingLoss, IoU, MultiLabelF1
from deepdojo.metrics.streaming import (
    MAE, R2, RMSE, Accuracy, ErrorRate, Metric, TopKAccuracy, default_metrics, make_metric, metric_names,
)

__all__ = [
    "CRPS", "F1", "MAE", "R2", "RMSE", "Accuracy", "ConfusionMatrix", "Dice", "ErrorRate", "ExpectedCalibrationError",
    "HammingLoss", "IoU", "Metric", "MultiLabelF1", "PerClassAccuracy", "Precision", "Recall", "RocAuc", "AveragePrecision", "TopKAccuracy",
    "WeightedError", "default_metrics", "make_metric", "metric_names",
]
