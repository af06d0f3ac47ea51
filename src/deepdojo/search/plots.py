"""Search plots as PNG bytes: the optimization history and one parameter-vs-metric slice per parameter.

Feasible completed trials are blue dots, infeasible ones grey crosses; the
history's step line is the best feasible value so far.
"""

from __future__ import annotations

import math
from typing import Any

from deepdojo.report.plots import fig_to_png, plain_text, subplots
from deepdojo.search.space import Dist


def _complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["state"] == "COMPLETE" and r["value"] is not None and math.isfinite(r["value"])]


@plain_text
def history_png(rows: list[dict[str, Any]], metric: str, direction: str) -> bytes | None:
    """Metric per trial number, with the running best among feasible trials."""
    done = _complete(rows)
    if not done:
        return None
    fig, ax = subplots(figsize=(6.5, 3.6))
    for feasible, style in ((True, dict(marker="o", color="tab:blue", label="feasible")),
                            (False, dict(marker="x", color="grey", label="infeasible"))):
        pts = [r for r in done if r["feasible"] is feasible]
        if pts:
            ax.scatter([r["number"] for r in pts], [r["value"] for r in pts], **style)
    best, xs, ys = None, [], []
    for r in done:
        if r["feasible"]:
            v = r["value"]
            best = v if best is None or (v > best if direction == "maximize" else v < best) else best
        if best is not None:
            xs.append(r["number"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("optimization history")
    ax.legend()
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def slices_png(rows: list[dict[str, Any]], space: dict[str, Dist], metric: str) -> bytes | None:
    """One panel per parameter: its value (log axis where sampled on a log scale) against the metric."""
    done = _complete(rows)
    if not done or not space:
        return None
    names = sorted(space)
    cols = min(3, len(names))
    nrows = -(-len(names) // cols)
    fig, axes = subplots(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        dist = space[name]
        pts = [r for r in done if name in r["params"]]
        if dist.kind == "choice":
            labels = [str(c if not isinstance(c, tuple) else list(c)) for c in dist.args]
            index = {label: i for i, label in enumerate(labels)}
            xs = [index.get(str(r["params"][name]), -1) for r in pts]
            ax.set_xticks(range(len(labels)), labels)
        else:
            xs = [r["params"][name] for r in pts]
            if dist.kind in ("log", "logint"):
                ax.set_xscale("log")
        colors = ["tab:blue" if r["feasible"] else "grey" for r in pts]
        ax.scatter(xs, [r["value"] for r in pts], c=colors)
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("parameter vs validation metric (grey: infeasible)")
    fig.tight_layout()
    return fig_to_png(fig)
