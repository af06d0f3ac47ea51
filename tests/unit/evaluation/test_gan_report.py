"""The GAN report: the sample grid and the judge's Fréchet distance / class coverage render in headless Chromium."""

from __future__ import annotations

import json
import re

from test_report import CHECKER, chromium, run_chromium  # noqa: F401 (chromium is a fixture)

from deepdojo.cli.main import main


def test_gan_report_renders_samples_and_quality_in_headless_chromium(tmp_path, chromium):  # noqa: F811
    assert main(["train", "builtin:digits", "--task", "gan", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 0
    run = next((tmp_path / "runs").iterdir())
    page = (run / "report.html").read_text()
    assert "Generated samples (seed 0)" in page and "Sample quality" in page and "class coverage" in page and "could not be rendered" not in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + CHECKER, 1))
    dom = run_chromium(chromium, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    check = re.search(r'data-check="([^"]*)"', dom.stdout)
    assert check, dom.stderr[-2000:]
    result = json.loads(check.group(1).replace("&quot;", '"'))
    assert result["errors"] == [] and result["bad"] == [], result
    assert "generated samples" in re.findall(r"alt='([^']*)'", page)
