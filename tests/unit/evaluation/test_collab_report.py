"""A recommender's report renders in headless Chromium: item-bias tables, the item-factor map, nearest items."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_report import chromium, rendered  # noqa: F401 (chromium is a fixture)

from deepdojo.cli.main import main


@pytest.fixture(scope="module")
def collab_run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collab_report")
    rng = np.random.default_rng(0)
    rows = [f"u{rng.integers(0, 30)},m{rng.integers(0, 25)},{rng.integers(1, 6)}" for _ in range(500)]
    (tmp / "ratings.csv").write_text("user,item,rating\n" + "\n".join(rows) + "\n")
    assert main(["train", str(tmp / "ratings.csv"), "--task", "collab", "--split", "user", "--epochs", "2",
                 "--lr", "0.03", "--out", str(tmp / "runs"), "--name", "r"]) == 0
    return tmp / "runs" / "r"


def test_collab_report_in_headless_chromium(collab_run_dir, tmp_path, chromium):  # noqa: F811
    page = (collab_run_dir / "report.html").read_text()
    for title in ("Item biases: most and least liked", "Item factors (2-D PCA)", "Nearest items", "Top-10"):
        assert title in page, title
    result = rendered(chromium, page, tmp_path)
    assert result["errors"] == [] and result["bad"] == [], result
    alts = re.findall(r"alt='([^']*)'", page)
    assert "item factors PCA" in alts and result["n"] >= 2  # the map and the curves decode as images
