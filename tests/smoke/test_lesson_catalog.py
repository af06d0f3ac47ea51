"""The lesson catalogue, the claims kit and ``deepdojo lesson list|run|open``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from lesson_runner import ROOT

import deepdojo.lessons
from deepdojo.cli.main import main
from deepdojo.errors import ConfigError
from deepdojo.lessons import ClaimFailed, begin, find_lesson, list_lessons
from deepdojo.lessons.catalog import read_lesson

HEADER = """# %% [markdown]
# # Lesson {n}: A title
#
# **Minutes:** 2
# **Asserts:** something measurable

# %%
from deepdojo.lessons import begin
lesson = begin({n})
lesson.check("one is one", 1, "==", 1)
lesson.check("measured", {value}, "<", 0.5)
lesson.end()
"""


def test_catalogue_is_in_order_and_complete():
    lessons = list_lessons()
    numbers = [lsn.number for lsn in lessons]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert 5 in numbers
    for lsn in lessons:
        assert lsn.title and lsn.asserts and lsn.minutes >= 1
        assert lsn.path.name == f"{lsn.slug}.py" and lsn.slug.startswith(f"{lsn.number:02d}_")
    assert (ROOT / "lessons").resolve() == lessons[0].path.parent  # the checkout's lessons/ is the package's


def test_find_lesson_by_number_name_or_topic():
    assert find_lesson(5).slug == find_lesson("05").slug == find_lesson("05_backprop_scratch.py").slug
    assert find_lesson("backprop").number == 5
    with pytest.raises(ConfigError, match="no lesson 'backprup'.*did you mean '05_backprop_scratch'"):
        find_lesson("backprup")
    with pytest.raises(ConfigError, match="no lesson 99"):
        find_lesson(99)


def test_header_problems_are_one_line_errors(tmp_path):
    bad = tmp_path / "03_thing.py"
    bad.write_text("# %% [markdown]\n# # Lesson 4: wrong number\n# **Minutes:** 1\n# **Asserts:** x\n")
    with pytest.raises(ConfigError, match="header says lesson 4 but the file name says 3"):
        read_lesson(bad)
    bad.write_text("# %% [markdown]\n# # Lesson 3: no minutes\n# **Asserts:** x\n")
    with pytest.raises(ConfigError, match="no minutes line"):
        read_lesson(bad)
    with pytest.raises(ConfigError, match="named NN_topic.py"):
        read_lesson(tmp_path / "lesson.py")
    (tmp_path / "03_other.py").write_text(HEADER.format(n=3, value=0.1))
    bad.write_text(HEADER.format(n=3, value=0.1))
    with pytest.raises(ConfigError, match="two lessons are number 3"):
        list_lessons(tmp_path)


def test_check_prints_the_claim_and_fails_when_it_stops_holding(tmp_path, capsys):
    run = begin(7, out=tmp_path, smoke=True)
    run.check("MLP beats linear", 1.0, ">", 0.5)
    run.check("close", 0.101, "~=", 0.1, tol=0.01, fmt=".3f")
    with pytest.raises(ClaimFailed, match=r"linear on XOR: 0.80 <= 0.75"):
        run.check("linear on XOR", 0.8, "<=", 0.75)
    with pytest.raises(ValueError, match="unknown comparison"):
        run.check("x", 1, "=<", 2)
    out = capsys.readouterr().out
    assert "[ok] MLP beats linear: 1.00 > 0.50" in out and "[FAILED] linear on XOR: 0.80 <= 0.75" in out
    record = json.loads((tmp_path / "claims.json").read_text())  # written before raising: CI shows what failed
    assert [c["ok"] for c in record["claims"]] == [True, True, False]


def test_smoke_flag_and_environment(monkeypatch, tmp_path):
    from deepdojo.lessons import smoke_requested

    monkeypatch.delenv("DEEPDOJO_SMOKE", raising=False)
    assert smoke_requested(["--smoke"]) and not smoke_requested([])
    assert begin(1, out=tmp_path, smoke=False).pick(100, 3) == 100
    monkeypatch.setenv("DEEPDOJO_SMOKE", "1")
    assert smoke_requested([])
    assert begin(1, out=tmp_path).pick(100, 3) == 3


def test_cli_list(capsys):
    assert main(["lesson", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["lessons"]
    assert [lsn["number"] for lsn in listed] == [lsn.number for lsn in list_lessons()]
    assert main(["lesson", "list"]) == 0
    text = capsys.readouterr().out
    assert "Backpropagation is the chain rule" in text and "asserts:" in text


def test_cli_open_writes_a_notebook_and_keeps_an_edited_one(tmp_path, monkeypatch, capsys):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupytext")
    monkeypatch.chdir(tmp_path)
    assert main(["lesson", "open", "5"]) == 0
    nb = nbformat.read(tmp_path / "05_backprop_scratch.ipynb", as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[0] == "markdown" and "code" in kinds and kinds.count("markdown") >= 3
    assert nb.cells[0].source.startswith("# Lesson 5: Backpropagation")  # markdown, not a comment
    assert not any("# %%" in c.source for c in nb.cells)
    (tmp_path / "05_backprop_scratch.ipynb").write_text("my edits")
    assert main(["lesson", "open", "backprop"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "05_backprop_scratch.ipynb").read_text() == "my edits"
    assert main(["lesson", "open", "5", "--force"]) == 0
    assert main(["lesson", "open", "nosuchlesson"]) == 2


def test_cli_run_passes_and_fails_with_the_lesson(tmp_path, monkeypatch, capfd):
    """``deepdojo lesson run`` exits 0 when the claims hold and 1, naming the lesson, when one fails."""
    for n, value in ((1, 0.1), (2, 0.9)):
        (tmp_path / f"{n:02d}_topic{n}.py").write_text(HEADER.format(n=n, value=value))
    monkeypatch.setattr(deepdojo.lessons, "find_lesson", lambda name: find_lesson(name, folder=tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEEPDOJO_SMOKE", raising=False)
    assert main(["lesson", "run", "1", "--smoke"]) == 0  # default output folder: ./lesson_output/NN
    assert json.loads((tmp_path / "lesson_output" / "01" / "claims.json").read_text())["smoke"] is True
    assert main(["lesson", "run", "topic2", "--out", str(tmp_path / "o2")]) == 1
    record = json.loads((tmp_path / "o2" / "claims.json").read_text())
    assert record["smoke"] is False and record["claims"][-1]["text"] == "measured: 0.90 < 0.50"
    captured = capfd.readouterr()
    assert "[FAILED] measured: 0.90 < 0.50" in captured.out
    assert "lesson 2 (02_topic2) failed" in captured.err


def test_lessons_ship_in_the_wheel(tmp_path):
    """A wheel (not only an editable install) carries every lesson file next to its catalogue."""
    src = tmp_path / "checkout"  # a copy: building leaves build/ and egg-info behind
    shutil.copytree(ROOT / "src" / "deepdojo", src / "src" / "deepdojo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {result.stderr.strip().splitlines()[-1:]}")
    (wheel,) = tmp_path.glob("deepdojo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lsn in list_lessons():
        assert f"deepdojo/lessons/{lsn.path.name}" in names
    assert "deepdojo/lessons/catalog.py" in names


def test_readme_lists_every_lesson_with_its_claims():
    readme = (ROOT / "README.md").read_text()
    for lsn in list_lessons():
        row = f"| {lsn.number} | [{lsn.title}](src/deepdojo/lessons/{lsn.path.name}) | {lsn.minutes} | "
        assert row + lsn.asserts.replace("|", "/") + " |" in readme, f"README's lesson table is missing {lsn.slug}"
