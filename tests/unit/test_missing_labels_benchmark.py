"""The missing-labels benchmark's claim, small: with half the label cells missing, the masked loss beats
dropping incomplete rows (same model, at least as many optimizer steps for the dropped-rows model)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "missing_labels.py"


def test_masked_loss_beats_dropping_incomplete_rows():
    spec = importlib.util.spec_from_file_location("missing_labels_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    r = bench.compare(n=3000, tasks=4, epochs=4, seed=0)
    assert r["rows_dropped"] < 0.1 * r["rows_masked"]  # 0.5^4 of the rows are complete
    assert r["masked"] > r["dropped"] + 0.01, r
