"""Image classification in three lines (four with the report).

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:digits", arch="cnn", out=tempfile.mkdtemp(), progress=False)
    >>> _ = learn.fit_one_cycle(1, 3e-3)
    >>> learn.history[-1]["accuracy"] > 0.5
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from deepdojo.config import TrainConfig
from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.data.load import load_data
from deepdojo.run import build
from deepdojo.train.learner import Learner

__all__ = ["ImageFolder", "classifier", "load_data"]


def classifier(
    source: str | Path | Data | ImageFolder,
    arch: str = "auto",
    metrics: Iterable[str] | None = None,
    *,
    config: TrainConfig | None = None,
    out: str | Path | None = "runs",
    name: str | None = None,
    progress: bool | None = None,
    callbacks: Iterable = (),
    **overrides: Any,
) -> Learner:
    """A :class:`Learner` for the data at ``source`` with a registered ``arch``.

    Settings come from ``config`` (a :class:`TrainConfig`) with ``overrides``
    on top (``size=``, ``seed=``, ``batch_size=``, ``opt=``, ``task=`` ...). The run
    folder is ``out/name`` (``out=None``: no run folder); with ``resume=True`` in the config and
    no name, the newest run folder under ``out`` is reused. After training,
    ``learn.finish()`` writes the evaluation and the report, as ``deepdojo train`` does.
    """
    cfg = config or TrainConfig()
    if arch != "auto":
        overrides["arch"] = arch
    return build(source, cfg, metrics=metrics, out=out, name=name, progress=progress, callbacks=callbacks,
                 **overrides)
