"""Report sections of sequence tasks: text samples by temperature, attention maps."""

from __future__ import annotations

import html
from pathlib import Path

from deepdojo.io import read_json_file


def samples_section(run_dir: Path) -> list[tuple[str, str]]:
    path = Path(run_dir) / "samples.json"
    if not path.is_file():
        return []
    s = read_json_file(path)
    parts = [f"<p>Prompt {html.escape(repr(s.get('prompt', '')))}, seed {s.get('seed')}: lower temperatures are "
             "safer and more repetitive, higher ones more varied and more wrong.</p>"]
    for item in s.get("samples", []):
        parts.append(f"<h3>temperature {item['temperature']}</h3><pre>{html.escape(item['text'])}</pre>")
    return [("Samples", "".join(parts))]


def attention_section(run_dir: Path) -> list[tuple[str, str]]:
    path = Path(run_dir) / "attention.json"
    if not path.is_file():
        return []
    from deepdojo.report.attention_maps import attention_png

    png = attention_png(read_json_file(path)["examples"], Path(run_dir) / "attention.png")
    from deepdojo.report.html_report import data_uri

    return [("Attention", "<p>Which source token each output token read (validation examples).</p>"
                          f"<img alt='attention maps' src='{data_uri(png.read_bytes())}'>")]


def token_effects_html(texts: list[dict]) -> str:
    """Top-loss texts with each token shaded by its occlusion effect: green pushed toward the prediction, red
    against it (opacity: the size of the effect, relative to the largest in that text)."""
    rows = []
    for t in texts:
        effects = t.get("effects") or []
        biggest = max((abs(e) for e in effects), default=0.0) or 1.0
        spans = []
        for token, e in zip(t.get("tokens", []), effects):
            rgb = "46,160,67" if e >= 0 else "208,52,44"
            spans.append(f"<span title='{e:+.3f}' style='background:rgba({rgb},{abs(e) / biggest:.2f})'>"
                         f"{html.escape(token)}</span>")
        moved = ", ".join(f"{html.escape(m['token'])} {m['effect']:+.2f}" for m in t.get("moved_most", []))
        rows.append(f"<tr><td>{html.escape(str(t['actual']))}</td><td>{html.escape(str(t['predicted']))}</td>"
                    f"<td>{t['probability']:.2f}</td><td>{' '.join(spans)}</td><td>{moved}</td></tr>")
    return ("<p>Each token replaced in turn by &lt;unk&gt;: how much the probability of the predicted class falls "
            "(green: the token pushed toward the prediction, red: against it).</p><table><tr><th>actual</th>"
            "<th>predicted</th><th>p</th><th>text</th><th>moved most</th></tr>" + "".join(rows) + "</table>")
