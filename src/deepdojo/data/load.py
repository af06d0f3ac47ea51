"""One door for every data source: ``builtin:NAME``, ``download:NAME``, CSV/TSV files, text files, image folders.

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
              dedupe: bool = False, test_pct: float = 0.0) -> Data:
    """``builtin:NAME``, ``download:NAME``, an image folder path, an :class:`ImageFolder` or a :class:`Data` -> :class:`Data`.

    A folder is checked first: every bad file stops here with one
    :class:`~deepdojo.data.checks.DataCheckError` (``.report`` lists them all)
    unless ``skip_bad``, which leaves them out (``info["skipped"]``).
    ``test_pct`` holds out a sealed test slice of built-ins and single-folder
    image sets (folders with ``test/``, downloads and CSVs bring their own).
    """
    if isinstance(source, Data):
        return source
    if isinstance(source, ImageFolder):
        return source.to_data(batch_size=batch_size, augment=augment, seed=seed)
    text = str(source)
    if text == "builtin:dates":  # generated (human-readable date, ISO date) pairs for seq2seq
        from deepdojo.data.pairs import load_dates

        return load_dates(seed=seed, batch_size=batch_size, valid_pct=valid_pct, test_pct=test_pct)
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
    if text.lower().endswith(".txt"):  # a corpus for a language model: characters, blocks of 64
        from deepdojo.data.text import text_file

        return text_file(text, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if text.lower().endswith((".csv", ".tsv")) and _is_pairs_table(text):
        from deepdojo.data.pairs import load_pairs

        return load_pairs(text, valid_pct=valid_pct, seed=seed, batch_size=batch_size, test_pct=test_pct)
    if text.lower().endswith((".csv", ".tsv")):
        from deepdojo.data.csv_sources import load_csv

        return load_csv(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment,
                        skip_bad=skip_bad)
    folder = ImageFolder(text, size=size, valid_pct=valid_pct, seed=seed, skip_bad=skip_bad, dedupe=dedupe,
                         test_pct=test_pct)
    return folder.to_data(batch_size=batch_size, augment=augment, seed=seed)


PAIR_HEADERS = {("source", "target"), ("src", "tgt"), ("input", "output")}


def _is_pairs_table(path: str) -> bool:
    """A CSV/TSV for sequence-to-sequence: its header starts with source/target (src/tgt, input/output);
    a lone ``source`` column is one too, so its reader says the target column is missing."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return False  # the table reader reports it
    cells = [c.strip().strip('"').lower() for c in first.replace("\t", ",").split(",")]
    return tuple(cells[:2]) in PAIR_HEADERS or (len(cells) == 1 and cells[0] in {a for a, _ in PAIR_HEADERS})
