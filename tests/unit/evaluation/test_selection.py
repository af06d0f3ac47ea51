import pytest

from deepdojo.errors import ConfigError
from deepdojo.evaluate.selection import Objective

RUNS = [
    {"name": "small", "accuracy": 0.90, "error_rate": 0.10, "latency_ms_per_example": 5, "parameters": 1e5},
    {"name": "medium", "accuracy": 0.93, "error_rate": 0.07, "latency_ms_per_example": 60, "parameters": 2e6},
    {"name": "huge", "accuracy": 0.97, "error_rate": 0.03, "latency_ms_per_example": 400, "parameters": 5e7},
]


def test_optimizing_metric_among_satisficing_runs():
    assert Objective("accuracy").best(RUNS)["name"] == "huge"
    assert Objective("accuracy", {"latency_ms_per_example": 100}).best(RUNS)["name"] == "medium"
    assert Objective("error_rate", {"parameters": 1e6}).best(RUNS)["name"] == "small"  # lower is better
    assert Objective("accuracy", {"latency_ms_per_example": 1}).best(RUNS) is None
    assert Objective("accuracy", {"latency_ms_per_example": 100}).violations(RUNS[2]) == ["latency_ms_per_example 400 > 100"]


def test_missing_constraint_value_is_an_error():
    with pytest.raises(ConfigError, match="memory_mb"):
        Objective("accuracy", {"memory_mb": 10}).best(RUNS)
