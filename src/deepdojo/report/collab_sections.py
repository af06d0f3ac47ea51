"""The recommender's report section, drawn from ``factors.json`` (:mod:`deepdojo.evaluate.collab_eval`).

Most/least liked items (learned item biases), the 2-D PCA map of item
factors, nearest items by cosine, and the top-N ranking beside the bias model's.

Example:
    >>> png = pca_png({"explained": [0.5, 0.2], "points": [{"item": "a", "x": 0.0, "y": 1.0, "bias": 0.1},
    ...                {"item": "b", "x": 1.0, "y": 0.0, "bias": -0.2}]})
    >>> png[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

import html
from typing import Any

from deepdojo.figures import fig_to_png, plain_text, subplots
from deepdojo.train.run_folder import RunFolder


@plain_text
def pca_png(pca: dict[str, Any], labels: int = 12) -> bytes:
    """Item factors on their two main directions, coloured by item bias; the items farthest out are named."""
    pts = pca["points"]
    fig, ax = subplots(figsize=(7, 5.5))
    sc = ax.scatter([p["x"] for p in pts], [p["y"] for p in pts], c=[p["bias"] for p in pts], cmap="coolwarm",
                    s=12, alpha=0.8)
    fig.colorbar(sc, ax=ax, label="item bias")
    far = sorted(pts, key=lambda p: -(p["x"] ** 2 + p["y"] ** 2))[:labels]
    for p in far:
        ax.annotate(p["item"][:28], (p["x"], p["y"]), fontsize=7)
    ex = pca.get("explained", [0, 0])
    ax.set_xlabel(f"PC1 ({ex[0]:.0%} of factor variance)")
    ax.set_ylabel(f"PC2 ({ex[1]:.0%})")
    ax.set_title("Item factors, 2-D PCA")
    fig.tight_layout()
    return fig_to_png(fig)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return html.escape(f"{v:.3f}" if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def factors_section(run: RunFolder) -> list[tuple[str, str]]:
    """``[(title, html)]`` for a recommender run (nothing when ``factors.json`` is absent)."""
    from deepdojo.report.html_report import data_uri

    path = run.path / "factors.json"
    if not path.is_file():
        return []
    f = run.read_json("factors.json")
    out = []
    note = (f"<p class='note'>Item biases learned beside each user's bias: an item's bias says how it is rated "
            f"compared with what its raters usually give. Items with at least {f['min_ratings']} training ratings "
            f"({f['items_shown']} items).</p>")
    liked = _table(["most liked", "bias", "ratings"], [[r["item"], r["bias"], r["ratings"]] for r in f["most_liked"]])
    least = _table(["least liked", "bias", "ratings"], [[r["item"], r["bias"], r["ratings"]] for r in f["least_liked"]])
    out.append(("Item biases: most and least liked", note + liked + least))
    if f.get("pca"):
        ex = f["pca"]["extremes"]
        ends = _table(["direction", "low end", "high end"],
                      [["PC1", ", ".join(ex["x_low"]), ", ".join(ex["x_high"])],
                       ["PC2", ", ".join(ex["y_low"]), ", ".join(ex["y_high"])]])
        img = f"<img alt='item factors PCA' src='{data_uri(pca_png(f['pca']))}'>"
        out.append(("Item factors (2-D PCA)", img + ends))
    if f.get("nearest"):
        rows = [[n["item"], n["ratings"], ", ".join(f"{a} ({s:.2f})" for a, s in n["nearest"])] for n in f["nearest"]]
        out.append(("Nearest items (cosine of item factors)", _table(["item", "ratings", "nearest"], rows)))
    if f.get("topn"):
        t = f["topn"]
        k = t["model"]["k"]
        rows = [[name, t[name][f"precision@{k}"], t[name][f"recall@{k}"], t[name]["users"]] for name in ("model", "bias")]
        out.append((f"Top-{k} recommendations (validation)",
                    f"<p class='note'>Relevant: held-out items rated >= {t['model']['threshold']:g}; candidates: every "
                    "item the user did not rate in training.</p>" + _table(["ranking", f"precision@{k}", f"recall@{k}",
                                                                             "users"], rows)))
    return out
