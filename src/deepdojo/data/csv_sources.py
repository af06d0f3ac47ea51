"""CSV sources: image lists (``path,label[,split]``) and tabular files, each checked row by row.

Every fault is collected first (with its line and column), then one
:class:`~deepdojo.data.checks.DataCheckError` lists them all, unless
``skip_bad`` drops the bad rows (named in ``info["skipped"]``).

Example:
    >>> import tempfile
    >>> from PIL import Image
    >>> d = Path(tempfile.mkdtemp())
    >>> for i in range(10):
    ...     Image.new("L", (4, 4), 20 * i).save(d / f"{i}.png")
    >>> _ = (d / "list.csv").write_text("path,label\\n" + "".join(f"{i}.png,{'ab'[i % 2]}\\n" for i in range(10)))
    >>> data = image_csv(d / "list.csv", cache_dir=d / "cache")
    >>> data.classes, data.input_shape, data.info["sizes"]
    (['a', 'b'], (1, 4, 4), {'train': 8, 'valid': 2})
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import Table, read_table
from deepdojo.data.check_images import MAX_PIXELS
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.core import Data
from deepdojo.data.paths import FIX_LINK, path_problem, real_root
from deepdojo.data.ratings import ratings_csv, wants_ratings
from deepdojo.data.splits import random_split, stratified_split
from deepdojo.errors import ConfigError, DataError

PATH_COLUMNS = ("path", "image", "file", "filename", "image_path")
LABEL_COLUMNS = ("label", "labels", "class", "target", "y")
SPLITS = ("train", "valid", "test")
MISSING = {"", "na", "nan", "null", "none", "?"}


def _pick(table: Table, given: str | None, candidates: tuple[str, ...], role: str) -> str:
    if given is not None:
        table.require(given, role)
        return given
    for name in table.columns:
        if name.lower() in candidates:
            return name
    raise DataError(f"no {role} column", where=str(table.path),
                    fix=f"name one of the columns {'/'.join(candidates)}, or pass the column name")


def _finish(report: CheckReport, bad_rows: set[int], n: int, skip_bad: bool, where: str) -> tuple[np.ndarray, list]:
    """Raise with every problem, or return the kept row mask and the skipped problems."""
    if not report.ok and not skip_bad:
        raise report.error(where)
    keep = np.array([i not in bad_rows for i in range(n)], dtype=bool)
    if not keep.any():
        raise report.error(where)
    return keep, [asdict(p) for p in report.errors] if skip_bad else []


def _split_indices(labels: np.ndarray | None, n: int, parts: list[str] | None, valid_pct: float, seed: int,
                   test_pct: float = 0.0):
    """Given parts (a split column) or a stratified / random hold-out (with a sealed ``test_pct`` slice)."""
    if test_pct and not (parts is not None and any(parts)):
        from deepdojo.data.splits import holdout_splits

        y = labels if labels is not None else np.zeros(n, dtype=np.int64)
        return holdout_splits(y, valid_pct, test_pct, seed, stratify=labels is not None)
    if parts is not None and any(parts):
        arr = np.array([p or "train" for p in parts])
        splits = {s: np.flatnonzero(arr == s).astype(np.int64) for s in SPLITS if (arr == s).any()}
        if "valid" in splits:
            return splits
        base = splits["train"]
    else:
        splits, base = {}, np.arange(n, dtype=np.int64)
    if labels is not None:
        tr, va = stratified_split(labels[base], valid_pct, seed)
    else:
        tr, va = random_split(len(base), valid_pct, seed)
    splits.update(train=base[tr], valid=base[va])
    return {s: splits[s] for s in SPLITS if s in splits}


def _check_image_rows(table: Table, root: Path, pcol: str, lcol: str, scol: str | None, delim: str | None):
    """Row problems of an image list and the set of bad rows."""
    problems, bad = [], set()
    rroot = real_root(root)
    for i, (rel, label) in enumerate(zip(table.column(pcol), table.column(lcol))):
        if i in table.bad_rows:  # a ragged or duplicate row is reported once, as that
            bad.add(i)
            continue
        found = []
        if not rel:
            found.append(Problem(table.where(i, pcol), "empty path", "empty_path", fix="fill in the image path"))
        elif Path(rel).is_absolute() or os.path.normpath(rel).split(os.sep)[0] == "..":
            found.append(Problem(table.where(i, pcol), f"path {rel!r} escapes the data root {root}", "escaping_path",
                                 fix="use paths relative to the CSV's folder, without ../"))
        elif (bad_path := path_problem(root / rel, rroot)) is not None:  # links: one policy with folders (paths.py)
            kind, reason = bad_path
            if kind == "missing_file":
                found.append(Problem(table.where(i, pcol), f"file not found: {rel}", kind,
                                     fix="fix the path or remove the row"))
            else:
                found.append(Problem(table.where(i, pcol), f"{rel}: {reason}", kind, fix=FIX_LINK))
        if not label or (delim and not [t for t in label.split(delim) if t.strip()]):
            found.append(Problem(table.where(i, lcol), "empty label", "empty_label", fix="fill in the label"))
        if scol is not None:
            split = table.column(scol)[i]
            if split and split.lower() not in SPLITS:
                found.append(Problem(table.where(i, scol), f"unknown split {split!r}", "unknown_split",
                                     fix="use train, valid or test"))
        problems += found
        bad |= {i} if found else set()
    return problems, bad


def image_csv(path: str | Path, *, path_col: str | None = None, label_col: str | None = None,
              label_delim: str | None = None, size: int | None = None, valid_pct: float = 0.2, seed: int = 0,
              batch_size: int = 64, augment: str | None = "auto", skip_bad: bool = False,
              delimiter: str | None = None, cache_dir: str | Path | None = None,
              max_pixels: int = MAX_PIXELS, test_pct: float = 0.0, dedupe: bool = False, leak_check: bool = True,
              rehash: bool = False) -> Data:
    """An image list ``path,label[,split]`` (paths relative to the CSV's folder) as :class:`Data`.

    ``label_delim`` (e.g. ``" "``) makes it multi-label: ``y`` is multi-hot
    float ``(N, C)`` and ``task`` is "multilabel". Labels of valid/test rows
    that never occur in train rows are errors (``unknown_label``). Valid/test
    images that duplicate train images are found as for folders
    (``info["leaks"]``; ``dedupe`` drops them, ``leak_check=False`` skips the search).
    """
    from deepdojo.data.images import leak_info, load_or_decode, search_leaks
    from deepdojo.data.leakage import dedupe as drop_leaks

    table = read_table(path, delimiter=delimiter)
    root = table.path.parent
    pcol = _pick(table, path_col, PATH_COLUMNS, "image path")
    lcol = _pick(table, label_col, LABEL_COLUMNS, "label")
    scol = "split" if "split" in table.columns else None
    problems, bad = _check_image_rows(table, root, pcol, lcol, scol, label_delim)
    parts = [s.lower() for s in table.column(scol)] if scol else None
    tokens = [[t.strip() for t in (lab.split(label_delim) if label_delim else [lab]) if t.strip()]
              for lab in table.column(lcol)]
    train_labels = {t for i, ts in enumerate(tokens) if i not in bad and (not parts or parts[i] in ("", "train"))
                    for t in ts}
    for i, ts in enumerate(tokens):
        for t in ts:
            if i not in bad and t not in train_labels:
                problems.append(Problem(table.where(i, lcol), f"label {t!r} has no training rows", "unknown_label",
                                        fix="add training rows with this label or fix the typo"))
                bad.add(i)
    good_paths = sorted({table.column(pcol)[i] for i in range(len(table.rows)) if i not in bad})
    view = load_or_decode(root, good_paths, size, max_pixels=max_pixels, cache_dir=cache_dir,
                          source=f"csv:{table.path.name}", rehash=rehash)
    x_all, file_problems, key = view.x, view.problems, view.fingerprint
    bad_files = {p.where for p in file_problems if p.severity == "error"}
    bad |= {i for i, rel in enumerate(table.column(pcol)) if rel in bad_files}
    report = CheckReport(len(table.rows), table.problems + problems + file_problems)
    bad |= table.bad_rows
    keep, skipped = _finish(report, bad, len(table.rows), skip_bad, str(table.path))
    row_of = {rel: j for j, rel in enumerate(p for p in good_paths if p not in bad_files)}
    rows = np.flatnonzero(keep)
    view_rows = np.array([row_of[table.column(pcol)[i]] for i in rows], dtype=np.int64)  # (N,) rows of x_all
    x = x_all[torch.from_numpy(view_rows)]
    classes = sorted(train_labels)
    index = {c: k for k, c in enumerate(classes)}
    if label_delim:
        y = torch.zeros(len(rows), len(classes))
        for r, i in enumerate(rows):
            y[r, [index[t] for t in tokens[i]]] = 1.0
        labels = None
    else:
        labels = np.array([index[tokens[i][0]] for i in rows], dtype=np.int64)
        y = torch.from_numpy(labels)
    splits = _split_indices(labels, len(rows), [parts[i] for i in rows] if parts else None, valid_pct, seed, test_pct)
    leaks = search_leaks(view, view_rows, splits) if leak_check else None
    ids = [table.column(pcol)[i] for i in rows]
    report.problems.extend(leak.problem(ids) for leak in leaks or [])  # warnings: `data check` lists them
    if dedupe and leaks:
        splits = drop_leaks(splits, leaks)
    if augment == "auto":
        augment = "light" if x.shape[1] == 1 else "default"
    data = Data.from_tensors(x, y, splits=splits, batch_size=batch_size, seed=seed, augment=augment,
                             classes=classes, task="multilabel" if label_delim else "classification",
                             name=str(table.path), ids=ids, fingerprint=key)
    if data.is_image:
        data.info.decode = {"size": size, "mode": "L" if data.input_shape[0] == 1 else "RGB"}
    data.info["preprocess"].update(size=size, max_pixels=max_pixels)  # decode settings for predict
    data.info["check"] = report.to_json()
    data.info["leaks"] = leak_info(leaks, data.info["ids"])
    if skipped:
        data.info["skipped"] = skipped
    return data


def detect_label_delim(labels: list[str]) -> str | None:
    """``";"`` or ``" "`` when the label column lists several labels per row (multi-label), else None.

    A delimiter counts when some rows contain it and splitting gives fewer
    distinct labels than there are distinct cells: ``"cat dog"``, ``"cat"``,
    ``"dog"`` are two labels in combinations, while ``"golden retriever"``,
    ``"german shepherd"`` are two class names with spaces.

    >>> detect_label_delim(["cat dog", "cat", "dog", "bird"]), detect_label_delim(["golden retriever", "pug"])
    (' ', None)
    """
    cells = {v.strip() for v in labels if v.strip().lower() not in MISSING}
    for delim in (";", " "):
        if any(delim in c for c in cells):
            tokens = {t.strip() for c in cells for t in c.split(delim) if t.strip()}
            if len(tokens) < len(cells):
                return delim
    return None


def load_csv(path: str | Path, *, target: str | None = None, size: int | None = None, valid_pct: float = 0.2,
             seed: int = 0, batch_size: int = 64, augment: str | None = "auto", skip_bad: bool = False,
             cache_dir: str | Path | None = None, text_col: str | None = None, label_col: str | None = None,
             delimiter: str | None = None, header: bool | None = None, arch: str = "auto",
             test_pct: float = 0.0, dedupe: bool = False, leak_check: bool = True, rehash: bool = False,
             task: str | None = None, split: str | None = None, reads: str | None = None) -> Data:
    """A CSV/TSV as :class:`Data`, routed by what its columns hold (``split``: a ratings file's hold-out).

    - a path column (path/image/file...): an image list (:func:`image_csv`);
    - a column of free text (or ``text_col``): a text classifier's data
      (:func:`~deepdojo.data.text.text_csv`);
    - otherwise a table (:func:`~deepdojo.data.tabular.tabular_csv`) whose target is
      ``label_col``/``target``, else a column named like a label (label/class/target/y),
      else the last column. Categorical columns become integer codes for an
      embedding model (``arch`` "auto" or "tabular"), one-hot for any other ``arch``.

    ``header=None`` detects a file without a header line (its columns are then
    ``"1"``, ``"2"``, ...). ``size`` only means something for images: given
    for a table or texts it is a :class:`~deepdojo.errors.ConfigError`, not
    silently ignored.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "reviews.tsv"
        >>> words = ["good", "bad", "fine", "awful", "great", "poor"]
        >>> lines = [f"the {words[i % 6]} food was served {i} minutes late\\t{i % 2}" for i in range(40)]
        >>> _ = p.write_text("\\n".join(lines) + "\\n")
        >>> data = load_csv(p)
        >>> data.info["preprocess"]["kind"], data.info["preprocess"]["text_col"], data.classes
        ('text', '1', ['0', '1'])
    """
    from deepdojo.data.tabular import tabular_csv
    from deepdojo.data.text import text_columns, text_csv, text_score

    table = read_table(path, delimiter=delimiter, header=header, duplicates="warning")
    delimiter = table.delimiter
    header = table.header
    if wants_ratings(reads, table.columns):  # user, item, rating: a recommender's data
        return ratings_csv(path, split=split or "random", valid_pct=valid_pct, test_pct=test_pct, seed=seed,
                           batch_size=batch_size,
                           delimiter=delimiter)
    if split is not None:
        raise DataError(f"split={split!r} chooses how ratings are held out, but {Path(path).name} is not ratings",
                        where="split", fix="drop --split, or name the columns user,item,rating[,timestamp]")
    label_col = label_col or target
    if text_col is None and any(c.lower() in PATH_COLUMNS for c in table.columns):
        lcol = label_col or next((c for c in table.columns if c.lower() in LABEL_COLUMNS), None)
        delim = detect_label_delim(table.column(lcol)) if lcol in table.columns else None  # multi-label rows
        return image_csv(path, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment,
                         skip_bad=skip_bad, cache_dir=cache_dir, label_col=label_col, delimiter=delimiter,
                         test_pct=test_pct, label_delim=delim, dedupe=dedupe, leak_check=leak_check, rehash=rehash)
    is_text = text_col is not None or any(text_score(table.column(c)) > 0 for c in table.columns if c != label_col)
    kind = "texts" if is_text else "a table"
    if size is not None:
        raise ConfigError(f"size={size} resizes images, but {Path(path).name} holds {kind} (no image path column)",
                          where="size", fix="drop --size (size=), or add a 'path' column of image files")
    if is_text:
        text_col, label_col = text_columns(table, text_col, label_col)
        return text_csv(path, text_col=text_col, label_col=label_col, valid_pct=valid_pct, seed=seed,
                        batch_size=batch_size, skip_bad=skip_bad, delimiter=delimiter, header=header,
                        test_pct=test_pct)
    if label_col is None:
        label_col = next((c for c in table.columns if c.lower() in LABEL_COLUMNS), table.columns[-1])
    encoding = "codes" if arch in ("auto", "tabular") else "onehot"
    return tabular_csv(path, label_col, valid_pct=valid_pct, seed=seed, batch_size=batch_size, skip_bad=skip_bad,
                       encoding=encoding, delimiter=delimiter, header=header, test_pct=test_pct)


def load_text_source(path: str | Path, **kw) -> Data:
    """A ``.txt`` file: a table of texts and labels when every line splits into the same columns
    (e.g. ``sentence<TAB>label``), else a corpus for a language model (:func:`~deepdojo.data.text.text_file`)."""
    from deepdojo.data.text import text_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found", where=str(path), fix="check the path")
    lines = [ln for ln in path.read_text(encoding="utf-8-sig", errors="replace").split("\n")[:200] if ln.strip()]
    delim = kw.get("delimiter") or "\t"
    widths = {len(ln.split(delim)) for ln in lines}
    if kw.get("text_col") or (lines and len(widths) == 1 and widths.pop() >= 2):
        return load_csv(path, **{**kw, "delimiter": delim})
    if kw.get("size") is not None:
        raise ConfigError(f"size={kw['size']} resizes images, but {path.name} is a text corpus", where="size",
                          fix="drop --size (size=)")
    return text_file(path, seed=kw.get("seed", 0), batch_size=kw.get("batch_size", 64))
