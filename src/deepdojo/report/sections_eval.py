"""Report sections from the evaluation files in a run folder (each absent file skips its section).

Each function takes the run folder and returns ``(title, html)`` pairs.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from deepdojo.evaluate.vault import TestVault
from deepdojo.train.run_folder import RunFolder
from deepdojo.io import read_json_file


def _load(run: RunFolder, name: str) -> Any:
    path = run.path / name
    return read_json_file(path) if path.is_file() else None


def _img(run: RunFolder, name: str, alt: str) -> str:
    from deepdojo.report.html_report import data_uri

    path = run.path / name
    return f"<img alt='{html.escape(alt)}' src='{data_uri(path.read_bytes())}'>" if path.is_file() else ""


def _rows(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return html.escape(f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v)))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def baselines_section(run: RunFolder) -> list[tuple[str, str]]:
    base, ev = _load(run, "baselines.json"), _load(run, "evaluation.json")
    if not base:
        return []
    facts = ("rows_used", "rows_available", "seconds", "predicts")  # not scores: shown in the note
    keys = list(dict.fromkeys(k for b in base["baselines"].values() for k, v in b.items()
                              if k not in facts and isinstance(v, (int, float)) and not isinstance(v, bool)))
    model = (ev or {}).get("valid", {})
    rows = [["this model", *[model.get(k) for k in keys], ""]]
    for name, b in base["baselines"].items():
        note = b.get("note") or (f"{b['rows_used']} of {b['rows_available']} rows, {b.get('features', '')}"
                                 if "rows_used" in b else f"predicts {b.get('predicts')}")
        rows.append([name, *[b.get(k) for k in keys], note])
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in base.get("comparison", []))
    return [("Baselines (validation)", f"<ul>{lines}</ul>" + _rows(["model", *keys, "note"], rows))]


def diagnosis_section(run: RunFolder) -> list[tuple[str, str]]:
    d = _load(run, "diagnosis.json")
    if not d:
        return []
    errs = _rows(["error", "value"], [[k, v] for k, v in d["errors"].items()])
    gaps = _rows(["gap", "value"], [[k.replace("_", " "), v] for k, v in d["gaps"].items()])
    actions = "".join(f"<li>{html.escape(a)}</li>" for a in d["actions"])
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in d.get("notes", []))
    text = (f"<p><b>Biggest problem: {html.escape(d['primary'].replace('_', ' '))}</b> — {html.escape(d['explanation'])}</p>"
            f"<p>Try:</p><ul>{actions}</ul>")
    return [("Diagnosis (bias / variance / mismatch)", text + errs + gaps + notes)]


def evaluation_section(run: RunFolder) -> list[tuple[str, str]]:
    ev = _load(run, "evaluation.json")
    if not ev:
        return []
    rows = [[k, v] for k, v in ev["valid"].items() if isinstance(v, (int, float))]
    rows += [["parameters", ev["parameters"]], [f"latency per example (ms, {ev['device']})", ev["latency_ms_per_example"]]]
    looks = TestVault(run.path).entries()
    note = (f"<p class='note'>Test set looked at {len(looks)} time(s); see test_log.jsonl.</p>" if looks
            else "<p class='note'>The test set is sealed and has not been looked at.</p>")
    return [("Evaluation (validation)", _rows(["metric", "value"], rows) + note)]


def interpretation_sections(run: RunFolder) -> list[tuple[str, str]]:
    it = _load(run, "interpretation.json")
    if not it:
        return []
    if "latent_size" in it:  # an autoencoder's (evaluate/autoencoder_view.py)
        return autoencoder_sections(run, it)
    if it.get("kind") == "gan":  # evaluate/gan_view.py
        return gan_sections(run, it)
    if it.get("kind") in ("boxes", "masks"):  # detection / segmentation (evaluate/dense_view.py)
        from deepdojo.report.dense_sections import dense_sections

        return dense_sections(run, it)
    out = [("Confusion matrix (validation)", _img(run, "confusion_matrix.png", "confusion matrix"))]
    pairs = _rows(["actual", "predicted", "count"], [list(p) for p in it["most_confused"]])
    acc = _rows(["class", "accuracy"], [[c, a] for c, a in it["per_class_accuracy"].items()])
    out.append(("Most-confused pairs and per-class accuracy", pairs + acc))
    top = _rows(["id", "actual", "predicted", "probability", "loss"],
                [[r["id"], r["actual"], r["predicted"], r["probability"], r["loss"]] for r in it["top_losses"]])
    out.append(("Top losses (most confidently wrong)", _img(run, "top_losses.png", "top losses") + top))
    if (run.path / "most_uncertain.png").is_file():
        out.append(("Most uncertain", _img(run, "most_uncertain.png", "most uncertain examples")))
    if it.get("texts"):
        from deepdojo.report.sections_text import token_effects_html

        out.append(("Top-loss texts: the tokens that moved the prediction (occlusion)", token_effects_html(it["texts"])))
    return out


def autoencoder_sections(run: RunFolder, it: dict[str, Any]) -> list[tuple[str, str]]:
    """Reconstructions, the latent map, the anomaly threshold and reconstruction error per class."""
    chosen = (_load(run, "evaluation.json") or {}).get("chosen_on_valid") or {}
    out = [("Reconstructions (validation)", _img(run, "reconstructions.png", "originals and reconstructions")),
           ("Latent map (validation, coloured by class)", _img(run, "latent_map.png", "latent map"))]
    rows = [["threshold (anomaly above)", chosen.get("threshold")], ["chosen as quantile", chosen.get("quantile")]]
    rows += [[f"mean error, class {c}", v] for c, v in (it.get("recon_mse_by_class") or {}).items()]
    out.append(("Anomaly scores (reconstruction error per pixel)", _rows(["", "value"], rows)))
    return out


def gan_sections(run: RunFolder, it: dict[str, Any]) -> list[tuple[str, str]]:
    """Generated samples, and the judge's Fréchet distance (vs its real-vs-real floor) and class coverage."""
    out = [("Generated samples (seed 0)", _img(run, "samples.png", "generated samples"))]
    if it.get("frechet_distance") is None:
        return out + [("Sample quality", "<p class='note'>No class labels: no judge classifier, so no Fréchet "
                                         "distance or class coverage.</p>")]
    rows = [["Fréchet distance, generated vs real train", it["frechet_distance"]],
            ["floor: real valid vs real train", it["frechet_floor"]], ["ratio to the floor", it.get("fd_over_floor")],
            ["class coverage", it["coverage"]], ["missing classes", ", ".join(it["missing_classes"]) or "none"],
            ["judge accuracy (real valid)", it["judge_accuracy"]], ["samples scored", it["n_samples"]]]
    rows += [[f"share predicted {c}", v] for c, v in it["class_shares"].items()]
    note = ("<p class='note'>Judge: a small CNN trained on this data's real training images (cached by the data's "
            "fingerprint); features are its 64-d penultimate layer.</p>")
    return out + [("Sample quality (judge classifier's features)", _rows(["measure", "value"], rows) + note)]


