"""Every lesson, converted to a notebook, executes in a fresh Jupyter kernel (smoke mode) with plots inline."""

from __future__ import annotations

import pytest
from lesson_runner import IDS, LESSONS, lesson_env, read_claims

nbclient = pytest.importorskip("nbclient", reason="notebook tests need the test extras (nbclient, ipykernel)")
pytest.importorskip("ipykernel")
pytest.importorskip("jupytext")


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_lesson_runs_as_notebook(lesson, tmp_path, monkeypatch):
    from deepdojo.lessons import to_notebook

    out = tmp_path / "out"
    for key, value in lesson_env(out).items():  # the kernel inherits this process's environment
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MPLBACKEND")  # the kernel's own inline backend
    nb = to_notebook(lesson)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a claim fails
    record = read_claims(out)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert all("[ok] " + c["text"] in text for c in record["claims"])
    inline = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(inline) == len(record["figures"]), "every saved figure is also shown inline"
