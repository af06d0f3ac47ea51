"""One door for every data source: ``builtin:NAME``, ``download:NAME``, CSV/TSV files, text files, image folders.

Example:
    >>> data = load_data("builtin:xor", seed=0)
    >>> data.task, data.input_shape
    ('classification', (2,))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.errors import DataError


def load_data(source: str | Path | Data | ImageFolder, *, size: int | None = None, valid_pct: float = 0.2,
              seed: int = 0, batch_size: int = 64, augment: str | None = "auto", skip_bad: bool = False,
              dedupe: bool = False, test_pct: float = 0.0, leak_check: bool = True, rehash: bool = False, task: str | None = None,
              reads: str | None = None, **table_options: Any) -> Data:
    """``builtin:NAME``, ``download:NAME``, an image folder path, an :class:`ImageFolder` or a :class:`Data` -> :class:`Data`.

    A folder is checked first: every bad file stops here with one
    :class:`~deepdojo.data.checks.DataCheckError` (``.report`` lists them all)
    unless ``skip_bad``, which leaves them out (``info["skipped"]``).
    ``test_pct`` holds out a sealed test slice of built-ins and single-folder
    image sets and CSVs (folders with ``test/`` and downloads bring their own).
    ``table_options`` go to CSV/TSV/TXT files (:func:`~deepdojo.data.csv_sources.load_csv`:
    ``text_col``, ``label_col``, ``delimiter``, ``header``, ``arch``); a ``.txt`` that is no
    table is a language-model corpus. ``leak_check=False`` skips the duplicate search of image
    folders and image CSVs (``info["leaks"]`` then says it was off); ``rehash`` re-hashes every image file.
    ``reads`` steers ambiguous sources: ``"ratings"`` reads a CSV as user,item,rating; ``""`` never does;
    None lets the columns decide (the run passes its task's format: :func:`deepdojo.tasks.base.source_format`).
    """
    if isinstance(source, Data):
        return source
    if isinstance(source, ImageFolder):
        return source.to_data(batch_size=batch_size, augment=augment, seed=seed)
    text = str(source)
    split = table_options.pop("split", None)  # ratings only: random / user / time
    if text in ("builtin:ratings", "download:movielens100k"):  # ratings sources take a recommender's split
        from deepdojo.data.ratings_sources import load_ratings_source

        return load_ratings_source(text, split=split, valid_pct=valid_pct, test_pct=test_pct, seed=seed,
                                   batch_size=batch_size)
    if split is not None and not text.lower().endswith((".csv", ".tsv")):
        raise DataError(f"split={split!r} chooses how ratings are held out, but {text} is not a ratings source",
                        where="split", fix="drop --split, or pass a ratings CSV (user,item,rating[,timestamp])")
    if text == "builtin:dates":  # generated (human-readable date, ISO date) pairs for seq2seq
        from deepdojo.data.pairs import load_dates

        return load_dates(seed=seed, batch_size=batch_size, valid_pct=valid_pct, test_pct=test_pct)
    if text == "builtin:glyphs":  # generated glyph identities for verification / one-shot (identities held out)
        from deepdojo.data.identities import load_glyphs

        return load_glyphs(seed=seed, batch_size=batch_size, valid_pct=valid_pct, test_pct=test_pct)
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
    if text.lower().endswith((".csv", ".tsv")) and _is_pairs_table(text):  # (source, target): seq2seq
        from deepdojo.data.pairs import load_pairs

        return load_pairs(text, valid_pct=valid_pct, seed=seed, batch_size=batch_size, test_pct=test_pct)
    if text.lower().endswith((".csv", ".tsv")) and _is_signal_table(text):  # series id + time columns: signals
        from deepdojo.data.signal_csv import signal_csv

        return signal_csv(text, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                          label_col=table_options.get("label_col"))
    if text.lower().endswith((".csv", ".tsv", ".txt")):
        from deepdojo.data.csv_sources import load_csv, load_text_source

        load = load_text_source if text.lower().endswith(".txt") else load_csv
        if split is not None and load is load_csv:
            table_options["split"] = split
        return load(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment,
                    skip_bad=skip_bad, test_pct=test_pct, dedupe=dedupe, leak_check=leak_check, rehash=rehash,
                    task=task, reads=reads, **table_options)
    root = Path(text)
    if (root / "Annotations").is_dir() or ((root / "images").is_dir() and ((root / "labels").is_dir()
                                                                            or any(root.glob("*.json")))):
        from deepdojo.data.box_formats import load_boxes  # boxes: VOC, YOLO or COCO

        return load_boxes(text, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if (root / "masks").is_dir() and (root / "images").is_dir():  # segmentation: images/ + masks/
        from deepdojo.data.mask_folder import load_mask_folder

        return load_mask_folder(text, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size)
    folder = ImageFolder(text, size=size, valid_pct=valid_pct, seed=seed, skip_bad=skip_bad, dedupe=dedupe,
                         test_pct=test_pct, leak_check=leak_check, rehash=rehash)
    from deepdojo.data.identities import HELD_OUT_IDENTITY_TASKS, identity_folder

    if task in HELD_OUT_IDENTITY_TASKS:  # one folder per identity; valid/test identities unseen in training
        return identity_folder(folder, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                               augment=augment)
    return folder.to_data(batch_size=batch_size, augment=augment, seed=seed)


def table_options_of(cfg) -> dict[str, Any]:
    """The config fields (a :class:`~deepdojo.config.TrainConfig` or its dict) that shape how a CSV/TSV/TXT is
    read and encoded: training and every later rebuild of the run's data must pass the same ones."""
    get = cfg.get if isinstance(cfg, dict) else (lambda k, d=None: getattr(cfg, k, d))
    return {"text_col": get("text_col"), "label_col": get("label_col"), "delimiter": get("delimiter"),
            "header": get("header"), "arch": get("arch", "auto") or "auto", "split": get("split"),
            "level": get("level"), "block_size": get("block_size")}


PAIR_HEADERS = {("source", "target"), ("src", "tgt"), ("input", "output")}


def _is_signal_table(path: str) -> bool:
    """A long-format signals CSV/TSV (data/signal_csv.py): its header names a series id and a time column."""
    from deepdojo.data.signal_csv import is_signal_table

    try:
        with open(path, encoding="utf-8-sig") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError):
        return False  # the table reader reports it
    return is_signal_table([c.strip().strip('"') for c in first.replace("\t", ",").split(",")])


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
