"""Matplotlib figures without pyplot, as PNG bytes: the bottom layer every plot goes through.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: nothing
here touches the process-wide backend (a notebook keeps its inline plots) and
no figure is left registered to leak. Text is drawn as plain text (mathtext
off), so a class named ``$x$`` is shown as typed.

Example:
    >>> fig, ax = subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> fig_to_png(fig)[:4]
    b'\x89PNG'
    >>> PNG(fig_to_png(fig), "a line")
    <PNG 'a line', 600x400>
"""

from __future__ import annotations

import functools
import io
import math
import struct
from pathlib import Path
from typing import Callable

import matplotlib
import torch
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, figsize=(6, 4), squeeze: bool = True):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot's global state."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def plain_text(make_figure: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
    """Draw every text of the figure ``make_figure`` builds as plain text, never as mathtext.

    Labels come from the user's data: a class folder named ``$\\frac{$`` is a
    name to show, not TeX to parse (mathtext would raise and lose the figure).
    The setting applies while the figure is built and laid out, when matplotlib
    creates its text objects (tick labels included).
    """

    @functools.wraps(make_figure)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context({"text.parse_math": False}):
            return make_figure(*args, **kwargs)

    return wrapped


def fig_to_png(fig) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"text.parse_math": False}):
        fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _show(ax, img: torch.Tensor) -> None:
    """One image ``(C, H, W)`` (uint8 or float) on ``ax``."""
    a = img.detach().float().cpu()
    if img.dtype == torch.uint8:
        a = a / 255.0
    a = a.permute(1, 2, 0).numpy()
    ax.imshow(a[..., 0] if a.shape[-1] == 1 else a.clip(0, 1), cmap="gray" if a.shape[-1] == 1 else None)
    ax.axis("off")

GALLERY_CELL = 160  # pixels per image side in a gallery
_FONTS: dict[int, object] = {}


def _font(size: int):
    """Matplotlib's DejaVu Sans through PIL (wide Unicode coverage: captions are the user's class names)."""
    if size not in _FONTS:
        from matplotlib import font_manager
        from PIL import ImageFont

        try:
            _FONTS[size] = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
        except OSError:  # no TrueType font: PIL's own
            _FONTS[size] = ImageFont.load_default(size)
    return _FONTS[size]


def _to_pil(img: torch.Tensor, side: int):
    """``(C, H, W)`` uint8 or float in [0, 1] -> an RGB PIL image whose longer side is ``side``."""
    from PIL import Image

    a = img.detach().cpu()
    a = (a.float().clamp(0, 1) * 255).round().to(torch.uint8) if a.dtype != torch.uint8 else a
    a = a.expand(3, *a.shape[1:]) if a.shape[0] == 1 else a[:3]
    pil = Image.fromarray(a.permute(1, 2, 0).contiguous().numpy(), "RGB")
    scale = side / max(pil.size)
    size = (max(1, round(pil.size[0] * scale)), max(1, round(pil.size[1] * scale)))
    # small images (digits, 28x28) are enlarged pixel by pixel, as matplotlib's imshow showed them
    return pil.resize(size, Image.NEAREST if max(a.shape[1:]) <= side // 3 else Image.BILINEAR)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    """``text`` split into lines no wider than ``width`` pixels (on spaces; a long word is cut)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}" if line else word
            if draw.textlength(trial, font=font) <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
            while draw.textlength(line, font=font) > width and len(line) > 1:  # one word wider than a cell
                cut = max(1, int(len(line) * width / draw.textlength(line, font=font)))
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def gallery_png(images: torch.Tensor, titles: list[str], title: str) -> bytes:
    """A grid of images ``(N, C, H, W)`` with one caption each, drawn with PIL (matplotlib took ~0.8 s a grid).

    Example:
        >>> png = gallery_png(torch.zeros(5, 1, 8, 8), ["a"] * 5, "five")
        >>> png[:4], PNG(png).size
        (b'\x89PNG', (700, 414))
    """
    from PIL import Image, ImageDraw

    n, side, pad = len(images), GALLERY_CELL, 12
    cols = max(1, min(n, 4))
    rows = max(1, math.ceil(n / cols))
    cap_font, title_font = _font(11), _font(15)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    captions = [_wrap(probe, str(t), cap_font, side) for t in titles]
    line_h = 14
    cap_h = line_h * max([len(c) for c in captions] + [1])
    title_h = 30
    width = cols * side + (cols + 1) * pad
    height = title_h + rows * (side + cap_h + pad) + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((width / 2, 8), title, fill="black", font=title_font, anchor="mt")
    for i, (img, cap) in enumerate(zip(images, captions)):
        r, c = divmod(i, cols)
        x0, y0 = pad + c * (side + pad), title_h + r * (side + cap_h + pad)
        for j, line in enumerate(cap):
            draw.text((x0 + side / 2, y0 + j * line_h), line, fill="black", font=cap_font, anchor="mt")
        tile = _to_pil(img, side)
        canvas.paste(tile, (x0 + (side - tile.size[0]) // 2, y0 + cap_h + (side - tile.size[1]) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


@plain_text
def curves_png(history: list[dict]) -> bytes | None:
    """Loss curves (train/valid) and every other numeric metric per epoch, side by side."""
    if not history:
        return None
    epochs = [r["epoch"] for r in history]  # numbered from 0, as in metrics.jsonl and the progress lines
    metric_keys = [k for k in history[-1] if k not in ("epoch", "train_loss", "valid_loss", "lr", "seconds")
                   and isinstance(history[-1][k], (int, float))]
    fig, axes = subplots(1, 2 if metric_keys else 1, figsize=(10 if metric_keys else 5.5, 3.6), squeeze=False)
    ax = axes[0][0]
    for key in ("train_loss", "valid_loss"):
        if key in history[-1]:
            ax.plot(epochs, [r.get(key) for r in history], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title("loss")
    if metric_keys:
        ax = axes[0][1]
        for key in metric_keys:
            ax.plot(epochs, [r.get(key) for r in history], marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.set_title("validation metrics")
    fig.tight_layout()
    return fig_to_png(fig)


# ------------------------------------------------------------ figures that show themselves in Jupyter
# Returned by learn.show_batch(), learn.show_results(), learn.plot_loss() and interp.plot_top_losses():
# a cell's value is drawn inline; .save(path) writes it anywhere.


class PNG:
    """PNG bytes with a title: ``_repr_png_`` for Jupyter, :meth:`save` for files."""

    def __init__(self, data: bytes, title: str = ""):
        self.data, self.title = data, title

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, from the PNG header."""
        return struct.unpack(">II", self.data[16:24])

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        w, h = self.size
        return f"<PNG {self.title!r}, {w}x{h}>"

    def save(self, path: str | Path) -> Path:
        """Write the PNG atomically; returns the path."""
        from deepdojo.io import atomic_write_bytes

        path = Path(path)
        atomic_write_bytes(path, self.data)
        return path


class HTMLTable:
    """Rows of text shown as an HTML table in Jupyter and as aligned text elsewhere."""

    def __init__(self, columns: list[str], rows: list[list], title: str = ""):
        self.columns, self.rows, self.title = columns, rows, title

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in self.rows)
        caption = f"<caption>{escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        cells = [self.columns] + [[str(v) for v in r] for r in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(([self.title] if self.title else []) + lines)
