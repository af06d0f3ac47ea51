"""What a search leaves behind: the best feasible trial, its config file, a table, plots and a report.

Satisficing: a trial that breaks a constraint (latency per example, parameter
count) is infeasible and cannot win, however good its metric. Constraints are
checked against each trial's measurements when the search is summarized, so
rerunning with a tighter ``--max-params`` re-ranks trials without training.

Example:
    >>> import optuna
    >>> t = optuna.trial.create_trial(value=0.9, user_attrs={"n_params": 5000, "latency_ms": 0.1})
    >>> violations(t, max_latency_ms=None, max_params=1000)
    ['params 5000 > 1000']
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from deepdojo.search.space import apply_params, parse_space
from deepdojo.search.plots import history_png, slices_png
from deepdojo.io import atomic_write_bytes, write_json


def violations(trial: FrozenTrial, max_latency_ms: float | None, max_params: int | None) -> list[str]:
    """The constraints ``trial`` breaks, in words; a trial never measured breaks every constraint set."""
    out = []
    latency, n_params = trial.user_attrs.get("latency_ms"), trial.user_attrs.get("n_params")
    if max_latency_ms is not None and (latency is None or not latency <= max_latency_ms):
        out.append(f"latency {latency if latency is None else round(latency, 4)} ms > {max_latency_ms} ms")
    if max_params is not None and (n_params is None or n_params > max_params):
        out.append(f"params {n_params} > {max_params}")
    return out


def best_trial(trials: list[FrozenTrial], direction: str, max_latency_ms: float | None = None,
               max_params: int | None = None) -> FrozenTrial | None:
    """The best COMPLETE, feasible trial (ties: the earlier one); None when no trial qualifies."""
    ok = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
          and not violations(t, max_latency_ms, max_params)]
    if not ok:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(ok, key=lambda t: (sign * t.value, t.number))


def note(t: FrozenTrial) -> str:
    """Why a trial is not a plain completed one: failure, pruning, skip, OOM retry, retry of a dead worker's trial."""
    parts = [t.user_attrs[k] for k in ("failure", "pruned", "skipped", "oom_retry") if k in t.user_attrs]
    if t.state == TrialState.FAIL and "failure" not in t.user_attrs:
        parts.append("worker stopped (no heartbeat)")
    if "failed_trial" in t.system_attrs:
        parts.append(f"retry of trial {t.system_attrs['retry_history'][-1]}")
    return "; ".join(parts)


def trial_rows(trials: list[FrozenTrial], settings) -> list[dict[str, Any]]:
    """One JSON-ready row per trial, by number."""
    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        broken = violations(t, settings.max_latency_ms, settings.max_params)
        rows.append({
            "number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params),
            "feasible": (not broken) if t.state == TrialState.COMPLETE else None, "violations": broken,
            "n_params": t.user_attrs.get("n_params"), "latency_ms": t.user_attrs.get("latency_ms"),
            "run_dir": t.user_attrs.get("run_dir"), "note": note(t),
        })
    return rows


@dataclass
class SearchResult:
    """The summary of a search; ``best`` is None when no trial is complete and feasible."""

    folder: Path
    study: str
    storage: str
    metric: str
    direction: str
    target: int
    counts: dict[str, int]
    best: dict[str, Any] | None
    best_config: Path | None
    report: Path
    rows: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}


def public_url(url: str) -> str:
    """The storage URL with any password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def summarize(study: optuna.Study, settings) -> SearchResult:
    """Pick the winner, write best_config.toml, plots, search.json and report.html; print the table."""
    trials = study.get_trials(deepcopy=False)
    rows = trial_rows(trials, settings)
    counts = {s.name: sum(t.state == s for t in trials) for s in TrialState if any(t.state == s for t in trials)}
    winner = best_trial(trials, settings.direction, settings.max_latency_ms, settings.max_params)
    folder = settings.folder
    best, config_path = None, None
    if winner is not None:
        best = next(r for r in rows if r["number"] == winner.number)
        config_path = write_best_config(folder / "best_config.toml", winner, settings)
        run_dir = Path(best["run_dir"] or "")
        if (run_dir / "summary.json").exists() and not (run_dir / "report.html").exists():
            from deepdojo.report.html_report import write_report

            write_report(run_dir)  # the winner's full run report (other trials keep their run folders)
    space = parse_space(settings.space)
    plots = {"history.png": history_png(rows, settings.metric, settings.direction),
             "slices.png": slices_png(rows, space, settings.metric)}
    for name, png in plots.items():
        if png:
            atomic_write_bytes(folder / name, png)
    result = SearchResult(folder=folder, study=settings.study, storage=public_url(settings.storage), metric=settings.metric,
                          direction=settings.direction, target=settings.trials, counts=counts, best=best,
                          best_config=config_path, report=folder / "report.html", rows=rows)
    from deepdojo.search.report import write_search_report

    write_search_report(result, settings, plots)
    write_json(folder / "search.json", result.to_json())
    if not settings.quiet:
        print_table(result)
    return result


def best_config_values(trial: FrozenTrial, settings) -> dict[str, Any]:
    """The winner's TrainConfig values: base + its parameters, at the batch size it really trained with."""
    values = apply_params({**settings.base, "data": settings.data}, trial.params)
    if "batch_size" in trial.user_attrs:  # an OOM retry halves it
        values["batch_size"] = trial.user_attrs["batch_size"]
    return values


def write_best_config(path: Path, trial: FrozenTrial, settings) -> Path:
    """A TOML file that ``deepdojo train --config`` reads (``TrainConfig.from_file``)."""
    values = best_config_values(trial, settings)
    head = (f"# best feasible trial {trial.number} of study {settings.study!r}: validation {settings.metric} {trial.value:.6g}\n"
            f"# train it: deepdojo train --config {path.name}\n")
    atomic_write_bytes(path, (head + to_toml(values)).encode())
    return path


def to_toml(values: dict[str, Any]) -> str:
    """Flat TOML for config values; ``None`` is left out (TOML has no null: the field keeps its default)."""
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None and k not in tables]
    for name, table in tables.items():
        if table:
            lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))  # a TOML basic string uses JSON's escapes


def print_table(result: SearchResult) -> None:
    """The trials as a rich table (best first), then where everything is."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"study {result.study}: {result.metric} ({result.direction})")
    for col in ("#", "state", result.metric, "feasible", "params", "latency ms", "hyperparameters", "note"):
        table.add_column(col)
    best_no = result.best["number"] if result.best else None
    for r in result.rows:
        hp = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items())
        style = "bold green" if r["number"] == best_no else ("dim" if r["state"] != "COMPLETE" else None)
        table.add_row(str(r["number"]), r["state"].lower(), "" if r["value"] is None else f"{r['value']:.4f}",
                      {True: "yes", False: "no", None: ""}[r["feasible"]], str(r["n_params"] or ""),
                      "" if r["latency_ms"] is None else f"{r['latency_ms']:.4f}", hp,
                      "; ".join(r["violations"]) or r["note"], style=style)
    console = Console()
    console.print(table)
    if result.best:
        console.print(f"best: trial {best_no} ({result.metric} {result.best['value']:.4f}), run {result.best['run_dir']}")
        console.print(f"best config: {result.best_config}")
    else:
        console.print("no complete trial meets the constraints")
    console.print(f"report: {result.report}")
