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
