"""Single-number model choice: one optimizing metric plus satisficing constraints.

The curriculum's recipe: maximize (or minimize) one metric among the models
that meet every constraint, e.g. latency <= 100 ms per example and
parameters <= 1M. Constraints are upper bounds on recorded numbers
(``evaluation.json`` holds ``latency_ms_per_example`` and ``parameters``).

Example:
    >>> obj = Objective("accuracy", {"latency_ms_per_example": 100})
    >>> runs = [{"name": "a", "accuracy": 0.92, "latency_ms_per_example": 80},
    ...         {"name": "b", "accuracy": 0.95, "latency_ms_per_example": 1500}]
    >>> obj.best(runs)["name"]
    'a'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deepdojo.errors import ConfigError
from deepdojo.metrics import make_metric


@dataclass
class Objective:
    """``optimize``: a metric name (direction from the metric); ``constraints``: name -> maximum allowed."""

    optimize: str = "accuracy"
    constraints: dict[str, float] = field(default_factory=dict)

    @property
    def higher_is_better(self) -> bool:
        if self.optimize.endswith("loss"):
            return False
        return make_metric(self.optimize).higher_is_better

    def violations(self, record: dict[str, Any]) -> list[str]:
        """Why ``record`` fails the constraints (empty: it satisfies them all)."""
        out = []
        for key, limit in self.constraints.items():
            if key not in record:
                raise ConfigError(f"no value recorded for constraint {key!r}", where=str(record.get("name", "record")),
                                  fix="record it (evaluation.json has latency_ms_per_example and parameters)")
            if record[key] > limit:
                out.append(f"{key} {record[key]:g} > {limit:g}")
        return out

    def best(self, records: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The record with the best ``optimize`` value among those meeting every constraint (None if none do)."""
        ok = [r for r in records if not self.violations(r)]
        if not ok:
            return None
        sign = 1 if self.higher_is_better else -1
        return max(ok, key=lambda r: sign * r[self.optimize])
