"""The GAN report: the sample grid and the judge's Fréchet distance / class coverage render in headless Chromium."""

from __future__ import annotations

import re

from test_report import chromium, rendered  # noqa: F401 (chromium is a fixture)

from deepdojo.cli.main import main


def test_gan_report_renders_samples_and_quality_in_headless_chromium(tmp_path, chromium):  # noqa: F811
    assert main(["train", "builtin:digits", "--task", "gan", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 0
    run = next((tmp_path / "runs").iterdir())
    page = (run / "report.html").read_text()
    assert "Generated samples (seed 0)" in page and "Sample quality" in page and "class coverage" in page and "could not be rendered" not in page
    result = rendered(chromium, page, tmp_path)
    assert result["errors"] == [] and result["bad"] == [], result
    assert "generated samples" in re.findall(r"alt='([^']*)'", page)
