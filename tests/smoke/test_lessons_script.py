"""Every lesson runs as a script in smoke mode and every claim it prints holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lesson_runner import IDS, LESSONS, lesson_env, read_claims


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_lesson_runs_as_script(lesson, tmp_path):
    out = tmp_path / "out"
    env = lesson_env(out)
    env.pop("DEEPDOJO_SMOKE")  # the script's own --smoke flag must switch smoke mode on
    result = subprocess.run([sys.executable, str(lesson.path), "--smoke"], cwd=tmp_path, env=env, check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = read_claims(out)
    for claim in record["claims"]:  # the reader sees each claim with its number
        assert "[ok] " + claim["text"] in result.stdout
    assert f"Lesson {lesson.number} complete" in result.stdout
    for fig in record["figures"]:
        assert Path(fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
