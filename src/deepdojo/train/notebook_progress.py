"""Progress in Jupyter: one HTML output per fit — a bar with the running loss and a table of epochs — updated in place.

Plain IPython display handles (``display(..., display_id=True)`` then
``handle.update(...)``): no ipywidgets, no warning printed into the notebook,
and the finished table stays in the saved notebook as static HTML. Epochs are
numbered from 0, as in every record and log line.

The bar is redrawn at most every ``every_s`` seconds; each redraw reads the
latest loss once (one host read, a handful of times a second at most), so the
step loop still never waits on the device in between.
"""

from __future__ import annotations

import time
from html import escape

from deepdojo.train.callbacks import Callback

SKIP = ("epoch", "seconds", "lr")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.2e}"
    return escape(str(v))


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


class NotebookProgress(Callback):
    """A fastai-style table for Jupyter: ``epoch | train_loss | valid_loss | metrics... | time`` plus a live bar."""

    order = 20

    def __init__(self, every_s: float = 0.25, beta: float = 0.9):
        self.every_s, self.beta = every_s, beta
        self.handle, self.rows = None, []

    # the HTML: one <div>, rebuilt whole at each update (small: a bar and one row per epoch)
    def html(self) -> str:
        learn = self.learn
        parts = ["<div class='deepdojo-progress'>"]
        if self.bar is not None:
            done, total, epoch = self.bar
            elapsed = time.monotonic() - self.t_epoch
            eta = elapsed / done * (total - done) if done else 0.0
            loss = f" · loss {self.running:.4f}" if self.running is not None else ""
            parts.append(f"<div><progress value='{done}' max='{total}' style='width:300px;height:18px;"
                         f"vertical-align:middle'></progress> epoch {epoch} ({epoch + 1} of {learn.n_epochs})"
                         f" · step {done}/{total}{loss} · {_clock(elapsed)}&lt;{_clock(eta)}</div>")
        if self.rows:
            keys = [k for k in self.rows[-1] if k not in SKIP]
            head = "".join(f"<th>{escape(k)}</th>" for k in ["epoch", *keys, "time"])
            body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(k, ''))}</td>" for k in ["epoch", *keys])
                           + f"<td>{_clock(r.get('seconds', 0))}</td></tr>" for r in self.rows)
            parts.append(f"<table border='1' class='dataframe'><thead><tr style='text-align:left'>{head}</tr></thead>"
                         f"<tbody>{body}</tbody></table>")
        parts.append("</div>")
        return "".join(parts)

    def _show(self) -> None:
        from IPython.display import HTML, display

        if self.handle is None:
            self.handle = display(HTML(self.html()), display_id=True)
        else:
            self.handle.update(HTML(self.html()))

    def before_fit(self) -> None:
        self.handle, self.rows, self.bar, self.running = None, [], None, None
        self.t_epoch = self.last = time.monotonic()
        self._show()  # the one output of this fit

    def before_epoch(self) -> None:
        self.t_epoch = time.monotonic()
        self.bar = (self.learn.start_batch, self.learn.steps_per_epoch, self.learn.epoch)
        self._show()

    def after_batch(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        loss = getattr(self.learn, "loss", None)
        if loss is not None:
            value = float(loss)  # the one host read of this redraw
            self.running = value if self.running is None else self.beta * self.running + (1 - self.beta) * value
        self.bar = (self.learn.batch_idx + 1, self.learn.steps_per_epoch, self.learn.epoch)
        self._show()

    def after_epoch(self) -> None:
        self.rows.append(dict(self.learn.record))
        self.bar = None
        self._show()

    def after_fit(self) -> None:
        self.bar = None
        if self.handle is not None:
            self._show()
