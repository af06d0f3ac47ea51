"""Metrics with one naming scheme for CLI and API."""

from deepdojo.metrics.streaming import MAE, R2, RMSE, Accuracy, ErrorRate, Metric, TopKAccuracy, default_metrics, make_metric

__all__ = ["MAE", "R2", "RMSE", "Accuracy", "ErrorRate", "Metric", "TopKAccuracy", "default_metrics", "make_metric"]
