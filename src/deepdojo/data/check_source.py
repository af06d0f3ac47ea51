"""``deepdojo data check DATA``: run every check on a source and return one report.

Example:
    >>> import tempfile
    >>> from deepdojo.data.builtin import export_image_folder
    >>> tmp = Path(tempfile.mkdtemp())
    >>> report = check_source(export_image_folder("digits", tmp / "d"), cache_dir=tmp / "c")
    >>> report.ok, report.checked
    (True, 1797)
"""

from __future__ import annotations

from pathlib import Path

from deepdojo.data.check_images import MAX_PIXELS
from deepdojo.data.checks import CheckReport, DataCheckError, Problem
from deepdojo.errors import DataError


def check_source(source: str | Path, *, size: int | None = None, max_pixels: int = MAX_PIXELS,
                 cache_dir: str | Path | None = None) -> CheckReport:
    """Every problem in an image folder (files, class folders) as a :class:`CheckReport`.

    Problems that make the source unusable as a whole (no images at all, a
    missing folder) raise :class:`DataError` instead.
    """
    from deepdojo.data.images import ImageFolder

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError("does not exist", where=str(path), fix="check the path")
    if path.is_dir():
        folder = ImageFolder(path, size=size, skip_bad=True, max_pixels=max_pixels, cache_dir=cache_dir)
        return folder.report
    if path.suffix.lower() in (".csv", ".tsv"):
        from deepdojo.data.csv_sources import load_csv

        try:
            info = load_csv(path, size=size, cache_dir=cache_dir).info["check"]
        except DataCheckError as e:
            return e.report
        return CheckReport(info["checked"], [Problem.from_json(p) for p in info["problems"]])
    raise DataError("cannot check this kind of source", where=str(path), fix="pass an image folder or a .csv/.tsv file")
