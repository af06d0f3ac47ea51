"""One door for every data source: ``builtin:NAME``, ``download:NAME``, CSV/TSV files, image folders.

Example:
    >>> data = load_data("builtin:xor", seed=0)
    >>> data.task, data.input_shape
    ('classification', (2,))
"""

from __future__ import annotations

from pathlib import Path

from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.errors import DataError


def load_data(source: str | Path | Data | ImageFolder, *, size: int | None = None, valid_pct: float = 0.2,
              seed: int = 0, batch_size: int = 64, augment: str | None = "auto", skip_bad: bool = False,
              dedupe: bool = False, test_pct: float = 0.0, task: str | None = None) -> Data:
    """``builtin:NAME``, ``download:NAME``, an image folder path, an :class:`ImageFolder` or a :class:`Data` -> :class:`Data`.

    A folder is checked first: every bad file stops here with one
    :class:`~deepdojo.data.checks.DataCheckError` (``.report`` lists them all)
    unless ``skip_bad``, which leaves them out (``info["skipped"]``).
    ``test_pct`` holds out a sealed test slice of built-ins and single-folder
    image sets (folders with ``test/``, downloads and CSVs bring their own).
    ``task`` (a name) steers ambiguous sources: ``"collab"`` reads a CSV as ratings.
    """
    if isinstance(source, Data):
        return source
    if isinstance(source, ImageFolder):
        return source.to_data(batch_size=batch_size, augment=augment, seed=seed)
    text = str(source)
    if text.startswith("builtin:"):
        from deepdojo.data.builtin import load_builtin

        return load_builtin(text.split(":", 1)[1], seed=seed, batch_size=batch_size, valid_pct=valid_pct, augment=augment,
                            test_pct=test_pct)
    if text.startswith("download:"):
        from deepdojo.data.download import load_download

        return load_download(text.split(":", 1)[1], size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size,
                             augment=augment)
    if not text:
        raise DataError("no data given", where="DATA", fix="pass a folder path or builtin:NAME (e.g. builtin:digits)")
    if text.lower().endswith((".csv", ".tsv")):
        from deepdojo.data.csv_sources import load_csv

        return load_csv(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment,
                        skip_bad=skip_bad, task=task)
    folder = ImageFolder(text, size=size, valid_pct=valid_pct, seed=seed, skip_bad=skip_bad, dedupe=dedupe,
                         test_pct=test_pct)
    return folder.to_data(batch_size=batch_size, augment=augment, seed=seed)
