"""The curriculum: every ``NN_topic.py`` lesson shipped in this package, its header, its notebook.

Lessons are package files (``deepdojo/lessons/NN_topic.py``), so an editable
install, a wheel and a checkout (``lessons/`` links here) all find the same
files. Each starts with a markdown cell in this form, which ``deepdojo lesson
list`` reads without running anything::

    # %% [markdown]
    # # Lesson 4: A hyperplane cannot solve XOR; one hidden layer can
    #
    # **Minutes:** 1
    # **Asserts:** linear model on XOR accuracy <= 0.75; MLP accuracy = 1.00

Example:
    >>> lesson = find_lesson("5")
    >>> lesson.number, lesson.slug
    (5, '05_backprop_scratch')
    >>> find_lesson("backprop").number
    5
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from deepdojo.errors import ConfigError

LESSON_DIR = Path(__file__).resolve().parent
_FILE = re.compile(r"^(\d{2})_([a-z0-9_]+)\.py$")
_TITLE = re.compile(r"^# # Lesson (\d+): (.+)$", re.MULTILINE)
_MINUTES = re.compile(r"^# \*\*Minutes:\*\* (\d+)\s*$", re.MULTILINE)
_ASSERTS = re.compile(r"^# \*\*Asserts:\*\* (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str  # file name without .py, e.g. "04_hyperplane_xor"
    title: str
    minutes: int  # the full (non-smoke) run on a 2-core CPU, rounded up
    asserts: str
    path: Path

    def to_json(self) -> dict:
        return {"number": self.number, "name": self.slug, "title": self.title, "minutes": self.minutes,
                "asserts": self.asserts, "path": str(self.path)}


def read_lesson(path: str | Path) -> Lesson:
    """Parse a lesson file's header; a missing or inconsistent field is a ConfigError naming the file."""
    path = Path(path)
    m = _FILE.match(path.name)
    if not m:
        raise ConfigError("a lesson file is named NN_topic.py (two digits, lower-case topic)", where=str(path))
    head = path.read_text(encoding="utf-8").split("\n# %%", 2)
    if not head[0].startswith("# %% [markdown]"):
        raise ConfigError("a lesson starts with a '# %% [markdown]' header cell", where=str(path),
                          fix="see deepdojo/lessons/catalog.py for the header's form")
    header = head[0]
    fields = {}
    for name, rx in (("title", _TITLE), ("minutes", _MINUTES), ("asserts", _ASSERTS)):
        found = rx.search(header)
        if not found:
            raise ConfigError(f"the header cell has no {name} line", where=str(path),
                              fix="see deepdojo/lessons/catalog.py for the header's form")
        fields[name] = found
    number = int(fields["title"].group(1))
    if number != int(m.group(1)):
        raise ConfigError(f"the header says lesson {number} but the file name says {int(m.group(1))}", where=str(path))
    return Lesson(number=number, slug=path.stem, title=fields["title"].group(2).strip(),
                  minutes=int(fields["minutes"].group(1)), asserts=fields["asserts"].group(1).strip(), path=path)


def list_lessons(folder: str | Path = LESSON_DIR) -> list[Lesson]:
    """Every lesson in ``folder``, in curriculum order."""
    lessons = [read_lesson(p) for p in sorted(Path(folder).glob("[0-9][0-9]_*.py"))]
    seen: dict[int, Path] = {}
    for lesson in lessons:
        if lesson.number in seen:
            raise ConfigError(f"two lessons are number {lesson.number}: {seen[lesson.number].name} and "
                              f"{lesson.path.name}", where=str(folder))
        seen[lesson.number] = lesson.path
    return lessons


def find_lesson(name: str | int, folder: str | Path = LESSON_DIR) -> Lesson:
    """A lesson by number (``4``, ``"04"``), file name (``04_hyperplane_xor[.py]``) or a unique part of its topic."""
    lessons = list_lessons(folder)
    key = str(name).strip().lower().removesuffix(".py")
    if key.isdigit():
        hits = [lsn for lsn in lessons if lsn.number == int(key)]
    else:
        hits = [lsn for lsn in lessons if lsn.slug == key] or [lsn for lsn in lessons if key in lsn.slug[3:]]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ConfigError(f"{name!r} matches several lessons: {', '.join(h.slug for h in hits)}", where="NAME",
                          fix="give the lesson's number")
    close = difflib.get_close_matches(key, [lsn.slug for lsn in lessons], n=1, cutoff=0.4)
    fix = f"did you mean '{close[0]}'?" if close else "see 'deepdojo lesson list'"
    raise ConfigError(f"no lesson {name!r}", where="NAME", fix=fix)


def to_notebook(lesson: Lesson):
    """The lesson as an ``nbformat`` notebook (jupytext reads the percent format), not yet executed."""
    try:
        import jupytext
    except ImportError:
        raise ConfigError("turning a lesson into a notebook needs jupytext", where="deepdojo lesson",
                          fix="pip install 'deepdojo[lessons]'") from None
    nb = jupytext.read(lesson.path, fmt="py:percent")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def write_notebook(lesson: Lesson, folder: str | Path = ".", force: bool = False) -> Path:
    """Write ``<folder>/<slug>.ipynb`` atomically; an existing notebook (perhaps edited) is kept unless ``force``."""
    import nbformat

    from deepdojo.train.run_folder import atomic_write_bytes

    path = Path(folder) / f"{lesson.slug}.ipynb"
    if path.exists() and not force:
        raise ConfigError("the notebook already exists (it may hold your edits)", where=str(path),
                          fix="pass --force to overwrite it, or open it in Jupyter")
    atomic_write_bytes(path, nbformat.writes(to_notebook(lesson)).encode("utf-8"))
    return path
