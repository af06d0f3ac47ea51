"""What ``deepdojo predict`` prints and writes for dense outputs: detection boxes, segmentation masks.

A segmentation result's mask becomes a palette PNG of class ids (original
image size) under ``--out``; the JSON keeps the per-class pixel share and the
PNG's path instead of the full mask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepdojo.errors import ConfigError

# class id -> colour; ids beyond the list repeat it (the PNG stores ids, the colours are only for viewing)
PALETTE = [0, 0, 0, 230, 25, 75, 60, 180, 75, 255, 225, 25, 0, 130, 200, 245, 130, 48, 145, 30, 180,
           70, 240, 240, 240, 50, 230, 210, 245, 60, 250, 190, 212, 0, 128, 128]


def write_masks(results: list[dict[str, Any]], out: str | None) -> list[dict[str, Any]]:
    """Write each result's ``mask`` as ``OUT/<input stem>.png`` (palette, class ids); return results without masks."""
    if not any("mask" in r for r in results):
        return results
    if out is None:
        raise ConfigError("segmentation predictions need a folder for the mask PNGs", where="--out",
                          fix="add --out DIR")
    from PIL import Image

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    done, used = [], set()
    for r in results:
        mask = np.asarray(r["mask"])
        if mask.max(initial=0) > 255:
            raise ConfigError(f"{mask.max() + 1} classes do not fit a palette PNG", where=r["input"],
                              fix="predict through the Python API (Predictor.predict_items)")
        stem = Path(str(r["input"])).stem or "input"
        name, k = f"{stem}.png", 1
        while name in used:  # two inputs with one stem (a/x.jpg, b/x.jpg): x.png, x_2.png
            k += 1
            name = f"{stem}_{k}.png"
        used.add(name)
        im = Image.fromarray(mask.astype(np.uint8), mode="P")
        im.putpalette(PALETTE * (768 // len(PALETTE)) + PALETTE[: 768 % len(PALETTE)])
        tmp = folder / f".{name}.tmp"
        im.save(tmp, format="PNG")
        os.replace(tmp, folder / name)  # atomic: a reader never sees half a PNG
        done.append({**{k_: v for k_, v in r.items() if k_ != "mask"}, "mask_png": str(folder / name)})
    return done


def format_line(r: dict[str, Any]) -> str | None:
    """One text line for a dense result, or None when it is not one."""
    if "boxes" in r:
        boxes = "; ".join(f"{b['class']} {b['score']:.2f} [{', '.join(f'{v:.1f}' for v in b['box'])}]"
                          for b in r["boxes"])
        return f"{r['input']}: {len(r['boxes'])} boxes" + (f"  {boxes}" if boxes else "")
    if "mask_png" in r:
        share = ", ".join(f"{n} {s:.1%}" for n, s in r.get("share", {}).items())
        return f"{r['input']}: {r['mask_png']}  ({share})"
    return None
