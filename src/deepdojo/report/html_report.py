"""The run's ``report.html``: self-contained (images inline as data URIs, no network).

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:xor", out=tempfile.mkdtemp(), progress=False)
    >>> _ = learn.fit(1, 0.01)
    >>> write_report(learn.run.path).name
    'report.html'
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any

from deepdojo.report.plots import curves_png
from deepdojo.train.run_folder import RunFolder
from deepdojo.io import atomic_write_bytes, read_json_file

log = logging.getLogger("deepdojo")
NOTES_FILE = "report_notes.jsonl"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse} td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}
th{background:#f6f6f6} img{max-width:100%} pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
.note{color:#555}
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)  # 4 significant digits: also for tiny LRs


def _json_block(path: Path) -> str:
    if not path.exists():
        return "<p class='note'>(missing)</p>"
    return f"<pre>{html.escape(json.dumps(read_json_file(path), indent=2))}</pre>"


def _metrics_section(run: RunFolder) -> list[tuple[str, str]]:
    summary = run.read_json("summary.json") if (run.path / "summary.json").exists() else {}
    final = summary.get("final") or {}
    labels = {"lr": "lr (last step)", "seconds": "seconds (last epoch)"}
    rows = [(labels.get(k, k), v) for k, v in final.items() if k != "epoch"]
    if summary.get("best_epoch") is not None:
        rows.append(("best epoch (lowest valid_loss)", summary["best_epoch"] + 1))
    return [("Final metrics (validation)", _table(rows) if rows else "<p class='note'>no epochs recorded</p>")]


def _curves_section(run: RunFolder) -> list[tuple[str, str]]:
    png = curves_png(run.read_metrics())
    return [("Training curves", f"<img alt='training curves' src='{data_uri(png)}'>")] if png else []


def _text_sections(run: RunFolder) -> list[tuple[str, str]]:
    from deepdojo.report.sections_text import attention_section, samples_section

    return samples_section(run.path) + attention_section(run.path)


def _lr_find_section(run: RunFolder) -> list[tuple[str, str]]:
    lr_png = run.path / "lr_find.png"
    if not lr_png.exists():
        return []
    summary = run.read_json("summary.json") if (run.path / "summary.json").exists() else {}
    expl = html.escape((summary.get("lr_find") or {}).get("explanation", ""))
    return [("Learning-rate finder", f"<p>{expl}</p><img alt='LR finder' src='{data_uri(lr_png.read_bytes())}'>")]


def _evaluation_sections(run: RunFolder) -> list[tuple[str, str]]:
    from deepdojo.report.sections_eval import evaluation_sections

    return evaluation_sections(run)


def _suspects_section(run: RunFolder) -> list[tuple[str, str]]:
    from deepdojo.report.sections_data import suspects_section

    return suspects_section(run)


def _notes_section(run: RunFolder) -> list[tuple[str, str]]:
    """Steps after training that failed (``report_notes.jsonl``): the report says so instead of being lost."""
    path = run.path / NOTES_FILE
    if not path.exists():
        return []
    notes = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = "".join(f"<li>{html.escape(n.get('step', '?'))}: {html.escape(n.get('error', ''))}</li>" for n in notes)
    return [("Notes", f"<p class='note'>Parts of this run's evaluation failed; what they would show is missing "
                      f"below.</p><ul>{items}</ul>")] if items else []


# (title shown if the section fails, builder): one builder's failure becomes a note, the rest still render
SECTIONS = [
    ("Notes", _notes_section),
    ("Final metrics (validation)", _metrics_section),
    ("Training curves", _curves_section),
    ("Samples and attention", _text_sections),  # beside the curves: generated text, attention maps
    ("Learning-rate finder", _lr_find_section),
    ("Evaluation", _evaluation_sections),
    ("Label suspects", _suspects_section),
    ("Config", lambda run: [("Config", _json_block(run.path / "config.json"))]),
    ("Manifest", lambda run: [("Manifest", _json_block(run.path / "manifest.json"))]),
]


def sections(run: RunFolder) -> list[tuple[str, str]]:
    """``(title, html)`` pairs in report order; a section that raises is replaced by a note saying why."""
    out: list[tuple[str, str]] = []
    for title, build in SECTIONS:
        try:
            out += build(run)
        except Exception as exc:  # a report with one note beats no report (and the traceback is logged)
            log.warning("deepdojo: report section %r failed: %s", title, _one_line(exc))
            out.append((title, f"<p class='note'>This section could not be rendered ({html.escape(_one_line(exc))}); "
                               "the rest of the report is complete.</p>"))
    return out


def _one_line(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


def note_failure(run_dir: str | Path, step: str, exc: BaseException) -> None:
    """Record that ``step`` failed for this run (shown under "Notes" in the report) and warn on stderr."""
    import sys

    from deepdojo.io import append_bytes

    sys.stderr.write(f"deepdojo: warning: {step} failed ({_one_line(exc)}); the report notes it\n")
    append_bytes(Path(run_dir) / NOTES_FILE, (json.dumps({"step": step, "error": _one_line(exc)}) + "\n").encode())


def write_report(run_dir: str | Path) -> Path:
    """Write ``report.html`` in ``run_dir`` from what the run folder holds; returns its path."""
    run = RunFolder(run_dir)
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections(run))
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>deepdojo report: {html.escape(run.path.name)}</title>"
            f"<style>{STYLE}</style></head><body><h1>Run {html.escape(run.path.name)}</h1>{body}</body></html>")
    path = run.path / "report.html"
    atomic_write_bytes(path, page.encode())
    return path