def data_section(run: RunFolder) -> list[tuple[str, str]]:
    ds = _load(run, "data_summary.json")
    if not ds:
        return []
    rows = [[k, json.dumps(ds[k]) if isinstance(ds[k], (dict, list)) else ds[k]]
            for k in ("name", "task", "input_shape", "sizes", "fingerprint", "split_hash") if ds.get(k) is not None]
    counts = ds.get("class_counts") or {}
    if counts and ds.get("classes"):
        rows += [[f"{split} per class", ", ".join(f"{c}: {n}" for c, n in zip(ds["classes"], v))] for split, v in counts.items()]
    checks = f"<pre>{html.escape(json.dumps(ds['checks'], indent=2))}</pre>" if ds.get("checks") else \
        "<p class='note'>No data-check results recorded for this run.</p>"
    return [("Data summary", _rows(["fact", "value"], rows) + checks)]


def leaks_section(run: RunFolder) -> list[tuple[str, str]]:
    """Valid/test items that duplicate training items: counts, the first few by name, or that the check was off."""
    ds = _load(run, "data_summary.json")
    leaks = (ds or {}).get("leaks")
    if not leaks:
        return []
    if not leaks.get("checked"):
        return [("Leakage across splits", "<p class='note'>The leak check was off (--no-leak-check): valid/test "
                 "items were not compared with training items.</p>")]
    n = leaks.get("exact", 0) + leaks.get("near", 0)
    if not n:
        return [("Leakage across splits", "<p>No valid/test item duplicates a training item "
                 "(exact copies, or resized / recompressed / slightly cropped near copies).</p>")]
    text = (f"<p><b>{n} valid/test item(s) duplicate a training item</b> ({leaks.get('exact', 0)} exact, "
            f"{leaks.get('near', 0)} near copies): validation measures memory on them. "
            "Pass --dedupe to drop them.</p>")
    rows = [[e["split"], e["item"], e["kind"].replace("_", " "), e["distance"], f"{e['other']}: {e['match']}"]
            for e in leaks.get("examples", [])]
    more = f"<p class='note'>First {len(rows)} of {n} shown.</p>" if len(rows) < n else ""
    return [("Leakage across splits", text + _rows(["split", "item", "kind", "hash bits", "duplicates"], rows) + more)]


def evaluation_sections(run_dir: str | Path | RunFolder) -> list[tuple[str, str]]:
    """All evaluation sections, in report order."""
    run = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    from deepdojo.report.collab_sections import factors_section

    return [*evaluation_section(run), *baselines_section(run), *diagnosis_section(run),
            *interpretation_sections(run), *factors_section(run), *data_section(run), *leaks_section(run)]
