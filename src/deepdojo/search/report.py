"""The search's ``report.html``: self-contained (plots inline), linking the best trial's run report."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from deepdojo.report.html_report import STYLE, data_uri
from deepdojo.io import atomic_write_bytes


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape("" if v is None else str(v))


def _kv(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rows) + "</table>"


def _link(run_dir: str | None, folder: Path) -> str:
    """A relative link to a trial's run report (the search folder may be moved or copied whole)."""
    if not run_dir:
        return ""
    target = Path(run_dir) / "report.html"
    rel = os.path.relpath(target.resolve(), folder.resolve())
    return f"<a href='{html.escape(rel)}'>{html.escape(Path(run_dir).name)}</a>" if target.exists() else html.escape(Path(run_dir).name)


def write_search_report(result, settings, plots: dict[str, bytes | None]) -> Path:
    """Summary, best trial (with its config and a link to its run), plots, and every trial."""
    folder = settings.folder
    constraints = [f"latency ≤ {settings.max_latency_ms} ms/example" if settings.max_latency_ms is not None else None,
                   f"params ≤ {settings.max_params}" if settings.max_params is not None else None]
    summary = [("study", result.study), ("storage", result.storage), ("data", settings.data),
               ("metric (validation)", f"{result.metric} ({result.direction})"), ("target complete trials", result.target),
               ("trials by state", ", ".join(f"{k.lower()} {v}" for k, v in result.counts.items())),
               ("sampler / pruner", f"{settings.sampler} / {settings.pruner}"),
               ("constraints", "; ".join(c for c in constraints if c) or "none"),
               ("space", "; ".join(f"{k} = {v}" for k, v in settings.space.items()))]
    parts = [f"<h2>Search</h2>{_kv(summary)}<p class='note'>Chosen on the validation split only; the test split was "
             "sealed during the search. Evaluate the best config on test once, after the search.</p>"]
    if result.best:
        b = result.best
        rows = [("trial", b["number"]), (result.metric, b["value"]), ("params", b["n_params"]),
                ("latency ms/example", b["latency_ms"])] + [(k, v) for k, v in b["params"].items()]
        cfg = result.best_config.read_text() if result.best_config else ""
        parts.append(f"<h2>Best feasible trial</h2>{_kv(rows)}<p>Run: {_link(b['run_dir'], folder)}</p>"
                     f"<p>Config (<code>deepdojo train --config {html.escape(str(result.best_config))}</code>):</p>"
                     f"<pre>{html.escape(cfg)}</pre>")
    else:
        parts.append("<h2>Best feasible trial</h2><p>No complete trial meets the constraints.</p>")
    for name, title in (("history.png", "Optimization history"), ("slices.png", "Parameters vs metric")):
        if plots.get(name):
            parts.append(f"<h2>{title}</h2><img alt='{title}' src='{data_uri(plots[name])}'>")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("#", "state", result.metric, "feasible", "params", "latency ms",
                                                          "hyperparameters", "run", "note"))
    body = ""
    for r in result.rows:
        hp = ", ".join(f"{k}={_cell(v)}" for k, v in r["params"].items())
        feasible = {True: "yes", False: "no", None: ""}[r["feasible"]]
        body += (f"<tr><td>{r['number']}</td><td>{r['state'].lower()}</td><td>{_cell(r['value'])}</td><td>{feasible}</td>"
                 f"<td>{_cell(r['n_params'])}</td><td>{_cell(r['latency_ms'])}</td><td>{hp}</td>"
                 f"<td>{_link(r['run_dir'], folder)}</td><td>{_cell('; '.join(r['violations']) or r['note'])}</td></tr>")
    parts.append(f"<h2>Trials</h2><table><tr>{head}</tr>{body}</table>")
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>deepdojo search: {html.escape(result.study)}"
            f"</title><style>{STYLE}</style></head><body><h1>Search {html.escape(result.study)}</h1>{''.join(parts)}</body></html>")
    path = folder / "report.html"
    atomic_write_bytes(path, page.encode())
    return path
