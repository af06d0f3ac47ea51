"""A real Jupyter kernel runs the three-line experience; the outputs' types are checked (issue 12).

One HTML table per fit that updates in place (display_data + updates, not one
``<pre>`` per epoch), an inline PNG per plot, a short text for the LR finder,
and nothing on stderr (no ipywidgets warning).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SRC = str(Path(__file__).resolve().parents[2] / "src")

CELLS = [
    "import torch; torch.set_num_threads(1)\n"
    "from deepdojo import vision\n"
    "learn = vision.classifier('builtin:moons', arch='mlp', out=None, seed=0)",
    "learn.fit_one_cycle(3, 1e-2)",
    "learn.lr_find(num_it=30)",
    "learn.fit_one_cycle(1, lr_max='auto')",
    "learn.plot_loss()",
    "digits = vision.classifier('builtin:digits', out=None, seed=0, progress=False)\n"
    "digits.fit(1, 1e-2)\n"
    "digits.show_batch(4)",
    "from deepdojo.evaluate.interpret import Interpretation\n"
    "Interpretation.from_learner(digits).plot_top_losses(4)",
]


def _run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = SRC + (os.pathsep + env_path if env_path else "")
    try:
        client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    return nb


def _kinds(cell) -> list[tuple[str, tuple[str, ...]]]:
    return [(o["output_type"], tuple(sorted(o.get("data", {})))) for o in cell["outputs"]]


def test_notebook_outputs(tmp_path):
    nb = _run(tmp_path)
    cells = nb.cells
    for cell in cells:  # no warnings, no tracebacks, nothing on stderr
        assert not [o for o in cell["outputs"] if o.get("name") == "stderr" or o["output_type"] == "error"], cell
    fit = cells[1]["outputs"]
    tables = [o for o in fit if o["output_type"] == "display_data"]
    assert len(tables) == 1, _kinds(cells[1])  # one output per fit, updated in place
    html = tables[0]["data"]["text/html"]
    assert html.count("<tr>") == 3 and "train_loss" in html and "<progress" not in html  # 3 epoch rows (header aside): updated in place; bar gone
    result = [o for o in fit if o["output_type"] == "execute_result"][0]
    assert result["data"]["text/plain"].startswith("History(3 epochs")  # fit returns the history
    assert not [o for o in fit if o["output_type"] == "stream"]  # no per-epoch <pre> lines
    pngs = [o for o in cells[2]["outputs"] if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, _kinds(cells[2])  # the LR plot once, plus a short text
    text = [o for o in cells[2]["outputs"] if o["output_type"] == "execute_result"][0]["data"]["text/plain"]
    assert text.startswith("LRFindResult(suggestion=") and len(text) < 300
    assert not [o for o in cells[3]["outputs"] if "image/png" in o.get("data", {})]  # lr_max="auto": finder reused
    for i in (4, 5, 6):
        kinds = _kinds(cells[i])
        assert ("execute_result", ("image/png", "text/plain")) in kinds, kinds
