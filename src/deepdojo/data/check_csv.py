"""Reading a CSV/TSV you can trust: each fault found, named by row and column, never a traceback.

:func:`read_table` reads the whole file once and collects every problem:

==================  =====================================================
kind                when
==================  =====================================================
bom                 the file starts with a byte-order mark (stripped; warning)
wrong_delimiter     a .csv separated by ";" / tab / "|" (or a .tsv by ",")
ragged_row          a row with more or fewer fields than the header
duplicate_column    two columns with the same name
duplicate_row       the same row twice (the later one is named)
==================  =====================================================

The checks that need to know what a column means (missing files, empty or
unknown labels, NaN targets, paths escaping the data root) live with the
sources that know it (:mod:`deepdojo.data.csv_sources`).

Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes(b"\\xef\\xbb\\xbfa,b\\n1,2\\n1,2\\n")
    >>> table = read_table(p)
    >>> table.columns, len(table.rows), [x.kind for x in table.problems]
    (['a', 'b'], 2, ['bom', 'duplicate_row'])
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from deepdojo.data.checks import Problem
from deepdojo.errors import DataError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class Table:
    """A parsed CSV: ``columns``, ``rows`` (lists of strings), every problem, and the file."""

    path: Path
    columns: list[str]
    rows: list[list[str]]
    problems: list[Problem] = field(default_factory=list)
    delimiter: str = ","
    bad_rows: set[int] = field(default_factory=set)  # rows with an error found while parsing
    header: bool = True  # False: the first line was data (rows then start at line 1)

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [r[i] if i < len(r) else "" for r in self.rows]

    def where(self, row: int, column: str | None = None) -> str:
        """``file:line`` (1-based; a header is line 1), plus the column when given."""
        text = f"{self.path.name}:{row + (2 if self.header else 1)}"
        return f"{text} ({column})" if column else text

    def require(self, name: str, role: str) -> None:
        if name not in self.columns:
            raise DataError(f"no column {name!r} for the {role}", where=str(self.path),
                            fix=f"use one of the columns: {', '.join(self.columns)}")


def _detect_delimiter(first_line: str) -> str:
    """The candidate that splits the header into the most fields (ties: comma)."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def looks_headerless(lines: list[list[str]]) -> bool:
    """True when the first line reads as data rather than column names.

    A header's names are short; a first field that is a sentence (over 30
    characters or 5 words), or a number in a column of numbers, is data.
    """
    first = [c.strip() for c in lines[0]]
    if any(len(c) > 30 or len(c.split()) > 5 for c in first):
        return True
    rest = lines[1:50]

    def number(t: str) -> bool:
        try:
            float(t)
        except ValueError:
            return False
        return True

    for j, cell in enumerate(first):
        column = [r[j] for r in rest if j < len(r) and r[j].strip()]
        if column and number(cell) and all(number(v) for v in column):
            return True
    return False


def _literal_quotes(text: str) -> list[list[str]]:
    r"""Tab-separated rows, one per line, reading a quote as text unless it wraps a whole field.

    In a TSV a quote usually belongs to the text (``"Great" film.<TAB>1``); read
    as CSV quoting, an unbalanced one swallows every line up to the next quote
    and rows vanish silently (the IMDB sentiment file loses 176 of 1,000).
    A field wholly wrapped in quotes is still unquoted (``""`` -> ``"``).

    >>> _literal_quotes('"Great" film.\t1\nbad\t0\n"x ""y"" z"\t1\n')
    [['"Great" film.', '1'], ['bad', '0'], ['x "y" z', '1']]
    """
    rows = []
    for r in csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE):
        if r and any(c.strip() for c in r):
            rows.append([c[1:-1].replace('""', '"') if len(c) >= 2 and c[0] == c[-1] == '"'
                         and '"' not in c[1:-1].replace('""', '') else c for c in r])
    return rows


def read_table(path: str | Path, delimiter: str | None = None, duplicates: str = "error",
               header: bool | None = True, names: list[str] | None = None) -> Table:
    """Parse ``path`` (``.tsv``: tab, ``.txt``: the delimiter found, else comma unless ``delimiter`` is given).

    ``duplicates="error"`` makes repeated rows errors, ``"warning"`` only reports them.
    ``header=False``: the first line is data and the columns are ``names`` or
    ``"1"``, ``"2"``, ... (1-based positions); ``header=None`` decides from the
    first line (:func:`looks_headerless`). Raises :class:`DataError` when the
    file is missing, unreadable or empty.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found", where=str(path), fix="check the path")
    raw = path.read_bytes()
    problems = []
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        problems.append(Problem(path.name, "starts with a byte-order mark (BOM); it was ignored", "bom",
                                severity="warning", fix="save as UTF-8 without BOM"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.start})", where=str(path), fix="save the file as UTF-8") from None
    if not text.strip():
        raise DataError("the file is empty", where=str(path), fix="add a header line and rows")
    found = _detect_delimiter(text.splitlines()[0])
    expected = delimiter or {".tsv": "\t", ".txt": found}.get(path.suffix.lower(), ",")
    first = text.splitlines()[0]
    if delimiter is None and found != expected and not any(d in first for d in DELIMITERS):
        raise DataError(  # one column: _detect_delimiter's comma is only its tie-break, not what the file holds
            f"the header line has one column (no {DELIMITERS[expected]} in it); a {path.suffix or 'csv'} table "
            f"needs its columns {DELIMITERS[expected]}-separated", where=str(path),
            fix=f"separate the columns with {DELIMITERS[expected]}s, e.g. text{'<TAB>' if expected == chr(9) else ','}label")
    if delimiter is None and found != expected:
        raise DataError(
            f"the header is {DELIMITERS[found]}-separated but a {path.suffix or 'csv'} file should be "
            f"{DELIMITERS[expected]}-separated", where=str(path),
            fix=f"save it with {DELIMITERS[expected]}s, or pass delimiter={found!r} (CLI: --delimiter)",
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=expected)
    lines = [r for r in reader if r and any(c.strip() for c in r)]
    if expected == "\t" and any("\n" in c for r in lines for c in r):
        lines = _literal_quotes(text)  # a stray quote must not swallow the lines after it
    if header is None:
        header = not looks_headerless(lines)
    if not header:
        width = len(lines[0])
        columns = list(names) if names else [str(i + 1) for i in range(width)]
        if len(columns) != width:
            raise DataError(f"{len(columns)} column names given but the first line has {width} fields",
                            where=str(path), fix="give one name per column")
        lines = [columns] + lines
    columns = [c.strip() for c in lines[0]]
    for name in sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(Problem(path.name, f"column {name!r} appears {columns.count(name)} times", "duplicate_column",
                                fix="rename one of them"))
    table = Table(path, columns, [[c.strip() for c in r] for r in lines[1:]], problems, expected, header=header)
    seen: dict[tuple, int] = {}
    for i, row in enumerate(table.rows):
        if len(row) != len(columns):
            problems.append(Problem(table.where(i), f"{len(row)} fields but the header has {len(columns)}",
                                    "ragged_row", fix="quote fields that contain the delimiter"))
            table.bad_rows.add(i)
        key = tuple(row)
        if key in seen:
            problems.append(Problem(table.where(i), f"duplicate of line {seen[key] + 2}", "duplicate_row",
                                    severity="error" if duplicates == "error" else "warning",
                                    fix="remove the repeated row"))
            if duplicates == "error":
                table.bad_rows.add(i)
        else:
            seen[key] = i
    if not table.rows:
        raise DataError("the file has a header but no rows", where=str(path), fix="add rows")
    return table
