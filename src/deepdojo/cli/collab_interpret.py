"""``deepdojo interpret RUN`` for a recommender: most/least liked items, the item-factor map, nearest items.

Writes ``RUN/interpret/factors.json`` and ``item_factors_pca.png``; for the
validation split also refreshes the run's ``factors.json`` and report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepdojo.cli.common import emit_json


def is_factors_run(run_dir: str | Path) -> bool:
    """True when RUN was trained with a task whose interpretation is ``factors`` (collab)."""
    from deepdojo.tasks import get_task

    cfg = Path(run_dir) / "config.json"
    if not cfg.is_file():
        return False
    name = json.loads(cfg.read_text()).get("task")
    try:
        return bool(name) and get_task(name).interpretation == "factors"
    except Exception:  # an unknown task name: the general path reports it
        return False


def interpret_factors(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.collab_eval import factor_interpretation, topn_evaluation
    from deepdojo.evaluate.run_eval import learner_for_run, load_run_data
    from deepdojo.io import write_json
    from deepdojo.report.collab_sections import pca_png
    from deepdojo.report.html_report import write_report

    run_dir = Path(args.run_dir)
    learn, _ = learner_for_run(run_dir, load_run_data(run_dir), args.checkpoint)
    f = factor_interpretation(learn.model, learn.data, top=args.top)
    if args.split == "valid":
        f["topn"] = topn_evaluation(learn.model, learn.data, device=learn.device)
    folder = run_dir / "interpret"
    folder.mkdir(exist_ok=True)
    write_json(folder / "factors.json", f)
    if f.get("pca"):
        (folder / "item_factors_pca.png").write_bytes(pca_png(f["pca"]))
    if args.split == "valid":  # the report shows validation
        write_json(run_dir / "factors.json", f)
        write_report(run_dir)
    if args.json:
        emit_json({"folder": str(folder), **{k: f[k] for k in ("most_liked", "least_liked") if k in f}})
        return 0
    print("most liked (item bias): " + "; ".join(f"{r['item']} {r['bias']:+.2f}" for r in f["most_liked"][:5]))
    print("least liked (item bias): " + "; ".join(f"{r['item']} {r['bias']:+.2f}" for r in f["least_liked"][:5]))
    for n in f.get("nearest", [])[:3]:
        print(f"nearest to {n['item']}: " + ", ".join(a for a, _ in n["nearest"]))
    print(f"figures: {folder}")
    return 0
