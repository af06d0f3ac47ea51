"""Headerless TSV sentiment data from three sources (amazon, yelp, imdb): trained end to end, accuracy per source.

The three files share a label but not a distribution (phone reviews, restaurant reviews, film reviews):
accuracy measured per source shows the mismatch a single pooled number hides.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from deepdojo.data.text import text_csv
from deepdojo.models import create_model_for
from deepdojo.train.learner import Learner

SENTIMENT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sentiment"
SOURCES = {"amazon": "amazon_cells_labelled.txt", "yelp": "yelp_labelled.txt", "imdb": "imdb_labelled.txt"}


def headerless_rows(path: Path) -> list[tuple[str, str]]:
    """``text<TAB>label`` lines (no header); the label is after the last tab."""
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines(): some texts hold \x85
        if line.strip():
            text, label = line.rsplit("\t", 1)
            rows.append((text.strip(), label.strip()))
    return rows


@pytest.mark.skipif(not SENTIMENT.is_dir(), reason=f"shared sentiment data not found at {SENTIMENT}")
def test_sentiment_tsv_trains_and_reports_accuracy_per_source(tmp_path):
    rows, source_of = [], []
    for name, file in SOURCES.items():
        part = headerless_rows(SENTIMENT / file)
        assert len(part) == 1000 and {label for _, label in part} == {"0", "1"}
        rows += part
        source_of += [name] * len(part)
    with open(tmp_path / "all.tsv", "w", newline="", encoding="utf-8") as f:  # the header text_csv needs
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    data = text_csv(tmp_path / "all.tsv", max_len=32, valid_pct=0.25, seed=0, batch_size=64, skip_bad=True)
    skipped = {s["where"].split(" ")[0] for s in data.info.get("skipped", [])}  # "all.tsv:<line>" (duplicates)
    kept = [i for i in range(len(rows)) if f"all.tsv:{i + 2}" not in skipped]  # line 1 is the header
    assert len(kept) == len(data.info["lengths"])  # rows skipped (duplicates) are accounted for
    torch.manual_seed(0)
    model = create_model_for("textcnn", data.input_shape, 2, vocab_size=len(data.info["vocab"]), embed_dim=32,
                             channels=32)
    learn = Learner(model, data, progress=False, seed=0, default_callbacks=False)
    learn.fit_one_cycle(10, 2e-2)
    probs, targets = learn.get_preds()
    correct = (probs.argmax(1) == targets).numpy()
    valid_sources = np.array([source_of[kept[j]] for j in data.info["splits"]["valid"]])
    per_source = {s: float(correct[valid_sources == s].mean()) for s in SOURCES}
    print("valid accuracy per source:", {s: round(a, 3) for s, a in per_source.items()})
    assert all(a > 0.6 for a in per_source.values()), per_source  # better than chance on every source
    assert float(correct.mean()) > 0.65
