"""``learn.show_batch()``, ``learn.show_results()``, ``learn.plot_loss()``: figures that show inline in Jupyter.

Each returns a :class:`~deepdojo.figures.PNG` (images, curves) or an
:class:`~deepdojo.figures.HTMLTable` (tables, texts): drawn inline when it
is a cell's value, saved with ``.save(path)`` anywhere.
"""

from __future__ import annotations

import torch


def _undo_transform(xb: torch.Tensor, transform) -> torch.Tensor:
    """Normalized images back to [0, 1] for display (the loader's mean/std undone)."""
    mean, std = getattr(transform, "mean", None), getattr(transform, "std", None)
    if mean is None:
        return xb.float()
    return (xb.float() * std.to(xb.device) + mean.to(xb.device)).clamp(0, 1)


class NotebookMixin:
    """Figures of the data and the model's results (the Learner mixes this in)."""

    def _labels(self, y: torch.Tensor) -> list[str]:
        classes = self.data.classes
        if classes and y.dim() == 1 and not y.is_floating_point():
            return [classes[int(i)] for i in y.tolist()]
        return [f"{float(v):.3g}" if v.numel() == 1 else str(v.tolist()) for v in y]

    def _batch(self, split: str, n: int):
        loader = getattr(self.data, split)
        xb, yb = next(iter(loader))
        return xb[:n].detach().cpu(), yb[:n].detach().cpu(), loader

    def _view(self, xb: torch.Tensor, loader, captions: list[str], title: str):
        from deepdojo.figures import PNG, HTMLTable

        if xb.dim() == 4:  # images (B, C, H, W), shown as the model sees them (after augmentation)
            from deepdojo.figures import gallery_png

            return PNG(gallery_png(_undo_transform(xb, getattr(loader, "transform", None)), captions, title), title)
        spec = self.data.info.get("preprocess") or {}
        if spec.get("kind") in ("text", "language_model"):
            vocab = spec["vocab"]
            texts = [" ".join(vocab[i] for i in row.tolist() if i != 0) for row in xb.long()]
            return HTMLTable(["text", "label"], [[t, c] for t, c in zip(texts, captions)], title)
        names = spec.get("columns") or [f"x{i}" for i in range(xb.shape[-1])]
        rows = [[f"{v:.3g}" for v in row.flatten().tolist()] + [c] for row, c in zip(xb, captions)]
        return HTMLTable([*names, "label"], rows, title)

    def show_batch(self, n: int = 9, split: str = "train"):
        """The first ``n`` items of one batch of ``split``, as the model receives them, with their labels."""
        xb, yb, loader = self._batch(split, n)
        return self._view(xb, loader, self._labels(yb), f"a {split} batch")

    def show_results(self, n: int = 9, split: str = "valid"):
        """``n`` items of ``split`` with prediction / actual (and the predicted probability)."""
        xb, yb, loader = self._batch(split, n)
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model(xb.to(self.device)).float().cpu()
        self.model.train(was)
        decoded = self.task.decode(out)
        captions = []
        for d, actual in zip(decoded, self._labels(yb)):
            shown = self.task.format_prediction(d, self.data.classes, top=1)  # the task says what a prediction is
            pred = shown.get("prediction")
            fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
            pred = ",".join(map(fmt, pred)) if isinstance(pred, list) else fmt(pred)
            p = f"\np={shown['probability']:.2f}" if "probability" in shown else ""
            captions.append(f"{pred}/{actual}{p}")
        return self._view(xb, loader, captions, "predicted/actual")

    def plot_loss(self):
        """Training and validation loss (and the metrics) per epoch, numbered from 0."""
        from deepdojo.errors import ConfigError
        from deepdojo.figures import PNG
        from deepdojo.figures import curves_png

        if not self.history:
            raise ConfigError("no epochs recorded yet", where="plot_loss", fix="call fit first")
        return PNG(curves_png(list(self.history)), "loss")
