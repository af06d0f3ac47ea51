"""The run's ``report.html``: self-contained (images inline as data URIs, no network).

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:xor", out=tempfile.mkdtemp(), progress=False)
    >>> learn.fit(1, 0.01)
    >>> write_report(learn.run.path).name
    'report.html'
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from deepdojo.report.plots import curves_png
from deepdojo.train.run_folder import RunFolder
from deepdojo.io import atomic_write_bytes, read_json_file

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


def sections(run: RunFolder) -> list[tuple[str, str]]:
    """``(title, html)`` pairs; later issues add sections (baselines, diagnosis, gallery)."""
    out: list[tuple[str, str]] = []
    summary = run.read_json("summary.json") if (run.path / "summary.json").exists() else {}
    final = summary.get("final") or {}
    labels = {"lr": "lr (last step)", "seconds": "seconds (last epoch)"}
    rows = [(labels.get(k, k), v) for k, v in final.items() if k != "epoch"]
    if summary.get("best_epoch") is not None:
        rows.append(("best epoch (lowest valid_loss)", summary["best_epoch"] + 1))
    out.append(("Final metrics (validation)", _table(rows) if rows else "<p class='note'>no epochs recorded</p>"))
    png = curves_png(run.read_metrics())
    if png:
        out.append(("Training curves", f"<img alt='training curves' src='{data_uri(png)}'>"))
    from deepdojo.report.sections_text import attention_section, samples_section

    out += samples_section(run.path) + attention_section(run.path)  # beside the curves: text, attention
    lr_png = run.path / "lr_find.png"
    if lr_png.exists():
        expl = html.escape((summary.get("lr_find") or {}).get("explanation", ""))
        out.append(("Learning-rate finder", f"<p>{expl}</p><img alt='LR finder' src='{data_uri(lr_png.read_bytes())}'>"))
    from deepdojo.report.sections_eval import evaluation_sections

    out += evaluation_sections(run)
    from deepdojo.report.sections_data import suspects_section

    out += suspects_section(run)
    out.append(("Config", _json_block(run.path / "config.json")))
    out.append(("Manifest", _json_block(run.path / "manifest.json")))
    return out


def write_report(run_dir: str | Path) -> Path:
    """Write ``report.html`` in ``run_dir`` from what the run folder holds; returns its path."""
    run = RunFolder(run_dir)
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections(run))
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>deepdojo report: {html.escape(run.path.name)}</title>"
            f"<style>{STYLE}</style></head><body><h1>Run {html.escape(run.path.name)}</h1>{body}</body></html>")
    path = run.path / "report.html"
    atomic_write_bytes(path, page.encode())
    return path
